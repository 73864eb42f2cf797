#!/usr/bin/env node
// ctr's launcher: run the compiled bundle (dist/ctr.mjs), rebuilding it first when any TypeScript file under lib/
// is newer — the same rule as lib/bundle.ts — so what runs is always what lib/ says, without a TypeScript loader
// at start-up. (Plain JavaScript because it must run before anything is compiled.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(root, 'dist', 'ctr.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

let fresh = false;
try {
  fresh = fs.statSync(bundle).mtimeMs >= newestSource(path.join(root, 'lib'));
} catch {
  fresh = false;
}
if (!fresh) {
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli', 'build.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
}
process.argv[1] = bundle;
await import(bundle);
