/**
 * Reading `docker save` output: the docker-archive format.
 *
 * The archive's `manifest.json` is a list with one entry per image: `Config` (the member holding the config
 * JSON), `RepoTags` (its names) and `Layers` (the members holding each layer's tar, bottom first). Before
 * Docker 25 the members were `<sha256-of-config>.json` and `<id>/layer.tar` (plus a legacy `repositories` file
 * and per-layer `json`/`VERSION` files nobody needs); since Docker 25 the archive is also an OCI layout and the
 * members are `blobs/sha256/<digest>`. Either way the layers here are plain tars, and the config's
 * `rootfs.diff_ids` say what each must hash to; where a member is named by its digest, that is checked too.
 */
import { UserError } from '../errors.ts';
import { parseImageConfig } from './config.ts';
import { parseDigest, sha256, verifyBuffer, type Digest } from './digest.ts';
import type { ImageToStore } from './import.ts';
import { canonicalReference, parseReference } from './reference.ts';
import { printable } from './scoped-path.ts';
import type { ArchiveSource } from './source.ts';

interface ManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** `blobs/sha256/<hex>` or `<hex>.json`: a member named after its content's digest. */
export function digestOfMemberName(member: string): Digest | undefined {
  const m = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(member);
  return m && (member.startsWith('blobs/sha256/') || member.endsWith('.json'))
    ? parseDigest(`sha256:${m[1]}`, member)
    : undefined;
}

export function parseDockerManifest(data: Buffer, label: string): ManifestEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new UserError(`${label}: manifest.json is not valid JSON`);
  }
  const ok = (e: unknown): e is ManifestEntry => {
    const x = e as ManifestEntry;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.Config === 'string' &&
      Array.isArray(x.Layers) &&
      x.Layers.every((l) => typeof l === 'string') &&
      (x.RepoTags === null ||
        x.RepoTags === undefined ||
        (Array.isArray(x.RepoTags) && x.RepoTags.every((t) => typeof t === 'string')))
    );
  };
  if (!Array.isArray(json) || !json.every(ok))
    throw new UserError(`${label}: manifest.json is not a docker save manifest`);
  return json;
}

/** Names as canonical references; `fallback` (e.g. `--name`) for an image saved without one. */
export function imageNames(
  tags: readonly string[] | null | undefined,
  fallback: string | undefined,
  label: string,
): string[] {
  const names = (tags ?? []).map((t) => canonicalReference(parseReference(t)));
  if (names.length === 0 && fallback) names.push(canonicalReference(parseReference(fallback)));
  if (names.length === 0)
    throw new UserError(`${label} holds an image without a name`, 'give it one with --name NAME[:TAG]');
  return names;
}

/** The images of a docker-archive, ready for storeImage. */
export function readDockerArchive(src: ArchiveSource, opts: { name?: string } = {}): ImageToStore[] {
  const entries = parseDockerManifest(src.read('manifest.json'), src.label);
  return entries.map((entry) => {
    const named = digestOfMemberName(entry.Config);
    const config = src.read(entry.Config);
    const configDigest = named ? (verifyBuffer(config, named, `${src.label}: ${entry.Config}`), named) : sha256(config);
    const parsed = parseImageConfig(config, `${src.label}: ${entry.Config}`);
    const diffIds = parsed.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) {
      throw new UserError(
        `${src.label}: manifest.json lists ${entry.Layers.length} layers, the config ${diffIds.length}`,
      );
    }
    for (const member of entry.Layers) {
      if (!src.has(member)) {
        throw new UserError(
          `${src.label}: manifest.json names ${printable(member)}, which the archive does not have`,
          'save the image again',
        );
      }
    }
    return {
      names: imageNames(entry.RepoTags, opts.name, src.label),
      config,
      configDigest,
      layers: entry.Layers.map((member, i) => ({
        diffId: diffIds[i] as Digest,
        blobDigest: digestOfMemberName(member),
        size: src.size(member),
        open: () => src.open(member),
      })),
    };
  });
}

/** Config digest → RepoTags from a docker 25+ archive's manifest.json, to name the OCI layout's images. */
export function dockerNamesByConfig(src: ArchiveSource): Map<Digest, string[]> {
  const out = new Map<Digest, string[]>();
  if (!src.has('manifest.json')) return out;
  for (const e of parseDockerManifest(src.read('manifest.json'), src.label)) {
    const d = digestOfMemberName(e.Config);
    if (d && e.RepoTags?.length) out.set(d, e.RepoTags);
  }
  return out;
}
