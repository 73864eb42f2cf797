import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { BLOCK, CorruptTarError, decodeHeader, encodeHeader, encodePax, parsePax } from '../../lib/image/tar-header.ts';
import { readBody, readTar } from '../../lib/image/tar-reader.ts';
import { splitUstarName, type TarWriteEntry } from '../../lib/image/tar-writer.ts';
import { chunked, tarBuffer, tempDir } from '../helpers/image.ts';

async function entries(data: Buffer, chunk = 4096) {
  const out: Array<{ name: string; type: string; body: string; linkname: string; mode: number; size: number }> = [];
  for await (const e of readTar(chunked(data, chunk))) {
    const body = (await readBody(e.body)).toString('utf8');
    out.push({
      name: e.header.name,
      type: e.header.type,
      body,
      linkname: e.header.linkname,
      mode: e.header.mode,
      size: e.header.size,
    });
  }
  return out;
}

const longDir = `${'deep/'.repeat(40)}dir`;
const sample: TarWriteEntry[] = [
  { name: 'etc', type: 'dir', mode: 0o755, mtime: 1_700_000_000 },
  { name: 'etc/hello', type: 'file', mode: 0o644, body: 'hello\n', mtime: 1_700_000_000 },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  { name: 'bin/ls', type: 'hardlink', linkname: 'bin/busybox' },
  { name: `${longDir}/${'n'.repeat(150)}.txt`, type: 'file', body: 'long name\n' },
  { name: 'link-with-long-target', type: 'symlink', linkname: `/${'t'.repeat(200)}` },
  { name: 'grüße/ünïcode.txt', type: 'file', body: 'utf-8 name\n' },
  { name: 'empty', type: 'file', body: '' },
  { name: 'big-block', type: 'file', body: Buffer.alloc(BLOCK * 3 + 7, 0x61) },
  { name: 'setuid', type: 'file', mode: 0o4755, body: '#!/bin/sh\n' },
];

describe('tar: what the writer writes, the reader reads back', () => {
  for (const longNames of ['pax', 'gnu'] as const) {
    it(`round-trips names, link targets, modes and bodies (${longNames} long names), whatever the chunk size`, async () => {
      const data = await tarBuffer(sample, { longNames });
      expect(data.length % BLOCK).toBe(0);
      for (const chunk of [1, 511, 512, 4096, 1 << 20]) {
        const got = await entries(data, chunk);
        expect(got.map((e) => e.name)).toEqual(sample.map((e) => (e.type === 'dir' ? `${e.name}/` : e.name)));
        expect(got[1]?.body).toBe('hello\n');
        expect(got[4]?.body).toBe('long name\n');
        expect(got[5]?.linkname).toBe(`/${'t'.repeat(200)}`);
        expect(got[8]?.body).toBe('a'.repeat(BLOCK * 3 + 7));
        expect(got[9]?.mode).toBe(0o4755);
        expect(got.map((e) => e.type)).toEqual(sample.map((e) => e.type));
      }
    });
  }

  it('keeps extended attributes, binary values included (file capabilities are binary)', async () => {
    const cap = Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const data = await tarBuffer([
      { name: 'ping', type: 'file', body: 'x', xattrs: new Map([['security.capability', cap]]) },
    ]);
    const [e] = await (async () => {
      const out = [];
      for await (const x of readTar(chunked(data))) out.push(x.header);
      return out;
    })();
    expect(e?.xattrs.get('security.capability')).toEqual(cap);
  });

  it('reads and writes sizes and ids too big for octal fields', async () => {
    const data = await tarBuffer([{ name: 'f', type: 'file', uid: 2 ** 31, gid: 70_000_000, body: 'x' }]);
    for await (const e of readTar(chunked(data))) expect([e.header.uid, e.header.gid]).toEqual([2 ** 31, 70_000_000]);
    const gnu = await tarBuffer([{ name: 'f', type: 'file', uid: 2 ** 31, body: 'x' }], { longNames: 'gnu' });
    for await (const e of readTar(chunked(gnu))) expect(e.header.uid).toBe(2 ** 31);
  });

  it('skips the body of an entry its consumer does not read, even when it stops half way', async () => {
    const data = await tarBuffer([
      { name: 'a', type: 'file', body: Buffer.alloc(100_000, 1) },
      { name: 'b', type: 'file', body: 'second' },
    ]);
    const names: string[] = [];
    for await (const e of readTar(chunked(data, 1000))) {
      names.push(e.header.name);
      if (e.header.name === 'a') {
        for await (const part of e.body) {
          void part;
          break;
        }
      } else expect((await readBody(e.body)).toString()).toBe('second');
    }
    expect(names).toEqual(['a', 'b']);
  });

  it('splits a long name at a slash into the ustar prefix when it fits, and only then', () => {
    expect(splitUstarName(`${'p'.repeat(150)}/${'n'.repeat(90)}`)).toEqual({
      prefix: 'p'.repeat(150),
      name: 'n'.repeat(90),
    });
    expect(splitUstarName('n'.repeat(101))).toBeUndefined();
    expect(splitUstarName(`${'p'.repeat(160)}/n`)).toBeUndefined();
    expect(splitUstarName(`${'p'.repeat(120)}/`)).toBeUndefined();
  });

  it('counts PAX record lengths including their own digits (the 99/100 boundary)', () => {
    for (let n = 80; n < 110; n++) {
      const records = encodePax([['path', 'x'.repeat(n)]]);
      expect(parsePax(records, 0).get('path')?.toString()).toBe('x'.repeat(n));
    }
  });
});

