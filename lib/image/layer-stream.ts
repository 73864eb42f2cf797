/**
 * From a layer blob to tar bytes: decompression and both digests, in one pass over a stream.
 *
 * A layer blob is a tar, usually gzip-compressed (a registry's `…tar+gzip`), sometimes plain (`docker save`).
 * The bytes flow once: counted into the blob digest as they arrive, through gunzip when the first bytes say
 * gzip, counted into the diff_id as they leave it, and into the consumer (the tar reader and unpacker). Nothing
 * is buffered beyond a few chunks, so a gigabyte layer needs no more memory than a small one. The caller compares
 * the two digests with what the manifest and config promised, once the stream is done. A large layer is hashed on
 * a second core while this one unpacks it (digest-thread.ts).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { UserError } from '../errors.ts';
import type { Digest } from './digest.ts';
import { ThreadedDigest } from './digest-thread.ts';

export type Compression = 'gzip' | 'none';

export interface LayerStreamResult<T> {
  value: T;
  blobDigest: Digest;
  diffId: Digest;
  /** Bytes of blob read (compressed size). */
  blobBytes: number;
  /** Bytes of tar (uncompressed size). */
  tarBytes: number;
  compression: Compression;
}

/** What the first bytes of a blob say it is; a UserError for compressions this workshop does not read. */
export function detectCompression(head: Uint8Array): Compression {
  const b = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 6));
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  const unsupported: Array<[string, Buffer]> = [
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
    ['bzip2', Buffer.from('BZh')],
  ];
  for (const [name, magic] of unsupported) {
    if (b.length >= magic.length && b.subarray(0, magic.length).equals(magic)) {
      throw new UserError(`the layer is ${name}-compressed; this workshop reads gzip and plain tar layers`);
    }
  }
  return 'none';
}

async function* counted(
  source: AsyncIterable<Uint8Array>,
  counter: ThreadedDigest,
  onBytes?: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    counter.update(buf);
    onBytes?.(buf.length);
    yield buf;
    await counter.room();
  }
}

/** The first chunk of a stream, and the stream again with that chunk put back in front. */
async function peek(source: AsyncIterable<Buffer>): Promise<[Buffer, AsyncIterable<Buffer>]> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  }
  return [head, rest()];
}

/** zlib's errors, as one line a learner can act on. */
function gzipError(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/.test(err.message ?? '')) {
    return new UserError('the gzip stream is truncated (the layer was cut short)', 'fetch or save the image again');
  }
  if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_STREAM_ERROR') {
    return new UserError(`the gzip stream is corrupt (${err.message})`, 'fetch or save the image again');
  }
  return e;
}

/**
 * Feed a layer blob through decompression into `consume`, computing the blob digest and the diff_id on the
 * way. `consume` must read its input to the end (the tar reader does, past the end-of-archive marker).
 */
export async function readLayerBlob<T>(
  source: AsyncIterable<Uint8Array>,
  consume: (tar: AsyncIterable<Buffer>) => Promise<T>,
  opts: { onBlobBytes?: (n: number) => void } = {},
): Promise<LayerStreamResult<T>> {
  const blob = new ThreadedDigest();
  const diff = new ThreadedDigest();
  try {
    const [head, raw] = await peek(counted(source, blob, opts.onBlobBytes));
    const compression = head.length > 0 ? detectCompression(head) : 'none';
    if (compression === 'none') {
      // A plain tar is its own diff: one hash serves as both digests.
      const value = await consume(raw);
      const digest = await blob.digest();
      return { value, blobDigest: digest, diffId: digest, blobBytes: blob.bytes, tarBytes: blob.bytes, compression };
    }
    let value: T | undefined;
    let done = false;
    try {
      await pipeline(
        Readable.from(raw),
        zlib.createGunzip({ chunkSize: 128 << 10 }),
        async (tar: AsyncIterable<Buffer>) => {
          value = await consume(counted(tar, diff));
          done = true;
        },
      );
    } catch (e) {
      throw gzipError(e);
    }
    if (!done) throw new Error('layer stream ended without its consumer finishing');
    return {
      value: value as T,
      blobDigest: await blob.digest(),
      diffId: await diff.digest(),
      blobBytes: blob.bytes,
      tarBytes: diff.bytes,
      compression,
    };
  } finally {
    blob.close();
    diff.close();
  }
}
