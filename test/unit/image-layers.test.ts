/**
 * Layers as directories: a tree written as a tar and unpacked again, overlay whiteouts converted both ways,
 * docker diff read from an upper dir, and layers flattened into one rootfs. Whiteouts and opaque markers are
 * device nodes and trusted xattrs, which only root can make.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffUpper, formatChanges } from '../../lib/image/diff.ts';
import { flattenLayers } from '../../lib/image/flatten.ts';
import { directoryEntries, tarDirectory } from '../../lib/image/layer-tar.ts';
import { lookupInLayers } from '../../lib/image/layer-view.ts';
import { lgetxattr, lsetxattr, mknod, S_IFCHR } from '../../lib/image/native.ts';
import { unpackLayer } from '../../lib/image/unpack.ts';
import { collect, isRootOnLinux, snapshot, tempDir } from '../helpers/image.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir('layers');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Make a tree from a compact description: `path: content` files, `path/` dirs, `path -> target` links. */
function tree(root: string, spec: string[]): string {
  fs.mkdirSync(root, { recursive: true });
  for (const line of spec) {
    const [name, target] = line.split(' -> ') as [string, string | undefined];
    const p = path.join(root, name.replace(/[:/]$/, '').split(': ')[0] as string);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (target !== undefined) fs.symlinkSync(target, p);
    else if (name.endsWith('/')) fs.mkdirSync(p, { recursive: true });
    else fs.writeFileSync(p, line.split(': ')[1] ?? '');
  }
  return root;
}

function whiteout(root: string, rel: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  mknod(path.join(root, rel), S_IFCHR, 0);
}

function opaque(root: string, rel: string): void {
  fs.mkdirSync(path.join(root, rel), { recursive: true });
  lsetxattr(path.join(root, rel), 'trusted.overlay.opaque', Buffer.from('y'));
}

describe('a directory as a layer tar', () => {
  it('unpacks back to the same tree: modes, times, symlinks, hard links', async () => {
    const src = tree(path.join(dir, 'src'), ['bin/busybox: ELF', 'bin/sh -> busybox', 'etc/', 'etc/motd: hi', 'tmp/']);
    fs.linkSync(path.join(src, 'bin/busybox'), path.join(src, 'bin/ls'));
    fs.chmodSync(path.join(src, 'tmp'), 0o1777);
    fs.chmodSync(path.join(src, 'bin/busybox'), 0o4755);
    // A tar keeps whole seconds: give every entry a whole-second time, deepest first.
    for (const p of ['bin/sh', 'bin/busybox', 'bin', 'etc/motd', 'etc', 'tmp']) {
      fs.lutimesSync(path.join(src, p), 1_600_000_000, 1_600_000_000);
    }
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await unpackLayer(tarDirectory(src, { kind: 'rootfs', xattrs: false }), out);
    expect(snapshot(out)).toEqual(snapshot(src));
    expect(fs.statSync(path.join(out, 'bin/ls')).ino).toBe(fs.statSync(path.join(out, 'bin/busybox')).ino);
  });

  it('writes the same bytes for the same tree, so the same layer gets the same digest', async () => {
    const src = tree(path.join(dir, 'src'), ['b: 2', 'a/', 'a/z: 1', 'a/y -> z']);
    const one = await collect(tarDirectory(src, { kind: 'rootfs', xattrs: false }));
    const two = await collect(tarDirectory(src, { kind: 'rootfs', xattrs: false }));
    expect(one.equals(two)).toBe(true);
  });

  it('leaves out what is not image content, and says so', async () => {
    const src = tree(path.join(dir, 'src'), ['keep: 1', 'skip/', 'skip/me: x']);
    const skipped: string[] = [];
    const names: string[] = [];
    for await (const e of directoryEntries(src, {
      kind: 'rootfs',
      xattrs: false,
      exclude: (r) => r === 'skip',
      onSkip: (r) => skipped.push(r),
    })) {
      names.push(e.name);
    }
    expect(names).toEqual(['keep']);
    if (isRootOnLinux) {
      mknod(path.join(src, 'null'), S_IFCHR, 0o666, 1, 3);
      for await (const e of directoryEntries(src, { kind: 'rootfs', onSkip: (r, why) => skipped.push(`${r}: ${why}`) }))
        void e;
      expect(skipped).toEqual(['null: a device node']);
    }
  });
});

