/**
 * Lesson 05, run for real: its container is OOM-killed, its fork bomb contained and its busy loop throttled,
 * all read from the host's cgroup files; afterwards the cgroup is gone — also when the lesson is interrupted
 * with Ctrl-C half-way. The same file runs on cgroup v1 (this machine) and v2 (`npm run test:cgroup2`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/05-cgroups.ts';
import { detectLayout, planCgroup, readPids } from '../../lib/cgroups/index.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { describeCgroupHost } from '../../lib/preflight.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

const MIB = 1024 ** 2;
/** Generous: the emulated v2 guest is slow, and a lesson run there takes a while. */
const SLOW = 240_000;

/** The `scratch` parents where this host keeps the workshop's cgroups (one per tree on v1, one on v2). */
function scratchParents(): string[] {
  return planCgroup('probe', {}, { layout: detectLayout() }).drivers.flatMap((d) => [...d.parents]);
}

/** Lesson-05 cgroups present now (run ids start with the lesson number). */
function lesson05Cgroups(): string[] {
  return scratchParents().flatMap((p) => {
    try {
      return fs
        .readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith('05'))
        .map((e) => path.join(p, e.name));
    } catch {
      return [];
    }
  });
}

/** Running (not ended): a process that was killed but not yet reaped by its parent is a zombie, and ended. */
function running(pid: number): boolean {
  if (!pid || !processExists(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

const ours = (ids: string[]) => leftoversOf(...ids);

describe.skipIf(!canRunIntegration)('lesson 05: cgroups', () => {
  it(
    'OOM-kills the memory hog, contains the fork bomb, throttles the busy loop, then removes the cgroup',
    async () => {
      const r = await runLessonForTest(lesson);
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      const s = r.state;

      // Memory: killed by the kernel inside the cgroup, and counted there.
      expect(s.memory?.killed).toBe(true);
      expect(s.memory?.stats?.oomKills).toBeGreaterThanOrEqual(1);
      expect(s.memory?.stats?.maxBytes).toBe(32 * MIB);
      expect(s.memory?.stats?.currentBytes).toBeLessThanOrEqual(32 * MIB);

      // pids: refused forks, never more than the limit, and the host unaffected.
      expect(s.pids?.stats?.max).toBe(20);
      expect(s.pids?.stats?.forkFailures).toBeGreaterThan(0);
      expect(s.pids?.stats?.current).toBeLessThanOrEqual(20);
      expect(s.pids?.output).toMatch(/can't fork/);
      expect(s.pids?.hostCouldFork).toBe(true);
      expect(r.output).toMatch(/the host forked: PID \d+/);
      expect(r.output).not.toContain('/proc/loadavg');

      // The host's kernel log names the kill and this cgroup, where the log is readable (it is, as root here).
      if ((await execa('dmesg', [], { reject: false })).exitCode === 0) {
        expect(s.memory?.kernelLog?.join('\n')).toMatch(new RegExp(`oom_memcg=${s.cgroup?.path},`));
        expect(s.memory?.kernelLog?.join('\n')).toMatch(/Killed process \d+ \(dd\)/);
      }
      expect(r.output).not.toContain('the host does not notice at all');

      // The host is named for what it is, with what each tree holds (a hybrid host is not "cgroup v1").
      expect(r.output.replace(/\s+/g, ' ')).toContain(`This host: ${describeCgroupHost(detectLayout())}.`);

      // CPU: throttled, and near its 0.2 quota — a wide band, not a timing assertion.
      const cpu = s.cpu?.measured;
      expect(cpu?.throttledPeriods).toBeGreaterThan(0);
      expect(cpu?.cpus).toBeGreaterThan(0.05);
      expect(cpu?.cpus).toBeLessThan(0.4);

      // The container saw its cgroup as /, the host as /scratch/<id>.
      expect(s.hostView).toContain(`:/scratch/${s.cgroup?.id}`);
      expect(s.containerView).not.toContain('scratch');

      // Afterwards: no directory, no process, nothing of this run on the host.
      expect(s.dirs?.length).toBeGreaterThan(0);
      for (const d of s.dirs ?? []) expect(fs.existsSync(d)).toBe(false);
      expect(running(s.sleeperPid ?? 0)).toBe(false);
      expect(running(s.cpu?.container?.hostPid ?? 0)).toBe(false);
      expect(await ours([s.cgroup?.id ?? '?'])).toEqual([]);
    },
    SLOW,
  );

  it('explain mode shows the mkdir and echo lines and creates nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toMatch(/\$ mkdir (-p )?\/sys\/fs\/cgroup\/.*scratch\/05[0-9a-f]{4}/);
    expect(r.output).toMatch(/echo 20 > \/sys\/fs\/cgroup\/.*scratch\/05[0-9a-f]{4}\/pids\.max/);
    expect(r.output).toContain('unshare --cgroup');
    expect(r.state.cgroup).toBeUndefined();
    expect(lesson05Cgroups().filter((d) => path.basename(d).startsWith(r.id))).toEqual([]);
  });

  it(
    'Ctrl-C while the container runs: the container ends, then its cgroup is removed',
    async () => {
      const id = testId('05');
      // The lesson as a learner starts it; stdin is not a terminal, so no shell is offered at the end.
      const child = execa('node', ['--import', 'tsx', 'lib/cli/lesson.ts', '05'], {
        reject: false,
        stdin: 'ignore',
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { SCRATCH_RUN_ID: id },
      });
      // Wait until this run's cgroup holds a process (the container of step 3 is running).
      let mine: string[] = [];
      let pids: number[] = [];
      const deadline = Date.now() + 120_000;
      while (pids.length === 0 && Date.now() < deadline && child.exitCode === null) {
        mine = lesson05Cgroups().filter((d) => path.basename(d) === id);
        pids = mine.flatMap((d) => readPids((p) => fs.readFileSync(p, 'utf8'), path.join(d, 'cgroup.procs')));
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(pids.length).toBeGreaterThan(0);
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode).toBe(130);
      for (const d of mine) expect(fs.existsSync(d)).toBe(false);
      for (const pid of pids) expect(running(pid)).toBe(false);
      const ids = mine.map((d) => path.basename(d));
      expect(await ours(ids)).toEqual([]);
    },
    SLOW,
  );
});
