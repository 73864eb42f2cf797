import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBusyboxRootfs, DEVICE_NODES, STAMP } from '../../rootfs-scripts/busybox.ts';
import { assertRootfs } from '../../lib/rootfs.ts';
import { canRunIntegration } from '../helpers/env.ts';

// Built next to the real one, under a name with the run-id shape so a crashed run is found by npm run clean.
const dir = `/var/lib/scratch/rootfs-test/scr00${process.pid.toString(16)}`;

describe.skipIf(!canRunIntegration)('the busybox rootfs builder', () => {
  afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('builds a usable rootfs, then does nothing on a second run unless forced', async () => {
    const cold = await buildBusyboxRootfs({ dir, log: () => {} });
    expect(cold.built).toBe(true);
    expect(cold.applets).toBeGreaterThan(200);
    expect(() => assertRootfs(dir)).not.toThrow();
    expect(fs.readlinkSync(path.join(dir, 'bin', 'sh'))).toBe('busybox');
    expect(fs.existsSync(path.join(dir, STAMP))).toBe(true);
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc'])
      expect(fs.statSync(path.join(dir, d)).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);

    const warm = await buildBusyboxRootfs({ dir, log: () => {} });
    expect(warm.built).toBe(false);
    const forced = await buildBusyboxRootfs({ dir, force: true, log: () => {} });
    expect(forced.built).toBe(true);
  });

  it('has working device nodes: a background job in busybox sh works and /dev/null swallows output', async () => {
    for (const [name, major, minor] of DEVICE_NODES) {
      const st = fs.statSync(path.join(dir, 'dev', name));
      expect(st.isCharacterDevice()).toBe(true);
      expect([Math.floor(st.rdev / 256), st.rdev % 256]).toEqual([major, minor]);
    }
    const r = await execa('chroot', [
      dir,
      '/bin/sh',
      '-c',
      'sleep 0 & wait; echo hidden > /dev/null; head -c 4 /dev/zero | wc -c',
    ]);
    expect(r.stdout.trim()).toBe('4');
  });
});
