/**
 * Unpacking a layer: a tar stream in, a directory overlayfs can use as a lower layer out.
 *
 * Each layer is unpacked alone into an empty directory of its own; the layers are stacked later by the
 * overlay mount. Three things make this more than `tar -x`:
 *
 * **Whiteouts change form.** A tar says "deleted" with an empty file `.wh.NAME`; overlayfs with a character
 * device 0/0 named NAME. A tar says "opaque" with `.wh..wh..opq` inside the directory; overlayfs with the xattr
 * `trusted.overlay.opaque=y` on it. A whiteout and an entry of the same name in one layer mean: the lower
 * layers' NAME is gone, this layer's stays. So the entry wins whatever the order — a file simply replaces the
 * whiteout (it hides the lower NAME by itself), and a directory becomes opaque (so the lower one does not show
 * through it). Since nothing in this layer is ever removed by a marker, the opaque marker takes effect "first"
 * whatever its place in the tar. A character device 0/0 in the tar is a whiteout too; any other device node is
 * refused, because a container gets its own /dev and an image has no business carrying /dev/sda.
 *
 * **The tar is untrusted.** Names are cleaned and may not climb out with `..`; every parent is resolved with
 * symlinks followed *inside* the layer (scoped-path.ts), so a symlink planted by an earlier entry cannot lead
 * out; hard link targets are resolved the same way and must already be in the layer; an existing name is
 * removed before it is created again (never written through); the root may only be a directory. Files are
 * created with O_EXCL|O_NOFOLLOW.
 *
 * **Order.** A directory's mode and times are set after everything inside it is written (creating an entry
 * changes its parent's mtime, and a read-only directory could not be filled), and owners before modes (chown
 * clears setuid bits and file capabilities).
 */
import fs from 'node:fs';
import { UserError } from '../errors.ts';
import { lsetxattr, mknod, S_IFCHR, S_IFIFO } from './native.ts';
import { cleanEntryName, hostPath, lstatOrUndefined, printable, resolveInRoot, type TreeView } from './scoped-path.ts';
import type { TarHeader } from './tar-header.ts';
import { parseTar, type TarHandler, type TarSink } from './tar-reader.ts';
import { layerEntryAction, OPAQUE_XATTR, OVERLAY_XATTR_PREFIX } from './whiteout.ts';

export interface UnpackOptions {
  /** Give entries the owners the tar names (needs root). Default: when running as root. */
  owners?: boolean;
}

export interface UnpackStats {
  entries: number;
  files: number;
  /** Bytes of file contents written. */
  bytes: number;
  dirs: number;
  links: number;
  whiteouts: number;
  opaque: number;
  /** aufs `.wh..wh.*` bookkeeping entries, which mean nothing on overlayfs. */
  skipped: number;
}

/** Extended attributes taken from an image: file capabilities and user attributes. The rest stay out. */
export function allowedXattr(name: string): boolean {
  if (name.startsWith(OVERLAY_XATTR_PREFIX)) return false;
  return name === 'security.capability' || name.startsWith('user.');
}

interface DirMeta {
  mode: number;
  mtime: number;
}

const O_CREATE_FILE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

