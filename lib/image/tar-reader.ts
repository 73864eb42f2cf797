/**
 * Reading a tar archive as a stream: one entry at a time, never the whole archive in memory.
 *
 * A layer can be gigabytes, and it arrives as a stream: out of gunzip, out of a registry download, out of a
 * byte range of a `docker save` file. So the reader is a *push parser*: it is handed each chunk as it comes,
 * and walks through it synchronously — a header becomes a call to `entry()`, which may return a sink for the
 * entry's bytes; those bytes are passed on as slices of the chunk (no copy); padding is skipped; and the next
 * header follows, in the same chunk or the next. Extension entries (PAX, GNU long names) never reach the
 * handler: they are folded into the entry they describe. Doing all of this without an `await` per entry is
 * what lets an unpacker keep up with `tar -x`.
 *
 * A tar that ends early — inside a header, inside a body, or without its end-of-archive zero block — is
 * reported as truncated: cutting a layer at an entry boundary would otherwise go unnoticed. Bytes after the end
 * marker are ignored (but still read, so that a digest computed upstream covers the whole stream).
 *
 * `readTar` offers the same entries as an async iterator, for code that prefers to pull.
 */
import {
  BLOCK,
  CorruptTarError,
  Extensions,
  MAX_EXTENSION_SIZE,
  decodeHeader,
  isExtension,
  isZeroBlock,
  padding,
  type RawHeader,
  type TarHeader,
} from './tar-header.ts';

/** Where an entry's bytes go, chunk by chunk. */
export interface TarSink {
  data(chunk: Buffer): void;
  end(): void;
}

export interface TarHandler {
  /** A new entry: return a sink for its bytes, or nothing to skip them. */
  entry(header: TarHeader): TarSink | undefined;
}

type State =
  | { kind: 'header' }
  | { kind: 'extension'; raw: RawHeader; at: number; body: Buffer; filled: number }
  | { kind: 'body'; name: string; sink: TarSink | undefined; left: number; pad: number }
  | { kind: 'skip'; left: number }
  | { kind: 'end' }
  | { kind: 'done' };

function truncated(where: string): CorruptTarError {
  return new CorruptTarError(`the tar is truncated (it ends ${where})`);
}

export class TarParser {
  private state: State = { kind: 'header' };
  private readonly ext = new Extensions();
  /** A header block split across two chunks is gathered here. */
  private readonly block = Buffer.alloc(BLOCK);
  private blockFilled = 0;
  private lastName = '';
  /** Bytes taken so far: the archive offset of the next byte. */
  position = 0;

  constructor(private readonly handler: TarHandler) {}

