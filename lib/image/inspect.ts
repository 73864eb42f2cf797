/**
 * Looking inside an image archive without storing anything: which format it is, each image's config, and for
 * each layer its blob digest, its diff_id and the names of its tar entries.
 *
 * Two digests name a layer. The *blob digest* is the sha256 of the bytes as shipped (gzip-compressed in an OCI
 * layout or a registry, a plain tar in a classic `docker save`): manifests name layers by it, and a download is
 * checked against it. The *diff_id* is the sha256 of the uncompressed tar: the config lists layers by it, and
 * the store keeps an unpacked layer under it, so a layer is the same directory whichever way it was compressed.
 * Computing both here is what `ctr load` checks while it unpacks; lesson 07 shows them side by side.
 */
import { parseImageConfig, type ImageConfig } from './config.ts';
import type { Digest } from './digest.ts';
import { readDockerArchive } from './docker-archive.ts';
import type { ImageToStore } from './import.ts';
import { readLayerBlob, type Compression } from './layer-stream.ts';
import { detectFormat, type ArchiveFormat } from './load.ts';
import { readOciLayout } from './oci-layout.ts';
import { openArchive } from './source.ts';
import { readTar } from './tar-reader.ts';

export interface InspectedLayer {
  /** What the manifest or config promised, and what the bytes turned out to be. */
  promisedDiffId: Digest;
  promisedBlob?: Digest;
  diffId: Digest;
  blobDigest: Digest;
  compression: Compression;
  blobBytes: number;
  tarBytes: number;
  /** The tar's entry names, in archive order. */
  entries: string[];
}

export interface InspectedImage {
  names: string[];
  configDigest: Digest;
  config: ImageConfig;
  layers: InspectedLayer[];
}

export interface InspectedArchive {
  format: ArchiveFormat;
  images: InspectedImage[];
}

async function inspectImage(image: ImageToStore): Promise<InspectedImage> {
  const layers: InspectedLayer[] = [];
  for (const l of image.layers) {
    const r = await readLayerBlob(await l.open(), async (tar) => {
      const names: string[] = [];
      for await (const e of readTar(tar)) names.push(e.header.name);
      return names;
    });
    layers.push({
      promisedDiffId: l.diffId,
      promisedBlob: l.blobDigest,
      diffId: r.diffId,
      blobDigest: r.blobDigest,
      compression: r.compression,
      blobBytes: r.blobBytes,
      tarBytes: r.tarBytes,
      entries: r.value,
    });
  }
  return {
    names: image.names,
    configDigest: image.configDigest,
    config: parseImageConfig(image.config),
    layers,
  };
}

/** Read an archive (a .tar, gzipped or not, or a layout directory) the way `ctr load` would, storing nothing. */
export async function inspectArchive(input: string): Promise<InspectedArchive> {
  const src = await openArchive(input);
  try {
    const format = detectFormat(src);
    const images = format === 'docker-archive' ? readDockerArchive(src) : await readOciLayout(src, {});
    const out: InspectedImage[] = [];
    for (const image of images) out.push(await inspectImage(image));
    return { format, images: out };
  } finally {
    src.close();
  }
}
