/**
 * Container images, in one import: what lesson 07 and `ctr` use.
 *
 * An image is a stack of filesystem layers plus a config. This directory holds each mechanism in its own
 * module — the tar format (tar-header, tar-reader, tar-writer), digests, references, manifests and platforms,
 * the safe unpacker and the content-addressed store, the archive formats (docker-archive, oci-layout), the
 * registry client, and what a container's upper directory becomes (diff, commit) — and this file only
 * re-exports what callers need. No module here imports this file.
 */
export { commitContainer, childConfig, type CommitBase, type CommitOptions, type CommitResult } from './commit.ts';
export {
  containerProcess,
  mergeEnv,
  parseImageConfig,
  withHome,
  type ImageConfig,
  type ImageProcess,
  type RunOverrides,
} from './config.ts';
export { diffUpper, formatChanges, type Change } from './diff.ts';
export { isDigest, parseDigest, shortDigest, type Digest } from './digest.ts';
export { flattenLayers } from './flatten.ts';
export type { LayerProgress } from './import.ts';
export { tarDirectory } from './layer-tar.ts';
export { layerStackView, lookupInLayers } from './layer-view.ts';
export { loadImages, type ArchiveFormat, type LoadOptions, type LoadResult } from './load.ts';
export { inspectArchive, type InspectedArchive, type InspectedImage, type InspectedLayer } from './inspect.ts';
export { localRegistryConfig, mirrorArgv, mirrorConfig, type MirrorOptions } from './mirror.ts';
export { formatPlatform, hostPlatform, parsePlatform, type Platform } from './platform.ts';
export { endpointFor, mirrorFrom, MIRROR_ENV, pull, type PullOptions, type PullResult } from './pull.ts';
export { canonicalReference, familiarName, parseReference, type ImageReference } from './reference.ts';
export { saveImages, type ImageToSave, type SaveFormat, type SaveOptions } from './save.ts';
export { DEFAULT_STORE_ROOT, displayName, ImageStore, type ImageRecord, type LayerInfo } from './store.ts';
export { unpackLayer, type UnpackStats } from './unpack.ts';
export { resolveImageUser, resolveUser, type ResolvedUser } from './user.ts';
export { classifyName, layerEntryAction, type LayerEntryAction } from './whiteout.ts';
