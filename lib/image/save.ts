/**
 * `docker save`: images written as a docker-archive or an OCI layout — how the workshop builds its images offline.
 *
 * Writing is reading backwards. Each layer's tar is streamed to a file while it is hashed (its diff_id), and,
 * for an OCI layout, through gzip into its blob while that is hashed too (its digest); the config gets the
 * diff_ids and is hashed; a manifest names the config and the blobs; an index names the manifests. The three
 * layouts written are the ones `load.ts` reads:
 *
 *   - `docker-archive`: Docker before 25 — `manifest.json`, `repositories`, `<config>.json`, `<id>/layer.tar`;
 *   - `docker-archive-25`: Docker 25+ — an OCI layout of plain layers, plus that `manifest.json`;
 *   - `oci-layout`: what skopeo and BuildKit write — `oci-layout`, `index.json`, `blobs/sha256/…`, gzip layers.
 *
 * Several images with the same name and different platforms become one multi-platform index in an OCI layout
 * (`nestIndex`: behind a second index, as Docker 27 with containerd writes it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { UserError } from '../errors.ts';
import type { ImageConfig } from './config.ts';
import { digestHex, DigestCounter, sha256, type Digest } from './digest.ts';
import { tarDirectory } from './layer-tar.ts';
import { ANNOTATIONS, MEDIA_TYPES, type Descriptor, type Platform } from './manifest.ts';
import { canonicalReference, familiarName, parseReference } from './reference.ts';

export type SaveFormat = 'docker-archive' | 'docker-archive-25' | 'oci-layout';

export interface ImageToSave {
  /** NAME:TAG, as docker names them (`scratch/layers:latest`). */
  names: string[];
  /** The config; its rootfs.diff_ids are filled in from the layers. */
  config: ImageConfig;
  /** Each layer's uncompressed tar, bottom first. */
  layers: Array<() => AsyncIterable<Uint8Array>>;
}

export interface SaveOptions {
  format: SaveFormat;
  /** Gzip the layers of an OCI layout (default true; docker archives are always plain). */
  gzip?: boolean;
  /** Put a multi-platform image's index behind a second index in index.json. */
  nestIndex?: boolean;
  /** Write one .tar file at `out` instead of a directory. */
  tar?: boolean;
}

interface SavedLayer {
  diffId: Digest;
  blob: Descriptor;
}

/** Write a stream to `file`, returning its digest and size. */
async function writeHashed(
  source: AsyncIterable<Uint8Array>,
  file: string,
  transform?: zlib.Gzip,
): Promise<{ digest: Digest; size: number }> {
  const counter = new DigestCounter();
  const count = async function* (src: AsyncIterable<Uint8Array>) {
    for await (const chunk of src) {
      counter.update(chunk);
      yield chunk;
    }
  };
  if (transform) await pipeline(source, transform, count, fs.createWriteStream(file));
  else await pipeline(source, count, fs.createWriteStream(file));
  return { digest: counter.digest(), size: counter.bytes };
}

class Layout {
  private readonly layers = new Map<Digest, SavedLayer>();

  constructor(
    readonly dir: string,
    readonly opts: SaveOptions,
  ) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  }

  blobPath(d: Digest): string {
    return `blobs/sha256/${digestHex(d)}`;
  }

  writeBlob(data: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const digest = sha256(data);
    fs.writeFileSync(path.join(this.dir, this.blobPath(digest)), data);
    return { mediaType, digest, size: data.length, ...extra };
  }

  /** A layer as a blob: its tar hashed into the diff_id on the way to disk, gzip-compressed for an OCI layout. */
  async addLayer(tar: () => AsyncIterable<Uint8Array>): Promise<SavedLayer> {
    const tmp = path.join(this.dir, `layer-${this.layers.size}.tmp`);
    const plain = await writeHashed(tar(), tmp);
    const known = this.layers.get(plain.digest);
    if (known) {
      fs.rmSync(tmp);
      return known;
    }
    let blob: Descriptor;
    if (this.opts.format === 'oci-layout' && this.opts.gzip !== false) {
      const gz = `${tmp}.gz`;
      const z = await writeHashed(fs.createReadStream(tmp), gz, zlib.createGzip());
      fs.rmSync(tmp);
      fs.renameSync(gz, path.join(this.dir, this.blobPath(z.digest)));
      blob = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: z.digest, size: z.size };
    } else {
      fs.renameSync(tmp, path.join(this.dir, this.blobPath(plain.digest)));
      blob = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: plain.digest, size: plain.size };
    }
    const saved = { diffId: plain.digest, blob };
    this.layers.set(plain.digest, saved);
    return saved;
  }
}

function platformOf(config: ImageConfig): Platform {
  return {
    os: config.os ?? 'linux',
    architecture: config.architecture ?? 'amd64',
    ...(config.variant ? { variant: config.variant } : {}),
  };
}

interface SavedImage {
  names: string[];
  config: Descriptor;
  manifest: Descriptor;
  layers: SavedLayer[];
}

async function saveOne(layout: Layout, image: ImageToSave): Promise<SavedImage> {
  const layers: SavedLayer[] = [];
  for (const tar of image.layers) layers.push(await layout.addLayer(tar));
  const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
  const configDesc = layout.writeBlob(Buffer.from(JSON.stringify(config)), MEDIA_TYPES.ociConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: configDesc,
    layers: layers.map((l) => l.blob),
  };
  const manifestDesc = layout.writeBlob(Buffer.from(JSON.stringify(manifest)), MEDIA_TYPES.ociManifest, {
    platform: platformOf(config),
  });
  return { names: image.names, config: configDesc, manifest: manifestDesc, layers };
}

