import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/04-mount-pivot-root.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { unshareArgvFor, type UnshareArgv } from '../../lib/container/launch.ts';
import { startContainer } from '../../lib/container/start.ts';
import { isolatedSpec } from '../../lib/kit.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { readNamespaces } from '../../lib/proc.ts';
import { createRunner } from '../../lib/runner.ts';
import { UserError } from '../../lib/errors.ts';
import { assertRootfs } from '../../lib/rootfs.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

describe.skipIf(!canRunIntegration)('lesson 04: mount namespace and pivot_root', () => {
  it('propagation leaks until made private; after pivot_root the host marker is unreachable; mounts stay inside', async () => {
    const before = readMountinfo().length;
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    expect(r.state.leakedToHost).toBe(true);
    expect(r.state.privateLeaked).toBe(false);

    // The marker was reachable in principle (plain chroot read it), and not from the pivot_root container.
    const secret = r.state.secret ?? '';
    expect(secret).toMatch(/^host-only [0-9a-f]{12}$/);
    expect(r.state.chrootEscape?.stdout.trim()).toBe(secret);
    for (const attempt of [r.state.nestedChrootEscape, r.state.procRootEscape]) {
      expect(attempt?.exitCode).not.toBe(0);
      expect(attempt?.stdout).not.toContain(secret);
    }
    // /proc/1/root and /../../.. are the container's own root, which is the rootfs.
    const rootfs = fs.readdirSync(DEFAULT_ROOTFS);
    const listed = (l: string[] | undefined) => (l ?? []).filter((e) => e !== '.' && e !== '..').sort();
    expect(listed(r.state.rootEntries)).toEqual([...rootfs].sort());
    expect(listed(r.state.procRootListing)).toEqual([...rootfs].sort());
    expect(listed(r.state.dotDotListing)).toEqual([...rootfs].sort());
    expect(fs.existsSync(path.join(DEFAULT_ROOTFS, '.oldroot'))).toBe(false);

    // A mount made inside never reached the host, and the host's mount table is as it was.
    expect(r.state.insideMountSeenInside).toBe(true);
    expect(r.state.insideMountOnHost).toBe(false);
    expect(readMountinfo().filter((m) => m.source === 'scr-inside' || m.mountPoint.startsWith(DEFAULT_ROOTFS))).toEqual(
      [],
    );
    expect(readMountinfo().length).toBe(before);

    // Each escape the step announces shows its result, `ls /../../..` included.
    expect(r.output).toContain('inside: ls -a /../../..');
    expect(r.output).toContain('inside: ls -a /proc/1/root/');

    expect(r.state.exit7?.exitCode).toBe(7);
    expect(r.state.missing?.exitCode).toBe(127);
    expect(r.state.missing?.stderr).toContain('no-such-command');
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it('the full container differs from the host in exactly uts, ipc, pid and mnt', async () => {
    const cleanup = new CleanupStack();
    const id = testId('04');
    try {
      const spec = isolatedSpec({ id, rootfs: DEFAULT_ROOTFS, args: ['sleep', '3600'] });
      const c = await startContainer(createRunner(), cleanup, spec, { executor: 'sh' });
      const mine = readNamespaces('self');
      const theirs = readNamespaces(c.hostPid);
      const differing = Object.keys(mine).filter(
        (k) => mine[k as keyof typeof mine] !== theirs[k as keyof typeof mine],
      );
      expect(differing.sort()).toEqual(['ipc', 'mnt', 'pid', 'uts']);
      expect((await c.exec(['hostname'])).stdout.trim()).toBe(`scr${id}`);
    } finally {
      await cleanup.unwind();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('under a shared mount (as / is on systemd hosts), nothing the container mounts reaches the host', async () => {
    // This host's / is private, so make the situation of Ubuntu and the workshop VM: the rootfs sits inside a
    // shared mount. Without the init script's `mount --make-rprivate /`, the container's mounts (its bind of the
    // rootfs, /proc, /dev, a tmpfs made inside) would show up here.
    const cleanup = new CleanupStack();
    const runner = createRunner();
    const id = testId('04');
    const shared = `/run/scratch/${id}shared`;
    const rootfs = path.join(shared, 'rootfs');
    try {
      fs.mkdirSync(shared, { recursive: true });
      cleanup.push('remove the shared test dir', () => fs.rmSync(shared, { recursive: true, force: true }));
      await runner.run(['mount', '-t', 'tmpfs', 'scrshared', shared]);
      cleanup.push('unmount the shared tmpfs', () => runner.run(['umount', '--lazy', shared]));
      await runner.run(['mount', '--make-shared', shared]);
      fs.mkdirSync(rootfs);
      await runner.run(['mount', '--bind', DEFAULT_ROOTFS, rootfs]);
      cleanup.push('unmount the rootfs bind', () => runner.run(['umount', '--lazy', rootfs]));

      const before = readMountinfo().filter((m) => m.mountPoint.startsWith(shared)).length;
      const spec = isolatedSpec({ id, rootfs, args: ['sleep', '3600'] });
      // unshare would make the new namespace private itself (its default), and this test could not fail: keep the
      // propagation as it is, so only the init's own make-rprivate stands between the container and the host.
      const unshareArgv: UnshareArgv = (s, executor) => {
        const argv = unshareArgvFor(s, executor);
        return [...argv.slice(0, -1), '--propagation', 'unchanged', '--'];
      };
      const c = await startContainer(runner, cleanup, spec, { executor: 'sh', unshareArgv });
      expect(c.argv).toContain('unchanged');
      expect((await c.exec(['mount', '-t', 'tmpfs', 'scr-inside', '/mnt'])).exitCode).toBe(0);
      expect((await c.exec(['grep', '-c', 'scr-inside', '/proc/self/mounts'])).stdout.trim()).toBe('1');
      expect(readMountinfo().filter((m) => m.mountPoint.startsWith(shared)).length).toBe(before);
    } finally {
      await cleanup.unwind();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('a bad rootfs is one clear line naming the path, and a fix that fixes that path', async () => {
    const cleanup = new CleanupStack();
    const file = path.join(import.meta.dirname, '04-mount.test.ts');
    const empty = fs.mkdtempSync('/tmp/scr-empty-');
    try {
      for (const [rootfs, why, fix] of [
        ['/nonexistent/scr-rootfs', 'does not exist', 'npm run rootfs -- --dir /nonexistent/scr-rootfs'],
        [file, 'is not a directory', 'point --rootfs at a root filesystem'],
        [empty, 'is an empty directory', `npm run rootfs -- --dir ${empty}`],
        [import.meta.dirname, 'has no /bin/sh', 'point --rootfs at a root filesystem'],
      ] as const) {
        let err: UserError | undefined;
        try {
          assertRootfs(rootfs);
        } catch (e) {
          err = e as UserError;
        }
        expect(err?.message).toBe(`rootfs ${rootfs} ${why}`);
        expect(err?.fix).toContain(fix);
        expect(err?.fix).toContain('or leave out --rootfs');
      }
      // The default rootfs is the one `npm run rootfs` builds: there, that is the fix.
      expect(() => assertRootfs(DEFAULT_ROOTFS)).not.toThrow();
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    expect(cleanup.size).toBe(0);
  });

  it('explain mode prints the pivot_root script and runs nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain('pivot_root . .');
    expect(r.output).toContain('umount -l .');
    expect(r.output).not.toContain('oldroot');
    expect(r.state.hostPid).toBeUndefined();
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
