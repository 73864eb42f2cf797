/**
 * Bundles: the TypeScript sources compiled into JavaScript files that plain `node` runs.
 *
 * Three programs need this. The container init must have every module it will ever use loaded before pivot_root
 * takes the host's files out of reach, so it is one file, loaded whole at start. `ctr` and the lesson runner must
 * start fast — a TypeScript loader at run time costs several times what the program itself does before its first
 * line of output — so they run compiled too. esbuild turns each entry point into JavaScript under dist/ in well
 * under a second. The lesson runner and the lessons are built together with code splitting: each lesson is a file
 * of its own (`dist/lesson-05-cgroups.mjs`, still loaded by number), and every lib module they share sits once in
 * a `chunk-*.mjs` file, so a lesson and its runner see the same module instances (an `instanceof UserError` holds).
 *
 * Every output sits directly in dist/, one level below the project root, because modules find the project's files
 * from their own location (`import.meta.url` and `..`), which must mean the same in a bundle as in the source.
 * Source maps go beside each file (`.map`), never inline: an inline map is more than half of a file that node
 * must read at every start. A stack trace of a bug is mapped back to the .ts lines when it is printed
 * (lib/cli/main.ts). A bundle is rebuilt whenever any TypeScript file under lib/, lessons/ or rootfs-scripts/ is
 * newer than it (the rule bin/launch.mjs applies before it starts a program), so what runs is always what the
 * learner reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(PROJECT_ROOT, 'dist');

/** The directories bundles are built from: a change to any .ts file in them makes every bundle stale. */
export const SOURCE_DIRS = ['lib', 'lessons', 'rootfs-scripts'];

/**
 * Packages loaded from node_modules at run time rather than bundled: koffi brings a native binary esbuild cannot
 * inline; esbuild, typescript and tsx are big and only needed on rare paths (a rebuild, `--mine`); execa only for
 * the sudo re-run; zx by the rootfs builders.
 */
const EXTERNAL = ['koffi', 'esbuild', 'typescript', 'tsx', 'execa', 'zx'];

export interface BundleEntry {
  /** The output whose modification time says when the bundle was built: the main entry, in dist/. */
  out: string;
  format: 'cjs' | 'esm';
  /** Output name (without extension, in dist/) → source, relative to the project root. */
  entries: () => Record<string, string>;
  /** Shared modules in `chunk-*.mjs` files instead of a copy per entry (esm only). */
  splitting?: boolean;
}

/** The container init: CommonJS, so it loads synchronously and in full before it runs. */
export const INIT_BUNDLE: BundleEntry = {
  out: 'init.cjs',
  format: 'cjs',
  entries: () => ({ init: 'lib/init/main.ts' }),
};

/** The ctr command line. */
export const CTR_BUNDLE: BundleEntry = { out: 'ctr.mjs', format: 'esm', entries: () => ({ ctr: 'lib/cli/ctr.ts' }) };

const LESSON_FILE = /^(\d{2}-[a-z0-9-]+)\.ts$/;
const QUIZ_FILE = /^(\d{2})\.ts$/;

/** The compiled twin of a lesson file, `lessons/05-cgroups.ts` → `dist/lesson-05-cgroups.mjs`. */
export function compiledLessonPath(lessonFile: string): string {
  return path.join(DIST, `lesson-${path.basename(lessonFile, '.ts')}.mjs`);
}

/** The compiled twin of a quiz file, `lessons/quiz/05.ts` → `dist/quiz-05.mjs`. */
export function compiledQuizPath(quizFile: string): string {
  return path.join(DIST, `quiz-${path.basename(quizFile, '.ts')}.mjs`);
}

/** Whether the calling module runs compiled (from dist/) rather than from its .ts source under a loader. */
export function runsCompiled(moduleUrl: string): boolean {
  return moduleUrl.startsWith('file:') && fileURLToPath(moduleUrl).startsWith(`${DIST}${path.sep}`);
}

