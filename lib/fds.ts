/**
 * File descriptors a process inherits without knowing it.
 *
 * A file descriptor stays open across fork and execve unless it is marked close-on-exec. Node marks every fd it
 * opens itself, but whatever its own parent left open without that mark — a terminal multiplexer's pipe, a CI
 * runner's job-server fd, an editor's socket — passes through Node into every command it starts, and from there
 * into a container, where an fd to a host directory is a way out (runc's CVE-2024-21626). The TypeScript init
 * closes everything above 2 itself; the `sh` init cannot, so before starting a container the host marks every
 * inherited fd close-on-exec, here. The container then starts with exactly the fds the runtime gives it.
 */
import fs from 'node:fs';

const FD_CLOEXEC = 1;
const F_GETFD = 1;
const F_SETFD = 2;

type Fcntl = (fd: number, cmd: number, ...args: unknown[]) => number;
let fcntl: Fcntl | undefined;

async function bindFcntl(): Promise<Fcntl> {
  const { default: koffi } = await import('koffi');
  return koffi.load('libc.so.6').func('int fcntl(int fd, int cmd, ...)') as Fcntl;
}

/** The fds of this process above 2, from /proc/self/fd (the directory's own fd, gone once read, is skipped). */
export function openFdsAbove2(): number[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => fd > 2);
}

/** Mark every fd of this process above 2 close-on-exec. Returns those that were not, for a test to see. */
export async function markInheritedFdsCloseOnExec(): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  fcntl ??= await bindFcntl();
  const marked: number[] = [];
  for (const fd of openFdsAbove2()) {
    const flags = fcntl(fd, F_GETFD);
    if (flags < 0 || flags & FD_CLOEXEC) continue;
    fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC);
    marked.push(fd);
  }
  return marked;
}
