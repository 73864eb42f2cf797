/**
 * The device cgroup, proven from the host: a container started by the runtime may make a node for the host's disk
 * (CAP_MKNOD is one of docker's 14) but not open it, while /dev/null and /dev/urandom work — and the host reads the
 * rules where the kernel keeps them: devices.list on cgroup v1, the attached BPF program on v2. The same file runs
 * here (cgroup v1 hybrid) and in the pure cgroup v2 guest (test/cgroup2/run-in-vm.sh).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import {
  createCgroup,
  detectLayout,
  devicesListLines,
  DOCKER_DEVICE_RULES,
  foldDeviceRules,
  readDeviceRules,
} from '../../lib/cgroups/index.ts';
import { readState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { CGROUP_PARENT, DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ctrIn } from '../helpers/fleet.ts';

const newId = () => crypto.randomBytes(5).toString('hex');
const ctr = (args: string[], id?: string) => ctrIn(undefined)(args, { id });
const layout = detectLayout();
const DOCKER = foldDeviceRules(DOCKER_DEVICE_RULES);

/**
 * Inside the container: make a node for a disk (7:0, the first loop device: the refusal comes before the kernel
 * looks for the driver, so it need not exist), try to open it, then use /dev/null and /dev/urandom. Each line says
 * what happened; the errors are busybox's, from strerror.
 */
const PROBE = [
  'mknod /dev/scr-disk b 7 0 && echo "mknod: ok"',
  'head -c 1 /dev/scr-disk >/dev/null 2>/tmp/scr-err && echo "open disk: ok" || echo "open disk: $(cat /tmp/scr-err)"',
  'echo x > /dev/null && echo "write /dev/null: ok"',
  'echo "read /dev/urandom: $(head -c 4 /dev/urandom | wc -c) bytes"',
].join('; ');

function expectDockerAnswers(out: string): void {
  expect(out).toContain('mknod: ok');
  expect(out).toMatch(/open disk: .*Operation not permitted/);
  expect(out).toContain('write /dev/null: ok');
  expect(out).toContain('read /dev/urandom: 4 bytes');
}

describe.skipIf(!canRunIntegration)('the device cgroup, seen from the host', () => {
  it('ctr run: a disk node can be made, not opened (EPERM); /dev/null and /dev/urandom work', async () => {
    const id = newId();
    const r = await ctr(['run', '--rm', '--network', 'none', DEFAULT_ROOTFS, 'sh', '-c', PROBE], id);
    expect(r.exitCode, r.stderr).toBe(0);
    expectDockerAnswers(r.stdout);
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('the host reads docker’s rules in the running container’s cgroup; ctr exec is held to them too', async () => {
    const id = newId();
    const r = await ctr(['run', '-d', '--network', 'none', DEFAULT_ROOTFS, 'sleep', '300'], id);
    expect(r.exitCode, r.stderr).toBe(0);
    const cid = r.stdout.trim();
    try {
      const dirs = readState(cid)?.cgroupDirs ?? [];
      expect(dirs.length).toBeGreaterThan(0);
      const read = readDeviceRules(dirs, layout);
      expect(read.lines).toEqual(devicesListLines(DOCKER));
      if (read.version === 'v2') expect(read.programIds).toHaveLength(1);
      const exec = await ctr(['exec', cid, 'sh', '-c', PROBE]);
      expect(exec.exitCode, exec.stderr).toBe(0);
      expectDockerAnswers(exec.stdout);
    } finally {
      const rm = await ctr(['rm', '-f', cid]);
      expect(rm.exitCode, rm.stderr).toBe(0);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('--device-cgroup-rule allows one more device: its open is no longer refused by the cgroup', async () => {
    const id = newId();
    const r = await ctr(
      ['run', '--rm', '--network', 'none', '--device-cgroup-rule', 'b 7:0 r', DEFAULT_ROOTFS, 'sh', '-c', PROBE],
      id,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    // Allowed now: it opens, or the driver answers (no loop device 0 here), but the cgroup no longer says EPERM.
    expect(r.stdout, r.stdout).toMatch(/open disk: /);
    expect(r.stdout).not.toMatch(/open disk: .*Operation not permitted/);
    expect(r.stdout).toContain('write /dev/null: ok');
    expect(await leftoversOf(id)).toEqual([]);
  });

  // On this hybrid host the v1 controller is used; the v2 tree beside it takes a BPF program all the same, so the
  // eBPF path is proven here too (and again, as the only path, in the pure v2 guest).
  it.skipIf(!layout.v2)('a device program attached to a cgroup of the v2 tree refuses the same open', async () => {
    const id = newId();
    const cleanup = new CleanupStack();
    const v2Only = { v1: [], v2: layout.v2 ?? { mountPoint: '', available: [] } };
    try {
      const cg = createCgroup(cleanup, id, {}, { layout: v2Only, controllers: [], devices: DOCKER_DEVICE_RULES });
      const leaf = path.join(v2Only.v2.mountPoint, CGROUP_PARENT, id);
      expect(cg.dirs).toEqual([leaf]);
      const read = readDeviceRules([leaf], v2Only);
      expect(read).toMatchObject({ version: 'v2', lines: devicesListLines(DOCKER), programIds: [expect.any(Number)] });
      // A host shell moves itself into the group, then tries what the container tried (in a directory of its own).
      const dir = fs.mkdtempSync('/var/tmp/scr-devices-');
      cleanup.push(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
      const probe = PROBE.replaceAll('/dev/scr-disk', `${dir}/disk`).replaceAll('/tmp/scr-err', `${dir}/err`);
      const r = await execa('sh', ['-c', `echo $$ > ${leaf}/cgroup.procs && { ${probe}; }`], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expectDockerAnswers(r.stdout);
    } finally {
      await cleanup.unwind();
    }
    expect(fs.existsSync(path.join(v2Only.v2.mountPoint, CGROUP_PARENT, id))).toBe(false);
    expect(await leftoversOf(id)).toEqual([]);
  });
});
