import path from 'node:path';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/03-pid-namespace.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

describe.skipIf(!canRunIntegration)('lesson 03: PID namespace', () => {
  it('the first process is PID 1 inside and another PID on the host; ps inside sees only the container', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    // One process, two numbers: NSpid read from the host's /proc.
    const hostPid = r.state.hostPid ?? 0;
    expect(hostPid).toBeGreaterThan(1);
    expect(hostPid).not.toBe(process.pid);
    expect(r.state.nsPid).toEqual([hostPid, 1]);

    // ps inside: PID 1 is the container's sleep, and nothing of the host (this test runner, its shell) is there.
    const ps = r.state.psInside ?? [];
    expect(ps.find((p) => p.pid === 1)?.args).toBe('sleep 3600');
    for (const p of ps) expect(p.args).toMatch(/^(sleep 3600|\[sleep\]|ps -o pid,ppid,stat,args)$/);
    expect(ps.length).toBeLessThan(r.state.hostProcessCount ?? 0);

    // The container's /proc was never in the host's mount table.
    expect(r.state.procMountOnHost).toBe(false);

    // The orphan: adopted by the container's PID 1 (its host PID), a zombie, PPID 1 inside.
    expect(r.state.zombieHostPid).toBeGreaterThan(0);
    expect(r.state.zombieParent).toBe(hostPid);
    expect(r.state.zombieInside).toMatchObject({ ppid: 1, args: '[sleep]' });

    // Killing PID 1 took the whole namespace with it.
    expect(r.state.namespaceProcesses).toContain(hostPid);
    expect(r.state.namespaceProcesses?.length).toBeGreaterThanOrEqual(4);
    expect(r.state.survivors).toEqual([]);
    expect(r.state.exitSignal).toBe('SIGKILL');
  });

  it('nothing is left: no process of the namespace, no /proc mount in the rootfs, nothing with the scr prefix', async () => {
    const r = await runLessonForTest(lesson);
    for (const pid of r.state.namespaceProcesses ?? []) expect(processExists(pid)).toBe(false);
    const proc = path.join(DEFAULT_ROOTFS, 'proc');
    expect(readMountinfo().filter((m) => m.mountPoint === proc)).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
