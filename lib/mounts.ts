/**
 * Mounts, mount propagation and pivot_root: giving a container its own filesystem tree.
 *
 * Every process sees one tree of mounted filesystems, and in a new mount namespace it starts with a *copy* of
 * its parent's tree. Copy is the key word: by default the copy is still wired to the original through "mount
 * propagation" — a mount point marked *shared* passes every mount made under it on to its peers, so a mount made
 * inside the container would appear on the host too. Making the container's whole tree *private* first
 * (`mount --make-rprivate /`) cuts those wires.
 *
 * `chroot` only changes how a process resolves `/`; the host's filesystem is still in its tree, and a process
 * with privileges can walk back out (through /proc/1/root, or with a second chroot). `pivot_root` instead
 * changes which mount *is* the root of the mount namespace: the rootfs becomes `/`, the old root is moved to a
 * directory beneath it, and once that is unmounted the host's filesystem is simply not in the container's tree
 * anymore — there is no path back. `pivot_root` wants the new root to be a mount point, hence the bind mount of
 * the rootfs onto itself first.
 *
 * Then the container gets the filesystems a Linux userland expects: its own /proc (showing its own PID
 * namespace), /sys read-only, and a small /dev holding only the few device nodes a program needs, not the
 * host's disks. All of this is done by the container's init (lib/init/plan.ts says in which order), from the
 * lists here, which follow the OCI runtime spec's defaults (`mounts`, `linux.devices`).
 */
import type { CleanupStack } from './cleanup.ts';
import { readMountinfo } from './mountinfo.ts';
import type { Runner } from './runner.ts';

/** A filesystem mounted into the container, as the OCI runtime spec's `mounts[]` describes one. */
export interface Mount {
  /** Where, inside the container's root. */
  destination: string;
  /** Filesystem type: `proc`, `sysfs`, `tmpfs`, `devpts`, `cgroup2`, `overlay`, or `bind`. */
  type: string;
  source: string;
  options?: string[];
}

/** A device node made in the container's /dev (OCI `linux.devices[]`). */
export interface Device {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
}

/** The container's /proc: the one that belongs to its own PID namespace. */
export const PROC_MOUNT: Mount = {
  destination: '/proc',
  type: 'proc',
  source: 'proc',
  options: ['nosuid', 'noexec', 'nodev'],
};

/**
 * The container's own cgroup at /sys/fs/cgroup, read-only, as docker mounts it on a pure cgroup v2 host: mounted
 * inside the cgroup namespace, its root is the container's cgroup, so `cat /sys/fs/cgroup/memory.max` inside
 * shows the container's limit and nothing of the tree above.
 */
export const CGROUP2_MOUNT: Mount = {
  destination: '/sys/fs/cgroup',
  type: 'cgroup2',
  source: 'cgroup',
  options: ['ro', 'nosuid', 'noexec', 'nodev'],
};

/**
 * The filesystems every container gets (the OCI default set, without /dev/mqueue). /sys is read-only so a
 * container cannot change kernel settings through it; /dev is a tiny tmpfs rather than the host's /dev, so the
 * host's disks are not there to open.
 */
export const DEFAULT_MOUNTS: readonly Mount[] = [
  PROC_MOUNT,
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=64k'] },
  {
    // newinstance: the container's own pseudo-terminals, numbered from 0, not the host's.
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
  },
  {
    destination: '/dev/shm',
    type: 'tmpfs',
    source: 'shm',
    options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=64m'],
  },
];

/**
 * /sys for a container with a user namespace: the host's, bound in and read-only all the way down (`rro`). A
 * fresh sysfs may only be mounted by a process whose network namespace belongs to its user namespace, and a
 * bind of a tree with mounts below it must take them along (`rbind`) — hence read-only recursively, not only at
 * the top.
 */
export const SYS_BIND_MOUNT: Mount = {
  destination: '/sys',
  type: 'bind',
  source: '/sys',
  options: ['rbind', 'nosuid', 'noexec', 'nodev', 'rro'],
};

/** The device nodes a program can rely on (Documentation/admin-guide/devices.txt gives the numbers). */
export const DEFAULT_DEVICES: readonly Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666 },
];

/** Links every /dev has: [target, link]. */
export const DEV_SYMLINKS: ReadonlyArray<readonly [string, string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];

// ---- making mounts on the host ------------------------------------------------------------------------------

/** The argv that mounts a small tmpfs named `source` on `dir`. */
export function tmpfsMountArgv(source: string, dir: string, size = '1m'): string[] {
  return ['mount', '-t', 'tmpfs', '-o', `size=${size}`, source, dir];
}

/**
 * Register the unmount of `dir` on the cleanup stack. The undo only unmounts while something is still mounted
 * there, so it can be pushed *before* the mount is attempted (and a mount that never happened is not an error).
 */
export function pushUnmount(runner: Runner, cleanup: CleanupStack, dir: string): () => void {
  return cleanup.push(`unmount ${dir}`, async () => {
    while (readMountinfo().some((m) => m.mountPoint === dir)) await runner.run(['umount', dir]);
  });
}

/** Mount a tmpfs on the host (the undo is registered first). */
export async function mountTmpfs(
  runner: Runner,
  cleanup: CleanupStack,
  source: string,
  dir: string,
  size = '1m',
): Promise<void> {
  pushUnmount(runner, cleanup, dir);
  await runner.run(tmpfsMountArgv(source, dir, size));
}

/** `mount --make-shared DIR`: mounts made under DIR in any copy of it now appear in all copies. */
export function makeSharedArgv(dir: string): string[] {
  return ['mount', '--make-shared', dir];
}
