import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { sha256, type Digest } from '../../lib/image/digest.ts';
import { ImageStore, recordFileName } from '../../lib/image/store.ts';
import { chunked, gzip, tarBuffer, tempDir } from '../helpers/image.ts';

let dir: string;
let store: ImageStore;
beforeEach(() => {
  dir = tempDir('store');
  store = new ImageStore(path.join(dir, 'store'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const layerTar = (text: string) => tarBuffer([{ name: 'etc/motd', type: 'file', body: text }]);
const layerDirs = () => fs.readdirSync(path.join(store.root, 'layers', 'sha256')).filter((n) => !n.endsWith('.json'));
const tmpEntries = () => fs.readdirSync(path.join(store.root, 'tmp')).filter((n) => n !== 'lock');

async function addImage(name: string, texts: string[]): Promise<Digest[]> {
  const layers: Digest[] = [];
  for (const t of texts) layers.push((await store.addLayer(chunked(await layerTar(t)))).diffId);
  const id = store.writeBlob(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: layers }, n: name })));
  store.putImage({ name, id, layers, source: 'test' });
  return layers;
}

describe('the layer store', () => {
  it('names a layer by the digest of its uncompressed tar, whether it arrives gzipped or plain', async () => {
    const tar = await layerTar('hi');
    const gz = gzip(tar);
    const a = await store.addLayer(chunked(gz), { blobDigest: sha256(gz), diffId: sha256(tar) });
    expect([a.diffId, a.blobDigest, a.compression, a.created, a.size]).toEqual([
      sha256(tar),
      sha256(gz),
      'gzip',
      true,
      tar.length,
    ]);
    expect(fs.readFileSync(path.join(store.layerDir(a.diffId), 'etc/motd'), 'utf8')).toBe('hi');
    const b = await store.addLayer(chunked(tar));
    expect([b.diffId, b.compression, b.created]).toEqual([sha256(tar), 'none', false]);
    expect(store.layerInfo(a.diffId)?.size).toBe(tar.length);
    expect(fs.statSync(path.join(store.root, 'layers')).mode & 0o777).toBe(0o700);
  });

  it('refuses a layer whose uncompressed bytes are not its diff_id, and keeps nothing of it', async () => {
    const tar = await layerTar('hi');
    const err = await store
      .addLayer(chunked(gzip(tar)), { diffId: sha256('other'), label: 'layer 1/1 of x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /^layer 1\/1 of x: the uncompressed tar does not match its digest: expected [0-9a-f]{12}…, got [0-9a-f]{12}…/,
    );
    expect(layerDirs()).toEqual([]);
    expect(tmpEntries()).toEqual([]);
  });

  it('refuses a truncated layer, and keeps nothing of it', async () => {
    const tar = await layerTar('x'.repeat(5000));
    await expect(store.addLayer(chunked(tar.subarray(0, 3000)))).rejects.toThrow(/the tar is truncated/);
    await expect(store.addLayer(chunked(gzip(tar).subarray(0, 40)))).rejects.toThrow(/the gzip stream is truncated/);
    expect(layerDirs()).toEqual([]);
    expect(tmpEntries()).toEqual([]);
  });

  it('refuses a zstd layer by its magic bytes, saying which compressions it reads', async () => {
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]);
    await expect(store.addLayer(chunked(zstd))).rejects.toThrow(
      /zstd-compressed; this workshop reads gzip and plain tar/,
    );
  });

  it('unpacks the same layer twice at once without harm: one copy stays', async () => {
    const tar = await layerTar('same');
    const results = await Promise.all([store.addLayer(chunked(tar, 100)), store.addLayer(chunked(tar, 100))]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(layerDirs()).toHaveLength(1);
    expect(tmpEntries()).toEqual([]);
  });

  it('removes what a dead process left in tmp/, not what a live one is working on', () => {
    fs.mkdirSync(path.join(store.root, 'tmp', `${process.pid}-live`), { recursive: true });
    fs.mkdirSync(path.join(store.root, 'tmp', '999999999-dead'));
    expect(store.tidy()).toEqual(['999999999-dead']);
    expect(tmpEntries()).toEqual([`${process.pid}-live`]);
  });
});

describe('the image records', () => {
  it('finds an image by short name, full name, or image id prefix', async () => {
    await addImage('busybox', ['a']);
    const r = store.require('busybox:latest');
    expect(r.name).toBe('docker.io/library/busybox:latest');
    expect(store.get('docker.io/library/busybox')?.id).toBe(r.id);
    expect(store.get(r.id.slice(7, 19))?.name).toBe(r.name);
    expect(store.get('alpine')).toBeUndefined();
    expect(() => store.require('alpine')).toThrow(/^no image alpine in /);
    expect(fs.existsSync(path.join(store.root, 'images', recordFileName(r.name)))).toBe(true);
    expect(recordFileName(r.name)).toBe('docker.io+library+busybox:latest.json');
  });

  it('lists the layers for overlayfs top first', async () => {
    const layers = await addImage('app', ['1', '2', '3']);
    expect(store.lowerDirs(store.require('app'))).toEqual([...layers].reverse().map((d) => store.layerDir(d)));
    expect(store.size(store.require('app'))).toBe(3 * (await layerTar('1')).length);
  });

  it('removing one name keeps the layers another image still uses', async () => {
    const [shared] = await addImage('one', ['base', 'one']);
    const two = await addImage('two', ['base', 'two']);
    const r = store.remove('one');
    expect(r.untagged).toEqual(['docker.io/library/one:latest']);
    expect(r.deletedLayers).toHaveLength(1);
    expect(store.hasLayer(shared as Digest)).toBe(true);
    expect(store.remove('two').deletedLayers.sort()).toEqual([...two].sort());
    expect(layerDirs()).toEqual([]);
  });

  it('removing by id removes every name of that image', async () => {
    await addImage('a', ['x']);
    const id = store.require('a').id;
    store.putImage({ ...store.require('a'), name: 'b:2' });
    expect(store.remove(id.slice(7, 19)).untagged.sort()).toEqual([
      'docker.io/library/a:latest',
      'docker.io/library/b:2',
    ]);
  });

  it('never deletes a leased layer (a pull in progress), nor one the runtime says is mounted', async () => {
    const [layer] = (await addImage('leased', ['l'])) as [Digest];
    const release = store.lease([layer]);
    expect(store.remove('leased').deletedLayers).toEqual([]);
    expect(store.hasLayer(layer)).toBe(true);
    release();
    await addImage('mounted', ['m']);
    const mounted = store.require('mounted').layers[0] as Digest;
    expect(store.remove('mounted', { inUse: (d) => d === mounted }).deletedLayers).toEqual([layer]);
    expect(store.hasLayer(mounted)).toBe(true);
  });
});
