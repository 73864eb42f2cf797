/**
 * Bundles: the TypeScript sources compiled into single JavaScript files that plain `node` runs.
 *
 * Two programs need this. The container init must have every module it will ever use loaded before pivot_root
 * takes the host's files out of reach, so it is one file, loaded whole at start. And `ctr` must start fast —
 * a TypeScript loader at run time costs more than the container itself — so it runs compiled. esbuild turns
 * each entry point into one file under dist/ in a few tens of milliseconds, with a source map so a stack trace
 * points at the .ts line. A bundle is rebuilt when any source it was made from is newer (esbuild's metafile
 * lists them), so what runs is always what the learner reads in lib/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(PROJECT_ROOT, 'dist');

export interface BundleEntry {
  /** Source, relative to the project root. */
  source: string;
  /** Output file name in dist/. */
  out: string;
  format: 'cjs' | 'esm';
}

/** The container init: CommonJS, so it loads synchronously and in full before it runs. */
export const INIT_BUNDLE: BundleEntry = { source: 'lib/init/main.ts', out: 'init.cjs', format: 'cjs' };
/** The ctr command line. */
export const CTR_BUNDLE: BundleEntry = { source: 'lib/cli/ctr.ts', out: 'ctr.mjs', format: 'esm' };

interface Meta {
  inputs: Record<string, unknown>;
}

/** Whether the bundle exists and is newer than every source it was built from. */
export function bundleIsFresh(entry: BundleEntry): boolean {
  const out = path.join(DIST, entry.out);
  try {
    const built = fs.statSync(out).mtimeMs;
    const meta = JSON.parse(fs.readFileSync(`${out}.meta.json`, 'utf8')) as Meta;
    return Object.keys(meta.inputs).every((input) => fs.statSync(path.join(PROJECT_ROOT, input)).mtimeMs <= built);
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

/** Build the bundle if it is stale, and return its path. Safe when several processes do it at once. */
export async function ensureBundle(entry: BundleEntry): Promise<string> {
  const out = path.join(DIST, entry.out);
  if (bundleIsFresh(entry)) return out;
  const { build } = await import('esbuild');
  fs.mkdirSync(DIST, { recursive: true });
  // Built next to its final name and renamed into place: a process that loads the bundle never sees half of it.
  const tmp = `${out}.${process.pid}.tmp`;
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [entry.source],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: entry.format,
    // koffi brings a native binary that esbuild cannot inline; it is loaded from node_modules at start-up.
    external: ['koffi', 'esbuild'],
    sourcemap: 'inline',
    metafile: true,
    logLevel: 'error',
    banner:
      entry.format === 'esm'
        ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        : undefined,
  });
  fs.writeFileSync(`${tmp}.meta.json`, JSON.stringify({ inputs: result.metafile.inputs }));
  fs.renameSync(`${tmp}.meta.json`, `${out}.meta.json`);
  fs.renameSync(tmp, out);
  const owner = invokingUser();
  if (owner) for (const f of [DIST, out, `${out}.meta.json`]) fs.chownSync(f, owner.uid, owner.gid);
  return out;
}

/** The TypeScript init as the launcher starts it: this very node binary, and the init bundle (built if stale). */
export async function initBundle(): Promise<{ node: string; bundle: string }> {
  return { node: process.execPath, bundle: await ensureBundle(INIT_BUNDLE) };
}
