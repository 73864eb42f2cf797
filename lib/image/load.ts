/**
 * `docker load`: images from an archive file or directory into the store.
 *
 * Which format an archive is in shows from its members: an `oci-layout` file makes it an OCI image layout
 * (Docker 25+'s `docker save` writes one too, with a docker `manifest.json` beside it for older tools, whose
 * names are used); a `manifest.json` alone makes it a classic docker-archive. Then every image in it goes
 * through the same import: layers the store has are skipped, the others streamed out of the archive, verified
 * and unpacked.
 */
import { UserError } from '../errors.ts';
import { readDockerArchive } from './docker-archive.ts';
import { storeImage, type LayerProgress } from './import.ts';
import { readOciLayout } from './oci-layout.ts';
import type { Platform } from './platform.ts';
import { openArchive, type ArchiveSource } from './source.ts';
import type { ImageRecord, ImageStore } from './store.ts';

export type ArchiveFormat = 'oci-layout' | 'docker-archive' | 'docker-archive+oci-layout';

export interface LoadOptions {
  store: ImageStore;
  /** A name for images the archive does not name (NAME[:TAG]). */
  name?: string;
  /** Which platform to take from a multi-platform layout (default: this machine's). */
  platform?: Platform;
  onProgress?: (image: string, p: LayerProgress) => void;
  /** Where a gzip-compressed archive is decompressed to (default: the system's temp dir). */
  tmpDir?: string;
}

export interface LoadResult {
  format: ArchiveFormat;
  images: ImageRecord[];
  /** Layers unpacked (0 when the store had them all). */
  layersStored: number;
}

export function detectFormat(src: ArchiveSource): ArchiveFormat {
  const oci = src.has('oci-layout');
  const docker = src.has('manifest.json');
  if (oci && docker) return 'docker-archive+oci-layout';
  if (oci) return 'oci-layout';
  if (docker) return 'docker-archive';
  throw new UserError(
    `${src.label} is neither a docker save archive (no manifest.json) nor an OCI layout (no oci-layout)`,
    'give the output of docker save, or an OCI image layout',
  );
}

export async function loadImages(input: string, opts: LoadOptions): Promise<LoadResult> {
  const src = await openArchive(input, { tmpDir: opts.tmpDir });
  try {
    const format = detectFormat(src);
    const images = format === 'docker-archive' ? readDockerArchive(src, opts) : await readOciLayout(src, opts);
    const records: ImageRecord[] = [];
    let layersStored = 0;
    for (const image of images) {
      const r = await storeImage(opts.store, image, {
        source: `load ${src.label}`,
        onProgress: (p) => opts.onProgress?.(image.names[0] ?? '', p),
      });
      records.push(...r.records);
      layersStored += r.layersStored;
    }
    return { format, images: records, layersStored };
  } finally {
    src.close();
  }
}
