/**
 * Digests: how an image names its parts by their content.
 *
 * Everything in an image is addressed by `sha256:<64 hex digits>`, the SHA-256 of its bytes: the manifest names
 * the config and each layer blob that way, and the config names each layer's *uncompressed* tar as a `diff_id`.
 * So a layer carries two digests — the blob's (what was downloaded, usually gzip) and the diff_id (what gzip
 * gives back) — and both are checked while the bytes stream past, never by reading a layer into memory. A
 * mismatch means the bytes are damaged or not what the image said; nothing built from them is kept.
 */
import crypto from 'node:crypto';
import { UserError } from '../errors.ts';

export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST.test(s);
}

/** Validate a digest from untrusted JSON; `what` says where it came from for the error message. */
export function parseDigest(s: unknown, what: string): Digest {
  if (isDigest(s)) return s;
  const shown = typeof s === 'string' ? s.slice(0, 80) : JSON.stringify(s);
  if (typeof s === 'string' && /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(s) && !s.startsWith('sha256:')) {
    throw new UserError(`${what} uses the digest algorithm ${s.split(':')[0]}; only sha256 is supported`);
  }
  throw new UserError(`${what} has an invalid digest: ${shown}`);
}

/** The 64 hex digits of a digest: its file name in a blob or layer directory. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** `sha256:ab12cd34ef56` — the 12-digit form people read, as docker prints image ids. */
export function shortDigest(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

export function sha256(data: Buffer | string): Digest {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** A running SHA-256 with a byte count, fed chunk by chunk as a stream passes. */
export class DigestCounter {
  private readonly hash = crypto.createHash('sha256');
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Throws the one-line error for bytes whose digest is not the one they were named by. */
export function assertDigest(actual: Digest, expected: Digest, what: string): void {
  if (actual === expected) return;
  throw new UserError(
    `${what} does not match its digest: expected ${shortDigest(expected)}…, got ${shortDigest(actual)}… (damaged or tampered with)`,
    'fetch or save the image again',
  );
}

/** Check a small blob held in memory (a manifest, a config). */
export function verifyBuffer(data: Buffer, expected: Digest, what: string): Buffer {
  assertDigest(sha256(data), expected, what);
  return data;
}
