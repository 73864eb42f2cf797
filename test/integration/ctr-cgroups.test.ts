/**
 * ctr's resource flags, seen from the host's cgroup files and from inside: -m, --memory-swap, --cpus,
 * --pids-limit. The same file runs here (cgroup v1 or hybrid) and in the pure cgroup v2 guest
 * (npm run test:cgroup2), where a container also sees its own cgroup, read-only, at /sys/fs/cgroup.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectLayout, isPureV2 } from '../../lib/cgroups/layout.ts';
import { readState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { readCgroups } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ctrIn } from '../helpers/fleet.ts';

const newId = () => crypto.randomBytes(5).toString('hex');
/** --network none: these containers need no network, so nothing here touches the host's. */
const ctr = (args: string[], id?: string) => ctrIn(undefined)(args, { id });
const pureV2 = isPureV2(detectLayout());

/** The value of the first of `names` found in any of the container's cgroup directories. */
function limitFile(dirs: readonly string[], names: readonly string[]): string | undefined {
  for (const dir of dirs)
    for (const name of names) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
    }
  return undefined;
}

describe.skipIf(!canRunIntegration)('ctr run’s resource flags, from the host’s cgroup files', () => {
  it('-m, --memory-swap, --cpus and --pids-limit land in the container’s own cgroup, and go with rm', async () => {
    const id = newId();
    const r = await ctr(
      [
        'run',
        '-d',
        '--network',
        'none',
        '-m',
        '48m',
        '--memory-swap',
        '48m',
        '--cpus',
        '0.5',
        '--pids-limit',
        '25',
        DEFAULT_ROOTFS,
        'sleep',
        '300',
      ],
      id,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const cid = r.stdout.trim();
    const state = readState(cid);
    const dirs = state?.cgroupDirs ?? [];
    try {
      expect(state).toBeDefined();
      expect(dirs.length).toBeGreaterThan(0);
      for (const d of dirs) expect(d).toContain(`/scratch/${cid}`);
      expect(limitFile(dirs, ['memory.max', 'memory.limit_in_bytes'])).toBe(String(48 * 1024 * 1024));
      expect(limitFile(dirs, ['pids.max'])).toBe('25');
      // v2: "50000 100000" in cpu.max; v1: cfs_quota_us 50000 of a cfs_period_us 100000.
      const cpu = limitFile(dirs, ['cpu.max']) ?? `${limitFile(dirs, ['cpu.cfs_quota_us'])} 100000`;
      expect(cpu).toBe('50000 100000');
      // The container's first process is in that cgroup, as /proc/<pid>/cgroup says from the host.
      const lines = readCgroups(state?.pid ?? 0);
      expect(lines.some((l) => l.path === `/scratch/${cid}`)).toBe(true);
    } finally {
      const rm = await ctr(['rm', '-f', cid]);
      expect(rm.exitCode, rm.stderr).toBe(0);
    }
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) expect(fs.existsSync(d), d).toBe(false);
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('a command that allocates past -m is killed by the kernel: exit 137, OOMKilled, nothing on stderr', async () => {
    const id = newId();
    const name = `scrt${id.slice(0, 6)}`;
    const r = await ctr(
      [
        'run',
        '--name',
        name,
        '--network',
        'none',
        '-m',
        '24m',
        '--memory-swap',
        '24m',
        DEFAULT_ROOTFS,
        'dd',
        'if=/dev/zero',
        'of=/dev/null',
        'bs=64M',
        'count=1',
      ],
      id,
    );
    try {
      expect(r.exitCode, r.stderr).toBe(137);
      // util-linux 2.38's unshare complains when it cannot re-raise SIGKILL; that line is not the container's.
      expect(r.stderr).toBe('');
      const [state] = JSON.parse((await ctr(['inspect', name])).stdout) as { oomKilled?: boolean }[];
      expect(state?.oomKilled).toBe(true);
    } finally {
      await ctr(['rm', '-f', name]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('--pids-limit refuses the forks past it: the host counts no more than the limit', async () => {
    const id = newId();
    // The loop runs in a subshell: a shell whose fork is refused gives up, and PID 1 must live on to be looked at.
    const loop = '( i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo all 20 started ) 2>/dev/null';
    const r = await ctr(
      [
        'run',
        '-d',
        '--network',
        'none',
        '--pids-limit',
        '6',
        DEFAULT_ROOTFS,
        'sh',
        '-c',
        `${loop}; echo "loop status $?"; exec sleep 30`,
      ],
      id,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const cid = r.stdout.trim();
    try {
      const dirs = readState(cid)?.cgroupDirs ?? [];
      let logs = '';
      for (let i = 0; i < 100 && !logs.includes('loop status'); i++) {
        await new Promise((res) => setTimeout(res, 100));
        logs = (await ctr(['logs', cid])).stdout;
      }
      expect(logs).not.toContain('all 20 started');
      expect(logs).toMatch(/loop status [1-9]/);
      expect(Number(limitFile(dirs, ['pids.current']))).toBeLessThanOrEqual(6);
      // pids.events counts the refused forks: "max N".
      expect(Number(/max (\d+)/.exec(limitFile(dirs, ['pids.events']) ?? '')?.[1] ?? 0)).toBeGreaterThan(0);
    } finally {
      await ctr(['rm', '-f', cid]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it.runIf(pureV2)('on a pure v2 host the container sees its own cgroup at /sys/fs/cgroup, read-only', async () => {
    const r = await ctr([
      'run',
      '--rm',
      '--network',
      'none',
      '-m',
      '40m',
      DEFAULT_ROOTFS,
      'sh',
      '-c',
      'cat /proc/self/cgroup /sys/fs/cgroup/memory.max; touch /sys/fs/cgroup/x 2>&1 || true',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [own, max, touch] = r.stdout.trim().split('\n');
    expect(own).toBe('0::/');
    expect(max).toBe(String(40 * 1024 * 1024));
    expect(touch).toMatch(/Read-only file system/);
  });
});