  /** Take the next chunk of the archive; calls the handler for whatever it completes. */
  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const s = this.state;
      const avail = chunk.length - off;
      switch (s.kind) {
        case 'done':
          this.position += avail;
          return;
        case 'header':
        case 'end': {
          let block: Buffer;
          if (this.blockFilled === 0 && avail >= BLOCK) {
            block = chunk.subarray(off, off + BLOCK);
            off += BLOCK;
            this.position += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.blockFilled, avail);
            chunk.copy(this.block, this.blockFilled, off, off + n);
            this.blockFilled += n;
            off += n;
            this.position += n;
            if (this.blockFilled < BLOCK) return;
            block = this.block;
            this.blockFilled = 0;
          }
          const at = this.position - BLOCK;
          if (s.kind === 'end') {
            // The end marker is two zero blocks; what follows them is padding to a record size.
            if (!isZeroBlock(block)) {
              throw new CorruptTarError(`a zero block in the middle of the tar at byte ${at - BLOCK}`);
            }
            this.state = { kind: 'done' };
          } else if (isZeroBlock(block)) {
            this.state = { kind: 'end' };
          } else {
            this.header(block, at);
          }
          break;
        }
        case 'extension': {
          const n = Math.min(s.body.length - s.filled, avail);
          chunk.copy(s.body, s.filled, off, off + n);
          s.filled += n;
          off += n;
          this.position += n;
          if (s.filled === s.body.length) {
            this.ext.absorb(s.raw, s.body.subarray(0, s.raw.size), s.at);
            this.state = { kind: 'header' };
          }
          break;
        }
        case 'body': {
          const n = Math.min(s.left, avail);
          if (n > 0) {
            s.sink?.data(chunk.subarray(off, off + n));
            s.left -= n;
            off += n;
            this.position += n;
          }
          if (s.left === 0) this.finishBody(s);
          break;
        }
        case 'skip': {
          const n = Math.min(s.left, avail);
          s.left -= n;
          off += n;
          this.position += n;
          if (s.left === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  private header(block: Buffer, at: number): void {
    const raw = decodeHeader(block, at);
    if (isExtension(raw.flag)) {
      if (raw.size > MAX_EXTENSION_SIZE) {
        throw new CorruptTarError(`a ${raw.flag} extension header of ${raw.size} bytes at byte ${at} is too large`);
      }
      this.state = { kind: 'extension', raw, at, body: Buffer.alloc(raw.size + padding(raw.size)), filled: 0 };
      if (raw.size === 0) {
        this.ext.absorb(raw, Buffer.alloc(0), at);
        this.state = { kind: 'header' };
      }
      return;
    }
    const header = this.ext.apply(raw, at);
    this.lastName = header.name;
    const sink = this.handler.entry(header);
    const body: State = { kind: 'body', name: header.name, sink, left: header.size, pad: padding(header.size) };
    this.state = body;
    if (header.size === 0) this.finishBody(body);
  }

  private finishBody(s: Extract<State, { kind: 'body' }>): void {
    s.sink?.end();
    this.state = s.pad > 0 ? { kind: 'skip', left: s.pad } : { kind: 'header' };
  }

  /** The input ended: throws if the archive did. */
  end(): void {
    const s = this.state;
    // One zero block and then the end of input is accepted too (some writers stop there).
    if (s.kind === 'done' || s.kind === 'end') return;
    if (s.kind === 'body' || (s.kind === 'skip' && this.lastName)) throw truncated(`inside ${this.lastName}`);
    if (s.kind === 'extension') throw truncated(`inside an extension header at byte ${s.at}`);
    if (this.position === 0) throw truncated('before its first header: it is empty');
    throw truncated(this.lastName ? `after ${this.lastName}` : 'after its last entry');
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Feed a whole stream to a handler. */
export async function parseTar(source: AsyncIterable<Uint8Array>, handler: TarHandler): Promise<void> {
  const parser = new TarParser(handler);
  for await (const chunk of source) parser.write(asBuffer(chunk));
  parser.end();
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's bytes. Read it before asking for the next entry, or leave it: the reader skips what is left. */
  body: AsyncIterable<Buffer>;
}

type ParsedEvent = { kind: 'entry'; header: TarHeader } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/**
 * The entries of a tar stream, in archive order, pulled one at a time. The parser runs a chunk ahead at
 * most: the next chunk is read only when everything parsed from the last one has been taken.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const events: ParsedEvent[] = [];
  let head = 0;
  const parser = new TarParser({
    entry: (header) => {
      events.push({ kind: 'entry', header });
      return { data: (chunk) => events.push({ kind: 'data', chunk }), end: () => events.push({ kind: 'end' }) };
    },
  });
  const input = source[Symbol.asyncIterator]();
  let ended = false;
  const next = async (): Promise<ParsedEvent | undefined> => {
    while (head === events.length) {
      events.length = 0;
      head = 0;
      if (ended) return undefined;
      const r = await input.next();
      if (r.done) {
        ended = true;
        parser.end();
      } else parser.write(asBuffer(r.value));
    }
    return events[head++];
  };
  for (let e = await next(); e; e = await next()) {
    if (e.kind !== 'entry') continue;
    let finished = false;
    let claimed = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        if (claimed) throw new Error(`the body of ${e.header.name} was already read`);
        claimed = true;
        return (async function* () {
          while (!finished) {
            const d = await next();
            if (!d || d.kind === 'end') finished = true;
            else if (d.kind === 'data') yield d.chunk;
          }
        })();
      },
    };
    yield { header: e.header, body };
    // Whatever the consumer left of the body.
    while (!finished) {
      const d = await next();
      if (!d || d.kind === 'end') finished = true;
    }
  }
}

/** Read a body fully into memory (small things only: JSON files of an archive, test fixtures). */
export async function readBody(body: AsyncIterable<Buffer>, limit = 64 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > limit)
      throw new CorruptTarError(`an entry is larger than ${limit} bytes where a small file was expected`);
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}
