/**
 * Reading the mount table: /proc/self/mountinfo.
 *
 * Each line is one mount as this process's mount namespace sees it. A mount made inside a container's own mount
 * namespace does not appear here at all — which is exactly what lesson 04 shows — so this is also how the
 * workshop checks, from the host, that nothing it mounted is left behind.
 */
import fs from 'node:fs';

export interface MountEntry {
  id: number;
  parent: number;
  /** Where it is mounted, with the kernel's octal escapes (\040 for a space) decoded. */
  mountPoint: string;
  /** Filesystem type: proc, tmpfs, overlay, ... */
  fsType: string;
  source: string;
  /** Propagation: `shared:1`, `master:2`, or empty for private. */
  optional: string;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [left = '', right = ''] = line.split(' - ');
    const f = left.split(' ');
    const r = right.split(' ');
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescape(f[4] ?? ''),
      optional: f.slice(6).join(' '),
      fsType: r[0] ?? '',
      source: unescape(r[1] ?? ''),
    });
  }
  return out;
}

export function readMountinfo(pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/**
 * A path as the kernel's mount table names it: symlinks resolved (a mount made through a symlinked rootfs is listed
 * at its target), or the path itself while it does not exist.
 */
export function mountTablePath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Mounts at or below `dir` (deepest first, the order they must be unmounted in). */
export function mountsUnder(dir: string, mounts: MountEntry[] = readMountinfo()): MountEntry[] {
  const base = dir.replace(/\/+$/, '');
  return mounts
    .filter((m) => m.mountPoint === base || m.mountPoint.startsWith(`${base}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
}

/**
 * Refuse to delete a directory tree that has anything mounted in it: a recursive delete would walk into the
 * mount (a container's /proc, a bind of the host's /dev) and delete through it.
 */
export function nothingMountedUnder(dir: string): boolean {
  return mountsUnder(dir).length === 0;
}
