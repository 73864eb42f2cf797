/**
 * Flattening: several unpacked layers copied into one plain root filesystem, as overlayfs would show them.
 *
 * An OCI runtime bundle for runc (and exercise 07) needs a single `rootfs/` directory, not a stack. Applying
 * the layers bottom first does what the overlay mount does at lookup time: a file replaces whatever the layers
 * below had at that name; a directory merges with a directory below, unless it is opaque (then what the
 * layers below put in it is removed first); a whiteout removes the name. Since `dest` only ever holds what
 * lower layers put there, a whiteout removes only what lower layers had. Whiteouts and the opaque marker do
 * not survive into the result: it is an ordinary tree.
 *
 * `dest` is walked only through directories this function made (lstat, never following a symlink), so a
 * symlink from one layer cannot redirect where another layer's files are copied.
 */
import fs from 'node:fs';
import { UserError } from '../errors.ts';
import { lgetxattr, lsetxattr, llistxattr, mknod, S_IFIFO } from './native.ts';
import { lstatOrUndefined } from './scoped-path.ts';
import { allowedXattr } from './unpack.ts';
import { isOpaqueDir, isWhiteoutStat } from './whiteout.ts';

export interface FlattenStats {
  files: number;
  removed: number;
}

function copyXattrs(from: string, to: string): void {
  if (process.platform !== 'linux') return;
  for (const name of llistxattr(from).filter(allowedXattr)) {
    const value = lgetxattr(from, name);
    if (value) lsetxattr(to, name, value);
  }
}

function setMeta(target: string, st: fs.Stats, owners: boolean): void {
  if (owners) fs.lchownSync(target, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(target, st.mode & 0o7777);
  fs.lutimesSync(target, st.atime, st.mtime);
}

/**
 * Apply `layersBottomFirst` (unpacked layer directories, in the config's order) into `dest`, which must be
 * missing or empty.
 */
export function flattenLayers(
  layersBottomFirst: readonly string[],
  dest: string,
  opts: { owners?: boolean } = {},
): FlattenStats {
  const owners = opts.owners ?? process.getuid?.() === 0;
  fs.mkdirSync(dest, { recursive: true });
  if (fs.readdirSync(dest).length > 0) throw new UserError(`${dest} is not empty`, 'flatten into a new directory');
  const stats: FlattenStats = { files: 0, removed: 0 };
  /** Each directory's metadata from the topmost layer that has it, applied at the end. */
  const dirMeta = new Map<string, fs.Stats>();

  const apply = (src: string, dst: string, links: Map<string, string>) => {
    for (const name of fs.readdirSync(src)) {
      const from = `${src}/${name}`;
      const to = `${dst}/${name}`;
      const st = fs.lstatSync(from);
      const existing = lstatOrUndefined(to);
      if (isWhiteoutStat(st)) {
        if (existing) {
          fs.rmSync(to, { recursive: true, force: true });
          stats.removed++;
        }
        continue;
      }
      if (st.isDirectory()) {
        if (existing && !existing.isDirectory()) fs.rmSync(to, { recursive: true, force: true });
        else if (existing && isOpaqueDir(from)) {
          for (const child of fs.readdirSync(to)) fs.rmSync(`${to}/${child}`, { recursive: true, force: true });
        }
        if (!existing || !existing.isDirectory()) fs.mkdirSync(to, 0o700);
        if (owners) fs.lchownSync(to, st.uid, st.gid);
        copyXattrs(from, to);
        // One filesystem per layer: a /proc a lesson's shell mounted in a rootfs is not part of it.
        if (st.dev === layerDev) apply(from, to, links);
        dirMeta.set(to, st);
        continue;
      }
      if (existing) fs.rmSync(to, { recursive: true, force: true });
      const key = `${st.dev}:${st.ino}`;
      const linked = st.nlink > 1 ? links.get(key) : undefined;
      if (linked && lstatOrUndefined(linked)) {
        fs.linkSync(linked, to);
        continue;
      }
      if (st.isFile()) {
        fs.copyFileSync(from, to, fs.constants.COPYFILE_FICLONE);
        if (st.nlink > 1) links.set(key, to);
      } else if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(from), to);
      } else if (st.isFIFO()) {
        mknod(to, S_IFIFO, 0o600);
      } else {
        continue; // unpacked layers hold no other device nodes or sockets
      }
      setMeta(to, st, owners);
      if (!st.isSymbolicLink()) copyXattrs(from, to);
      stats.files++;
    }
  };

  let layerDev = 0;
  for (const layer of layersBottomFirst) {
    layerDev = fs.statSync(layer).dev;
    apply(layer, dest, new Map());
  }
  // Modes and times last, deepest first: filling a directory changes its mtime, a read-only one refuses it.
  const deepestFirst = [...dirMeta].sort((a, b) => b[0].length - a[0].length);
  for (const [dir, st] of deepestFirst) setMeta(dir, st, false);
  return stats;
}
