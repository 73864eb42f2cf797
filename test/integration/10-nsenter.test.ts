/**
 * Lesson 10, run for real: a detached container, a plain nsenter that misses its cgroup and keeps the host
 * root's capabilities, an exec that the host cannot tell from PID 1, stop's grace period, and nothing left
 * after stop + rm — all observed from the host.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/10-nsenter.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { stateDir } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

describe.skipIf(!canRunIntegration)('lesson 10: nsenter and ctr exec', () => {
  it('exec joins what PID 1 has; plain nsenter misses the cgroup and the profile; stop and rm leave nothing', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const s = r.state;
    const pid1 = s.pid1!;

    // ctr exec: every namespace inode, the cgroup, the capability sets, no_new_privs and seccomp of PID 1.
    expect(s.exec?.ns).toEqual(pid1.ns);
    expect(s.exec?.cgroup).toBe(`/scratch/${s.app?.id}`);
    expect(s.exec?.profile).toEqual(pid1.profile);
    expect(pid1.profile.Seccomp).toBe('2');
    expect(pid1.profile.CapEff).not.toBe('000001ffffffffff');

    // Plain nsenter: the same namespaces, but the host's cgroup and the host root's capabilities, no filter.
    expect(s.plain?.ns).toEqual(pid1.ns);
    expect(s.plain?.cgroup).not.toContain('scratch');
    expect(s.plain?.profile.CapEff).toBe(fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*(\S+)/m)?.[1]);
    expect(s.plain?.profile.Seccomp).toBe('0');

    // Inside: the container's hostname, PIDs, network and files.
    expect(s.look?.stdout).toMatch(/^app$/m);
    expect(s.look?.stdout).toContain('made by PID 1');

    // stop: a PID 1 with a SIGTERM handler ends at once, one without is SIGKILLed after the grace period.
    expect(s.stops?.app.exitCode).toBe(0);
    expect(s.stops?.stubborn.exitCode).toBe(137);
    expect(s.stops?.stubborn.ms).toBeGreaterThanOrEqual(2000);

    // Exec into a stopped or an unknown container: one line each, naming the fix, exit 125.
    expect(s.badInput?.stopped.stderr.trim()).toMatch(/^✘ container app-\w+ is not running — fix: /);
    expect(s.badInput?.unknown.stderr.trim()).toMatch(/^✘ no such container: no-such-\w+ — fix: ctr ps -a$/);

    expect(s.logs).toMatch(/app: up\napp: SIGTERM, stopping/);
    expect(fs.existsSync(stateDir(s.app?.id ?? '?'))).toBe(false);
    expect(await leftoversOf(r.id)).toEqual([]);
  }, 120_000);

  it('explain mode shows ctr, nsenter and the exec join, and starts nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain('node bin/ctr.mjs run -d --name app-');
    expect(r.output).toMatch(/nsenter --target "\$PID" --cgroup --ipc --uts --net --pid --mount --root=\/ --wd=\//);
    expect(r.output).toMatch(/echo \$EXEC > \/sys\/fs\/cgroup\/.*scratch\/10[0-9a-f]{8}\/cgroup\.procs/);
    expect(r.output).toContain('chroot("/proc/$PID/root")');
    expect(fs.existsSync(stateDir(`${r.id}0001`))).toBe(false);
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
