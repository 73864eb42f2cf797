/**
 * `npm run bench` measures rootfs builds in a directory of its own: rebuilding the shared busybox rootfs with
 * --force would pull it from under a lesson running in another terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { STAMP } from '../../rootfs-scripts/busybox.ts';
import { benchmarks } from '../bench/plan.ts';
import { canRunIntegration } from '../helpers/env.ts';

describe('the benchmark plan', () => {
  it('builds only into its own directory, never --force on the shared rootfs', () => {
    const own = '/tmp/scr-bench-test/rootfs';
    for (const b of benchmarks('/usr/bin/node', own).filter((x) => x.args.includes('rootfs'))) {
      expect(b.args.slice(b.args.indexOf('--dir'), b.args.indexOf('--dir') + 2)).toEqual(['--dir', own]);
    }
    expect(JSON.stringify(benchmarks('/usr/bin/node', own))).not.toContain(DEFAULT_ROOTFS);
  });
});

describe.skipIf(!canRunIntegration)('npm run bench, as root', () => {
  it('leaves the shared busybox rootfs exactly as it was (same files, not rebuilt)', async () => {
    const stamp = path.join(DEFAULT_ROOTFS, STAMP);
    const before = fs.statSync(stamp);
    const benchDirs = () => new Set(fs.readdirSync('/tmp').filter((d) => d.startsWith('scr-bench-')));
    const dirsBefore = benchDirs();
    const r = await execa('npm', ['run', '-s', 'bench'], {
      reject: false,
      env: { BENCH_RUNS: '1', BENCH_ONLY: 'rootfs', FORCE_COLOR: '0' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('(cold build)');
    const after = fs.statSync(stamp);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // Its own directory is gone again (others' may come and go meanwhile: only new ones that stayed count).
    expect([...benchDirs()].filter((d) => !dirsBefore.has(d) && fs.existsSync(path.join('/tmp', d, 'rootfs')))).toEqual(
      [],
    );
  }, 120_000);
});