/** The lesson runner, every lesson and every quiz, sharing their modules. */
export const LESSONS_BUNDLE: BundleEntry = {
  out: 'lesson.mjs',
  format: 'esm',
  splitting: true,
  entries: () => {
    const list = (dir: string, pattern: RegExp) =>
      fs.existsSync(path.join(PROJECT_ROOT, dir))
        ? fs.readdirSync(path.join(PROJECT_ROOT, dir)).filter((f) => pattern.test(f))
        : [];
    return {
      lesson: 'lib/cli/lesson.ts',
      ...Object.fromEntries(
        list('lessons', LESSON_FILE).map((f) => [path.basename(compiledLessonPath(f), '.mjs'), `lessons/${f}`]),
      ),
      ...Object.fromEntries(
        list('lessons/quiz', QUIZ_FILE).map((f) => [path.basename(compiledQuizPath(f), '.mjs'), `lessons/quiz/${f}`]),
      ),
    };
  },
};

export const ALL_BUNDLES: readonly BundleEntry[] = [INIT_BUNDLE, CTR_BUNDLE, LESSONS_BUNDLE];

/** The newest modification time of any .ts file below `dir`. */
export function newestSource(dir: string = path.join(PROJECT_ROOT, 'lib')): number {
  let newest = 0;
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether the bundle exists and is newer than every source it may be built from. */
export function bundleIsFresh(entry: BundleEntry): boolean {
  try {
    const built = fs.statSync(path.join(DIST, entry.out)).mtimeMs;
    return SOURCE_DIRS.every((d) => built >= newestSource(path.join(PROJECT_ROOT, d)));
  } catch {
    return false;
  }
}

/** The owner to give dist/ to: the learner who ran `sudo npm run …`, not root, so their checkout stays theirs. */
function invokingUser(): { uid: number; gid: number } | undefined {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  return Number.isInteger(uid) && uid > 0 && Number.isInteger(gid) ? { uid, gid } : undefined;
}

/** How long a chunk no build refers to any more is kept: a program started before the rebuild may still load it. */
const OLD_CHUNK_MS = 10 * 60_000;

/** Remove chunk files the latest build did not write, once no program started before it can need them. */
function removeOldChunks(written: Set<string>): void {
  for (const name of fs.readdirSync(DIST)) {
    if (!/^chunk-.*\.mjs(\.map)?$/.test(name) || written.has(name)) continue;
    const file = path.join(DIST, name);
    try {
      if (Date.now() - fs.statSync(file).mtimeMs > OLD_CHUNK_MS) fs.rmSync(file, { force: true });
    } catch {
      // Another build removed it first.
    }
  }
}

/** Build the bundle if it is stale, and return the path of its main output. Safe when several processes do it at once. */
export async function ensureBundle(entry: BundleEntry): Promise<string> {
  const out = path.join(DIST, entry.out);
  if (bundleIsFresh(entry)) return out;
  const { build } = await import('esbuild');
  fs.mkdirSync(DIST, { recursive: true });
  const ext = entry.format === 'cjs' ? '.cjs' : '.mjs';
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: entry.entries(),
    outdir: DIST,
    outExtension: { '.js': ext },
    chunkNames: 'chunk-[hash]',
    splitting: entry.splitting ?? false,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: entry.format,
    external: EXTERNAL,
    sourcemap: 'linked',
    logLevel: 'error',
    banner:
      entry.format === 'esm'
        ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        : undefined,
  });
  // Each file is written next to its final name and renamed into place, so a program that loads it never sees half
  // of it; chunks and maps first, the main output last, so its new time stamp means "all of it is there".
  const owner = invokingUser();
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === out) - Number(b.path === out));
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, f.contents);
    if (owner) fs.chownSync(tmp, owner.uid, owner.gid);
    fs.renameSync(tmp, f.path);
  }
  if (owner) fs.chownSync(DIST, owner.uid, owner.gid);
  if (entry.splitting) removeOldChunks(new Set(files.map((f) => path.basename(f.path))));
  return out;
}

/** The TypeScript init as the launcher starts it: this very node binary, and the init bundle (built if stale). */
export async function initBundle(): Promise<{ node: string; bundle: string }> {
  return { node: process.execPath, bundle: await ensureBundle(INIT_BUNDLE) };
}
