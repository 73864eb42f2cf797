import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import lesson, { SECOND_CHROOT } from '../../lessons/03-pid-namespace.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { startContainer } from '../../lib/container/start.ts';
import { build, chrootSpec, withPid, withUtsIpc } from '../../lib/kit.ts';
import type { ContainerSpec } from '../../lib/spec.ts';
import { showArgv } from '../../lib/lesson.ts';
import { createRunner } from '../../lib/runner.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

/** Lesson 03's container (chroot, own PIDs and mount tree, its /proc), for a test's own run id. */
function lessonContainerSpec(id: string): ContainerSpec {
  return build(chrootSpec({ id, rootfs: DEFAULT_ROOTFS, args: ['sleep', '3600'] }), withUtsIpc(`scr${id}`), withPid);
}

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
    expect(ps.find((p) => p.pid === 1)?.command).toBe('sleep');
    for (const p of ps) expect(p.command).toMatch(/^(sleep|sh)$/);
    expect(r.state.psOwnProc?.length).toBeLessThan(r.state.hostProcessCount ?? 0);

    // The container's /proc was never in the host's mount table.
    expect(r.state.procMountOnHost).toBe(false);

    // The orphan: adopted by the container's PID 1 (its host PID), a zombie, PPID 1 inside.
    expect(r.state.zombieHostPid).toBeGreaterThan(0);
    expect(r.state.zombieParent).toBe(hostPid);
    expect(r.state.zombieInside).toMatchObject({ ppid: 1, stat: 'Z', command: 'sleep' });

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

  it('the count the step shows is the count its check judges, and the command shown is the one that ran', async () => {
    const r = await runLessonForTest(lesson);
    const inside = r.state.psOwnProc?.length ?? 0;
    expect(inside).toBeGreaterThan(0);
    expect(r.output).toContain(`${inside} processes:`);
    expect(r.output).toContain(`${r.state.hostProcessCount} processes (numbered entries of ls /proc)`);
    const check = r.checks.find((c) => c.claim.startsWith('ps inside lists only'));
    expect(check?.detail).toBe(`${inside} inside vs ${r.state.hostProcessCount} on the host`);
    expect(r.output).toMatch(/^ {2}\$ ls \/proc$/m);
    expect(r.output).not.toContain('ps -e');
  });

  it('says on screen when the exit status shown differs from what unshare itself returned', async () => {
    const version = (await execa('unshare', ['--version'])).stdout;
    const r = await runLessonForTest(lesson);
    expect(r.state.ended?.exitCode).toBe(137);
    if (/2\.38/.test(version)) {
      // util-linux 2.38: unshare cannot re-raise SIGKILL and exits 1; the lesson says so rather than hide it.
      expect(r.state.ended?.rewritten?.launcherExitCode).toBe(1);
      expect(r.output).toContain('Typed in a shell, `wait $!` prints exit 1 here, not 137');
    }
    if (r.state.ended?.rewritten === undefined) expect(r.output).not.toContain('Typed in a shell');
  });

  it("the shell hint's second chroot really reaches the host's / (lesson 04 is what stops it)", async () => {
    const cleanup = new CleanupStack();
    const id = testId('03');
    try {
      const c = await startContainer(createRunner(), cleanup, lessonContainerSpec(id), { executor: 'sh' });
      const hint = lesson.shell?.({ id, rootfs: DEFAULT_ROOTFS, use: (fn: unknown) => fn } as never).explain ?? '';
      expect(hint.replace(/\s+/g, ' ')).toContain(showArgv(SECOND_CHROOT));
      const r = await c.exec(SECOND_CHROOT);
      expect(r.stdout.split(/\s+/).filter(Boolean).sort()).toEqual(
        fs
          .readdirSync('/')
          .filter((e) => !e.startsWith('.'))
          .sort(),
      );
    } finally {
      await cleanup.unwind();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it("a /proc an earlier lesson's shell left mounted in the rootfs is named, and does not fail the lesson", async () => {
    // On a private bind of the busybox rootfs, so the shared one (and lessons running elsewhere) are untouched.
    const cleanup = new CleanupStack();
    const runner = createRunner();
    const id = testId('03');
    const rootfs = `/run/scratch/${id}/rootfs`;
    try {
      fs.mkdirSync(rootfs, { recursive: true });
      cleanup.push('remove the test dir', () => fs.rmSync(`/run/scratch/${id}`, { recursive: true, force: true }));
      cleanup.push('unmount the bind', () => runner.run(['umount', '--lazy', rootfs], { reject: false }));
      await runner.run(['mount', '--bind', '--make-private', DEFAULT_ROOTFS, rootfs]);
      cleanup.push('unmount the leftover', () => runner.run(['umount', '--lazy', `${rootfs}/proc`], { reject: false }));
      await runner.run(['mount', '-t', 'proc', 'proc', `${rootfs}/proc`]); // what lesson 02's old hint left
      const r = await runLessonForTest(lesson, { rootfs });
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.output).toContain(`${rootfs}/proc already had a proc mount before this lesson started`);
      expect(r.output).toContain(`umount ${rootfs}/proc`);
    } finally {
      await cleanup.unwind();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });
});
