import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitContainer } from '../../lib/image/commit.ts';
import { diffUpper, formatChanges } from '../../lib/image/diff.ts';
import { loadImages } from '../../lib/image/load.ts';
import { lgetxattr } from '../../lib/image/native.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { buildImages, LAYERED, type BuiltImages } from '../../rootfs-scripts/images.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { runIdOf, snapshot, tempDir } from '../helpers/image.ts';
import { inOverlay } from '../helpers/overlay.ts';

/** What the "container" does: one change of each kind. */
const CHANGES = [
  'echo new > /new-file',
  'echo edited >> /etc/greeting',
  'rm /etc/hostname',
  'rm -rf /srv/app && mkdir /srv/app && echo fresh > /srv/app/fresh',
  'mkdir -p /data/sub && echo x > /data/sub/x',
].join(' && ');

describe.skipIf(!canRunIntegration)('diff and commit of a container on overlayfs', () => {
  let dir: string;
  let images: BuiltImages;
  let store: ImageStore;
  let upper: string;
  let lowers: string[];

  beforeAll(async () => {
    dir = tempDir('commit');
    images = await buildImages({ outDir: path.join(dir, 'images'), log: () => {} });
    store = new ImageStore(path.join(dir, 'store'));
    await loadImages(images.files.layers.oci, { store });
    lowers = store.lowerDirs(store.require(LAYERED.name));
    upper = path.join(dir, 'container', 'upper');
    const r = await inOverlay(lowers, CHANGES, { upper, scratch: dir });
    expect(r.exitCode).toBe(0);
  }, 60_000);
  afterAll(async () => {
    // The overlays were mounted in private mount namespaces, gone with them: nothing of this run is left.
    expect(await leftoversOf(runIdOf(dir))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists what the container changed, as docker diff does (A/C/D, the opaque directory included)', () => {
    expect(formatChanges(diffUpper(upper, lowers))).toEqual([
      'A /data',
      'A /data/sub',
      'A /data/sub/x',
      'C /etc',
      'C /etc/greeting',
      'D /etc/hostname',
      'A /new-file',
      'C /srv',
      'C /srv/app',
      'D /srv/app/new.txt',
      'A /srv/app/fresh',
    ]);
  });

  it('commits the upper dir as a new layer on top of the image, whiteouts and opaque dir carried over', async () => {
    const lowerBefore = lowers.map((l) => snapshot(l));
    const r = await commitContainer({
      store,
      upperDir: upper,
      base: { image: LAYERED.name },
      name: 'scratch/committed:v1',
      container: 'scr07test',
      changes: { Cmd: ['cat', '/new-file'] },
    });
    expect(r.record.name).toBe('docker.io/scratch/committed:v1');
    expect(r.record.layers.slice(0, 3)).toEqual(store.require(LAYERED.name).layers);
    expect(r.record.layers).toHaveLength(4);
    const layer = store.layerDir(r.layer.diffId);
    expect(fs.lstatSync(path.join(layer, 'etc/hostname')).isCharacterDevice()).toBe(true);
    expect(lgetxattr(path.join(layer, 'srv/app'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    const config = store.config(r.record);
    expect(config.config?.Cmd).toEqual(['cat', '/new-file']);
    expect(config.config?.User).toBe(LAYERED.user.name);
    expect(config.history?.at(-1)?.created_by).toBe('ctr commit scr07test');
    expect(lowers.map((l) => snapshot(l))).toEqual(lowerBefore);

    // A new container from the committed image starts where the first one left off.
    const run = await inOverlay(
      store.lowerDirs(r.record),
      'cat /new-file /etc/greeting; ls /srv/app; ls /etc/hostname 2>&1',
      { scratch: dir },
    );
    expect(run.stdout.split('\n')).toEqual([
      'new',
      'hello from layer 2',
      'edited',
      'fresh',
      'ls: /etc/hostname: No such file or directory',
    ]);
  });

  it('commits a container started from a plain rootfs directory as two layers: the directory, then the changes', async () => {
    const up = path.join(dir, 'from-rootfs', 'upper');
    await inOverlay([DEFAULT_ROOTFS], 'echo hi > /hello && rm /linuxrc', { upper: up, scratch: dir });
    const skipped: string[] = [];
    const first = await commitContainer({
      store,
      upperDir: up,
      base: { rootfs: DEFAULT_ROOTFS },
      name: 'scratch/from-rootfs',
      onSkip: (rel) => skipped.push(rel),
    });
    expect(first.record.layers).toHaveLength(2);
    expect(skipped).toContain('dev/null');
    expect(fs.existsSync(path.join(store.layerDir(first.record.layers[0] as `sha256:${string}`), 'bin/busybox'))).toBe(
      true,
    );
    const run = await inOverlay(store.lowerDirs(first.record), 'cat /hello; ls /linuxrc 2>&1', { scratch: dir });
    expect(run.stdout.split('\n')).toEqual(['hi', 'ls: /linuxrc: No such file or directory']);
    expect(store.config(first.record).config?.Cmd).toEqual(['/bin/sh']);

    // The same directory again gives the same layer: stored once.
    const again = await commitContainer({
      store,
      upperDir: up,
      base: { rootfs: DEFAULT_ROOTFS },
      name: 'scratch/from-rootfs:2',
    });
    expect(again.baseLayer?.diffId).toBe(first.baseLayer?.diffId);
    expect(again.baseLayer?.created).toBe(false);
  });
});
