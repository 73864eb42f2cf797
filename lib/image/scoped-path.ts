/**
 * Paths inside a root that cannot lead out of it.
 *
 * An image is untrusted input, and a path inside it must mean what it would mean to a process whose root is
 * that directory. On the host it would not: `/etc/passwd` joined to the layer directory is fine, but if the
 * image made `etc` a symlink to `/etc`, the host would follow it to its *own* /etc. So a path is resolved here
 * one component at a time, with lstat: a symlink's target is read and resolved again *inside the root* (an
 * absolute target starts over at the root, `..` stops at the root, as the kernel does for a chrooted process),
 * so no symlink, wherever it points, takes the walk outside. This is what runc's securejoin and containerd's
 * `RootPath` do.
 *
 * A tar entry's own name is held to a stricter rule: it is cleaned (`./a//b` → `a/b`, a leading `/` dropped, as
 * every tar does), and a `..` that climbs above the root is refused — no honest layer has one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';

/** Symlinks followed while resolving one path before giving up, as Linux's ELOOP limit. */
export const MAX_SYMLINKS = 40;

/** The part of an lstat result the resolver looks at (fs.Stats has it; so does an archive's index). */
export interface PathStat {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFile(): boolean;
  size: number;
}

/** What the resolver needs to know about a tree: a directory, a stack of layers seen as one, an archive. */
export interface TreeView {
  /** lstat of a root-relative path ('' is the root); undefined if nothing is there. */
  lstat(rel: string): PathStat | undefined;
  readlink(rel: string): string;
  /** Where an existing root-relative path is on the host (for a stack of layers: in the topmost that has it). */
  hostPath(rel: string): string;
}

export function dirView(root: string): TreeView {
  return {
    lstat: (rel) => lstatOrUndefined(hostPath(root, rel)),
    readlink: (rel) => fs.readlinkSync(hostPath(root, rel)),
    hostPath: (rel) => hostPath(root, rel),
  };
}

/** The host path of a root-relative path (no resolution: use only on paths already resolved in scope). */
export function hostPath(root: string, rel: string): string {
  return rel === '' ? root : `${root}/${rel}`;
}

export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw e;
  }
}

/**
 * A tar entry name as a clean root-relative path: `''` for the root itself. A name that climbs out with `..`
 * is refused with a UserError.
 */
export function cleanEntryName(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new UserError(`entry "${printable(name)}" climbs out of the layer with ".."`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** A name safe to print on one line of a terminal. */
export function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

export interface ResolveOptions {
  /** Also follow a symlink in the last component (reading a file); default false (creating or replacing one). */
  followFinal?: boolean;
  /** Called for a missing directory on the way, to create it; without it the rest is taken as it is spelled. */
  createDir?: (rel: string) => void;
}

/**
 * Resolve `rel` inside the root of `view`: every symlink on the way is followed as if the root were `/`.
 * Returns the real root-relative path (which may not exist yet). Throws a UserError when a component on the
 * way is not a directory, or on a symlink loop.
 */
export function resolveInRoot(view: TreeView, rel: string, opts: ResolveOptions = {}): string {
  const pending = components(rel);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '..') {
      done.pop();
      continue;
    }
    const last = pending.length === 0;
    const here = [...done, c].join('/');
    if (last && !opts.followFinal) {
      done.push(c);
      break;
    }
    const st = view.lstat(here);
    if (!st) {
      if (opts.createDir && !last) {
        opts.createDir(here);
        done.push(c);
        continue;
      }
      // Nothing there: what follows cannot be a symlink either, so it resolves as spelled.
      done.push(c);
      for (const p of pending) {
        if (p === '..') done.pop();
        else done.push(p);
      }
      break;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new UserError(`too many symbolic links resolving "${printable(rel)}"`);
      const target = view.readlink(here);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...components(target));
      continue;
    }
    if (!st.isDirectory() && !last) {
      throw new UserError(`"${printable(rel)}": ${printable(here)} is not a directory`);
    }
    done.push(c);
  }
  return done.join('/');
}

/** Resolve inside a plain directory and give the host path. */
export function resolveHostPath(root: string, rel: string, opts: ResolveOptions = {}): string {
  return hostPath(root, resolveInRoot(dirView(root), rel, opts));
}

/** Largest file `readFileInRoot` reads: /etc/passwd of any real image is far smaller. */
export const MAX_SMALL_FILE = 4 << 20;

/**
 * Read a small regular file inside a root, following symlinks only inside it. Undefined if it does not exist;
 * a UserError if it is not a regular file (a fifo would hang, a device could be endless) or is too large.
 */
export function readFileInRoot(root: string, rel: string): Buffer | undefined {
  return readFileInView(dirView(root), rel);
}

/** readFileInRoot for any view of a tree (a stack of layers: see layer-view.ts). */
export function readFileInView(view: TreeView, rel: string): Buffer | undefined {
  const real = resolveInRoot(view, rel, { followFinal: true });
  const st = view.lstat(real);
  if (!st) return undefined;
  if (!st.isFile()) throw new UserError(`/${printable(rel)} in the image is not a regular file`);
  if (st.size > MAX_SMALL_FILE)
    throw new UserError(`/${printable(rel)} in the image is larger than ${MAX_SMALL_FILE} bytes`);
  return readSmallFileNoFollow(view.hostPath(real));
}

/** Open without following a final symlink and without blocking on a fifo; then insist on a regular file. */
export function readSmallFileNoFollow(file: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${printable(path.basename(file))} is not a regular file`);
    if (st.size > MAX_SMALL_FILE) throw new UserError(`${printable(file)} is larger than ${MAX_SMALL_FILE} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}
