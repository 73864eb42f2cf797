/**
 * The few system calls an unpacker needs that Node's fs module does not offer: `mknod` and extended attributes.
 *
 * overlayfs records a deleted file as a *whiteout* — a character device with device number 0/0 — and a
 * directory whose lower contents are hidden as an *opaque* directory, marked by the extended attribute
 * `trusted.overlay.opaque=y`. Node can create neither, so these calls go straight to the C library through
 * koffi (an FFI; the TypeScript init uses it too). `trusted.*` attributes and device nodes need root
 * (CAP_MKNOD, CAP_SYS_ADMIN), which the image commands run as.
 *
 * The library is loaded on first use, not on import, so that modules which import this one still load on macOS
 * (where unit tests run and these calls are never made).
 */
import { createRequire } from 'node:module';
import os from 'node:os';

type Koffi = typeof import('koffi');
let ffi: Koffi | undefined;

/** koffi itself, required on first use: importing it loads its native part, which a foreign platform lacks. */
function koffi(): Koffi {
  ffi ??= createRequire(import.meta.url)('koffi') as Koffi;
  return ffi;
}

interface Libc {
  mknod: (path: string, mode: number, dev: number) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer, size: number) => number;
  llistxattr: (path: string, list: Buffer, size: number) => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new Error('device nodes and xattrs are made on Linux only');
  const lib = koffi().load('libc.so.6');
  libc = {
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: lib.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
  } as Libc;
  return libc;
}

/** An Error like Node's own fs errors: `code` is the errno name (EEXIST, EPERM, ENODATA, ...). */
function sysError(call: string, path: string): NodeJS.ErrnoException {
  const errno = koffi().errno();
  const code = Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0] ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${call} ${path}`);
  err.code = code === 'ENOATTR' ? 'ENODATA' : code;
  err.errno = errno;
  err.syscall = call;
  err.path = path;
  return err;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** Linux's dev_t encoding of major/minor (what makedev(3) computes). */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) * 2 ** 32);
}

export function mknod(path: string, type: number, perm: number, major = 0, minor = 0): void {
  if (load().mknod(path, type | (perm & 0o7777), makedev(major, minor)) !== 0) throw sysError('mknod', path);
}

/** Set an extended attribute on the path itself (a symlink's own, never its target's). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  if (load().lsetxattr(path, name, value, value.length, 0) !== 0) throw sysError('lsetxattr', path);
}

/** An extended attribute's value, or undefined when the path has none of that name. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const lib = load();
  const size = lib.lgetxattr(path, name, Buffer.alloc(0), 0);
  if (size < 0) {
    const err = sysError('lgetxattr', path);
    if (err.code === 'ENODATA' || err.code === 'ENOTSUP') return undefined;
    throw err;
  }
  const buf = Buffer.alloc(size);
  const got = lib.lgetxattr(path, name, buf, size);
  if (got < 0) throw sysError('lgetxattr', path);
  return buf.subarray(0, got);
}

/** The names of a path's extended attributes (its own, never a symlink target's). */
export function llistxattr(path: string): string[] {
  const lib = load();
  const size = lib.llistxattr(path, Buffer.alloc(0), 0);
  if (size < 0) {
    const err = sysError('llistxattr', path);
    if (err.code === 'ENOTSUP') return [];
    throw err;
  }
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const got = lib.llistxattr(path, buf, size);
  if (got < 0) throw sysError('llistxattr', path);
  return buf.toString('utf8', 0, got).split('\0').filter(Boolean);
}
