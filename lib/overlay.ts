/**
 * overlayfs from the host's side: what a container's upper directory holds, and where one may live.
 *
 * An overlay mount shows one tree made of several directories. The *lower* ones are read-only and stacked: a
 * name is looked up in the leftmost of `lowerdir=a:b:c` first, and the first that has it wins (directories of
 * the same name merge). The *upper* directory is the only one written: creating a file creates it there; editing
 * a file that came from a lower layer first copies the whole file up, then edits the copy; deleting a lower file
 * leaves a *whiteout* in upper — a character device with device number 0/0 under the same name — that hides it;
 * a directory deleted and made again is marked *opaque* (the xattr `trusted.overlay.opaque=y`), so nothing of
 * the lower one shows through. The lower layers never change, which is why many containers can share them.
 *
 * overlayfs prepares each copy-up in the *work* directory and then renames it into upper, so that a crash never
 * leaves half a file in upper; rename(2) only works within one filesystem, so work must be on the same one as
 * upper. Upper must also be a filesystem that can hold whiteouts and trusted xattrs — ext4, xfs, btrfs, tmpfs —
 * and not overlayfs itself: an overlay cannot be the upper layer of another (why docker-in-docker needs a volume
 * for /var/lib/docker).
 *
 * The runtime mounts a container's overlay inside the container's own mount namespace, so the host's mount table
 * never shows it; the host reads the upper directory directly, as a plain directory on its own disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isOpaqueDir, isWhiteoutStat } from './image/whiteout.ts';

export type UpperKind = 'file' | 'dir' | 'symlink' | 'whiteout' | 'other';

export interface UpperEntry {
  /** As the container sees it: `/etc/os-release`. */
  path: string;
  kind: UpperKind;
  /** Bytes, for a file. */
  size: number;
  /** A directory that hides the lower layers' directory of the same name. */
  opaque: boolean;
}

function kindOf(st: fs.Stats): UpperKind {
  if (isWhiteoutStat(st)) return 'whiteout';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  return 'other';
}

/** Everything in an upper (or any layer) directory, each directory before what is in it, names sorted. */
export function readUpper(upper: string): UpperEntry[] {
  const out: UpperEntry[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(upper, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const host = path.join(upper, r);
      const st = fs.lstatSync(host);
      const kind = kindOf(st);
      out.push({
        path: `/${r}`,
        kind,
        size: kind === 'file' ? st.size : 0,
        opaque: kind === 'dir' && isOpaqueDir(host),
      });
      if (kind === 'dir') walk(r);
    }
  };
  walk('');
  return out;
}

/** One line per entry: `whiteout  /etc/os-release  (c 0,0: hides the lower file)`. */
export function formatUpper(entries: readonly UpperEntry[]): string[] {
  return entries.map((e) => {
    const what =
      e.kind === 'whiteout'
        ? 'char device 0/0: hides the lower one'
        : e.kind === 'file'
          ? `${e.size} bytes`
          : e.opaque
            ? 'opaque: hides the lower directory'
            : '';
    return `${e.kind.padEnd(8)} ${e.path}${what ? `   (${what})` : ''}`;
  });
}

/** statfs(2) magic numbers of the filesystems a workshop machine is likely to have. */
const FS_MAGIC: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x01021997: 'v9fs',
  0x786f4256: 'virtiofs',
};

/** The filesystem a path is on (`ext4`, `overlay`, …), looked up at its nearest existing parent. */
export function fsTypeOf(p: string): string | undefined {
  let dir = path.resolve(p);
  for (;;) {
    try {
      const type = fs.statfsSync(dir).type;
      return FS_MAGIC[type] ?? `0x${type.toString(16)}`;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }
}

/**
 * Why a directory on this filesystem cannot hold an upper (and work) directory, or undefined when it can.
 * overlayfs refuses itself as upper; network and FUSE filesystems lack what it needs (trusted xattrs, whiteouts).
 */
export function upperUnsupported(fsType: string | undefined): string | undefined {
  if (fsType === 'overlay') return 'it is on overlayfs, which cannot be the upper layer of another overlay';
  if (fsType && ['nfs', 'fuse', 'v9fs', 'virtiofs'].includes(fsType)) {
    return `it is on ${fsType}, which lacks what an upper layer needs (whiteouts, trusted xattrs)`;
  }
  return undefined;
}
