/**
 * `docker commit`: a container's upper directory becomes a new read-only layer, and a new image.
 *
 * The upper dir holds exactly what the container changed (diff.ts), so it is written as a layer tar (overlay
 * whiteouts turned back into `.wh.` entries, layer-tar.ts), hashed into its diff_id and unpacked into the store
 * like any other layer — the same code path as a pulled layer, so the result is checked and shared the same
 * way. The new image is the base image's layers plus this one, and a copy of its config with the new diff_id
 * appended, a history line, and any changes (`--change 'CMD …'`) applied.
 *
 * A container started from a plain directory (lessons 02–06 run the busybox rootfs, not an image) has no base
 * image. Its commit makes that directory a layer too — the same walk, device nodes left out — so the new image
 * is self-contained: two layers, base and changes, that run anywhere, and do not change if the directory does
 * later. A tree walked twice gives the same tar, so committing again from the same directory stores its layer
 * once. Its config starts from docker's defaults (PATH, `Cmd: ["/bin/sh"]`).
 */
import { baseConfigForRootfs, type ContainerConfig, type ImageConfig } from './config.ts';
import type { Digest } from './digest.ts';
import { tarDirectory } from './layer-tar.ts';
import { hostPlatform } from './platform.ts';
import type { AddedLayer, ImageRecord, ImageStore } from './store.ts';

export type CommitBase = { image: string } | { rootfs: string };

export interface CommitOptions {
  store: ImageStore;
  /** The container's overlayfs upper directory. */
  upperDir: string;
  /** What the container started from. */
  base: CommitBase;
  /** NAME[:TAG] of the new image. */
  name: string;
  /** `--change`: config fields to set on the new image. */
  changes?: Pick<ContainerConfig, 'Cmd' | 'Entrypoint' | 'Env' | 'WorkingDir' | 'User'>;
  /** `-m`: the history comment. */
  comment?: string;
  author?: string;
  /** The container's id, for the history line and the record's source. */
  container?: string;
  now?: Date;
  /** Told about each entry left out of a layer (device nodes, sockets). */
  onSkip?: (rel: string, why: string) => void;
}

export interface CommitResult {
  record: ImageRecord;
  /** The layer made from the upper dir. */
  layer: AddedLayer;
  /** The layer made from a rootfs base, when the base was a directory. */
  baseLayer?: AddedLayer;
}

/** The new config: the base's, with one more layer, a history line, and the changes. Pure. */
export function childConfig(
  base: ImageConfig,
  layer: Digest,
  opts: Pick<CommitOptions, 'changes' | 'comment' | 'author' | 'container'> & { created: string },
): ImageConfig {
  const config = structuredClone(base);
  config.created = opts.created;
  if (opts.author) config.author = opts.author;
  config.rootfs = { type: 'layers', diff_ids: [...base.rootfs.diff_ids, layer] };
  config.history = [
    ...(base.history ?? []),
    {
      created: opts.created,
      created_by: `ctr commit${opts.container ? ` ${opts.container}` : ''}`,
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(opts.author ? { author: opts.author } : {}),
    },
  ];
  config.config = { ...(config.config ?? {}), ...(opts.changes ?? {}) };
  return config;
}

export async function commitContainer(opts: CommitOptions): Promise<CommitResult> {
  const { store } = opts;
  const created = (opts.now ?? new Date()).toISOString();
  let baseConfig: ImageConfig;
  let baseLayer: AddedLayer | undefined;
  const releases: Array<() => void> = [];
  try {
    if ('image' in opts.base) {
      const record = store.require(opts.base.image);
      releases.push(store.lease(record.layers));
      baseConfig = store.config(record);
    } else {
      baseLayer = await store.addLayer(tarDirectory(opts.base.rootfs, { kind: 'rootfs', onSkip: opts.onSkip }), {
        label: `the root filesystem ${opts.base.rootfs}`,
      });
      releases.push(store.lease([baseLayer.diffId]));
      const arch = hostPlatform().architecture;
      baseConfig = baseConfigForRootfs(arch, created);
      baseConfig.rootfs.diff_ids = [baseLayer.diffId];
      baseConfig.history = [{ created, created_by: `rootfs ${opts.base.rootfs}` }];
    }
    const layer = await store.addLayer(tarDirectory(opts.upperDir, { kind: 'upper', onSkip: opts.onSkip }), {
      label: `the changes in ${opts.upperDir}`,
    });
    // Its digest is known only now: an rmi in the moment between store and lease could collect it, and the
    // putImage below would then refuse to record an image without its layer (an error, never a broken image).
    releases.push(store.lease([layer.diffId]));
    const config = childConfig(baseConfig, layer.diffId, { ...opts, created });
    const id = store.writeBlob(Buffer.from(JSON.stringify(config)));
    releases.push(store.lease([id]));
    const record = store.putImage({
      name: opts.name,
      id,
      layers: config.rootfs.diff_ids,
      source: `commit ${opts.container ?? opts.upperDir}`,
    });
    return { record, layer, baseLayer };
  } finally {
    for (const release of releases) release();
  }
}