function isErrno(e: unknown, ...codes: string[]): boolean {
  return codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

function parentOf(rel: string): [string, string] {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? ['', rel] : [rel.slice(0, slash), rel.slice(slash + 1)];
}

function join(parent: string, base: string): string {
  return parent ? `${parent}/${base}` : base;
}

function under(p: string, prefix: string): boolean {
  return p === prefix || p.startsWith(`${prefix}/`);
}

/** Writes one layer's entries into an empty directory, keeping everything inside it. */
class LayerWriter implements TarHandler {
  /** Real (symlink-free) directories made or checked during this unpack: parents found here need no lstat. */
  private readonly dirs = new Set<string>(['']);
  /** Whiteout devices this unpack made (an entry of the same name replaces them). */
  private readonly whiteouts = new Set<string>();
  private readonly opaque = new Set<string>();
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly view: TreeView;
  /** Who new entries belong to before any chown, and which mode bits open/mkdir drop: to skip needless calls. */
  private readonly creator = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
  private readonly umask = currentUmask();
  readonly stats: UnpackStats = {
    entries: 0,
    files: 0,
    bytes: 0,
    dirs: 0,
    links: 0,
    whiteouts: 0,
    opaque: 0,
    skipped: 0,
  };

  constructor(
    private readonly root: string,
    private readonly owners: boolean,
  ) {
    // New entries take the creator's group only if the root is not setgid (directories made here never are
    // until the end: their modes are set last).
    if (fs.statSync(root).mode & 0o2000) this.creator.gid = -1;
    // A whiteout this layer made is, to the path resolver, nothing: a later entry below it recreates the name.
    this.view = {
      lstat: (rel) => (this.whiteouts.has(rel) ? undefined : lstatOrUndefined(this.host(rel))),
      readlink: (rel) => fs.readlinkSync(this.host(rel)),
      hostPath: (rel) => this.host(rel),
    };
  }

  private host(rel: string): string {
    return hostPath(this.root, rel);
  }

  /** The file being written, if any: closed if the unpack stops half way. */
  private openFile: number | undefined;

  /** Apply one entry; a file's bytes then go to the sink returned. Errors name the entry. */
  entry(h: TarHeader): TarSink | undefined {
    try {
      return this.place(h);
    } catch (e) {
      throw entryError(e, h.name);
    }
  }

  private place(h: TarHeader): TarSink | undefined {
    this.stats.entries++;
    if (h.name.includes('\0') || h.linkname.includes('\0')) {
      throw new UserError(`entry "${printable(h.name)}" has a NUL byte in its name`);
    }
    const name = cleanEntryName(h.name);
    if (name === '') {
      this.rootEntry(h);
      return undefined;
    }
    const act = layerEntryAction(name);
    if (act.action === 'skip') {
      this.stats.skipped++;
      return undefined;
    }
    const parent = this.parentDir(act.dir);
    if (act.action === 'opaque') {
      this.opaque.add(parent);
      return undefined;
    }
    if (act.action === 'whiteout') {
      if (act.name === '' || act.name === '.' || act.name === '..') {
        throw new UserError(`entry "${printable(h.name)}" is not a valid whiteout`);
      }
      this.whiteout(join(parent, act.name));
      return undefined;
    }
    const rel = join(parent, act.name);
    if (h.type === 'file') return this.file(rel, h);
    this.nonFile(rel, h);
    return undefined;
  }

  private nonFile(rel: string, h: TarHeader): void {
    switch (h.type) {
      case 'dir':
        return this.dir(rel, h);
      case 'symlink':
        return this.symlink(rel, h);
      case 'hardlink':
        return this.hardlink(rel, h);
      case 'fifo':
        return this.fifo(rel, h);
      case 'char':
      case 'block':
        if (h.type === 'char' && h.devmajor === 0 && h.devminor === 0) return this.whiteout(rel);
        throw new UserError(
          `entry "${printable(h.name)}" is a device node (${h.type} ${h.devmajor}:${h.devminor}): images may not carry devices, a container gets its own /dev`,
        );
      case 'file':
        throw new Error('files have their own path');
    }
  }

  private rootEntry(h: TarHeader): void {
    if (h.type !== 'dir') {
      throw new UserError(`entry "${printable(h.name)}" would turn the layer's root directory into a ${h.type}`);
    }
    this.chown('', h);
    this.dirMeta.set('', { mode: h.mode, mtime: h.mtime });
  }

  /** The real directory an entry goes in: symlinks resolved inside the root, missing directories created. */
  private parentDir(rel: string): string {
    if (this.dirs.has(rel)) return rel;
    const real = resolveInRoot(this.view, rel, { followFinal: true, createDir: (d) => this.implicitDir(d) });
    const st = this.view.lstat(real);
    if (!st) this.implicitDir(real);
    else if (!st.isDirectory())
      throw new UserError(`entry "${printable(rel)}/…": ${printable(real)} is not a directory`);
    this.dirs.add(real);
    return real;
  }

  /** A directory the tar never listed but puts something in: 0755 root, as tar makes them. */
  private implicitDir(rel: string): void {
    if (this.whiteouts.has(rel)) this.replaceWhiteout(rel);
    fs.mkdirSync(this.host(rel), 0o755);
    this.dirs.add(rel);
  }

  /** Remove whatever is at `rel` (made earlier by this same layer), and forget what was known under it. */
  private remove(rel: string): void {
    fs.rmSync(this.host(rel), { recursive: true, force: true });
    for (const set of [this.dirs, this.whiteouts]) for (const p of set) if (p !== '' && under(p, rel)) set.delete(p);
    for (const p of this.dirMeta.keys()) if (under(p, rel)) this.dirMeta.delete(p);
  }

  /** An entry lands where this layer put a whiteout: the whiteout goes; a directory there becomes opaque. */
  private replaceWhiteout(rel: string): void {
    fs.unlinkSync(this.host(rel));
    this.whiteouts.delete(rel);
    this.stats.whiteouts--;
    this.opaque.add(rel);
  }

  /** Make room for a new entry at `rel`: drop our whiteout, or remove what an earlier entry put there. */
  private clear(rel: string): void {
    if (this.whiteouts.has(rel)) return this.replaceWhiteout(rel);
    if (lstatOrUndefined(this.host(rel))) this.remove(rel);
  }

  private whiteout(rel: string): void {
    if (this.whiteouts.has(rel)) return;
    const st = lstatOrUndefined(this.host(rel));
    if (st) {
      // This layer has its own NAME: the lower one is gone either way. A directory must hide the lower one.
      if (st.isDirectory()) this.opaque.add(rel);
      return;
    }
    mknod(this.host(rel), S_IFCHR, 0);
    this.whiteouts.add(rel);
    this.stats.whiteouts++;
  }

  private dir(rel: string, h: TarHeader): void {
    if (this.whiteouts.has(rel)) this.replaceWhiteout(rel);
    try {
      fs.mkdirSync(this.host(rel), 0o700);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      // A directory listed twice keeps its contents; anything else there is replaced.
      if (!fs.lstatSync(this.host(rel)).isDirectory()) {
        this.remove(rel);
        fs.mkdirSync(this.host(rel), 0o700);
      }
    }
    this.dirs.add(rel);
    this.stats.dirs++;
    this.chown(rel, h);
    this.setXattrs(rel, h);
    this.dirMeta.set(rel, { mode: h.mode, mtime: h.mtime });
  }

  /** A regular file: created now, filled as its bytes arrive, finished (owner, mode, time) at its end. */
  private file(rel: string, h: TarHeader): TarSink {
    const file = this.host(rel);
    // Created with its permissions already, so that (for most files) no chmod is needed afterwards.
    const perm = h.mode & 0o777;
    let fd: number;
    try {
      fd = fs.openSync(file, O_CREATE_FILE, perm);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      this.clear(rel);
      fd = fs.openSync(file, O_CREATE_FILE, perm);
    }
    this.openFile = fd;
    return new FileSink(this, fd, rel, h);
  }

  /** A file's bytes are all written: owner, then mode (chown clears setuid), attributes, time. */
  finishFile(fd: number, rel: string, h: TarHeader): void {
    if (this.needsChown(h)) fs.fchownSync(fd, h.uid, h.gid);
    // setuid/setgid/sticky bits, and bits the umask took, need a chmod.
    if (h.mode !== (h.mode & 0o777 & ~this.umask)) fs.fchmodSync(fd, h.mode);
    this.setXattrs(rel, h);
    fs.futimesSync(fd, h.mtime, h.mtime);
    this.closeFile();
    this.stats.files++;
  }

  /** Close the file being written (at its end, or when the unpack fails half way through it). */
  closeFile(): void {
    if (this.openFile === undefined) return;
    const fd = this.openFile;
    this.openFile = undefined;
    fs.closeSync(fd);
  }

  private symlink(rel: string, h: TarHeader): void {
    const at = this.host(rel);
    try {
      fs.symlinkSync(h.linkname, at);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      this.clear(rel);
      fs.symlinkSync(h.linkname, at);
    }
    this.chown(rel, h);
    fs.lutimesSync(at, h.mtime, h.mtime);
    this.stats.links++;
  }

  private hardlink(rel: string, h: TarHeader): void {
    const wanted = cleanEntryName(h.linkname);
    const [tp, tb] = parentOf(wanted);
    const targetParent = resolveInRoot(this.view, tp, { followFinal: true });
    const target = join(targetParent, tb);
    const st = this.view.lstat(target);
    if (wanted === '' || !st || st.isDirectory()) {
      const what = !st ? 'which this layer does not have (yet)' : 'a directory';
      throw new UserError(`hard link "${printable(h.name)}" points at "${printable(h.linkname)}", ${what}`);
    }
    if (target === rel) return;
    try {
      fs.linkSync(this.host(target), this.host(rel));
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      this.clear(rel);
      fs.linkSync(this.host(target), this.host(rel));
    }
    this.stats.links++;
  }

  private fifo(rel: string, h: TarHeader): void {
    this.clear(rel);
    mknod(this.host(rel), S_IFIFO, 0o600);
    this.chown(rel, h);
    fs.chmodSync(this.host(rel), h.mode);
    fs.utimesSync(this.host(rel), h.mtime, h.mtime);
  }

  private needsChown(h: TarHeader): boolean {
    return this.owners && (h.uid !== this.creator.uid || h.gid !== this.creator.gid);
  }

  private chown(rel: string, h: TarHeader): void {
    if (this.needsChown(h)) fs.lchownSync(this.host(rel), h.uid, h.gid);
  }

  private setXattrs(rel: string, h: TarHeader): void {
    for (const [name, value] of h.xattrs) {
      if (!allowedXattr(name)) continue;
      try {
        lsetxattr(this.host(rel), name, value);
      } catch (e) {
        if (!isErrno(e, 'ENOTSUP', 'EOPNOTSUPP')) throw e;
      }
    }
  }

  /** Whether every component of `rel` is a real directory now (nothing replaced it with a symlink since). */
  private isRealDir(rel: string, checked: Set<string>): boolean {
    let prefix = '';
    for (const part of rel.split('/').filter(Boolean)) {
      prefix = join(prefix, part);
      if (checked.has(prefix)) continue;
      if (!lstatOrUndefined(this.host(prefix))?.isDirectory()) return false;
      checked.add(prefix);
    }
    return true;
  }

  /** What waits for the end: opaque markers, then directory modes, then directory times. */
  finish(): void {
    const checked = new Set<string>();
    for (const rel of this.opaque) {
      if (!this.isRealDir(rel, checked)) continue;
      lsetxattr(this.host(rel), OPAQUE_XATTR, Buffer.from('y'));
      this.stats.opaque++;
    }
    const deepestFirst = [...this.dirMeta].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, meta] of deepestFirst) {
      if (!this.isRealDir(rel, checked)) continue;
      fs.chmodSync(this.host(rel), meta.mode);
      fs.utimesSync(this.host(rel), meta.mtime, meta.mtime);
    }
  }
}

