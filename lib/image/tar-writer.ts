/**
 * Writing a tar archive as a stream: what `docker commit` and `docker save` do with a directory.
 *
 * Each entry becomes a 512-byte header and its bytes padded to 512; the archive ends with two zero blocks. What
 * the fixed ustar fields cannot hold goes into an extension entry written just before: a name longer than 100
 * bytes that cannot be split at a `/` into prefix + name, a link target over 100 bytes, a non-ASCII name, a size
 * over 8 GiB, an owner id over 2097151, extended attributes. By default those are PAX records (what Go's
 * archive/tar, and so Docker, writes); `longNames: 'gnu'` writes GNU `L`/`K` entries and base-256 numbers
 * instead, as GNU tar does. The output is an async generator of chunks, so whoever consumes it (a file, a
 * hash, gzip, an unpacker) sets the pace: a file's bytes are read only as fast as they are taken.
 */
import {
  BLOCK,
  NUMERIC_WIDTH,
  TYPE_FLAGS,
  encodeHeader,
  encodePax,
  octalMax,
  padding,
  type TarEntryType,
} from './tar-header.ts';

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch (whole seconds are written). */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Buffer>;
  /** Bytes of body; required for a file with a body given as a stream. */
  size?: number;
  /** The file's bytes: a buffer, or a function that opens them when the writer gets there. */
  body?: Buffer | string | (() => AsyncIterable<Uint8Array>);
}

export interface TarWriteOptions {
  longNames?: 'pax' | 'gnu';
}

const ZERO = Buffer.alloc(BLOCK * 2);

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

/** Split a name into ustar prefix (≤155 bytes) and name (≤100 bytes) at a slash, if it can be. */
export function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: '', name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (rest.length === 0 || prefix.length > 155) continue;
    // Further left only makes the name part longer.
    return rest.length <= 100 ? { prefix, name: rest } : undefined;
  }
  return undefined;
}

function bodyBuffer(body: TarWriteEntry['body']): Buffer | undefined {
  if (body === undefined || typeof body === 'function') return undefined;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** The header block(s) for one entry: extension entries first, if it needs any. */
export function entryHeaders(entry: TarWriteEntry, size: number, opts: TarWriteOptions = {}): Buffer[] {
  const gnu = opts.longNames === 'gnu';
  const name = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const linkname = entry.linkname ?? '';
  const numbers = {
    mode: entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644),
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size,
    mtime: Math.max(0, Math.floor(entry.mtime ?? 0)),
  };
  const pax: Array<[string, Buffer | string]> = [];
  const out: Buffer[] = [];
  const split = splitUstarName(name);
  let headerName = split?.name ?? name.slice(0, 100);
  if (!split) {
    if (gnu) out.push(...gnuLong('L', name));
    else pax.push(['path', name]);
    headerName = Buffer.from(name, 'utf8')
      .subarray(0, 99)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '_');
  }
  let headerLink = linkname;
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) {
    if (gnu) out.push(...gnuLong('K', linkname));
    else pax.push(['linkpath', linkname]);
    headerLink = '';
  }
  for (const key of ['uid', 'gid', 'size', 'mtime'] as const) {
    // GNU mode writes big numbers in base-256; PAX mode spells them out as records.
    if (!gnu && numbers[key] > octalMax(NUMERIC_WIDTH[key])) pax.push([key, String(numbers[key])]);
  }
  for (const [k, v] of entry.xattrs ?? []) pax.push([`SCHILY.xattr.${k}`, v]);
  if (pax.length > 0) {
    const records = encodePax(pax);
    const base = name.replace(/\/$/, '').split('/').pop() ?? 'entry';
    out.push(
      encodeHeader({
        name: `PaxHeaders.0/${base}`.slice(0, 99).replace(/[^\x20-\x7e]/g, '_'),
        flag: 'x',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: records.length,
        mtime: Math.min(numbers.mtime, octalMax(12)),
      }),
      records,
      Buffer.alloc(padding(records.length)),
    );
  }
  const cap = (key: keyof typeof NUMERIC_WIDTH, v: number) => (gnu ? v : Math.min(v, octalMax(NUMERIC_WIDTH[key])));
  out.push(
    encodeHeader({
      name: headerName,
      prefix: split?.prefix,
      flag: TYPE_FLAGS[entry.type],
      mode: numbers.mode & 0o7777,
      uid: cap('uid', numbers.uid),
      gid: cap('gid', numbers.gid),
      size: cap('size', numbers.size),
      mtime: cap('mtime', numbers.mtime),
      linkname: headerLink,
      uname: entry.uname?.slice(0, 31),
      gname: entry.gname?.slice(0, 31),
      devmajor: entry.devmajor,
      devminor: entry.devminor,
    }),
  );
  return out;
}

function gnuLong(flag: 'L' | 'K', value: string): Buffer[] {
  const body = Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]);
  return [
    encodeHeader({ name: '././@LongLink', flag, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0 }),
    body,
    Buffer.alloc(padding(body.length)),
  ];
}

/** The archive for `entries`, as chunks. A file whose stream yields more or fewer bytes than its size is an error. */
export async function* writeTar(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  opts: TarWriteOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  for await (const entry of entries) {
    const inline = bodyBuffer(entry.body);
    const size = entry.type === 'file' ? (inline?.length ?? entry.size ?? 0) : 0;
    if (inline && entry.size !== undefined && entry.size !== inline.length) {
      throw new Error(`tar entry ${entry.name}: size ${entry.size} but a body of ${inline.length} bytes`);
    }
    yield Buffer.concat(entryHeaders(entry, size, opts));
    if (size === 0) continue;
    if (inline) {
      yield inline;
    } else if (typeof entry.body === 'function') {
      let written = 0;
      for await (const chunk of entry.body()) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        written += buf.length;
        if (written > size) throw new Error(`${entry.name} grew while it was being archived`);
        yield buf;
      }
      if (written !== size) throw new Error(`${entry.name} shrank while it was being archived`);
    } else {
      throw new Error(`tar entry ${entry.name} has a size but no body`);
    }
    const pad = padding(size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield ZERO;
}
