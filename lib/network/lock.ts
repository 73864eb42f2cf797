/**
 * One lock for the shared part of the network: the bridge, its rules and the list of who uses it.
 *
 * Each container has its own veth, netns and rules, but all of them share one bridge, its NAT rules and the
 * ip_forward switch. The first container to start makes those, and the last one to end removes them — and with
 * twenty containers starting and ending at once, "am I the first?" and "am I the last?" must each be answered by
 * one of them at a time, or one would remove the bridge another has just plugged into.
 *
 * `flock(2)` is the kernel's answer: a lock on an open file that the kernel releases by itself when the file is
 * closed — including when the process holding it is killed — so a crashed run can never leave the lock taken.
 * (Shell scripts use it as `flock /run/lock/x command`.) Node has no binding for it, so it is called through the
 * koffi FFI, without blocking: a busy lock is tried again every few milliseconds. The file locked is the state
 * directory /run/scratch itself, which always exists and is never removed, so no lock file is left behind.
 */
import fs from 'node:fs';

const LOCK_EX = 2;
const LOCK_NB = 4;
const RETRY_MS = 5;

type Flock = (fd: number, op: number) => number;

async function loadFlock(): Promise<Flock> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load(process.platform === 'darwin' ? 'libc.dylib' : 'libc.so.6');
  return libc.func('int flock(int fd, int op)') as Flock;
}

/**
 * Run `fn` while holding an exclusive lock on `dir` (a directory that exists). Every call opens its own file
 * description, so two calls in the same process exclude each other just as two processes do.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const flock = await loadFlock();
  const fd = fs.openSync(dir, 'r');
  try {
    const deadline = Date.now() + timeoutMs;
    while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      if (Date.now() > deadline) {
        throw new Error(`another run has held the network lock on ${dir} for ${timeoutMs / 1000}s`);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    return await fn();
  } finally {
    // Closing the last descriptor of the file description releases the lock.
    fs.closeSync(fd);
  }
}
