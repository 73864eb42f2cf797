/**
 * An image archive, as a directory or as one .tar file: named members read on demand.
 *
 * `docker save` writes a tar whose members must be read out of order — manifest.json, which says what is
 * where, usually comes *last*. Extracting the whole archive first would copy every layer once more. Instead the
 * tar's headers are read once at their file offsets (skipping the bodies), which gives an index of member →
 * byte range; a layer is then streamed straight from its range of the file. A directory (an OCI layout on disk)
 * is read the same way. Both are untrusted: member names are resolved inside the archive (a symlink member
 * cannot point at a host file), and only regular files are read. A gzip-compressed archive
 * (`docker save | gzip`) is decompressed to a temporary file first, since gzip cannot be read out of order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { UserError } from '../errors.ts';
import {
  cleanEntryName,
  dirView,
  hostPath,
  printable,
  resolveInRoot,
  type PathStat,
  type TreeView,
} from './scoped-path.ts';
import {
  BLOCK,
  CorruptTarError,
  Extensions,
  MAX_EXTENSION_SIZE,
  decodeHeader,
  isExtension,
  isZeroBlock,
  padding,
  type TarEntryType,
} from './tar-header.ts';

export interface ArchiveSource {
  /** How to name the archive in messages: its file or directory name. */
  readonly label: string;
  has(member: string): boolean;
  /** A member's bytes, streamed. */
  open(member: string): AsyncIterable<Uint8Array>;
  /** A small member (JSON) read whole. */
  read(member: string, limit?: number): Buffer;
  size(member: string): number;
  close(): void;
}

const READ_CHUNK = 256 << 10;
const SMALL_LIMIT = 16 << 20;

/**
 * A file's bytes, or a range of them, as chunks read with readSync. Reading a local file is a copy out of the
 * page cache; doing it in line saves the thread-pool round trip a ReadStream makes for every chunk, which
 * costs more than the copy. A range cut short by the end of the file simply yields fewer bytes (the digest
 * check downstream says so).
 */
export async function* fileChunks(
  file: string | number,
  start = 0,
  length = Number.POSITIVE_INFINITY,
  chunkSize = READ_CHUNK,
): AsyncGenerator<Buffer> {
  const fd = typeof file === 'number' ? file : fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    for (let pos = start, left = length; left > 0;) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, left));
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return;
      pos += n;
      left -= n;
      yield n < buf.length ? buf.subarray(0, n) : buf;
    }
  } finally {
    if (typeof file !== 'number') fs.closeSync(fd);
  }
}

function missing(label: string, member: string): UserError {
  return new UserError(`${label} has no ${printable(member)}`, 'the archive is incomplete: save or download it again');
}

/** The path of a member inside the archive root, resolved in scope; throws `missing` unless it is a regular file. */
function resolveMember(view: TreeView, label: string, member: string): string {
  let real: string;
  try {
    real = resolveInRoot(view, cleanEntryName(member), { followFinal: true });
  } catch {
    throw missing(label, member);
  }
  if (!view.lstat(real)?.isFile()) throw missing(label, member);
  return real;
}

function tooLarge(label: string, member: string, limit: number): UserError {
  return new UserError(`${label}: ${printable(member)} is larger than ${limit} bytes, more than such a file ever is`);
}

// ---- a directory --------------------------------------------------------------------------------------------

