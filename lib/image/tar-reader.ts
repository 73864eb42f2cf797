/**
 * Reading a tar archive as a stream: one entry at a time, never the whole archive in memory.
 *
 * A layer can be gigabytes, and it arrives as a stream: out of gunzip, out of a registry download, out of a
 * byte range of a `docker save` file. So the reader takes chunks as they come, decodes a header, hands the entry
 * to its consumer with a `body` that yields the entry's bytes as slices of the chunks already in hand (no copy),
 * and moves on once the consumer is done (skipping whatever it did not read). The extension entries (PAX, GNU long
 * names) never reach the consumer: they are folded into the entry they describe.
 *
 * A tar that ends early — inside a header, inside a body, or without its end-of-archive zero block — is reported
 * as truncated: cutting a layer at an entry boundary would otherwise go unnoticed. Bytes after the end marker are
 * read and dropped, so that a digest computed upstream covers the whole stream.
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
  type TarHeader,
} from './tar-header.ts';

export interface TarEntry {
  header: TarHeader;
  /** The entry's bytes. Read it before asking for the next entry, or leave it: the reader skips what is left. */
  body: AsyncIterable<Buffer>;
}

/** Pulls chunks from an async source and hands out exact byte counts, slicing rather than copying where it can. */
class ChunkReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far: the archive offset of the next byte. */
  position = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Make `n` bytes available; false if the source ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false;
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      const chunk = Buffer.isBuffer(next.value)
        ? next.value
        : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Up to `max` bytes of what is buffered, as a slice of one chunk (call fill first). */
  private takeSome(max: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      this.position += first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    this.position += max;
    return first.subarray(0, max);
  }

  /** Exactly `n` bytes as one buffer, or undefined at a clean end of input. */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const first = this.takeSome(n);
    if (first.length === n) return first;
    const parts = [first];
    let have = first.length;
    while (have < n) {
      const part = this.takeSome(n - have);
      parts.push(part);
      have += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /**
   * The next `span.left` bytes as a sequence of slices, counting them off `span` as they go: a consumer that
   * stops early leaves an exact count of what is still to skip. Throws `short()` if the source ends first.
   */
  async *stream(span: { left: number; closed: boolean }, short: () => Error): AsyncGenerator<Buffer> {
    while (span.left > 0 && !span.closed) {
      if (this.buffered === 0 && !(await this.fill(1))) throw short();
      const part = this.takeSome(span.left);
      span.left -= part.length;
      yield part;
    }
  }

  async skip(n: number, short: () => Error): Promise<void> {
    for await (const part of this.stream({ left: n, closed: false }, short)) void part;
  }

  /** Read and drop everything that is left. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
    }
  }
}

function truncated(where: string): CorruptTarError {
  return new CorruptTarError(`the tar is truncated (it ends ${where})`);
}

/** The entries of a tar stream, in archive order. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const input = new ChunkReader(source[Symbol.asyncIterator]());
  const ext = new Extensions();
  let lastName = '';
  for (;;) {
    const at = input.position;
    const block = await input.read(BLOCK);
    if (!block) {
      throw truncated(at === 0 ? 'before its first header: it is empty' : `after ${lastName || 'its last entry'}`);
    }
    if (isZeroBlock(block)) {
      // The end-of-archive marker is two zero blocks; a lone one followed by the end of input is accepted too.
      const second = await input.read(BLOCK);
      if (second && !isZeroBlock(second)) {
        throw new CorruptTarError(`a zero block in the middle of the tar at byte ${at}`);
      }
      await input.drain();
      return;
    }
    const raw = decodeHeader(block, at);
    const pad = padding(raw.size);
    if (isExtension(raw.flag)) {
      if (raw.size > MAX_EXTENSION_SIZE) {
        throw new CorruptTarError(`a ${raw.flag} extension header of ${raw.size} bytes at byte ${at} is too large`);
      }
      const body = await input.read(raw.size + pad);
      if (!body) throw truncated(`inside an extension header at byte ${at}`);
      ext.absorb(raw, body.subarray(0, raw.size), at);
      continue;
    }
    const header = ext.apply(raw, at);
    lastName = header.name;
    const short = () => truncated(`inside ${header.name}`);
    const span = { left: header.size, closed: false };
    let consumed = false;
    yield {
      header,
      body: {
        [Symbol.asyncIterator]() {
          if (consumed) throw new Error(`the body of ${header.name} was already read`);
          consumed = true;
          return input.stream(span, short);
        },
      },
    };
    // The consumer has moved on: its body iterator must not take the next entry's bytes.
    span.closed = true;
    await input.skip(span.left + pad, short);
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
