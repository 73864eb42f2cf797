import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { parseImageConfig } from '../../lib/image/config.ts';
import type { LayerProgress } from '../../lib/image/import.ts';
import { hostPlatform } from '../../lib/image/platform.ts';
import { pull } from '../../lib/image/pull.ts';
import { saveImages } from '../../lib/image/save.ts';
import { ImageStore } from '../../lib/image/store.ts';
import { writeTar } from '../../lib/image/tar-writer.ts';
import { buildImages, LAYERED, workshopImages, type BuiltImages } from '../../rootfs-scripts/images.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { tempDir } from '../helpers/image.ts';
import {
  freePort,
  loopbackFetch,
  registrySkipReason,
  skopeoPush,
  startRegistry,
  type TestRegistry,
} from '../helpers/registry.ts';

const skipReason = canRunIntegration ? registrySkipReason() : 'not root on Linux';
if (skipReason) console.log(`  registry tests skipped: ${skipReason}`);

const host = hostPlatform();
const foreign =
  host.architecture === 'amd64'
    ? { os: 'linux', architecture: 'arm64', variant: 'v8' }
    : { os: 'linux', architecture: 'amd64' };

describe.skipIf(skipReason !== undefined)('pulling from a real registry on 127.0.0.1', () => {
  let dir: string;
  let images: BuiltImages;
  let upstream: TestRegistry;
  const started: TestRegistry[] = [];
  const store = (name: string) => new ImageStore(path.join(dir, 'stores', name));
  const layerFile = (s: ImageStore, diffId: string, rel: string) =>
    path.join(s.layerDir(diffId as `sha256:${string}`), rel);

  beforeAll(async () => {
    dir = tempDir('registry');
    images = await buildImages({ outDir: path.join(dir, 'images'), log: () => {} });
    // A multi-platform image: this machine's (the real busybox image) and a foreign one whose only layer says so.
    const real = workshopImages(DEFAULT_ROOTFS).layers;
    const other = {
      names: ['scratch/multi:latest'],
      config: {
        ...real.config,
        architecture: foreign.architecture,
        variant: foreign.variant,
        rootfs: { type: 'layers' as const, diff_ids: [] },
      },
      layers: [() => writeTar([{ name: 'arch', type: 'file' as const, body: `${foreign.architecture}\n` }])],
    };
    await saveImages([{ ...real, names: ['scratch/multi:latest'] }, other], path.join(dir, 'multi.oci'), {
      format: 'oci-layout',
      nestIndex: true,
    });
    upstream = await startRegistry(path.join(dir, 'upstream'));
    started.push(upstream);
    skopeoPush(images.files.layers.ociDir, 'latest', `${upstream.host}/scratch/layers:latest`);
    skopeoPush(path.join(dir, 'multi.oci'), 'latest', `${upstream.host}/scratch/multi:latest`, { all: true });
  }, 120_000);

  afterAll(async () => {
    for (const r of started) await r.stop();
    // Every registry this file started is gone (checked by its PID, the only processes it may end).
    for (const r of started) expect(() => process.kill(r.pid, 0)).toThrow();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pulls an image pushed by skopeo: every layer unpacked and checked, a progress event per layer', async () => {
    const s = store('first');
    const net = loopbackFetch();
    const events: LayerProgress[] = [];
    const r = await pull(`${upstream.host}/scratch/layers:latest`, {
      store: s,
      fetch: net.fetch,
      onProgress: (p) => events.push(p),
    });
    expect(r.record.name).toBe(`${upstream.host}/scratch/layers:latest`);
    expect(r.layersStored).toBe(3);
    expect(r.blobsFetched).toBe(4);
    const [base, second, third] = r.record.layers as [string, string, string];
    expect(fs.readFileSync(layerFile(s, second, 'etc/greeting'), 'utf8')).toBe(LAYERED.added.text);
    expect(fs.lstatSync(layerFile(s, second, 'etc/os-release')).isCharacterDevice()).toBe(true);
    expect(fs.existsSync(layerFile(s, third, 'srv/app/new.txt'))).toBe(true);
    expect(fs.lstatSync(layerFile(s, base, 'bin/sh')).isSymbolicLink()).toBe(true);
    for (const i of [0, 1, 2]) {
      const mine = events.filter((e) => e.index === i).map((e) => e.state);
      expect(mine[0]).toBe('start');
      expect(mine.at(-1)).toBe('done');
    }
    expect(net.urls.filter((u) => u.includes('/blobs/'))).toHaveLength(4);
  });

  it('a second pull of the same image downloads no blob at all', async () => {
    const s = store('twice');
    await pull(`${upstream.host}/scratch/layers:latest`, { store: s, fetch: loopbackFetch().fetch });
    const net = loopbackFetch();
    const events: LayerProgress[] = [];
    const again = await pull(`${upstream.host}/scratch/layers`, {
      store: s,
      fetch: net.fetch,
      onProgress: (p) => events.push(p),
    });
    expect([again.layersStored, again.blobsFetched, again.bytesFetched]).toEqual([0, 0, 0]);
    expect(net.urls.filter((u) => u.includes('/blobs/'))).toEqual([]);
    expect(events.map((e) => e.state)).toEqual(['exists', 'exists', 'exists']);
  });

  it('pulls by digest, and refuses a digest the registry does not have', async () => {
    const s = store('digest');
    const first = await pull(`${upstream.host}/scratch/layers:latest`, { store: s, fetch: loopbackFetch().fetch });
    const byDigest = await pull(`${upstream.host}/scratch/layers@${first.manifest}`, {
      store: s,
      fetch: loopbackFetch().fetch,
    });
    expect(byDigest.record.name).toBe(`${upstream.host}/scratch/layers@${first.manifest}`);
    expect(byDigest.record.id).toBe(first.record.id);
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(
      pull(`${upstream.host}/scratch/layers@${wrong}`, { store: s, fetch: loopbackFetch().fetch }),
    ).rejects.toThrow(/was not found on 127\.0\.0\.1/);
  });

  it(`resolves a multi-platform index to this machine's platform (${host.architecture}), or to the one asked for`, async () => {
    const mine = store('multi-host');
    const r = await pull(`${upstream.host}/scratch/multi:latest`, { store: mine, fetch: loopbackFetch().fetch });
    expect(parseImageConfig(mine.readBlob(r.record.id)).architecture).toBe(host.architecture);
    expect(r.record.layers).toHaveLength(3);

    const theirs = store('multi-foreign');
    const f = await pull(`${upstream.host}/scratch/multi:latest`, {
      store: theirs,
      platform: foreign,
      fetch: loopbackFetch().fetch,
    });
    expect(parseImageConfig(theirs.readBlob(f.record.id)).architecture).toBe(foreign.architecture);
    expect(fs.readFileSync(layerFile(theirs, f.record.layers[0] as string, 'arch'), 'utf8')).toBe(
      `${foreign.architecture}\n`,
    );

    await expect(
      pull(`${upstream.host}/scratch/multi:latest`, {
        store: store('multi-none'),
        platform: { os: 'linux', architecture: 's390x' },
        fetch: loopbackFetch().fetch,
      }),
    ).rejects.toThrow(/has no image for linux\/s390x \(it has linux\/(amd64|arm64).*\)/);
  });

  it('pulls a Docker Hub name through a pull-through mirror, which keeps serving it once the upstream is gone', async () => {
    const mirror = await startRegistry(path.join(dir, 'mirror'), { proxyOf: upstream.url });
    started.push(mirror);
    const net = loopbackFetch();
    const r = await pull('scratch/layers', { store: store('via-mirror'), mirror: mirror.url, fetch: net.fetch });
    expect(r.record.name).toBe('docker.io/scratch/layers:latest');
    expect(r.from).toBe(mirror.url);
    expect(net.urls.every((u) => u.startsWith(mirror.url))).toBe(true);

    // Its own upstream stopped, the mirror still has every blob: this is what spares a classroom's connection.
    const second = await startRegistry(path.join(dir, 'upstream2'));
    started.push(second);
    skopeoPush(images.files.noshell.ociDir, 'latest', `${second.host}/scratch/noshell:latest`);
    const cacheOnly = await startRegistry(path.join(dir, 'mirror2'), { proxyOf: second.url });
    started.push(cacheOnly);
    await pull('scratch/noshell', { store: store('warm'), mirror: cacheOnly.url, fetch: loopbackFetch().fetch });
    await second.stop();
    const cold = await pull('scratch/noshell', {
      store: store('cold'),
      mirror: cacheOnly.url,
      fetch: loopbackFetch().fetch,
    });
    expect(cold.layersStored).toBe(1);
  });

  it('a mirror that is down is one clear error, with no fallback to Docker Hub', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const net = loopbackFetch();
    const err = await pull('busybox', { store: store('down'), mirror: nobody, fetch: net.fetch }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/cannot reach the registry 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(net.urls.every((u) => u.startsWith(nobody))).toBe(true);
  });

  it('refuses a layer the registry serves altered, and stores nothing of it', async () => {
    const s = store('tampered');
    const origin = await startRegistry(path.join(dir, 'tampered'));
    started.push(origin);
    skopeoPush(images.files.noshell.ociDir, 'latest', `${origin.host}/scratch/noshell:latest`);
    // Change the gzip header's timestamp bytes: the layer still decompresses to the same tar, but is not the blob.
    const blobs = path.join(origin.dir, 'data/docker/registry/v2/blobs/sha256');
    const data = fs
      .readdirSync(blobs)
      .flatMap((p) => fs.readdirSync(path.join(blobs, p)).map((h) => path.join(blobs, p, h, 'data')))
      .find((f) =>
        fs
          .readFileSync(f)
          .subarray(0, 2)
          .equals(Buffer.from([0x1f, 0x8b])),
      ) as string;
    const bytes = fs.readFileSync(data);
    bytes.writeUInt32LE(12345, 4);
    fs.writeFileSync(data, bytes);
    const err = await pull(`${origin.host}/scratch/noshell`, { store: s, fetch: loopbackFetch().fetch }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /^layer 1\/1 \([0-9a-f]{12}\) of .*noshell:latest: the blob does not match its digest/,
    );
    expect(fs.readdirSync(path.join(s.root, 'layers', 'sha256'))).toEqual([]);
    expect(s.list()).toEqual([]);
  });
});
