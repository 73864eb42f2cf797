/**
 * lib/cgroups on this host's real cgroup filesystem (v1 on the CI machine, v2 in the `npm run test:cgroup2`
 * guest): a plain `sh` writes its own PID into the group's cgroup.procs files — what a container's first
 * process does — and then allocates, forks or spins. Everything is observed from the host's cgroup files.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { createCgroup, measureCpu, parseLimits, waitForStats, type Cgroup } from '../../lib/cgroups/index.ts';
import { findLeftovers } from '../../lib/leftovers.ts';
import { createRunner } from '../../lib/runner.ts';
import { canRunIntegration } from '../helpers/env.ts';

/** Joins every cgroup.procs given as arguments, then runs the payload (the arguments stay argv, never text). */
const JOIN = 'for f in "$@"; do echo $$ > "$f"; done; ';

const runner = createRunner();
let cleanup = new CleanupStack();
const ids: string[] = [];

function newCgroup(limits: Parameters<typeof parseLimits>[0]): Cgroup {
  const id = `t${process.pid.toString(36)}${ids.length}`;
  ids.push(id);
  return createCgroup(cleanup, id, parseLimits(limits));
}

afterEach(async () => {
  await cleanup.unwind();
  cleanup = new CleanupStack();
});

describe.skipIf(!canRunIntegration)('lib/cgroups on this host', () => {
  it('a process that allocates past the memory limit is OOM-killed, and the kill is counted', async () => {
    const cg = newCgroup({ memory: '32m' });
    // dd's buffer is one 64 MiB block, which it fills from /dev/zero: twice the limit, with no swap allowed.
    const r = await runner.run(
      ['sh', '-c', `${JOIN}exec dd if=/dev/zero of=/dev/null bs=64M count=1`, 'sh', ...cg.procsFiles],
      { reject: false },
    );
    expect(r.signal).toBe('SIGKILL');
    const mem = cg.stats().memory;
    expect(mem?.maxBytes).toBe(32 * 1024 ** 2);
    expect(mem?.oomKills).toBeGreaterThanOrEqual(1);
    expect(mem?.currentBytes).toBeLessThanOrEqual(32 * 1024 ** 2);
  });

  it('a bounded fork bomb cannot go past the pids limit, and the host can still fork', async () => {
    const cg = newCgroup({ pids: '20' });
    // Each sleep is detached from the pipes so the shell's end is seen as soon as a fork is refused.
    const bomb = 'i=0; while [ $i -lt 60 ]; do sleep 60 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo all-forked';
    const r = await runner.run(['sh', '-c', `${JOIN}${bomb}`, 'sh', ...cg.procsFiles], { reject: false });
    expect(r.stdout).not.toContain('all-forked');
    expect(r.stderr).toMatch(/fork/i);
    const pids = cg.stats().pids;
    expect(pids?.max).toBe(20);
    expect(pids?.forkFailures).toBeGreaterThanOrEqual(1);
    expect(pids?.current).toBeGreaterThan(0); // the sleeps that did start are still there
    expect(pids?.current).toBeLessThanOrEqual(20);
    if (pids?.peak !== undefined) expect(pids.peak).toBe(20);
    expect((await runner.run(['sh', '-c', 'echo host-can-fork'])).stdout).toBe('host-can-fork');
  });

  it('a busy loop under a 0.2 CPU quota is throttled and runs near its quota', async () => {
    const cg = newCgroup({ cpus: '0.2' });
    const loop = runner.start(['sh', '-c', `${JOIN}while :; do :; done`, 'sh', ...cg.procsFiles]);
    cleanup.push(`stop busy loop ${loop.pid}`, () => loop.kill('SIGKILL'));
    const started = await waitForStats(cg, (s) => (s.cpu?.usageUsec ?? 0) > 0 && cg.processes().length > 0);
    expect(started.met).toBe(true);
    const m = await measureCpu(cg, 2000);
    expect(m.throttledPeriods).toBeGreaterThan(0);
    expect(m.throttledUsec).toBeGreaterThan(0);
    // A generous band around 0.2: scheduling, and the slow emulated guest, blur it; an unlimited loop would be ~1.
    expect(m.cpus).toBeGreaterThan(0.05);
    expect(m.cpus).toBeLessThan(0.4);
  });

  it('a process moved in shows the group in /proc/<pid>/cgroup', async () => {
    const cg = newCgroup({ pids: '5' });
    const sleeper = runner.start(['sh', '-c', `${JOIN}exec sleep 60`, 'sh', ...cg.procsFiles]);
    cleanup.push(`stop ${sleeper.pid}`, () => sleeper.kill('SIGKILL'));
    const { met } = await waitForStats(cg, () => cg.processes().includes(sleeper.pid));
    expect(met).toBe(true);
    const lines = fs.readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8');
    expect(lines).toContain(`:${cg.path}\n`);
  });

  it('removes its directories, killing what is left inside first', async () => {
    const cg = newCgroup({ memory: '32m', pids: '20', cpus: '0.5' });
    const sleeper = runner.start(['sh', '-c', `${JOIN}exec sleep 600`, 'sh', ...cg.procsFiles]);
    await waitForStats(cg, () => cg.processes().includes(sleeper.pid));
    const dirs = cg.dirs;
    for (const d of dirs) expect(fs.existsSync(d)).toBe(true);
    await cleanup.unwind();
    expect((await sleeper.wait()).signal).toBe('SIGKILL');
    for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
  });

  it('leaves nothing of its own on the host', async () => {
    await cleanup.unwind();
    const mine = await findLeftovers(runner, ids);
    expect(mine).toEqual([]);
  });
});
