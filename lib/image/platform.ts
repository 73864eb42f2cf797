/**
 * Platforms: which of an index's images this machine can run.
 *
 * A binary runs only on the CPU architecture it was built for, so a multi-platform image is an index with one
 * manifest per platform, each labelled `os/architecture[/variant]` in Go's vocabulary: `linux/amd64` (Node's
 * `x64`), `linux/arm64` with variant `v8` (Node's `arm64`: the workshop VM on Apple Silicon), `linux/arm/v7`.
 * Picking is: same OS and architecture; then the same variant, else one without a variant, else any. Indexes
 * built by BuildKit also list attestation manifests (platform `unknown/unknown`): those are never picked.
 */
import { UserError } from '../errors.ts';
import {
  ANNOTATIONS,
  isIndexType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from './manifest.ts';

export type { Platform } from './manifest.ts';

const NODE_TO_GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** This machine's platform in an image index's terms. */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = NODE_TO_GO_ARCH[arch] ?? arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') return { os: 'linux', architecture, variant: 'v7' };
  return { os: 'linux', architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** `linux/arm64`, `linux/arm/v7`, or just `arm64` (Linux understood). */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0], undefined] : parts;
  if (!os || !architecture || parts.length > 3) {
    throw new UserError(`invalid platform "${s}"`, 'write it as os/architecture[/variant], e.g. linux/arm64');
  }
  return variant ? { os, architecture: NODE_TO_GO_ARCH[architecture] ?? architecture, variant } : { os, architecture };
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[ANNOTATIONS.referenceType] !== undefined || d.platform?.os === 'unknown';
}

/**
 * The entries of an index to try for `want`, best first: the matching manifests (and nested indexes labelled
 * with the platform), then nested indexes with no platform label, which must be opened to know.
 */
export function platformCandidates(manifests: readonly Descriptor[], want: Platform): Descriptor[] {
  const usable = manifests.filter((d) => !isAttestation(d));
  const same = usable.filter((d) => d.platform?.os === want.os && d.platform.architecture === want.architecture);
  const rank = (d: Descriptor) =>
    d.platform?.variant === want.variant ? 0 : d.platform?.variant === undefined ? 1 : 2;
  const matching = [...same].sort((a, b) => rank(a) - rank(b));
  const unlabelled = usable.filter((d) => !d.platform);
  // A single unlabelled manifest is the image for whoever asks (an index of one, as `docker save` writes).
  const unlabelledIndexes = unlabelled.filter((d) => isIndexType(d.mediaType));
  const single = unlabelled.length === 1 && manifests.length === 1 ? unlabelled : [];
  return [...matching, ...unlabelledIndexes, ...single.filter((d) => !isIndexType(d.mediaType))];
}

/** The one-line error when nothing in an index fits. */
export function noPlatformError(what: string, manifests: readonly Descriptor[], want: Platform): UserError {
  const have = [
    ...new Set(
      manifests.filter((d) => !isAttestation(d) && d.platform).map((d) => formatPlatform(d.platform as Platform)),
    ),
  ];
  return new UserError(
    `${what} has no image for ${formatPlatform(want)}${have.length ? ` (it has ${have.join(', ')})` : ''}`,
    'choose an image built for this machine, or pass --platform to fetch another anyway',
  );
}

/**
 * Walk from a manifest or index down to the image manifest for `want`, opening nested indexes as needed
 * (`open` fetches and parses the blob a descriptor names). Returns the manifest and the descriptor that named
 * it (undefined when `top` was already a manifest). The error, when nothing fits, lists every platform seen.
 */
export async function resolveManifest(
  top: ImageManifest | ImageIndex,
  open: (d: Descriptor) => Promise<ImageManifest | ImageIndex>,
  want: Platform,
  what: string,
): Promise<{ manifest: ImageManifest; descriptor: Descriptor | undefined }> {
  if (top.kind === 'manifest') return { manifest: top, descriptor: undefined };
  const seen: Descriptor[] = [];
  const search = async (
    index: ImageIndex,
    depth: number,
  ): Promise<{ manifest: ImageManifest; descriptor: Descriptor } | undefined> => {
    if (depth > 4) throw new UserError(`${what} nests indexes more than 4 deep`);
    seen.push(...index.manifests);
    for (const d of platformCandidates(index.manifests, want)) {
      const next = await open(d);
      if (next.kind === 'manifest') return { manifest: next, descriptor: d };
      // An index without a platform label may hold other platforms only: then try the next candidate.
      const found = await search(next, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  const found = await search(top, 0);
  if (!found) throw noPlatformError(what, seen, want);
  return found;
}
