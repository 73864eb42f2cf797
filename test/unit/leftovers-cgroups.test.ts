import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { scratchCgroups } from '../../lib/leftovers.ts';

describe('scratchCgroups', () => {
  let root = '';
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-cgroups-'));
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists every group below the scratch parents, deepest first', () => {
    fs.mkdirSync(path.join(root, 'memory/scratch/05ab12/inner'), { recursive: true });
    fs.mkdirSync(path.join(root, 'pids/scratch/07cd34'), { recursive: true });
    expect(scratchCgroups(root).sort()).toEqual(
      [
        path.join(root, 'memory/scratch/05ab12'),
        path.join(root, 'memory/scratch/05ab12/inner'),
        path.join(root, 'pids/scratch/07cd34'),
      ].sort(),
    );
    expect(scratchCgroups(root).indexOf(path.join(root, 'memory/scratch/05ab12/inner'))).toBeLessThan(
      scratchCgroups(root).indexOf(path.join(root, 'memory/scratch/05ab12')),
    );
  });

  it('a parent another run removes between the listing and the walk is simply not there', () => {
    // The last run out removes the empty parent: seen here as ENOENT from the walk, after the parent was found.
    const gone = path.join(root, 'memory/scratch');
    const readdir = fs.readdirSync.bind(fs);
    vi.spyOn(fs, 'readdirSync').mockImplementation(((dir: fs.PathLike, opts?: unknown) => {
      if (String(dir) === gone) throw Object.assign(new Error(`ENOENT: ${gone}`), { code: 'ENOENT' });
      return readdir(dir, opts as never);
    }) as typeof fs.readdirSync);
    expect(scratchCgroups(root)).toEqual([path.join(root, 'pids/scratch/07cd34')]);
  });

  it('other errors still surface', () => {
    const denied = path.join(root, 'pids/scratch');
    const readdir = fs.readdirSync.bind(fs);
    vi.spyOn(fs, 'readdirSync').mockImplementation(((dir: fs.PathLike, opts?: unknown) => {
      if (String(dir) === denied) throw Object.assign(new Error(`EACCES: ${denied}`), { code: 'EACCES' });
      return readdir(dir, opts as never);
    }) as typeof fs.readdirSync);
    expect(() => scratchCgroups(root)).toThrow(/EACCES/);
  });
});