/** This process's umask, read where reading it changes nothing (process.umask() would have to set it). */
function currentUmask(): number {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return parseInt(m[1], 8);
  } catch {
    // not Linux: assume the worst, and chmod every file
  }
  return 0o777;
}

/** Say which entry failed, in one line; a full disk gets its own fix. */
function entryError(e: unknown, name: string): unknown {
  if (e instanceof UserError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC')
    return new UserError(`no space left on the disk while unpacking ${name}`, 'free some disk space');
  if (err.code) return new UserError(`cannot unpack "${printable(name)}": ${err.code} (${err.syscall ?? 'fs'})`);
  return e;
}

/** Where a regular file's bytes go (a class, not closures: one of these per file of a large layer). */
class FileSink implements TarSink {
  constructor(
    private readonly writer: LayerWriter,
    private readonly fd: number,
    private readonly rel: string,
    private readonly h: TarHeader,
  ) {}

  data(chunk: Buffer): void {
    try {
      for (let off = 0; off < chunk.length;) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (e) {
      throw entryError(e, this.h.name);
    }
    this.writer.stats.bytes += chunk.length;
  }

  end(): void {
    try {
      this.writer.finishFile(this.fd, this.rel, this.h);
    } catch (e) {
      throw entryError(e, this.h.name);
    }
  }
}

/**
 * Unpack a tar stream into `dest`, an empty directory, as an overlayfs lower layer. Throws a UserError naming
 * the entry for anything it refuses. `dest` may then hold part of the layer: the caller (store.ts) unpacks into
 * a temporary directory and removes it on failure.
 */
export async function unpackLayer(
  tar: AsyncIterable<Uint8Array>,
  dest: string,
  opts: UnpackOptions = {},
): Promise<UnpackStats> {
  const writer = new LayerWriter(dest, opts.owners ?? process.getuid?.() === 0);
  try {
    await parseTar(tar, writer);
  } finally {
    writer.closeFile();
  }
  writer.finish();
  return writer.stats;
}
