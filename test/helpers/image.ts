/**
 * Helpers for the image tests: tars built in memory, temporary directories with the run-id shape, and a
 * record of a directory tree to prove that nothing outside the store changed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { writeTar, type TarWriteEntry, type TarWriteOptions } from '../../lib/image/tar-writer.ts';
import { testId } from './lesson.ts';

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export function tarBuffer(entries: TarWriteEntry[], opts?: TarWriteOptions): Promise<Buffer> {
  return collect(writeTar(entries, opts));
}

export function gzip(data: Buffer): Buffer {
  return zlib.gzipSync(data);
}

/** A buffer as a stream in chunks of `size` bytes (to exercise headers split across chunks). */
export function chunked(data: Buffer, size = 4096): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts, { objectMode: true });
}

/** A fresh temporary directory named like a run's (scr + lesson-like prefix + random). */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `scr${testId('07')}-${label}-`));
}

/** The run id in a tempDir's name (`07ab12`), for leftoversOf. */
export function runIdOf(dir: string): string {
  const m = /scr(07[0-9a-f]{4})-/.exec(path.basename(dir));
  if (!m?.[1]) throw new Error(`${dir} was not made by tempDir`);
  return m[1];
}

/** Every path under `dir` with its type and size: compared before and after, it shows any change. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? `l->${fs.readlinkSync(p)}` : `f${st.size}`;
      out.push(`${rel}${name} ${kind} ${st.mode.toString(8)} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p, `${rel}${name}/`);
    }
  };
  walk(dir, '');
  return out;
}

export const isRootOnLinux = process.platform === 'linux' && process.getuid?.() === 0;