function nameAnnotations(name: string): Record<string, string> {
  const ref = parseReference(name);
  return { [ANNOTATIONS.containerdName]: canonicalReference(ref), [ANNOTATIONS.refName]: ref.tag ?? 'latest' };
}

function writeJson(dir: string, name: string, value: unknown): void {
  fs.writeFileSync(path.join(dir, name), `${JSON.stringify(value)}\n`);
}

/** Docker's manifest.json and repositories, pointing at `configPath`/`layerPaths` of each image. */
function writeDockerManifest(
  dir: string,
  images: Array<{ names: string[]; configPath: string; layerPaths: string[]; top: string }>,
): void {
  writeJson(
    dir,
    'manifest.json',
    images.map((i) => ({
      Config: i.configPath,
      RepoTags: i.names.map((n) => familiarName(parseReference(n))),
      Layers: i.layerPaths,
    })),
  );
  const repositories: Record<string, Record<string, string>> = {};
  for (const i of images) {
    for (const n of i.names) {
      const ref = parseReference(n);
      const repo = familiarName({ ...ref, tag: undefined, digest: undefined });
      (repositories[repo] ??= {})[ref.tag ?? 'latest'] = i.top;
    }
  }
  writeJson(dir, 'repositories', repositories);
}

async function writeLayout(dir: string, images: ImageToSave[], opts: SaveOptions): Promise<void> {
  const layout = new Layout(dir, opts);
  const saved: SavedImage[] = [];
  for (const image of images) saved.push(await saveOne(layout, image));

  if (opts.format === 'docker-archive') {
    // The classic layout: the config beside the manifest, each layer in a directory of its own (a layer two
    // images share is stored once and named by both).
    const moved = new Map<Digest, string>();
    const entries = saved.map((s) => {
      const configPath = `${digestHex(s.config.digest)}.json`;
      const configBlob = path.join(dir, layout.blobPath(s.config.digest));
      if (fs.existsSync(configBlob)) fs.renameSync(configBlob, path.join(dir, configPath));
      let parent = '';
      const layerPaths = s.layers.map((l) => {
        const id = digestHex(sha256(`${parent} ${l.diffId}`));
        const known = moved.get(l.diffId);
        if (!known) {
          fs.mkdirSync(path.join(dir, id));
          fs.renameSync(path.join(dir, layout.blobPath(l.blob.digest)), path.join(dir, id, 'layer.tar'));
          writeJson(path.join(dir, id), 'json', { id, ...(parent ? { parent } : {}) });
          fs.writeFileSync(path.join(dir, id, 'VERSION'), '1.0');
          moved.set(l.diffId, `${id}/layer.tar`);
        }
        parent = id;
        return known ?? `${id}/layer.tar`;
      });
      return { names: s.names, configPath, layerPaths, top: parent };
    });
    fs.rmSync(path.join(dir, 'blobs'), { recursive: true, force: true });
    writeDockerManifest(dir, entries);
    return;
  }

  // OCI layout: one index.json entry per name; several platforms of one name share an index.
  const byName = new Map<string, SavedImage[]>();
  for (const s of saved) {
    const key = s.names[0] ?? '';
    byName.set(key, [...(byName.get(key) ?? []), s]);
  }
  const entries: Descriptor[] = [];
  for (const [name, group] of byName) {
    const annotations = nameAnnotations(name);
    if (group.length === 1 && !opts.nestIndex) {
      // Docker and skopeo leave the platform off a single image's entry.
      const plain: Descriptor = { ...(group[0] as SavedImage).manifest };
      delete plain.platform;
      entries.push({ ...plain, annotations });
      continue;
    }
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: group.map((g) => g.manifest) };
    entries.push({ ...layout.writeBlob(Buffer.from(JSON.stringify(index)), MEDIA_TYPES.ociIndex), annotations });
  }
  writeJson(dir, 'oci-layout', { imageLayoutVersion: '1.0.0' });
  writeJson(dir, 'index.json', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries });
  if (opts.format === 'docker-archive-25') {
    writeDockerManifest(
      dir,
      saved.map((s) => ({
        names: s.names,
        configPath: layout.blobPath(s.config.digest),
        layerPaths: s.layers.map((l) => layout.blobPath(l.blob.digest)),
        top: digestHex(s.layers[s.layers.length - 1]?.blob.digest ?? s.config.digest),
      })),
    );
  }
}

/** Save images to `out`: a directory (created, must not exist) or, with `tar`, one .tar file. */
export async function saveImages(images: ImageToSave[], out: string, opts: SaveOptions): Promise<void> {
  if (images.length === 0) throw new UserError('nothing to save');
  if (fs.existsSync(out)) throw new UserError(`${out} already exists`, 'remove it, or save somewhere else');
  const dir = opts.tar ? `${out}.saving-${process.pid}` : out;
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    await writeLayout(dir, images, opts);
    if (opts.tar) {
      await pipeline(tarDirectory(dir, { kind: 'rootfs', xattrs: false }), fs.createWriteStream(out));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
    throw e;
  }
}
