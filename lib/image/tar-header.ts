/**
 * The tar format: 512-byte headers, each followed by the entry's bytes padded to 512.
 *
 * Every image layer is a tar archive, and so is a `docker save` file. A tar header is a fixed block of text
 * fields: the name (100 bytes), mode, owner, size and time written as octal numbers, a type flag (file,
 * directory, symlink, hard link, device, fifo) and a checksum. Three later conventions stretch those fixed
 * fields: **ustar** splits a long name into a 155-byte prefix plus the name; **GNU** writes an extra entry of
 * type `L` (or `K` for a link target) whose body is the long name of the entry after it, and stores numbers too
 * big for octal in base-256; **PAX** writes an extra entry of type `x` whose body is `length key=value` records
 * (`path`, `linkpath`, `size`, `uid`, `mtime`, `SCHILY.xattr.*` for extended attributes) that override the next
 * header's fields. The archive ends with zero blocks.
 *
 * This module only encodes and decodes those blocks; `tar-reader.ts` and `tar-writer.ts` stream them, and the
 * indexer in `source.ts` reads them at file offsets. All three share `Extensions`, which folds the `L`/`K`/`x`/`g`
 * entries into the header they describe.
 */
import { UserError } from '../errors.ts';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One archive member as it should be created: the extension entries already applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Permission bits, setuid/setgid/sticky included (the file-type bits some writers add are dropped). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of body that follow (only files have one that means something). */
  size: number;
  /** Seconds since the epoch; a PAX `mtime` may carry a fraction. */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.NAME` records (values are raw bytes: capabilities are binary). */
  xattrs: ReadonlyMap<string, Buffer>;
}

/** A header block as written, before extensions are applied. `flag` is the raw type character. */
export interface RawHeader extends Omit<TarHeader, 'type' | 'xattrs'> {
  flag: string;
}

/** A tar that cannot be read: cut short, a bad checksum, an entry type no layer should hold. */
export class CorruptTarError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptTarError';
  }
}

const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  flag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

type Field = keyof typeof FIELDS;

function text(block: Buffer, field: Field): string {
  const [start, len] = FIELDS[field];
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
}

/** An octal number padded with spaces or NULs, or GNU base-256 when the first byte has its high bit set. */
function numeric(block: Buffer, field: Field, at: number): number {
  const [start, len] = FIELDS[field];
  const first = block[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new CorruptTarError(`negative ${field} in the tar header at byte ${at}`);
    let value = BigInt(first & 0x7f);
    for (let i = start + 1; i < start + len; i++) value = (value << 8n) | BigInt(block[i] ?? 0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptTarError(`${field} too large at byte ${at}`);
    return Number(value);
  }
  // Hot (seven fields per entry): a loop over the bytes rather than string and regex work.
  let i = start;
  const end = start + len;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i] as number;
    if (c >= 0x30 && c <= 0x37) {
      value = value * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  for (; i < end; i++) {
    if (block[i] !== 0x20 && block[i] !== 0) {
      throw new CorruptTarError(`the tar header at byte ${at} has a bad ${field} field`);
    }
  }
  return digits === 0 ? 0 : value;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** The checksum the header should carry: every byte summed, with the checksum field itself counted as spaces. */
function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** Decode one non-zero header block; `at` is its offset in the archive, for error messages. */
export function decodeHeader(block: Buffer, at: number): RawHeader {
  const stored = numeric(block, 'chksum', at);
  const sums = checksums(block);
  if (stored !== sums.unsigned && stored !== sums.signed) {
    throw new CorruptTarError(`not a tar archive, or a damaged one: bad header checksum at byte ${at}`);
  }
  const magic = block.toString('latin1', 257, 263);
  const name = text(block, 'name');
  // Only POSIX ustar has the prefix field; GNU tar keeps access and change times in the same bytes.
  const prefix = magic === 'ustar\0' ? text(block, 'prefix') : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    flag: String.fromCharCode(block[156] ?? 0),
    mode: numeric(block, 'mode', at) & 0o7777,
    uid: numeric(block, 'uid', at),
    gid: numeric(block, 'gid', at),
    size: numeric(block, 'size', at),
    mtime: numeric(block, 'mtime', at),
    linkname: text(block, 'linkname'),
    uname: text(block, 'uname'),
    gname: text(block, 'gname'),
    devmajor: numeric(block, 'devmajor', at),
    devminor: numeric(block, 'devminor', at),
  };
}

/** PAX records: `<length> <key>=<value>\n`, where length counts the whole record. Values stay bytes. */
export function parsePax(body: Buffer, at: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // some writers pad the record block with NULs
    const space = body.indexOf(0x20, pos);
    const len = Number(body.toString('latin1', pos, space));
    if (space < 0 || !Number.isInteger(len) || len <= space - pos + 1 || pos + len > body.length) {
      throw new CorruptTarError(`a PAX header near byte ${at} is malformed`);
    }
    const record = body.subarray(space + 1, pos + len);
    const eq = record.indexOf(0x3d);
    if (eq < 1 || record[record.length - 1] !== 0x0a) {
      throw new CorruptTarError(`a PAX record near byte ${at} is malformed`);
    }
    out.set(record.toString('utf8', 0, eq), record.subarray(eq + 1, record.length - 1));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // "contiguous file": an ordinary file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

const EXTENSION_FLAGS = new Set(['x', 'g', 'L', 'K']);
/** Most entries have no extended attributes: they share this empty map. */
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

export function isExtension(flag: string): boolean {
  return EXTENSION_FLAGS.has(flag);
}

/** Longest GNU long name or PAX header body read into memory: far above PATH_MAX, far below a memory problem. */
export const MAX_EXTENSION_SIZE = 1 << 20;

function nameOfFlag(flag: string): string {
  const known: Record<string, string> = { S: 'GNU sparse file', M: 'GNU multi-volume continuation', D: 'GNU dumpdir' };
  return known[flag] ? `'${flag}' (${known[flag]})` : `'${flag.replace(/[^\x20-\x7e]/g, '?')}'`;
}

/**
 * The state extension entries leave for the next real entry. `absorb` takes an `x`/`g`/`L`/`K` entry's body;
 * `apply` turns the next ordinary header into a TarHeader and forgets the one-shot extensions.
 */
export class Extensions {
  private readonly global = new Map<string, Buffer>();
  private pax = new Map<string, Buffer>();
  private longName: string | undefined;
  private longLink: string | undefined;

  absorb(raw: RawHeader, body: Buffer, at: number): void {
    if (raw.flag === 'L') this.longName = cString(body);
    else if (raw.flag === 'K') this.longLink = cString(body);
    else if (raw.flag === 'g') for (const [k, v] of parsePax(body, at)) this.global.set(k, v);
    else for (const [k, v] of parsePax(body, at)) this.pax.set(k, v);
  }

  apply(raw: RawHeader, at: number): TarHeader {
    const pax = this.global.size === 0 ? this.pax : new Map([...this.global, ...this.pax]);
    const longName = this.longName;
    const longLink = this.longLink;
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;

    let type = TYPES[raw.flag];
    if (!type) throw new CorruptTarError(`unsupported tar entry type ${nameOfFlag(raw.flag)} at byte ${at}`);
    for (const k of pax.keys()) {
      if (k.startsWith('GNU.sparse.'))
        throw new CorruptTarError(`unsupported tar entry type (PAX sparse file) at byte ${at}`);
    }
    const str = (key: string) => pax.get(key)?.toString('utf8');
    const num = (key: string, fallback: number) => {
      const v = str(key);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new CorruptTarError(`PAX ${key}=${v} is not a number (byte ${at})`);
      return n;
    };
    const name = str('path') ?? longName ?? raw.name;
    // Old (v7) archives mark directories only by a trailing slash on a plain file entry.
    if (type === 'file' && raw.flag !== '7' && name.endsWith('/')) type = 'dir';
    let xattrs = NO_XATTRS;
    if (pax.size > 0) {
      const found = new Map<string, Buffer>();
      for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) found.set(k.slice('SCHILY.xattr.'.length), v);
      xattrs = found;
    }
    const size = num('size', raw.size);
    if (!Number.isSafeInteger(size)) throw new CorruptTarError(`entry size ${size} is not an integer (byte ${at})`);
    return {
      name,
      type,
      mode: raw.mode,
      uid: num('uid', raw.uid),
      gid: num('gid', raw.gid),
      size,
      mtime: num('mtime', raw.mtime),
      linkname: str('linkpath') ?? longLink ?? raw.linkname,
      uname: str('uname') ?? raw.uname,
      gname: str('gname') ?? raw.gname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs,
    };
  }
}

function cString(body: Buffer): string {
  const end = body.indexOf(0);
  return body.toString('utf8', 0, end < 0 ? body.length : end);
}

/** Bytes of padding after a body of `size` bytes. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

// ---- encoding -------------------------------------------------------------------------------------------------

/** What a writer needs to put in one header block (extensions are the writer's business). */
export interface HeaderFields {
  name: string;
  prefix?: string;
  flag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
}

/** Largest value an octal field of `len` bytes holds (len - 1 digits and a terminating NUL). */
export function octalMax(len: number): number {
  return 8 ** (len - 1) - 1;
}

export const NUMERIC_WIDTH = { mode: 8, uid: 8, gid: 8, size: 12, mtime: 12, devmajor: 8, devminor: 8 } as const;

function writeText(block: Buffer, field: Field, value: string): void {
  const [start, len] = FIELDS[field];
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > len) throw new Error(`tar field ${field} too long: ${value}`);
  bytes.copy(block, start);
}

function writeNumber(block: Buffer, field: Field, value: number): void {
  const [start, len] = FIELDS[field];
  if (value <= octalMax(len)) {
    block.write(`${value.toString(8).padStart(len - 1, '0')}\0`, start, 'latin1');
    return;
  }
  // GNU base-256: the high bit of the first byte says so; the rest is big-endian.
  let v = BigInt(value);
  for (let i = start + len - 1; i > start; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[start] = 0x80;
}

export function encodeHeader(h: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeText(block, 'name', h.name);
  writeNumber(block, 'mode', h.mode);
  writeNumber(block, 'uid', h.uid);
  writeNumber(block, 'gid', h.gid);
  writeNumber(block, 'size', h.size);
  writeNumber(block, 'mtime', Math.floor(h.mtime));
  block.write(h.flag, 156, 'latin1');
  writeText(block, 'linkname', h.linkname ?? '');
  block.write('ustar\x0000', 257, 'latin1');
  writeText(block, 'uname', h.uname ?? '');
  writeText(block, 'gname', h.gname ?? '');
  writeNumber(block, 'devmajor', h.devmajor ?? 0);
  writeNumber(block, 'devminor', h.devminor ?? 0);
  writeText(block, 'prefix', h.prefix ?? '');
  block.write('        ', 148, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i] ?? 0;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** PAX records for `entries`, each `<len> key=value\n` with len counting its own digits. */
export function encodePax(entries: ReadonlyArray<readonly [string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of entries) {
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const rest = Buffer.byteLength(key) + v.length + 3; // ' ' + '=' + '\n'
    let len = rest + String(rest).length;
    if (String(len).length !== String(rest).length) len = rest + String(len).length;
    parts.push(Buffer.from(`${len} ${key}=`, 'utf8'), v, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};
