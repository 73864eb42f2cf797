/**
 * Reading an OCI image layout: what `skopeo copy … oci:DIR`, BuildKit and Docker 25+'s `docker save` write.
 *
 * An OCI layout is a content-addressed directory: `oci-layout` (a version marker), `blobs/sha256/<digest>`
 * (every manifest, index, config and layer, named by its digest), and `index.json`, an index whose entries are
 * the layout's images — named by annotations (`io.containerd.image.name`, or `org.opencontainers.image.ref.name`,
 * which is sometimes a full name and sometimes just a tag). An entry may be a manifest, or an index (one
 * manifest per platform, perhaps through another index), from which the one for this machine is chosen. Every
 * blob read is checked against its digest; layers may be gzip-compressed or plain.
 */
import { UserError } from '../errors.ts';
import { parseImageConfig } from './config.ts';
import { digestHex, shortDigest, verifyBuffer, type Digest } from './digest.ts';
import { dockerNamesByConfig, imageNames } from './docker-archive.ts';
import type { ImageToStore } from './import.ts';
import {
  ANNOTATIONS,
  MEDIA_TYPES,
  parseManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from './manifest.ts';
import { hostPlatform, resolveManifest, type Platform } from './platform.ts';
import { canonicalReference, parseReference } from './reference.ts';
import type { ArchiveSource } from './source.ts';

export function blobMember(d: Digest): string {
  return `blobs/sha256/${digestHex(d)}`;
}

function readBlob(src: ArchiveSource, d: Descriptor, what: string): Buffer {
  const member = blobMember(d.digest);
  if (!src.has(member)) {
    throw new UserError(
      `${src.label}: ${what} names blob ${shortDigest(d.digest)}, which the layout does not have`,
      'copy or save the image again',
    );
  }
  const data = verifyBuffer(src.read(member), d.digest, `${src.label}: blob ${shortDigest(d.digest)}`);
  if (data.length !== d.size)
    throw new UserError(`${src.label}: blob ${shortDigest(d.digest)} is ${data.length} bytes, not ${d.size}`);
  return data;
}

/** What an index.json entry calls its image: a full name, a bare tag, or nothing. */
function entryName(d: Descriptor): { name?: string; tag?: string } {
  const full = d.annotations?.[ANNOTATIONS.containerdName];
  if (full) return { name: full };
  const ref = d.annotations?.[ANNOTATIONS.refName];
  if (!ref) return {};
  return /[/:@]/.test(ref) ? { name: ref } : { tag: ref };
}

/** A bare tag needs a repository: the `--name` given, or the docker manifest.json's name for the same config. */
function namesFor(
  d: { name?: string; tag?: string },
  dockerNames: string[] | undefined,
  opts: { name?: string },
  label: string,
): string[] {
  if (d.name) return [canonicalReference(parseReference(d.name))];
  if (dockerNames?.length) return imageNames(dockerNames, undefined, label);
  if (opts.name) {
    const ref = parseReference(opts.name);
    const tagged = d.tag && !/:[\w][\w.-]*$/.test(opts.name.split('/').pop() ?? '') ? { ...ref, tag: d.tag } : ref;
    return [canonicalReference(tagged)];
  }
  const hint = d.tag ? ` (only a tag, "${d.tag}")` : '';
  throw new UserError(`${label} holds an image without a name${hint}`, 'give it one with --name NAME[:TAG]');
}

/** The images of an OCI layout (for each name, the manifest for `platform`), ready for storeImage. */
export async function readOciLayout(
  src: ArchiveSource,
  opts: { name?: string; platform?: Platform } = {},
): Promise<ImageToStore[]> {
  const marker = src.read('oci-layout');
  let version: unknown;
  try {
    version = (JSON.parse(marker.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== '1.0.0')
    throw new UserError(`${src.label}: oci-layout says version ${String(version)}; 1.0.0 is supported`);
  if (!src.has('index.json'))
    throw new UserError(`${src.label} is an OCI layout without index.json`, 'copy or save the image again');
  const top = parseManifest(src.read('index.json'), MEDIA_TYPES.ociIndex, `${src.label}: index.json`);
  if (top.kind !== 'index') throw new UserError(`${src.label}: index.json is not an index`);
  const want = opts.platform ?? hostPlatform();
  const dockerNames = dockerNamesByConfig(src);

  // Entries with the same name are one image in several platforms; entries without a name, one image each.
  const groups = new Map<string, Descriptor[]>();
  top.manifests.forEach((d, i) => {
    const n = entryName(d);
    const key = n.name ?? (n.tag ? `tag:${n.tag}` : `#${i}`);
    groups.set(key, [...(groups.get(key) ?? []), d]);
  });
  const open = async (d: Descriptor): Promise<ImageManifest | ImageIndex> =>
    parseManifest(readBlob(src, d, 'index.json'), d.mediaType, `${src.label}: manifest ${shortDigest(d.digest)}`);

  const images: ImageToStore[] = [];
  for (const group of groups.values()) {
    const what = `${src.label}: ${entryName(group[0] as Descriptor).name ?? 'index.json'}`;
    const { manifest, descriptor } = await resolveManifest(
      { kind: 'index', mediaType: MEDIA_TYPES.ociIndex, manifests: group },
      open,
      want,
      what,
    );
    const config = readBlob(src, manifest.config, 'a manifest');
    const parsed = parseImageConfig(config, `${src.label}: config ${shortDigest(manifest.config.digest)}`);
    const diffIds = parsed.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new UserError(
        `${src.label}: a manifest lists ${manifest.layers.length} layers, its config ${diffIds.length}`,
      );
    }
    for (const l of manifest.layers) {
      if (!src.has(blobMember(l.digest))) {
        throw new UserError(
          `${src.label}: a manifest names layer ${shortDigest(l.digest)}, which the layout does not have`,
          'copy or save the image again',
        );
      }
    }
    images.push({
      names: namesFor(entryName(group[0] as Descriptor), dockerNames.get(manifest.config.digest), opts, src.label),
      config,
      configDigest: manifest.config.digest,
      manifest: descriptor?.digest,
      layers: manifest.layers.map((l, i) => ({
        diffId: diffIds[i] as Digest,
        blobDigest: l.digest,
        size: l.size,
        open: () => src.open(blobMember(l.digest)),
      })),
    });
  }
  return images;
}
