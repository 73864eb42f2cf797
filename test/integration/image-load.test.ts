import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { flattenLayers } from '../../lib/image/flatten.ts';
import { directoryEntries } from '../../lib/image/layer-tar.ts';
import { loadImages, type ArchiveFormat } from '../../lib/image/load.ts';
import { lgetxattr } from '../../lib/image/native.ts';
import { hostPlatform } from '../../lib/image/platform.ts';
import { saveImages } from '../../lib/image/save.ts';
import { ImageStore, type ImageRecord } from '../../lib/image/store.ts';
import { writeTar } from '../../lib/image/tar-writer.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { resolveImageUser } from '../../lib/image/user.ts';
import {
  buildImages,
  LAYERED,
  NOSHELL,
  workshopImages,
  type BuiltImages,
  type ImageFormatFile,
} from '../../rootfs-scripts/images.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { runIdOf, snapshot, tempDir } from '../helpers/image.ts';
import { inOverlay } from '../helpers/overlay.ts';

const FORMATS: Array<[ImageFormatFile, ArchiveFormat]> = [
  ['docker', 'docker-archive'],
  ['docker25', 'docker-archive+oci-layout'],
  ['oci', 'oci-layout'],
  ['ociDir', 'oci-layout'],
];

describe.skipIf(!canRunIntegration)('loading the workshop images into a store', () => {
  let dir: string;
  let images: BuiltImages;
  const fresh = (name: string) => new ImageStore(path.join(dir, 'stores', name));
  const layer = (s: ImageStore, diffId: string, rel = '') => path.join(s.layerDir(diffId as `sha256:${string}`), rel);

  beforeAll(async () => {
    dir = tempDir('load');
    images = await buildImages({ outDir: path.join(dir, 'images'), log: () => {} });
  }, 60_000);
  afterAll(async () => {
    expect(await leftoversOf(runIdOf(dir))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [file, format] of FORMATS) {
    it(`loads the ${format} ${file === 'ociDir' ? 'directory' : 'file'}: each layer holds what it should`, async () => {
      const s = fresh(file);
      const r = await loadImages(images.files.layers[file], { store: s });
      expect(r.format).toBe(format);
      expect(r.images.map((i) => i.name)).toEqual([`docker.io/${LAYERED.name}`]);
      const [base, second, third] = (r.images[0]?.layers ?? []) as [string, string, string];
      expect(fs.lstatSync(layer(s, base, 'bin/busybox')).isFile()).toBe(true);
      expect(fs.readdirSync(layer(s, base, 'dev'))).toEqual([]); // device nodes are not image content
      expect(fs.readFileSync(layer(s, second, LAYERED.added.path), 'utf8')).toBe(LAYERED.added.text);
      const whiteout = fs.lstatSync(layer(s, second, LAYERED.deleted));
      expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
      expect(lgetxattr(layer(s, third, LAYERED.opaqueDir), 'trusted.overlay.opaque')?.toString()).toBe('y');
      expect(fs.readdirSync(layer(s, third, LAYERED.opaqueDir))).toEqual(['new.txt']);
      expect(fs.statSync(layer(s, second, LAYERED.workdir)).uid).toBe(LAYERED.user.uid);
    });
  }

  it('every format gives the same layers and the same image id, so a second load stores nothing', async () => {
    const s = fresh('all');
    const ids = new Set<string>();
    const stored: number[] = [];
    for (const [file] of FORMATS) {
      const r = await loadImages(images.files.layers[file], { store: s });
      ids.add(`${r.images[0]?.id} ${r.images[0]?.layers.join(',')}`);
      stored.push(r.layersStored);
    }
    expect(ids.size).toBe(1);
    expect(stored).toEqual([3, 0, 0, 0]);
  });

  it('overlayfs reads the unpacked layers as the image: added file there, deleted file gone, opaque dir alone', async () => {
    const s = fresh('overlay');
    await loadImages(images.files.layers.oci, { store: s });
    const lowers = s.lowerDirs(s.require(LAYERED.name));
    const r = await inOverlay(
      lowers,
      `cat ${LAYERED.added.path}; ls ${LAYERED.opaqueDir}; ls ${LAYERED.deleted} 2>&1; id ${LAYERED.user.name}`,
      { scratch: dir },
    );
    expect(r.stdout.split('\n')).toEqual([
      LAYERED.added.text.trim(),
      'new.txt',
      `ls: ${LAYERED.deleted}: No such file or directory`,
      'uid=1000(learner) gid=1000(learner) groups=1000(learner),50(staff)',
    ]);
  });

  it("picks this machine's image from a multi-platform OCI layout whose index.json points at a nested index", async () => {
    const real = workshopImages(DEFAULT_ROOTFS).layers;
    const arch = hostPlatform().architecture === 'amd64' ? 'arm64' : 'amd64';
    const foreign = {
      names: [LAYERED.name],
      config: { ...real.config, architecture: arch, variant: undefined },
      layers: [() => writeTar([{ name: 'arch', type: 'file' as const, body: arch }])],
    };
    const layout = path.join(dir, 'multi.oci');
    await saveImages([foreign, real], layout, { format: 'oci-layout', nestIndex: true });
    const s = fresh('multi');
    const r = await loadImages(layout, { store: s });
    expect(r.images[0]?.layers).toHaveLength(3);
    expect(s.config(r.images[0] as ImageRecord).architecture).toBe(hostPlatform().architecture);
    const other = fresh('multi-other');
    const o = await loadImages(layout, { store: other, platform: { os: 'linux', architecture: arch } });
    expect(fs.readdirSync(other.layerDir(o.images[0]?.layers[0] as `sha256:${string}`))).toEqual(['arch']);
  });

  it('loads a gzip-compressed docker save (docker save | gzip)', async () => {
    const gz = path.join(dir, 'layers.docker.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(images.files.layers.docker)));
    const r = await loadImages(gz, { store: fresh('gzip'), tmpDir: dir });
    expect(r.images[0]?.layers).toHaveLength(3);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('scr-archive-'))).toEqual([]);
  });

  it("resolves the config User in the image's own /etc/passwd and /etc/group, from the layers", async () => {
    const s = fresh('user');
    await loadImages(images.files.layers.oci, { store: s });
    const lowers = s.lowerDirs(s.require(LAYERED.name));
    expect(resolveImageUser(LAYERED.user.name, lowers)).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [50],
      home: LAYERED.workdir,
      name: 'learner',
    });
    expect(resolveImageUser('nobody', lowers)).toMatchObject({ uid: 65534, gid: 65534 });
    expect(() => resolveImageUser('postgres', lowers)).toThrow(/unable to find user postgres/);
  });

  it('flattens the layers into one plain rootfs: whiteouts and opaque markers applied, none left', async () => {
    const s = fresh('flatten');
    await loadImages(images.files.layers.docker, { store: s });
    const rec = s.require(LAYERED.name);
    const rootfs = path.join(dir, 'flat');
    flattenLayers(
      rec.layers.map((d) => s.layerDir(d)),
      rootfs,
    );
    expect(fs.readFileSync(path.join(rootfs, LAYERED.added.path), 'utf8')).toBe(LAYERED.added.text);
    expect(fs.existsSync(path.join(rootfs, LAYERED.deleted))).toBe(false);
    expect(fs.readdirSync(path.join(rootfs, LAYERED.opaqueDir))).toEqual(['new.txt']);
    expect(lgetxattr(path.join(rootfs, LAYERED.opaqueDir), 'trusted.overlay.opaque')).toBeUndefined();
    expect(fs.readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^learner:x:1000:1000:/m);
    expect(fs.statSync(path.join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    const r = execFileSync('chroot', [rootfs, '/bin/sh', '-c', 'echo ok'], { encoding: 'utf8' });
    expect(r.trim()).toBe('ok');
  });

  it('a filesystem mounted inside a rootfs (a lesson shell’s /proc) is neither packed nor flattened, as tar --one-file-system', async () => {
    const src = tempDir('onefs');
    try {
      fs.mkdirSync(path.join(src, 'proc'));
      fs.writeFileSync(path.join(src, 'kept'), 'yes');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', `scr${runIdOf(src)}-onefs`, path.join(src, 'proc')]);
      try {
        fs.writeFileSync(path.join(src, 'proc', 'not-in-the-layer'), 'no');
        const names: string[] = [];
        const skipped: string[] = [];
        for await (const e of directoryEntries(src, { kind: 'rootfs', onSkip: (rel) => skipped.push(rel) }))
          names.push(e.name);
        expect(names.sort()).toEqual(['kept', 'proc']);
        expect(skipped).toEqual(['proc']);
        const flat = path.join(src, '..', `${path.basename(src)}-flat`);
        try {
          flattenLayers([src], flat);
          expect(fs.readdirSync(path.join(flat, 'proc'))).toEqual([]);
          expect(fs.readFileSync(path.join(flat, 'kept'), 'utf8')).toBe('yes');
        } finally {
          fs.rmSync(flat, { recursive: true, force: true });
        }
      } finally {
        execFileSync('umount', [path.join(src, 'proc')]);
      }
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
    expect(await leftoversOf(runIdOf(src))).toEqual([]);
  });

  it('the no-shell image has exactly one file, its entrypoint', async () => {
    const s = fresh('noshell');
    const r = await loadImages(images.files.noshell.oci, { store: s });
    const rec = r.images[0];
    expect(rec?.layers).toHaveLength(1);
    expect(fs.readdirSync(layer(s, rec?.layers[0] as string))).toEqual([NOSHELL.entrypoint[0].slice(1)]);
    expect(s.config(rec as NonNullable<typeof rec>).config?.Entrypoint).toEqual([...NOSHELL.entrypoint]);
  });

  it('rmi removes the image and only the layers no other image uses', async () => {
    const s = fresh('rmi');
    await loadImages(images.files.layers.oci, { store: s });
    await loadImages(images.files.noshell.oci, { store: s });
    const layers = s.require(LAYERED.name).layers;
    const noshell = s.require(NOSHELL.name);
    const gone = s.remove('scratch/noshell');
    expect(gone).toEqual({ untagged: [`docker.io/${NOSHELL.name}`], deletedLayers: noshell.layers });
    for (const d of layers) expect(s.hasLayer(d)).toBe(true);
    expect(s.remove(LAYERED.name).deletedLayers.sort()).toEqual([...layers].sort());
    expect(fs.readdirSync(path.join(s.root, 'layers', 'sha256'))).toEqual([]);
    expect(fs.readdirSync(path.join(s.root, 'blobs', 'sha256'))).toEqual([]);
    expect(() => s.remove(LAYERED.name)).toThrow(UserError);
  });
});

describe.skipIf(!canRunIntegration)('a broken or hostile archive is one clear error and leaves no half layer', () => {
  let dir: string;
  let images: BuiltImages;
  beforeAll(async () => {
    dir = tempDir('broken');
    images = await buildImages({ outDir: path.join(dir, 'images'), log: () => {} });
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A copy of the OCI layout directory, changed by `edit`. */
  function alteredLayout(
    name: string,
    edit: (layout: string, manifest: { layers: Array<{ digest: string }>; config: { digest: string } }) => void,
  ): string {
    const copy = path.join(dir, name);
    fs.cpSync(images.files.layers.ociDir, copy, { recursive: true });
    const index = JSON.parse(fs.readFileSync(path.join(copy, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    const manifestFile = path.join(copy, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7));
    edit(copy, JSON.parse(fs.readFileSync(manifestFile, 'utf8')));
    return copy;
  }

  /** The diff_ids an OCI layout's (first) config promises. */
  function diffIdsOf(layout: string): string[] {
    const blob = (d: string) => JSON.parse(fs.readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)), 'utf8'));
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    return blob(blob(index.manifests[0].digest).config.digest).rootfs.diff_ids;
  }

  async function expectOneLineError(input: string, message: RegExp): Promise<ImageStore> {
    const s = new ImageStore(path.join(dir, 'stores', path.basename(input)));
    const err = await loadImages(input, { store: s }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
    // No half layer: nothing in layers/ that the error came from, nothing left in tmp/.
    expect(fs.readdirSync(path.join(s.root, 'tmp')).filter((n) => n !== 'lock')).toEqual([]);
    expect(s.list()).toEqual([]);
    return s;
  }

  it('a manifest naming a blob the layout does not have', async () => {
    const input = alteredLayout('missing-blob', (layout, m) =>
      fs.rmSync(path.join(layout, 'blobs/sha256', (m.layers[1]?.digest ?? '').slice(7))),
    );
    const s = new ImageStore(path.join(dir, 'stores', 'missing'));
    await expect(loadImages(input, { store: s })).rejects.toThrow(
      /a manifest names layer [0-9a-f]{12}, which the layout does not have/,
    );
    expect(fs.existsSync(path.join(s.root, 'layers'))).toBe(false);
  });

  it('a layer whose bytes are not the blob the manifest names', async () => {
    const input = alteredLayout('digest-mismatch', (layout, m) => {
      const file = path.join(layout, 'blobs/sha256', (m.layers[2]?.digest ?? '').slice(7));
      const bytes = fs.readFileSync(file);
      bytes.writeUInt32LE(1, 4); // the gzip header's time: same tar inside, different blob
      fs.writeFileSync(file, bytes);
    });
    const s = await expectOneLineError(
      input,
      /^layer 3\/3 \([0-9a-f]{12}\) of scratch\/layers:latest: the blob does not match its digest/,
    );
    const third = diffIdsOf(input)[2] as `sha256:${string}`;
    expect(s.hasLayer(third)).toBe(false);
  });

  it('a truncated gzip layer', async () => {
    const input = alteredLayout('truncated-gzip', (layout, m) => {
      const file = path.join(layout, 'blobs/sha256', (m.layers[0]?.digest ?? '').slice(7));
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    });
    await expectOneLineError(input, /^layer 1\/3 .*: the gzip stream is truncated/);
  });

  it('a corrupt gzip layer', async () => {
    const input = alteredLayout('corrupt-gzip', (layout, m) => {
      const file = path.join(layout, 'blobs/sha256', (m.layers[0]?.digest ?? '').slice(7));
      const bytes = fs.readFileSync(file);
      bytes[2] = 0x55; // the compression method: only deflate (8) exists
      fs.writeFileSync(file, bytes);
    });
    await expectOneLineError(input, /^layer 1\/3 .*: the gzip stream is corrupt/);
  });

  it('a truncated tar inside a docker save', async () => {
    const copy = path.join(dir, 'truncated-tar');
    fs.mkdirSync(copy);
    execFileSync('tar', ['-xf', images.files.layers.docker, '-C', copy]);
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, 'manifest.json'), 'utf8')) as Array<{
      Layers: string[];
    }>;
    const layerTar = path.join(copy, manifest[0]?.Layers[0] ?? '');
    fs.truncateSync(layerTar, 100_000);
    await expectOneLineError(copy, /^layer 1\/3 .*: the tar is truncated \(it ends inside /);
  });

  it('an archive that is not an image', async () => {
    const file = path.join(dir, 'not-an-image.tar');
    execFileSync('tar', ['-cf', file, '-C', images.dir, '.scratch-images.json']);
    await expect(loadImages(file, { store: new ImageStore(path.join(dir, 'stores', 'none')) })).rejects.toThrow(
      /neither a docker save archive \(no manifest.json\) nor an OCI layout/,
    );
  });

  it('a killed unpack leaves no layer, and its temporary directory is removed later', async () => {
    const root = path.join(dir, 'stores', 'killed');
    const script = `
      import { ImageStore } from ${JSON.stringify(path.resolve('lib/image/store.ts'))};
      import { writeTar } from ${JSON.stringify(path.resolve('lib/image/tar-writer.ts'))};
      const store = new ImageStore(${JSON.stringify(root)});
      setInterval(() => {}, 1 << 30); // stay alive, stuck half way, until killed
      async function* forever() {
        const it = writeTar([{ name: 'a', type: 'file', body: Buffer.alloc(1 << 20) }, { name: 'b', type: 'file', size: 1 << 20, body: async function* () { yield Buffer.alloc(1000); await new Promise(() => {}); } }]);
        for await (const c of it) yield c;
      }
      await store.addLayer(forever());`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    const tmp = path.join(root, 'tmp');
    const deadline = Date.now() + 20_000;
    while (!(fs.existsSync(tmp) && fs.readdirSync(tmp).some((n) => fs.existsSync(path.join(tmp, n, 'a'))))) {
      if (Date.now() > deadline) throw new Error('the unpack never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    await exited;
    const s = new ImageStore(root);
    expect(fs.readdirSync(path.join(root, 'layers', 'sha256'))).toEqual([]);
    expect(s.tidy()).toHaveLength(1);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('two loads of the same image at once both succeed and share one copy of each layer', async () => {
    const s = new ImageStore(path.join(dir, 'stores', 'race'));
    const [a, b] = await Promise.all([
      loadImages(images.files.layers.docker, { store: s }),
      loadImages(images.files.layers.oci, { store: s }),
    ]);
    expect(a.images[0]?.layers).toEqual(b.images[0]?.layers);
    expect(fs.readdirSync(path.join(s.root, 'layers', 'sha256')).filter((n) => !n.endsWith('.json'))).toHaveLength(3);
    expect(fs.readdirSync(path.join(s.root, 'tmp'))).toEqual([]);
    expect(snapshot(s.layerDir(a.images[0]?.layers[1] as `sha256:${string}`)).length).toBeGreaterThan(5);
  });
});