function directorySource(root: string): ArchiveSource {
  const view = dirView(root);
  const label = path.basename(root);
  const real = (member: string) => hostPath(root, resolveMember(view, label, member));
  return {
    label,
    has: (member) => {
      try {
        real(member);
        return true;
      } catch {
        return false;
      }
    },
    size: (member) => fs.lstatSync(real(member)).size,
    open: (member) => fileChunks(real(member)),
    read: (member, limit = SMALL_LIMIT) => {
      const file = real(member);
      if (fs.lstatSync(file).size > limit) throw tooLarge(label, member, limit);
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        return fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
    close: () => {},
  };
}

// ---- a tar file ---------------------------------------------------------------------------------------------

interface Member {
  type: TarEntryType;
  /** Offset of the body in the file. */
  offset: number;
  size: number;
  linkname: string;
}

function memberStat(m: Member | 'dir'): PathStat {
  const type = m === 'dir' ? 'dir' : m.type;
  return {
    isDirectory: () => type === 'dir',
    isSymbolicLink: () => type === 'symlink',
    isFile: () => type === 'file',
    size: m === 'dir' ? 0 : m.size,
  };
}

/** Read every header of a tar file at its offset, skipping bodies: member name → where its bytes are. */
export function indexTarFile(fd: number, fileSize: number): Map<string, Member> {
  const members = new Map<string, Member>();
  const ext = new Extensions();
  const block = Buffer.alloc(BLOCK);
  let pos = 0;
  for (;;) {
    if (pos + BLOCK > fileSize) throw new CorruptTarError(`the archive is truncated (no end marker after byte ${pos})`);
    fs.readSync(fd, block, 0, BLOCK, pos);
    if (isZeroBlock(block)) return members;
    const raw = decodeHeader(block, pos);
    const body = pos + BLOCK;
    const next = body + raw.size + padding(raw.size);
    if (next > fileSize) throw new CorruptTarError(`the archive is truncated (it ends inside ${printable(raw.name)})`);
    if (isExtension(raw.flag)) {
      if (raw.size > MAX_EXTENSION_SIZE) throw new CorruptTarError(`an oversized extension header at byte ${pos}`);
      const data = Buffer.alloc(raw.size);
      fs.readSync(fd, data, 0, raw.size, body);
      ext.absorb(raw, data, pos);
    } else {
      const h = ext.apply(raw, pos);
      let name: string | undefined;
      try {
        name = cleanEntryName(h.name);
      } catch {
        name = undefined; // a member that climbs out cannot be named by anything we look up
      }
      if (name) members.set(name, { type: h.type, offset: body, size: h.size, linkname: h.linkname });
    }
    pos = next;
  }
}

function tarView(members: Map<string, Member>): TreeView {
  const dirs = new Set<string>(['']);
  for (const name of members.keys()) {
    for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) dirs.add(name.slice(0, i));
  }
  const lookup = (rel: string): Member | 'dir' | undefined => {
    const m = members.get(rel);
    return m ?? (dirs.has(rel) ? 'dir' : undefined);
  };
  return {
    lstat: (rel) => {
      const m = lookup(rel);
      return m ? memberStat(m) : undefined;
    },
    readlink: (rel) => members.get(rel)?.linkname ?? '',
    hostPath: (rel) => rel,
  };
}

function tarFileSource(file: string, label: string, cleanup: () => void): ArchiveSource {
  const fd = fs.openSync(file, 'r');
  let members: Map<string, Member>;
  try {
    members = indexTarFile(fd, fs.fstatSync(fd).size);
  } catch (e) {
    fs.closeSync(fd);
    cleanup();
    throw e instanceof UserError ? new UserError(`${label}: ${e.message}`, 'save or download the archive again') : e;
  }
  const view = tarView(members);
  /** A hard link member's bytes are its target's. */
  const member = (name: string): Member => {
    let m = members.get(resolveMember(view, label, name)) as Member;
    for (let hops = 0; m.type === 'hardlink' && hops < 8; hops++) {
      const target = members.get(cleanEntryName(m.linkname));
      if (!target) throw missing(label, m.linkname);
      m = target;
    }
    if (m.type !== 'file') throw missing(label, name);
    return m;
  };
  // Hard links show as files to the resolver only if they lead to one.
  for (const [name, m] of members) {
    if (m.type !== 'hardlink') continue;
    try {
      members.set(name, { ...member(cleanEntryName(m.linkname)), type: 'file' });
    } catch {
      members.delete(name);
    }
  }
  return {
    label,
    has: (name) => {
      try {
        member(name);
        return true;
      } catch {
        return false;
      }
    },
    size: (name) => member(name).size,
    open: (name) => {
      const m = member(name);
      return fileChunks(fd, m.offset, m.size);
    },
    read: (name, limit = SMALL_LIMIT) => {
      const m = member(name);
      if (m.size > limit) throw tooLarge(label, name, limit);
      const buf = Buffer.alloc(m.size);
      fs.readSync(fd, buf, 0, m.size, m.offset);
      return buf;
    },
    close: () => {
      fs.closeSync(fd);
      cleanup();
    },
  };
}

function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    fs.readSync(fd, head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open an image archive: a directory, a .tar, or a gzip-compressed .tar (decompressed into `tmpDir` first).
 * Close it when done.
 */
export async function openArchive(input: string, opts: { tmpDir?: string } = {}): Promise<ArchiveSource> {
  let st: fs.Stats;
  try {
    st = fs.statSync(input);
  } catch {
    throw new UserError(
      `${input} does not exist`,
      'give the path of a docker save .tar, an OCI layout .tar, or its directory',
    );
  }
  if (st.isDirectory()) return directorySource(path.resolve(input));
  const label = path.basename(input);
  if (!isGzipFile(input)) return tarFileSource(input, label, () => {});
  const tmp = fs.mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), `scr-archive-${process.pid}-`));
  const plain = path.join(tmp, 'archive.tar');
  const remove = () => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await pipeline(fs.createReadStream(input), zlib.createGunzip(), fs.createWriteStream(plain));
  } catch (e) {
    remove();
    throw new UserError(
      `${label}: the gzip stream is damaged or truncated (${(e as Error).message})`,
      'save or download it again',
    );
  }
  return tarFileSource(plain, label, remove);
}
