// What bin/ctr.mjs and bin/lesson.mjs share: run a compiled program from dist/, rebuilding it first when any
// TypeScript file it is built from is newer — the rule of lib/bundle.ts — so what runs is always what the sources
// say, without a TypeScript loader at start-up. (Plain JavaScript because it runs before anything is compiled.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['lib', 'lessons', 'rootfs-scripts'];

function newestSource(dir) {
  let newest = 0;
  let entries = [];
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

function isFresh(file) {
  try {
    const built = fs.statSync(file).mtimeMs;
    return SOURCE_DIRS.every((d) => built >= newestSource(path.join(root, d)));
  } catch {
    return false;
  }
}

/** Run dist/<out> (`ctr.mjs`, `lesson.mjs`) as if it had been started directly; `bundle` names it for the build. */
export async function launch(out, bundle) {
  const file = path.join(root, 'dist', out);
  if (!isFresh(file)) {
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli', 'build.ts'), bundle], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  process.argv[1] = file;
  await import(file);
}
