/**
 * chroot: the oldest isolation there is, and why it is not enough.
 *
 * chroot(2) changes one thing about a process: the directory it calls `/`. Paths it opens are resolved from
 * there, so `ls /` lists the rootfs. Nothing else changes: it shares the host's PIDs, mounts, network, hostname
 * and users, and the kernel is the host's kernel. Worse, any door that leads outside the new root still works:
 * /proc/<pid>/root of a process outside the chroot is a link to *that* process's root — the host's `/`.
 * Lessons 03 and 04 close those doors with PID and mount namespaces and pivot_root.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from './cleanup.ts';
import { stateDir } from './names.ts';
import type { Runner } from './runner.ts';

/** The argv that runs `command` with `rootfs` as its root directory. */
export function chrootArgv(rootfs: string, command: readonly string[]): string[] {
  return ['chroot', rootfs, ...command];
}

/**
 * Where one run chroots: /run/scratch/<id>/rootfs, its own view of the shared rootfs. Two runs at once (two
 * terminals, a room on one server) then never mount /proc at the same place, where one run's unmount would take
 * away the other's mount, or fail because the other is still reading it.
 */
export function ownRootPath(id: string): string {
  return path.join(stateDir(id), 'rootfs');
}

/**
 * The argv that makes `root` show the rootfs: a bind mount (the same directory at a second path; nothing is
 * copied), private, so a mount made below it stays there — where `/` is a shared mount, as systemd makes it, a
 * bind would otherwise pass every mount below it on to the rootfs itself.
 */
export function ownRootArgv(rootfs: string, root: string): string[] {
  return ['mount', '--bind', '--make-private', rootfs, root];
}

/** Bind the rootfs at `root`; its unmount (of it and anything still mounted below it) is registered at once. */
export async function bindOwnRoot(runner: Runner, cleanup: CleanupStack, rootfs: string, root: string): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  await runner.run(ownRootArgv(rootfs, root));
  // Lazy: a process that still has a file open below it (a Ctrl-C'd ls) must not keep the mount on the host.
  cleanup.push(`unmount ${root} and anything still mounted below it`, () =>
    runner.run(['umount', '--recursive', '--lazy', root]),
  );
}

export function procMountArgv(rootfs: string): string[] {
  return ['mount', '-t', 'proc', 'proc', path.join(rootfs, 'proc')];
}

/**
 * Mount a proc filesystem at <rootfs>/proc. Without a mount namespace this mount is made in the host's mount
 * table (that is part of what lesson 01 shows), so it is registered for unmounting at once. Lesson 01 mounts it
 * in its own root (ownRootPath), never in the shared rootfs.
 */
export async function mountProcInRootfs(runner: Runner, cleanup: CleanupStack, rootfs: string): Promise<string> {
  const target = path.join(rootfs, 'proc');
  await runner.run(procMountArgv(rootfs));
  // Lazy, as for the root below it: a command stopped by Ctrl-C may not be reaped yet, and would keep it busy.
  cleanup.push(`unmount ${target}`, () => runner.run(['umount', '--lazy', target]));
  return target;
}

/**
 * Whether a failed `ls /proc` failed only because host processes ended while it ran: busybox `ls` lstat()s each
 * name it read from the directory, and a process that exits in between (a second lesson running next door) is
 * reported and makes it exit 1. That is a busy host, not a broken lesson.
 */
export function onlyEndedProcesses(ls: { exitCode: number; stderr: string }): boolean {
  const errors = ls.stderr.split('\n').filter((l) => l.trim() !== '');
  return (
    ls.exitCode === 1 &&
    errors.length > 0 &&
    errors.every((l) => /^ls: \/proc\/\d+: No such file or directory$/.test(l))
  );
}
