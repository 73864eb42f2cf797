import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { encodeHeader, encodePax, padding } from '../../lib/image/tar-header.ts';
import type { TarWriteEntry } from '../../lib/image/tar-writer.ts';
import { lgetxattr, llistxattr } from '../../lib/image/native.ts';
import { unpackLayer } from '../../lib/image/unpack.ts';
import { chunked, isRootOnLinux, snapshot, tarBuffer, tempDir } from '../helpers/image.ts';

let sandbox: string;
let layer: string;
let outside: string;
let before: { outside: string[]; sandbox: string[] };

beforeEach(() => {
  sandbox = tempDir('unpack');
  layer = path.join(sandbox, 'layer');
  outside = path.join(sandbox, 'outside');
  fs.mkdirSync(layer);
  fs.mkdirSync(path.join(outside, 'e'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(outside, 'e'), 0o700);
  fs.writeFileSync(path.join(outside, 'victim'), 'original\n');
  before = { outside: snapshot(outside), sandbox: fs.readdirSync(sandbox).sort() };
});

afterEach(() => fs.rmSync(sandbox, { recursive: true, force: true }));

async function unpack(entries: TarWriteEntry[]) {
  return unpackLayer(chunked(await tarBuffer(entries), 1000), layer);
}

/** The promise every hostile test ends with: nothing beside the layer was created, changed or removed. */
function expectNothingOutside(): void {
  expect(snapshot(outside)).toEqual(before.outside);
  expect(fs.readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('original\n');
  expect(fs.readdirSync(sandbox).sort()).toEqual(before.sandbox);
  expect(fs.readdirSync(path.dirname(sandbox)).some((n) => n === 'pwned')).toBe(false);
}

async function refused(entries: TarWriteEntry[], message: RegExp): Promise<void> {
  const err = await unpack(entries).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  expect(String((err as Error).message)).toMatch(message);
  expect((err as Error).message).not.toContain('\n');
  expectNothingOutside();
}

const inLayer = (...p: string[]) => path.join(layer, ...p);

describe('unpacking a layer', () => {
  it('creates files, directories, symlinks, hard links and fifos with their modes and times', async () => {
    const stats = await unpack([
      { name: 'etc/', type: 'dir', mode: 0o750, mtime: 1_000_000 },
      { name: 'etc/motd', type: 'file', mode: 0o640, body: 'hi\n', mtime: 2_000_000 },
      { name: 'bin/busybox', type: 'file', mode: 0o4755, body: 'ELF', mtime: 3_000_000 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime: 4_000_000 },
      { name: 'bin/ls', type: 'hardlink', linkname: 'bin/busybox' },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]);
    expect(fs.readFileSync(inLayer('etc/motd'), 'utf8')).toBe('hi\n');
    expect(fs.statSync(inLayer('etc/motd')).mode & 0o7777).toBe(0o640);
    expect(fs.statSync(inLayer('bin/busybox')).mode & 0o7777).toBe(0o4755);
    expect(fs.readlinkSync(inLayer('bin/sh'))).toBe('busybox');
    expect(fs.lstatSync(inLayer('bin/sh')).mtimeMs).toBe(4_000_000_000);
    expect(fs.statSync(inLayer('bin/ls')).ino).toBe(fs.statSync(inLayer('bin/busybox')).ino);
    expect(fs.lstatSync(inLayer('run/fifo')).isFIFO()).toBe(true);
    // Written after its contents, the directory keeps the time the tar gave it.
    expect(fs.statSync(inLayer('etc')).mtimeMs).toBe(1_000_000_000);
    expect(fs.statSync(inLayer('etc')).mode & 0o7777).toBe(0o750);
    expect(stats).toMatchObject({ files: 2, bytes: 6, dirs: 1, links: 2 });
  });

  it('fills a read-only directory, then makes it read-only', async () => {
    await unpack([
      { name: 'ro/', type: 'dir', mode: 0o555 },
      { name: 'ro/inside', type: 'file', body: 'x' },
    ]);
    expect(fs.readFileSync(inLayer('ro/inside'), 'utf8')).toBe('x');
    expect(fs.statSync(inLayer('ro')).mode & 0o777).toBe(0o555);
    fs.chmodSync(inLayer('ro'), 0o755); // so that a non-root run can clean up
  });

  it('replaces an earlier entry of the same name rather than writing through it', async () => {
    await unpack([
      { name: 'a', type: 'file', body: 'first' },
      { name: 'b', type: 'hardlink', linkname: 'a' },
      { name: 'b', type: 'file', body: 'second' },
    ]);
    expect(fs.readFileSync(inLayer('a'), 'utf8')).toBe('first');
    expect(fs.readFileSync(inLayer('b'), 'utf8')).toBe('second');
  });

  it.skipIf(!isRootOnLinux)('gives entries the owners the tar names (as root)', async () => {
    await unpack([
      { name: 'home/u/', type: 'dir', uid: 1000, gid: 1000 },
      { name: 'home/u/f', type: 'file', uid: 1000, gid: 100, body: 'x' },
      { name: 'home/u/l', type: 'symlink', linkname: 'f', uid: 1001, gid: 1001 },
    ]);
    expect([fs.statSync(inLayer('home/u')).uid, fs.statSync(inLayer('home/u/f')).gid]).toEqual([1000, 100]);
    expect(fs.lstatSync(inLayer('home/u/l')).uid).toBe(1001);
  });

  it.skipIf(!isRootOnLinux)('keeps file capabilities and user xattrs, never overlay xattrs from the tar', async () => {
    const xattrs = new Map([
      ['user.note', Buffer.from('kept')],
      ['trusted.overlay.redirect', Buffer.from('/etc')],
    ]);
    await unpack([{ name: 'f', type: 'file', body: 'x', xattrs }]);
    expect(lgetxattr(inLayer('f'), 'user.note')?.toString()).toBe('kept');
    expect(llistxattr(inLayer('f'))).not.toContain('trusted.overlay.redirect');
  });
});

describe.skipIf(!isRootOnLinux)('whiteouts become what overlayfs reads', () => {
  const isWhiteout = (p: string) => {
    const st = fs.lstatSync(p);
    return st.isCharacterDevice() && st.rdev === 0;
  };
  const opaque = (p: string) => lgetxattr(p, 'trusted.overlay.opaque')?.toString();

  it('.wh.NAME becomes a 0/0 character device named NAME, in a directory the tar never listed', async () => {
    const stats = await unpack([{ name: 'etc/.wh.os-release', type: 'file' }]);
    expect(isWhiteout(inLayer('etc/os-release'))).toBe(true);
    expect(fs.existsSync(inLayer('etc/.wh.os-release'))).toBe(false);
    expect(stats.whiteouts).toBe(1);
  });

  it('.wh..wh..opq becomes trusted.overlay.opaque=y, wherever it sits among the directory entries', async () => {
    await unpack([
      { name: 'srv/app/.wh..wh..opq', type: 'file' },
      { name: 'srv/app/new.txt', type: 'file', body: 'new' },
      { name: 'var/x/', type: 'dir' },
      { name: 'var/x/kept', type: 'file', body: 'k' },
      { name: 'var/x/.wh..wh..opq', type: 'file' },
    ]);
    expect(opaque(inLayer('srv/app'))).toBe('y');
    expect(opaque(inLayer('var/x'))).toBe('y');
    expect(fs.readFileSync(inLayer('var/x/kept'), 'utf8')).toBe('k');
    expect(fs.readFileSync(inLayer('srv/app/new.txt'), 'utf8')).toBe('new');
    expect(fs.existsSync(inLayer('srv/app/.wh..wh..opq'))).toBe(false);
  });

  it('skips other .wh..wh. names (aufs bookkeeping)', async () => {
    const stats = await unpack([
      { name: '.wh..wh.plnk/123.456', type: 'file' },
      { name: '.wh..wh.aufs', type: 'file' },
    ]);
    expect(fs.readdirSync(layer)).toEqual([]);
    expect(stats.skipped).toBe(2);
  });

  it('a whiteout and a file of the same name: the file stays, in either order', async () => {
    await unpack([
      { name: 'a', type: 'file', body: 'a' },
      { name: '.wh.a', type: 'file' },
      { name: '.wh.b', type: 'file' },
      { name: 'b', type: 'file', body: 'b' },
    ]);
    expect(fs.readFileSync(inLayer('a'), 'utf8')).toBe('a');
    expect(fs.readFileSync(inLayer('b'), 'utf8')).toBe('b');
  });

  it('a whiteout and a directory of the same name: the directory stays and becomes opaque, in either order', async () => {
    await unpack([
      { name: 'd1/', type: 'dir' },
      { name: 'd1/f', type: 'file', body: '1' },
      { name: '.wh.d1', type: 'file' },
      { name: '.wh.d2', type: 'file' },
      { name: 'd2/f', type: 'file', body: '2' },
    ]);
    expect(fs.readFileSync(inLayer('d1/f'), 'utf8')).toBe('1');
    expect(fs.readFileSync(inLayer('d2/f'), 'utf8')).toBe('2');
    expect([opaque(inLayer('d1')), opaque(inLayer('d2'))]).toEqual(['y', 'y']);
  });

  it('a character device 0/0 in the tar is a whiteout too', async () => {
    await unpack([{ name: 'gone', type: 'char', devmajor: 0, devminor: 0 }]);
    expect(isWhiteout(inLayer('gone'))).toBe(true);
  });
});

describe('a hostile layer: refused, or kept inside, and nothing outside changes', () => {
  it('refuses a name that climbs out with ..', async () => {
    await refused([{ name: '../outside/victim', type: 'file', body: 'pwned' }], /climbs out of the layer/);
    await refused([{ name: 'a/../../outside/pwned', type: 'file', body: 'pwned' }], /climbs out/);
  });

  it('keeps an absolute name inside the layer', async () => {
    await unpack([{ name: `${outside}/pwned`, type: 'file', body: 'pwned' }]);
    expect(fs.readFileSync(inLayer(outside, 'pwned'), 'utf8')).toBe('pwned');
    expectNothingOutside();
  });

  it('follows a planted absolute symlink inside the layer, not on the host', async () => {
    await unpack([
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned', type: 'file', body: 'pwned' },
      { name: 'escape/victim', type: 'file', body: 'pwned' },
    ]);
    expect(fs.readFileSync(inLayer(outside, 'pwned'), 'utf8')).toBe('pwned');
    expectNothingOutside();
  });

  it('follows a planted relative symlink full of .. inside the layer, stopping at its root', async () => {
    await unpack([
      { name: 'a/b/rel', type: 'symlink', linkname: `../../../../../../../../..${outside}` },
      { name: 'a/b/rel/pwned', type: 'file', body: 'pwned' },
    ]);
    expect(fs.existsSync(inLayer(outside, 'pwned'))).toBe(true);
    expectNothingOutside();
  });

  it('follows a chain of symlinks inside the layer too', async () => {
    await unpack([
      { name: 'one', type: 'symlink', linkname: './/two' },
      { name: 'two', type: 'symlink', linkname: '/three/' },
      { name: 'three', type: 'symlink', linkname: `../..${outside}` },
      { name: 'one/pwned', type: 'file', body: 'pwned' },
    ]);
    expect(fs.existsSync(inLayer(outside, 'pwned'))).toBe(true);
    expectNothingOutside();
  });

  it('replaces a planted symlink to a host file instead of writing through it', async () => {
    await unpack([
      { name: 'victim', type: 'symlink', linkname: `${outside}/victim` },
      { name: 'victim', type: 'file', body: 'pwned' },
    ]);
    expect(fs.readFileSync(inLayer('victim'), 'utf8')).toBe('pwned');
    expectNothingOutside();
  });

  it('replaces a planted symlink to a host directory when the tar lists a directory of that name', async () => {
    await unpack([
      { name: 'e', type: 'symlink', linkname: `${outside}/e` },
      { name: 'e/', type: 'dir', mode: 0o777, mtime: 5 },
    ]);
    expect(fs.lstatSync(inLayer('e')).isDirectory()).toBe(true);
    expectNothingOutside();
  });

  it('sets directory modes and times last without following a symlink that replaced a directory since', async () => {
    await unpack([
      { name: 'd/', type: 'dir', mode: 0o755 },
      { name: 'd/e/', type: 'dir', mode: 0o777, mtime: 5 },
      { name: 'd', type: 'symlink', linkname: outside },
    ]);
    expect(fs.readlinkSync(inLayer('d'))).toBe(outside);
    expectNothingOutside();
  });

  it('refuses a hard link that climbs out with ..', async () => {
    await refused([{ name: 'hl', type: 'hardlink', linkname: '../outside/victim' }], /climbs out/);
  });

  it("refuses a hard link to an absolute host path: it means the layer's own path, which is not there", async () => {
    await refused([{ name: 'hl', type: 'hardlink', linkname: `${outside}/victim` }], /which this layer does not have/);
  });

  it('refuses a hard link through a planted symlink', async () => {
    await refused(
      [
        { name: 'sym', type: 'symlink', linkname: outside },
        { name: 'hl', type: 'hardlink', linkname: 'sym/victim' },
      ],
      /which this layer does not have/,
    );
  });

  it('refuses a hard link to a directory', async () => {
    await refused(
      [
        { name: 'd/', type: 'dir' },
        { name: 'hl', type: 'hardlink', linkname: 'd' },
      ],
      /a directory/,
    );
  });

  it('refuses an entry that would turn the root into something else', async () => {
    await refused(
      [{ name: './', type: 'symlink', linkname: outside }],
      /turn the layer's root directory into a symlink/,
    );
    await refused([{ name: '.', type: 'file', body: 'x' }], /root directory into a file/);
    await refused([{ name: '/', type: 'hardlink', linkname: 'x' }], /root directory into a hardlink/);
  });

  it('refuses device nodes other than whiteouts, without making them', async () => {
    await refused([{ name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 }], /device node \(block 8:0\)/);
    await refused([{ name: 'dev/mem', type: 'char', devmajor: 1, devminor: 1 }], /device node \(char 1:1\)/);
    expect(fs.existsSync(inLayer('dev/sda'))).toBe(false);
  });

  it('refuses a symlink loop instead of spinning', async () => {
    await refused(
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a' },
        { name: 'a/x', type: 'file', body: 'x' },
      ],
      /too many symbolic links/,
    );
  });

  it('refuses an entry below a file', async () => {
    await refused(
      [
        { name: 'f', type: 'file', body: 'x' },
        { name: 'f/x', type: 'file', body: 'x' },
      ],
      /f is not a directory/,
    );
  });

  it('refuses a whiteout that names .. ', async () => {
    await refused([{ name: 'a/.wh...', type: 'file' }], /not a valid whiteout/);
  });

  it('refuses a NUL byte smuggled into a name by a PAX header', async () => {
    const pax = encodePax([['path', 'evil\0/../../outside/victim']]);
    const data = Buffer.concat([
      encodeHeader({ name: 'PaxHeaders/x', flag: 'x', mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime: 0 }),
      pax,
      Buffer.alloc(padding(pax.length)),
      encodeHeader({ name: 'x', flag: '0', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }),
      Buffer.alloc(1024),
    ]);
    const err = await unpackLayer(chunked(data), layer).catch((e: unknown) => e);
    expect(String(err)).toMatch(/NUL byte/);
    expectNothingOutside();
  });

  it.skipIf(!isRootOnLinux)(
    'puts a whiteout and an opaque marker behind a planted symlink inside the layer',
    async () => {
      await unpack([
        { name: 's', type: 'symlink', linkname: outside },
        { name: 's/.wh.victim', type: 'file' },
        { name: 's/e/.wh..wh..opq', type: 'file' },
      ]);
      expect(fs.lstatSync(inLayer(outside, 'victim')).isCharacterDevice()).toBe(true);
      expect(lgetxattr(inLayer(outside, 'e'), 'trusted.overlay.opaque')?.toString()).toBe('y');
      expect(lgetxattr(path.join(outside, 'e'), 'trusted.overlay.opaque')).toBeUndefined();
      expectNothingOutside();
    },
  );
});
