/**
 * Exercise 01 — chroot.
 *
 * Write the argv that runs `command` with `rootfs` as its root directory. Lesson 01 runs exactly what you return
 * (`npm run lesson 01 -- --mine`) for `ls /`, `uname -r`, `ls /proc` and the escape through /proc/1/root, and its
 * checks look from the host: did `ls /` list the rootfs and not the host? Was it the host's kernel? …
 *
 * What you need to know:
 * - chroot(2) changes one thing about a process: which directory `/` means for it. Every path it opens then
 *   starts there.
 * - The chroot(8) command (coreutils, on the host) calls it and then execs the command you give it:
 *   `chroot NEWROOT COMMAND [ARG]...` — try `chroot --help`.
 * - An argv is the list of words a program is started with, the program first: `['ls', '-l', '/']`. No shell
 *   reads it, so no quoting is needed.
 */
export function chrootArgv(rootfs: string, command: readonly string[]): string[] {
  // TODO: for ('/srv/rootfs', ['/bin/ls', '/']) return the words of `chroot /srv/rootfs /bin/ls /`.
  throw new Error(`TODO: write chrootArgv (chroot ${rootfs} then ${command.join(' ')})`);
}
