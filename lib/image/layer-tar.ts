/**
 * A directory as a layer tar: the inverse of unpacking, for `docker commit` and for building images.
 *
 * The directory is walked in a fixed order (names sorted, each directory before its contents), without ever
 * following a symlink, and each entry becomes a tar entry with its mode, owner, time and allowed extended
 * attributes; a file with several names is written once and then as hard links to that first name. Walking the
 * same tree twice gives the same bytes, so the same layer gets the same diff_id and is stored once.
 *
 * An overlayfs *upper* directory speaks overlay's whiteout language, which a tar cannot carry: a 0/0 character
 * device NAME becomes an empty `.wh.NAME`, and a directory with `trusted.overlay.opaque=y` gets a
 * `.wh..wh..opq` entry right after it. Other device nodes and sockets are not image content (a container gets
 * its own /dev) and are left out, each reported to `onSkip`. An upper directory written with overlayfs'
 * `redirect_dir` or `metacopy` features keeps part of its changes as pointers into the lower layers, which a
 * tar cannot express either: that is refused, and the overlay should be mounted with both off.
 */
import fs from 'node:fs';
import { UserError } from '../errors.ts';
import { llistxattr, lgetxattr } from './native.ts';
import { printable } from './scoped-path.ts';
import { writeTar, type TarWriteEntry } from './tar-writer.ts';
import { allowedXattr } from './unpack.ts';
import { isWhiteoutStat, OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from './whiteout.ts';

export interface DirectoryTarOptions {
  /** `upper`: an overlayfs upper dir (whiteouts converted). `rootfs`: a plain tree. */
  kind: 'upper' | 'rootfs';
  /** Leave out these root-relative paths (and, for a directory, all it holds). */
  exclude?: (rel: string) => boolean;
  /** Told about each entry left out, and why. */
  onSkip?: (rel: string, why: string) => void;
  /** Read extended attributes (Linux only; default: on Linux). */
  xattrs?: boolean;
}

const OVERLAY_POINTERS = ['trusted.overlay.redirect', 'trusted.overlay.metacopy'];

function readXattrs(file: string, kind: DirectoryTarOptions['kind']): Map<string, Buffer> | undefined {
  const names = llistxattr(file);
  if (kind === 'upper') {
    const pointer = names.find((n) => OVERLAY_POINTERS.includes(n));
    if (pointer) {
      throw new UserError(
        `${printable(file)} carries ${pointer}: this upper dir was written with overlayfs redirect_dir/metacopy`,
        'mount the overlay with redirect_dir=off,metacopy=off to commit or diff it',
      );
    }
  }
  const kept = names.filter(allowedXattr);
  if (kept.length === 0) return undefined;
  return new Map(kept.map((n) => [n, lgetxattr(file, n) ?? Buffer.alloc(0)]));
}

/** Byte order, like `LC_ALL=C sort`: the same on every machine. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The tar entries for the tree under `dir` (the root itself is not an entry, as in docker's layers). */
export async function* directoryEntries(dir: string, opts: DirectoryTarOptions): AsyncGenerator<TarWriteEntry> {
  const withXattrs = opts.xattrs ?? process.platform === 'linux';
  const firstName = new Map<string, string>();
  const skip = (rel: string, why: string) => opts.onSkip?.(rel, why);
  // One filesystem only, as `tar --one-file-system`: a /proc a lesson's shell mounted in the rootfs is not a file.
  const rootDev = fs.statSync(dir).dev;

  async function* walk(rel: string): AsyncGenerator<TarWriteEntry> {
    const here = rel ? `${dir}/${rel}` : dir;
    for (const name of fs.readdirSync(here).sort(byteOrder)) {
      const path = rel ? `${rel}/${name}` : name;
      if (opts.exclude?.(path)) continue;
      const file = `${here}/${name}`;
      const st = fs.lstatSync(file);
      const base = {
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
      };
      if (opts.kind === 'upper' && isWhiteoutStat(st)) {
        const marker = rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`;
        yield { name: marker, type: 'file', mode: 0, mtime: base.mtime, body: Buffer.alloc(0) };
        continue;
      }
      const xattrs = withXattrs && !st.isSymbolicLink() ? readXattrs(file, opts.kind) : undefined;
      if (st.isDirectory()) {
        yield { ...base, name: path, type: 'dir', xattrs };
        if (opts.kind === 'upper' && withXattrs && lgetxattr(file, OPAQUE_XATTR)?.toString() === 'y') {
          yield { name: `${path}/${OPAQUE_MARKER}`, type: 'file', mode: 0, mtime: base.mtime, body: Buffer.alloc(0) };
        }
        if (st.dev === rootDev) yield* walk(path);
        else skip(path, 'another filesystem mounted there (only the directory is kept)');
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstName.get(key) : undefined;
        if (first !== undefined) {
          yield { ...base, name: path, type: 'hardlink', linkname: first };
          continue;
        }
        if (st.nlink > 1) firstName.set(key, path);
        yield {
          ...base,
          name: path,
          type: 'file',
          size: st.size,
          xattrs,
          body: () => fs.createReadStream(file, { highWaterMark: 1 << 20 }),
        };
      } else if (st.isSymbolicLink()) {
        yield { ...base, name: path, type: 'symlink', linkname: fs.readlinkSync(file) };
      } else if (st.isFIFO()) {
        yield { ...base, name: path, type: 'fifo' };
      } else {
        skip(path, st.isSocket() ? 'a socket' : 'a device node');
      }
    }
  }
  yield* walk('');
}

/** The layer tar of a directory, as a stream of chunks. */
export function tarDirectory(dir: string, opts: DirectoryTarOptions): AsyncGenerator<Buffer> {
  return writeTar(directoryEntries(dir, opts));
}