describe.skipIf(!isRootOnLinux)('overlay upper dirs: whiteouts both ways, diff, flatten', () => {
  it('turns 0/0 devices into .wh. entries and opaque dirs into .wh..wh..opq, and back on unpack', async () => {
    const upper = tree(path.join(dir, 'upper'), ['etc/new: n', 'srv/app/fresh: f']);
    whiteout(upper, 'etc/gone');
    opaque(upper, 'srv/app');
    const names: string[] = [];
    for await (const e of directoryEntries(upper, { kind: 'upper' })) names.push(e.name);
    expect(names).toEqual([
      'etc',
      'etc/.wh.gone',
      'etc/new',
      'srv',
      'srv/app',
      'srv/app/.wh..wh..opq',
      'srv/app/fresh',
    ]);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await unpackLayer(tarDirectory(upper, { kind: 'upper' }), out);
    expect(fs.lstatSync(path.join(out, 'etc/gone')).rdev).toBe(0);
    expect(fs.lstatSync(path.join(out, 'etc/gone')).isCharacterDevice()).toBe(true);
    expect(lgetxattr(path.join(out, 'srv/app'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  });

  it('refuses an upper dir that overlayfs wrote with redirect_dir, which a tar cannot express', async () => {
    const upper = tree(path.join(dir, 'upper'), ['moved/']);
    lsetxattr(path.join(upper, 'moved'), 'trusted.overlay.redirect', Buffer.from('/orig'));
    await expect(collect(tarDirectory(upper, { kind: 'upper' }))).rejects.toThrow(
      /written with overlayfs redirect_dir/,
    );
  });

  it('looks a path up through the layers as overlayfs would', () => {
    const bottom = tree(path.join(dir, 'l1'), ['a/x: 1', 'a/y: 1', 'b: 1', 'c/d: 1']);
    const top = tree(path.join(dir, 'l2'), ['a/z: 2']);
    whiteout(top, 'b');
    opaque(top, 'c');
    const lowers = [top, bottom];
    expect(lookupInLayers(lowers, 'a/x')?.layer).toBe(bottom);
    expect(lookupInLayers(lowers, 'a/z')?.layer).toBe(top);
    expect(lookupInLayers(lowers, 'b')).toBeUndefined();
    expect(lookupInLayers(lowers, 'c/d')).toBeUndefined();
    expect(lookupInLayers(lowers, 'a')?.stat.isDirectory()).toBe(true);
  });

  it('lists changes like docker diff: added, changed (copied up), deleted, and what an opaque dir hid', () => {
    const lower = tree(path.join(dir, 'lower'), [
      'etc/passwd: root',
      'etc/hostname: h',
      'srv/app/old: o',
      'srv/app/older: o',
      'var/log/',
    ]);
    const upper = tree(path.join(dir, 'upper'), ['etc/passwd: root+user', 'srv/app/fresh: f', 'new/dir/file: x']);
    whiteout(upper, 'etc/hostname');
    whiteout(upper, 'never-existed');
    opaque(upper, 'srv/app');
    expect(formatChanges(diffUpper(upper, [lower]))).toEqual([
      'C /etc',
      'D /etc/hostname',
      'C /etc/passwd',
      'A /new',
      'A /new/dir',
      'A /new/dir/file',
      'C /srv',
      'C /srv/app',
      'D /srv/app/old',
      'D /srv/app/older',
      'A /srv/app/fresh',
    ]);
  });

  it('flattens layers in order: whiteouts remove only lower files, opaque dirs drop lower contents, no markers left', () => {
    const l1 = tree(path.join(dir, 'l1'), ['etc/a: 1', 'etc/b: 1', 'srv/old: 1', 'lib -> usr/lib', 'usr/lib/x: 1']);
    const l2 = tree(path.join(dir, 'l2'), ['etc/c: 2', 'srv/new: 2', 'lib/real: 2']);
    whiteout(l2, 'etc/a');
    opaque(l2, 'srv');
    const l3 = tree(path.join(dir, 'l3'), ['etc/a: 3']);
    const out = path.join(dir, 'rootfs');
    flattenLayers([l1, l2, l3], out);
    const listing = snapshot(out).map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(listing).toEqual([
      'etc d',
      'etc/a f1',
      'etc/b f1',
      'etc/c f1',
      'lib d',
      'lib/real f1',
      'srv d',
      'srv/new f1',
      'usr d',
      'usr/lib d',
      'usr/lib/x f1',
    ]);
    expect(fs.readFileSync(path.join(out, 'etc/a'), 'utf8')).toBe('3');
    expect(lgetxattr(path.join(out, 'srv'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(() => flattenLayers([l1], out)).toThrow(/is not empty/);
  });
});
