/**
 * A layer's SHA-256 computed on a second CPU core while the first one unpacks it.
 *
 * Unpacking a layer is two jobs over the same bytes: hashing them (the digests an image promises) and turning
 * them into files. In one thread they take turns, and hashing is a third or more of the time. A worker thread
 * hashes while the main thread writes files, so the two overlap — which is how the unpacker keeps up with GNU
 * tar, which checks no digest at all. The first few megabytes are hashed in the main thread, as they arrive:
 * for a small layer (most config-sized blobs, busybox's layer) starting a thread would cost more than it saves.
 * Past that, the bytes so far and every later chunk are copied into a ring buffer shared with the worker (a
 * SharedArrayBuffer), and the worker is told where they are. If it falls behind, the stream waits for it
 * (`room()`). The ring is why a gigabyte layer needs no more memory than a small one: handing the worker a fresh
 * copy of every chunk instead made 1 GB of garbage in the worker, which it collected late (its own heap is
 * almost idle), and a 1 GB unpack peaked at about 290 MB. A chunk larger than the free space is still handed
 * over as a copy of its own, in order.
 */
import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Digest } from './digest.ts';

/** The worker, as source text: it needs no file of its own, so it runs the same from a bundle in dist/. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
const ring = new Uint8Array(workerData);
parentPort.on('message', (m) => {
  if (m === 'digest') return parentPort.postMessage({ digest: hash.digest('hex') });
  if (m instanceof ArrayBuffer) {
    hash.update(new Uint8Array(m));
    return parentPort.postMessage({ copied: m.byteLength });
  }
  hash.update(ring.subarray(m[0], m[0] + m[1]));
  parentPort.postMessage({ ring: m[1] });
});
`;

/** Bytes hashed in this thread before a worker is worth starting. */
export const THREAD_AFTER = 4 << 20;
/** The ring shared with the worker: the most bytes it may be behind. */
export const RING_SIZE = 8 << 20;

export class ThreadedDigest {
  bytes = 0;
  private local: crypto.Hash | undefined = crypto.createHash('sha256');
  /** What was hashed here so far: the worker must see it too once it starts. */
  private head: Buffer[] = [];
  private worker: Worker | undefined;
  private ring: Uint8Array | undefined;
  /** Where the next bytes go in the ring, and how many before it the worker has not hashed yet. */
  private at = 0;
  private inRing = 0;
  /** Bytes sent that the worker has not hashed yet: those in the ring and those handed over as copies. */
  private backlog = 0;
  private waiting: Array<() => void> = [];
  private result: ((hex: string) => void) | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly threadAfter = THREAD_AFTER,
    private readonly ringSize = RING_SIZE,
  ) {}

  update(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.local) {
      this.local.update(chunk);
      this.head.push(Buffer.from(chunk));
      if (this.bytes >= this.threadAfter) this.startWorker();
      return;
    }
    this.send(chunk);
  }

  /** Resolves once the ring has room for another chunk (at once without a worker). */
  room(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async digest(): Promise<Digest> {
    if (this.local) return `sha256:${this.local.digest('hex')}`;
    const worker = this.worker;
    if (!worker) throw new Error('digest asked twice');
    const hex = await new Promise<string>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.result = resolve;
      worker.once('error', reject);
      worker.postMessage('digest');
    });
    this.close();
    return `sha256:${hex}`;
  }

  /** Stop the worker (a failed unpack must not leave a thread behind). Safe to call twice. */
  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  /** Half the ring free: room for any chunk a stream here yields (256 KiB at most), with plenty to spare. */
  private hasRoom(): boolean {
    return this.backlog <= this.ringSize / 2;
  }

  private startWorker(): void {
    const shared = new SharedArrayBuffer(this.ringSize);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: shared });
    worker.unref();
    worker.on('message', (m: { ring?: number; copied?: number; digest?: string }) => {
      if (m.digest !== undefined) return this.result?.(m.digest);
      this.inRing -= m.ring ?? 0;
      this.backlog -= (m.ring ?? 0) + (m.copied ?? 0);
      if (this.hasRoom()) for (const w of this.waiting.splice(0)) w();
    });
    worker.on('error', (e) => {
      this.failure = e;
      for (const w of this.waiting.splice(0)) w();
    });
    this.worker = worker;
    this.ring = new Uint8Array(shared);
    this.local = undefined;
    const head = Buffer.concat(this.head);
    this.head = [];
    this.send(head);
  }

  private send(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    const ring = this.ring;
    if (!ring || !this.worker) return;
    this.backlog += chunk.byteLength;
    if (this.inRing + chunk.byteLength > this.ringSize) {
      // No room in the ring: a copy of its own, handed over (not copied again). The worker hashes in order.
      const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
      this.worker.postMessage(copy, [copy]);
      return;
    }
    // Into the free part of the ring, in at most two pieces (the end of the ring, then its start).
    for (let from = 0; from < chunk.byteLength;) {
      const n = Math.min(chunk.byteLength - from, this.ringSize - this.at);
      ring.set(chunk.subarray(from, from + n), this.at);
      this.worker.postMessage([this.at, n]);
      this.inRing += n;
      this.at = (this.at + n) % this.ringSize;
      from += n;
    }
  }
}
