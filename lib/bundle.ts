/**
 * Bundles: the TypeScript sources compiled into single JavaScript files that plain `node` runs.
 *
 * Two programs need this. The container init must have every module it will ever use loaded before pivot_root
 * takes the host's files out of reach, so it is one file, loaded whole at start. And `ctr` must start fast —
 * a TypeScript loader at run time costs more than the container itself — so it runs compiled. esbuild turns
 * each entry point into one file under dist/ in a few tens of milliseconds, with a source map so a stack trace
 * points at the .ts line. A bundle is rebuilt when any TypeScript file under lib/ is newer than it (the same
 * rule bin/ctr.mjs applies before it loads dist/ctr.mjs), so what runs is always what the learner reads in lib/.
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

/** The newest modification time of any .ts file below `dir`. */
export function newestSource(dir: string = path.join(PROJECT_ROOT, 'lib')): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether the bundle exists and is newer than every source under lib/. */
export function bundleIsFresh(entry: BundleEntry): boolean {
  try {
    return fs.statSync(path.join(DIST, entry.out)).mtimeMs >= newestSource();
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
  await build({
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
    logLevel: 'error',
    banner:
      entry.format === 'esm'
        ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        : undefined,
  });
  fs.renameSync(tmp, out);
  const owner = invokingUser();
  if (owner) for (const f of [DIST, out]) fs.chownSync(f, owner.uid, owner.gid);
  return out;
}

/** The TypeScript init as the launcher starts it: this very node binary, and the init bundle (built if stale). */
export async function initBundle(): Promise<{ node: string; bundle: string }> {
  return { node: process.execPath, bundle: await ensureBundle(INIT_BUNDLE) };
}
