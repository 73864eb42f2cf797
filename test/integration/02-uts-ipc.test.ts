import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/02-uts-ipc.ts';
import lesson03 from '../../lessons/03-pid-namespace.ts';
import { mountsUnder } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { lessonShellInPty } from '../helpers/pty.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { parseIpcsQueues } from '../../lib/namespaces.ts';
import { processExists, readNamespaces } from '../../lib/proc.ts';
import { createRunner } from '../../lib/runner.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

describe.skipIf(!canRunIntegration)('lesson 02: UTS and IPC namespaces', () => {
  it('the container has its own hostname and IPC; the host keeps its own; only uts and ipc are new', async () => {
    const hostname = os.hostname();
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    // Hostname: the container saw the one its init script set, the host's never changed.
    expect(r.state.containerHostnameSeen).toBe(r.state.containerHostname);
    expect(r.state.containerHostnameSeen).not.toBe(hostname);
    expect(r.state.containerHostnameAfterRename).toMatch(/-renamed$/);
    expect(os.hostname()).toBe(hostname);

    // Namespaces, read from the host: exactly uts and ipc differ from this test process's.
    const mine = readNamespaces('self');
    const theirs = r.state.containerNamespaces ?? {};
    const differing = Object.keys(mine).filter((k) => mine[k as keyof typeof mine] !== theirs[k as keyof typeof mine]);
    expect(differing.sort()).toEqual(['ipc', 'uts']);

    // IPC: each side's queue is missing from the other side's list.
    expect(r.state.containerQueueKey).toMatch(/^0x/);
    expect(r.state.hostQueueKey).toMatch(/^0x/);
    expect(r.state.hostSees).toContain(r.state.hostQueueKey);
    expect(r.state.hostSees).not.toContain(r.state.containerQueueKey);
    expect(r.state.containerSees).toEqual([r.state.containerQueueKey]);
  });

  it('afterwards the container is gone, the host queue removed, and nothing with the scr prefix is left', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.state.pid).toBeGreaterThan(0);
    expect(processExists(r.state.pid ?? 0)).toBe(false);
    const queues = parseIpcsQueues((await createRunner().run(['ipcs', '-q'])).stdout).map((q) => q.key);
    expect(queues).not.toContain(r.state.hostQueueKey);
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it('explain mode prints the init script and the unshare command, and runs nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain("cat > init.sh <<'EOF'");
    expect(r.output).toContain('exec chroot "$root" "$@"');
    expect(r.output).toMatch(/unshare --ipc --uts -- sh -c "\$\(cat init.sh\)" scr-init /);
    expect(r.state.pid).toBeUndefined();
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)(
  "lesson 02's shell: whatever the learner does in it, nothing stays on the host",
  () => {
    it('the hint commands, and a `mount -t proc proc /proc` lesson 02 has no mount namespace for, leave nothing', async () => {
      // A private bind of the busybox rootfs, so a mount made through it never touches the shared one.
      const runner = createRunner();
      const id = testId('02');
      const rootfs = `/run/scratch/${id}/rootfs`;
      fs.mkdirSync(rootfs, { recursive: true });
      await runner.run(['mount', '--bind', '--make-private', DEFAULT_ROOTFS, rootfs]);
      try {
        const hint = lesson.shell?.({ id, rootfs } as never).explain ?? '';
        const suggested = [...hint.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((c) => c !== 'exit');
        expect(hint).not.toContain('mount');
        const typed = [...suggested, 'mount -t proc proc /proc && echo MOUNTED-$((1+1))', 'exit'];
        const { exitCode, output } = await lessonShellInPty('02', id, typed, ['--rootfs', rootfs]);
        expect(exitCode, output.slice(-2000)).toBe(0);
        expect(output).toContain('MOUNTED-2'); // the mount was really made, on the host, through the rootfs
        expect(output).toContain(`✔ unmount what your shell left mounted under ${rootfs}`);
        expect(mountsUnder(rootfs).map((m) => m.mountPoint)).toEqual([rootfs]);

        // And the next lesson, on the same rootfs, finds nothing of it.
        const next = await runLessonForTest(lesson03, { rootfs });
        expect(next.checks.filter((c) => !c.ok)).toEqual([]);
        expect(next.output).not.toContain('already had a proc mount');
      } finally {
        await runner.run(['umount', '--lazy', rootfs], { reject: false });
        fs.rmSync(`/run/scratch/${id}`, { recursive: true, force: true });
      }
      expect(await leftoversOf(id)).toEqual([]);
    });
  },
);
