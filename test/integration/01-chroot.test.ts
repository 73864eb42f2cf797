import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/01-chroot.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { mountsUnder, readMountinfo } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';
import { lessonShellInPty } from '../helpers/pty.ts';

describe.skipIf(!canRunIntegration)('lesson 01: chroot', () => {
  it('the chrooted ls / is the rootfs, the kernel is shared, host processes are visible, the escape works', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    const rootfsEntries = fs.readdirSync(DEFAULT_ROOTFS).filter((e) => !e.startsWith('.'));
    expect([...(r.state.containerLs ?? [])].sort()).toEqual(rootfsEntries.sort());
    expect(r.state.containerLs).toContain('bin');
    expect(r.state.containerLs).not.toEqual(r.state.hostLs);
    expect(r.state.containerKernel).toBe(os.release());
    expect(r.state.containerPids).toContain(process.pid);
    // The escape: the chrooted process printed a random token that only ever existed in a host file.
    expect(r.state.secret).toMatch(/^host-only [0-9a-f]{12}$/);
    expect(r.state.escapeRead).toBe(r.state.secret);
  });

  it('mounts /proc in a root of its own, never in the shared rootfs; leaves nothing with the scr prefix', async () => {
    const r = await runLessonForTest(lesson);
    const root = `/run/scratch/${r.id}/rootfs`;
    expect(r.state.root).toBe(root);
    expect(r.output).toContain(`$ mount --bind --make-private ${DEFAULT_ROOTFS} ${root}`);
    expect(r.output).toContain(`$ chroot ${root} /bin/ls /`);
    // The lesson's own evidence, read from the host's mount table while it ran: the proc mount is this run's.
    expect(r.output).toContain(`proc ${root}/proc proc `);
    expect(mountsUnder(DEFAULT_ROOTFS)).toEqual([]);
    expect(readMountinfo().filter((m) => m.mountPoint.startsWith(root))).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it('explain mode runs nothing: no mount, no state directory', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain(`$ chroot /run/scratch/${r.id}/rootfs /bin/ls /`);
    expect(r.output).toContain('$ mount -t proc proc');
    expect(r.state.containerLs).toBeUndefined();
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it("the learner's shell: what they mount in it lands under this run's root, and is unmounted at exit", async () => {
    const id = testId('01');
    const root = `/run/scratch/${id}/rootfs`;
    const { exitCode, output } = await lessonShellInPty('01', id, [
      'mount -t tmpfs scr-shell /mnt && mount -t proc proc /proc && echo MOUNTED-$((1+1))',
      'exit',
    ]);
    expect(exitCode, output.slice(-2000)).toBe(0);
    expect(output).toContain('MOUNTED-2');
    expect(output).toContain(`✔ unmount what your shell left mounted under ${root}`);
    expect(output).not.toMatch(/✘/);
    expect(readMountinfo().filter((m) => m.mountPoint.startsWith(root) || m.source === 'scr-shell')).toEqual([]);
    expect(mountsUnder(DEFAULT_ROOTFS)).toEqual([]);
    expect(await leftoversOf(id)).toEqual([]);
  });
});
