import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ThreadedDigest } from '../../lib/image/digest-thread.ts';

const sha256 = (parts: Buffer[]) => `sha256:${crypto.createHash('sha256').update(Buffer.concat(parts)).digest('hex')}`;

/** Chunks of sizes that land at every place in a small ring: wrapping its end, filling it, larger than it. */
function chunks(seed: number, count: number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(crypto.randomBytes(1 + (x % max)));
  }
  return out;
}

async function digestOf(parts: Buffer[], threadAfter: number, ring: number): Promise<string> {
  const d = new ThreadedDigest(threadAfter, ring);
  try {
    for (const p of parts) {
      d.update(p);
      await d.room();
    }
    return await d.digest();
  } finally {
    d.close();
  }
}

describe('ThreadedDigest: sha256 on a second core, through a ring shared with it', () => {
  it('a small stream is hashed in this thread', async () => {
    const parts = chunks(1, 20, 1000);
    expect(await digestOf(parts, 1 << 20, 1 << 16)).toBe(sha256(parts));
  });

  it('the worker hashes what the ring held, wrapped at its end, in order', async () => {
    const parts = chunks(2, 400, 9000);
    expect(await digestOf(parts, 4096, 1 << 15)).toBe(sha256(parts));
  });

  it('chunks larger than the ring, and the head the worker starts with, arrive in order too', async () => {
    const parts = [
      ...chunks(3, 50, 3000),
      crypto.randomBytes(100_000),
      ...chunks(4, 50, 3000),
      crypto.randomBytes(70_000),
    ];
    expect(await digestOf(parts, 50_000, 1 << 15)).toBe(sha256(parts));
  });

  it('an empty stream, and a chunk reused by its producer once room() resolved, are hashed as they were', async () => {
    expect(await digestOf([], 4096, 1 << 15)).toBe(sha256([]));
    // A source that reads into the same buffer again: the bytes must have been taken before room() resolved.
    const d = new ThreadedDigest(4096, 1 << 15);
    const seen: Buffer[] = [];
    const buf = Buffer.alloc(5000);
    for (let i = 0; i < 100; i++) {
      crypto.randomFillSync(buf);
      seen.push(Buffer.from(buf));
      d.update(buf);
      await d.room();
    }
    expect(await d.digest()).toBe(sha256(seen));
    d.close();
  });
});
