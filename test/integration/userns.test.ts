/**
 * `ctr run --userns`, for real: the container's root is an unprivileged host uid from a range /etc/subuid grants
 * nobody; exec joins its user namespace too; /sys is the host's, read-only all the way down; devices are the
 * host's nodes, bound in; a network namespace root made (the bridge) still works; nothing is left afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { readNamespaces, readStatusField } from '../../lib/proc.ts';
import { freeIdBlock, readSubids, SUBGID_FILE, SUBUID_FILE } from '../../lib/userns.ts';
import { canRunIntegration } from '../helpers/env.ts';

const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');
const newId = () => crypto.randomBytes(5).toString('hex');
/** The bridge test plays the host in a network namespace of its own, as test/integration/ctr.test.ts does. */
const HOST_NETNS = `scrt${crypto.randomBytes(3).toString('hex')}`;
const ctr = (args: string[], opts: { id?: string; netns?: boolean } = {}) =>
  execa(
    opts.netns ? 'nsenter' : process.execPath,
    opts.netns ? [`--net=/run/netns/${HOST_NETNS}`, '--', process.execPath, CTR, ...args] : [CTR, ...args],
    { reject: false, input: '', env: { FORCE_COLOR: '0', ...(opts.id ? { SCRATCH_RUN_ID: opts.id } : {}) } },
  );
const remapBase = () => freeIdBlock([...readSubids(SUBUID_FILE), ...readSubids(SUBGID_FILE)]);

describe.skipIf(!canRunIntegration)('ctr run --userns', () => {
  beforeAll(async () => {
    await execa('ip', ['netns', 'add', HOST_NETNS]);
    await execa('ip', ['-n', HOST_NETNS, 'link', 'set', 'lo', 'up']);
  });
  afterAll(async () => {
    await execa('ip', ['netns', 'delete', HOST_NETNS], { reject: false });
  });

  it('root inside is an unprivileged host uid; /sys is read-only below; devices work; nothing is left', async () => {
    const id = newId();
    const base = remapBase();
    const r = await ctr(
      [
        'run',
        '--rm',
        '--userns',
        '--network',
        'none',
        DEFAULT_ROOTFS,
        'sh',
        '-c',
        'id; cat /proc/self/uid_map; echo x > /dev/null && head -c 4 /dev/zero | wc -c; ' +
          'touch /sys/fs/cgroup/x 2>&1; touch /sys/kernel/x 2>&1; ls -ln /etc/passwd',
      ],
      { id },
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^uid=0\(root\) gid=0\(root\)/);
    expect(lines[1]?.trim().split(/\s+/)).toEqual(['0', String(base), '65536']);
    expect(lines[2]?.trim()).toBe('4');
    // The host's /sys with everything mounted below it, read-only all the way down.
    expect(lines.filter((l) => /Read-only file system/.test(l))).toHaveLength(2);
    // The rootfs belongs to the host's root, which no line maps: it shows as the overflow id.
    expect(lines[5]).toMatch(/^-rw-r--r--\s+1 65534\s+65534 /);
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('detached: PID 1 runs as the remapped uid; exec joins its user namespace and cgroup; stop + rm leave nothing', async () => {
    const id = newId();
    const name = `scrt${id.slice(0, 4)}u`;
    const base = remapBase();
    const started = await ctr(
      [
        'run',
        '-d',
        '--userns',
        '--name',
        name,
        '--network',
        'none',
        '--pids-limit',
        '20',
        DEFAULT_ROOTFS,
        'sleep',
        '300',
      ],
      { id },
    );
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      const pid = readState(id)?.pid ?? 0;
      expect(readStatusField(pid, 'Uid')?.split(/\s+/)).toEqual(Array(4).fill(String(base)));
      const exec = await ctr([
        'exec',
        name,
        'sh',
        '-c',
        'id -u; readlink /proc/self/ns/user; cat /proc/self/cgroup; grep -E "^(Uid|CapEff):" /proc/self/status',
      ]);
      expect(exec.exitCode, exec.stderr).toBe(0);
      expect(exec.stdout.split('\n')[0]).toBe('0');
      expect(exec.stdout).toContain(`user:[${readNamespaces(pid).user}]`);
      expect(exec.stdout).toMatch(new RegExp(`^Uid:\\s+0\\s+0\\s+0\\s+0$`, 'm'));
      expect(exec.stdout).toContain(`CapEff:\t${readStatusField(pid, 'CapEff')}`);
      // Its cgroup namespace shows / — and the host's pids counter of the container's cgroup counted it.
      expect(exec.stdout).toMatch(/:\/$/m);
      const stop = await ctr(['stop', '-t', '1', name]);
      expect(stop.exitCode).toBe(0);
    } finally {
      await ctr(['rm', '-f', name]);
    }
    expect(readState(id)).toBeUndefined();
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('joins a network namespace root made (the bridge) and reads the resolv.conf bound from its state dir', async () => {
    const id = newId();
    const r = await ctr(
      ['run', '--rm', '--userns', DEFAULT_ROOTFS, 'sh', '-c', 'ip -4 -o addr show eth0; cat /etc/resolv.conf; id -u'],
      { id, netns: true },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eth0\s+inet \d+\.\d+\.\d+\.\d+\//);
    expect(r.stdout).toMatch(/nameserver /);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0');
    // /run/scratch lets the remapped uid through to its files, and lists nothing to it.
    expect(fs.statSync('/run/scratch').mode & 0o777).toBe(0o711);
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('a rootfs with a mount below it is refused in one line that names the mount and the umount that fixes it', async () => {
    // A private bind of the busybox rootfs with a tmpfs on its /proc: what a lesson's shell can leave in a rootfs,
    // made where the shared rootfs (and whatever else runs from it) never sees it.
    const id = newId();
    const dir = `/run/scratch/${id}-below`;
    const root = `${dir}/rootfs`;
    fs.mkdirSync(root, { recursive: true });
    try {
      await execa('mount', ['--bind', '--make-private', DEFAULT_ROOTFS, root]);
      await execa('mount', ['-t', 'tmpfs', 'scr-below', `${root}/proc`]);
      const r = await ctr(['run', '--rm', '--userns', '--network', 'none', root, 'true'], { id });
      expect(r.exitCode).toBe(125);
      expect(r.stderr).toContain(`rootfs ${root} has ${root}/proc mounted below it`);
      expect(r.stderr).toContain(`sudo umount ${root}/proc`);
      expect(r.stderr).not.toMatch(/EINVAL|\n\s+at /);
    } finally {
      await execa('umount', ['--lazy', `${root}/proc`], { reject: false });
      await execa('umount', ['--lazy', root], { reject: false });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(await leftoversOf(id)).toEqual([]);
  });
});
