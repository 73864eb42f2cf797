/**
 * A layer's SHA-256 computed on a second CPU core while the first one unpacks it.
 *
 * Unpacking a layer is two jobs over the same bytes: hashing them (the digests an image promises) and turning
 * them into files. In one thread they take turns, and hashing is a third or more of the time. A worker thread
 * hashes while the main thread writes files, so the two overlap — which is how the unpacker keeps up with GNU
 * tar, which checks no digest at all. The first few megabytes are hashed in the main thread, as they arrive:
 * for a small layer (most config-sized blobs, busybox's layer) starting a thread would cost more than it saves.
 * Past that, the bytes so far and every later chunk are copied to the worker; if it falls behind, the stream
 * waits for it (`room()`), so a gigabyte layer still needs only a few megabytes of memory.
 */
import crypto from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Digest } from './digest.ts';

/** The worker, as source text: it needs no file of its own, so it runs the same from a bundle in dist/. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'digest') parentPort.postMessage({ digest: hash.digest('hex') });
  else { hash.update(new Uint8Array(m)); parentPort.postMessage({ done: m.byteLength }); }
});
`;

/** Bytes hashed in this thread before a worker is worth starting. */
export const THREAD_AFTER = 4 << 20;
/** Bytes sent to the worker and not yet hashed, beyond which the stream waits. */
const MAX_BACKLOG = 16 << 20;

export class ThreadedDigest {
  bytes = 0;
  private local: crypto.Hash | undefined = crypto.createHash('sha256');
  /** What was hashed here so far: the worker must see it too once it starts. */
  private head: Buffer[] = [];
  private worker: Worker | undefined;
  private backlog = 0;
  private waiting: Array<() => void> = [];
  private result: ((hex: string) => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly threadAfter = THREAD_AFTER) {}

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

  /** Resolves once the worker is not too far behind (at once without a worker). */
  room(): Promise<void> {
    if (this.backlog <= MAX_BACKLOG) return Promise.resolve();
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

  private startWorker(): void {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.digest !== undefined) return this.result?.(m.digest);
      this.backlog -= m.done ?? 0;
      if (this.backlog <= MAX_BACKLOG) for (const w of this.waiting.splice(0)) w();
    });
    worker.on('error', (e) => {
      this.failure = e;
      for (const w of this.waiting.splice(0)) w();
    });
    this.worker = worker;
    this.local = undefined;
    const head = Buffer.concat(this.head);
    this.head = [];
    this.send(head);
  }

  private send(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    // One copy into a buffer of its own, handed over (not copied again) to the worker.
    const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
    this.backlog += copy.byteLength;
    this.worker?.postMessage(copy, [copy]);
  }
}