describe('tar: what is broken is one clear error', () => {
  const valid = () => tarBuffer([{ name: 'file', type: 'file', body: Buffer.alloc(2000, 7) }]);

  async function readAll(data: Buffer) {
    for await (const e of readTar(chunked(data))) await readBody(e.body);
  }

  it('a tar cut inside a body is truncated', async () => {
    const data = await valid();
    await expect(readAll(data.subarray(0, 1000))).rejects.toThrow(/truncated \(it ends inside file\)/);
  });

  it('a tar cut at an entry boundary, without its end marker, is truncated', async () => {
    const data = await valid();
    await expect(readAll(data.subarray(0, BLOCK + 2048))).rejects.toThrow(/truncated \(it ends after file\)/);
  });

  it('an empty stream is not an empty layer', async () => {
    await expect(readAll(Buffer.alloc(0))).rejects.toThrow(/truncated.*empty/);
  });

  it('a damaged header is a bad checksum, and a UserError', async () => {
    const data = await valid();
    data[10] = 0x41;
    const err = await readAll(data).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptTarError);
    expect(err).toBeInstanceOf(UserError);
    expect(String(err)).toMatch(/bad header checksum at byte 0/);
  });

  it('refuses entry types a layer has no business holding (GNU sparse)', async () => {
    const block = encodeHeader({ name: 'sparse', flag: 'S', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
    await expect(readAll(Buffer.concat([block, Buffer.alloc(1024)]))).rejects.toThrow(
      /unsupported tar entry type 'S' \(GNU sparse file\)/,
    );
  });

  it('refuses an oversized extension header instead of reading it into memory', async () => {
    const block = encodeHeader({ name: 'x', flag: 'x', mode: 0o644, uid: 0, gid: 0, size: 1 << 30, mtime: 0 });
    await expect(readAll(Buffer.concat([block, Buffer.alloc(1024)]))).rejects.toThrow(/too large/);
  });

  it('decodes what it encodes, field by field', () => {
    const block = encodeHeader({
      name: 'a/b',
      flag: '0',
      mode: 0o640,
      uid: 1000,
      gid: 100,
      size: 5,
      mtime: 1234,
      uname: 'u',
    });
    const h = decodeHeader(block, 0);
    expect([h.name, h.flag, h.mode, h.uid, h.gid, h.size, h.mtime, h.uname]).toEqual([
      'a/b',
      '0',
      0o640,
      1000,
      100,
      5,
      1234,
      'u',
    ]);
  });
});

const hasGnuTar = (() => {
  try {
    return execFileSync('tar', ['--version'], { encoding: 'utf8' }).includes('GNU tar');
  } catch {
    return false;
  }
})();

describe.skipIf(!hasGnuTar)('tar: agrees with GNU tar', () => {
  const dir = tempDir('gnutar');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('GNU tar lists what the writer wrote, long names and links included', async () => {
    const file = path.join(dir, 'ours.tar');
    fs.writeFileSync(file, await tarBuffer(sample));
    // Literal names: in the C locale (a bare environment), GNU tar would print ü as \303\274.
    const listed = execFileSync('tar', ['--quoting-style=literal', '-tf', file], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(listed).toEqual(sample.map((e) => (e.type === 'dir' ? `${e.name}/` : e.name)));
  });

  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`the reader reads what GNU tar writes (--format=${format})`, async () => {
      const src = path.join(dir, `src-${format}`);
      const deep = path.join(
        src,
        ...'x'
          .repeat(30)
          .split('')
          .map((c, i) => `${c}${i}`),
      );
      fs.mkdirSync(deep, { recursive: true });
      fs.writeFileSync(path.join(deep, 'file.txt'), 'deep\n');
      fs.writeFileSync(path.join(src, 'top'), 'top\n');
      fs.linkSync(path.join(src, 'top'), path.join(src, 'top-hardlink'));
      fs.symlinkSync('top', path.join(src, 'top-symlink'));
      const file = path.join(dir, `gnu-${format}.tar`);
      execFileSync('tar', ['-cf', file, `--format=${format}`, '-C', src, '.']);
      const got = await entries(fs.readFileSync(file));
      const deepFile = got.find((e) => e.name.endsWith('/file.txt'));
      expect(deepFile?.body).toBe('deep\n');
      expect(deepFile?.name.length).toBeGreaterThan(100);
      expect(got.find((e) => e.name === './top-hardlink')).toMatchObject({ type: 'hardlink', linkname: './top' });
      expect(got.find((e) => e.name === './top-symlink')).toMatchObject({ type: 'symlink', linkname: 'top' });
    });
  }
});
