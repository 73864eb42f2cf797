/**
 * Manifests and indexes: the JSON that says which blobs make an image.
 *
 * An image *manifest* names one config blob and the layer blobs, bottom first, each by a *descriptor*: media
 * type, digest, size. An *index* (Docker calls it a manifest list) names several manifests — usually one per
 * platform (linux/amd64, linux/arm64, …) — and may name other indexes in turn. Two vocabularies exist for the
 * same shapes: Docker's (`application/vnd.docker.distribution.manifest.v2+json`, `….manifest.list.v2+json`)
 * and OCI's (`application/vnd.oci.image.manifest.v1+json`, `….index.v1+json`); a registry serves whichever it
 * stores, so a client accepts all four. Everything here is untrusted JSON and is checked before use.
 */
import { UserError } from '../errors.ts';
import { parseDigest, type Digest } from './digest.ts';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

/** The Accept header for manifests: all four kinds. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

/** Largest manifest or index read into memory (containerd uses the same bound). */
export const MAX_MANIFEST_SIZE = 4 << 20;

/** An OS and CPU architecture in Go's names: linux/amd64, linux/arm64/v8 (see platform.ts). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export function isIndexType(mediaType: string | undefined): boolean {
  return INDEX_TYPES.has(mediaType ?? '');
}

export function isManifestType(mediaType: string | undefined): boolean {
  return MANIFEST_TYPES.has(mediaType ?? '');
}

function descriptor(v: unknown, what: string): Descriptor {
  if (typeof v !== 'object' || v === null) throw new UserError(`${what} is not a descriptor`);
  const d = v as Record<string, unknown>;
  const size = d.size;
  if (typeof d.mediaType !== 'string') throw new UserError(`${what} has no mediaType`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw new UserError(`${what} has no valid size`);
  const out: Descriptor = { mediaType: d.mediaType, digest: parseDigest(d.digest, what), size };
  const p = d.platform as Record<string, unknown> | undefined;
  if (p && typeof p === 'object' && typeof p.os === 'string' && typeof p.architecture === 'string') {
    out.platform = {
      os: p.os,
      architecture: p.architecture,
      ...(typeof p.variant === 'string' ? { variant: p.variant } : {}),
    };
  }
  if (d.annotations && typeof d.annotations === 'object') {
    out.annotations = Object.fromEntries(
      Object.entries(d.annotations as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
  }
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === 'string');
  return out;
}

/**
 * Parse a manifest or an index. The media type comes from the JSON's own `mediaType`, else from the HTTP
 * Content-Type (or the descriptor that named it); without either, the shape decides (OCI allows that).
 */
export function parseManifest(
  data: Buffer,
  mediaTypeHint: string | undefined,
  what: string,
): ImageManifest | ImageIndex {
  if (data.length > MAX_MANIFEST_SIZE) throw new UserError(`${what} is larger than ${MAX_MANIFEST_SIZE} bytes`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new UserError(`${what} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null) throw new UserError(`${what} is not a JSON object`);
  if (json.schemaVersion === 1) {
    throw new UserError(`${what} is a Docker schema 1 manifest, retired in 2019 and not supported`, 'pull a newer tag');
  }
  const hint = mediaTypeHint?.split(';')[0]?.trim();
  const mediaType =
    (typeof json.mediaType === 'string' ? json.mediaType : undefined) ??
    (hint && (isIndexType(hint) || isManifestType(hint)) ? hint : undefined) ??
    (Array.isArray(json.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (isIndexType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw new UserError(`${what} is an index without manifests`);
    return {
      kind: 'index',
      mediaType,
      manifests: json.manifests.map((m, i) => descriptor(m, `${what}, manifests[${i}]`)),
    };
  }
  if (!isManifestType(mediaType))
    throw new UserError(`${what} has media type ${mediaType}, which is not an image manifest`);
  if (!Array.isArray(json.layers)) throw new UserError(`${what} has no layers`);
  const layers = json.layers.map((l, i) => descriptor(l, `${what}, layers[${i}]`));
  for (const l of layers) {
    if (l.urls?.length || /foreign|nondistributable/.test(l.mediaType)) {
      throw new UserError(`${what} has a foreign layer (${l.mediaType}), stored elsewhere: not supported`);
    }
    if (/zstd/.test(l.mediaType))
      throw new UserError(`${what} has zstd-compressed layers; this workshop reads gzip and plain tar`);
  }
  return { kind: 'manifest', mediaType, config: descriptor(json.config, `${what}, config`), layers };
}

/** Annotations docker, containerd and skopeo use to name an image in an OCI layout. */
export const ANNOTATIONS = {
  refName: 'org.opencontainers.image.ref.name',
  containerdName: 'io.containerd.image.name',
  /** BuildKit marks provenance/SBOM manifests in an index with this; they are not runnable images. */
  referenceType: 'vnd.docker.reference.type',
} as const;
