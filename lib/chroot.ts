/**
 * chroot: the oldest isolation there is, and why it is not enough.
 *
 * chroot(2) changes one thing about a process: the directory it calls `/`. Paths it opens are resolved from
 * there, so `ls /` lists the rootfs. Nothing else changes: it shares the host's PIDs, mounts, network, hostname
 * and users, and the kernel is the host's kernel. Worse, any door that leads outside the new root still works:
 * /proc/<pid>/root of a process outside the chroot is a link to *that* process's root — the host's `/`.
 * Lessons 03 and 04 close those doors with PID and mount namespaces and pivot_root.
 */
import path from 'node:path';
import type { CleanupStack } from './cleanup.ts';
import type { Runner } from './runner.ts';

/** The argv that runs `command` with `rootfs` as its root directory. */
export function chrootArgv(rootfs: string, command: readonly string[]): string[] {
  return ['chroot', rootfs, ...command];
}

export function procMountArgv(rootfs: string): string[] {
  return ['mount', '-t', 'proc', 'proc', path.join(rootfs, 'proc')];
}

/**
 * Mount a proc filesystem at <rootfs>/proc. Without a mount namespace this mount is made in the host's mount
 * table (that is part of what lesson 01 shows), so it is registered for unmounting at once.
 */
export async function mountProcInRootfs(runner: Runner, cleanup: CleanupStack, rootfs: string): Promise<string> {
  const target = path.join(rootfs, 'proc');
  await runner.run(procMountArgv(rootfs));
  cleanup.push(`unmount ${target}`, () => runner.run(['umount', target]));
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
