/**
 * Putting an image into the store, wherever it comes from (a `docker save` file, an OCI layout, a registry).
 *
 * Every source ends the same way: a config blob, and for each layer its diff_id (from the config) plus a way to
 * open its blob. Layers the store already has — by diff_id — are not read at all; that is what makes a second
 * pull download nothing, and why two images built on the same base share its layers on disk. The rest are
 * unpacked a few at a time (docker pulls three at once), each reporting its bytes for a progress bar. The layers
 * are leased for the duration, so a concurrent `rmi` cannot delete one this import counts on.
 */
import { UserError } from '../errors.ts';
import { parseImageConfig } from './config.ts';
import { shortDigest, type Digest } from './digest.ts';
import { displayName, type ImageRecord, type ImageStore } from './store.ts';

export interface LayerToStore {
  diffId: Digest;
  /** The blob's digest, when the source names it (a manifest does; a classic docker save does not). */
  blobDigest?: Digest;
  /** The blob's size in bytes, when known: the progress bar's total. */
  size?: number;
  open(): AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>;
}

export interface ImageToStore {
  /** Canonical names to record it under (at least one). */
  names: string[];
  config: Buffer;
  configDigest: Digest;
  manifest?: Digest;
  /** Bottom layer first, as in the config's diff_ids. */
  layers: LayerToStore[];
}

/** One step of one layer, for a progress display with a bar per layer. */
export interface LayerProgress {
  /** 0-based position in the image, bottom first. */
  index: number;
  count: number;
  diffId: Digest;
  /** `exists`: already in the store, nothing read. `start`, `bytes` (as they arrive), `done`. */
  state: 'exists' | 'start' | 'bytes' | 'done';
  /** Blob bytes read so far. */
  bytes: number;
  total?: number;
}

export interface StoreImageOptions {
  /** Recorded as the image's source: `load busybox.tar`, `pull localhost:5000`. */
  source: string;
  onProgress?: (p: LayerProgress) => void;
  /** Layers unpacked at the same time. */
  concurrency?: number;
}

export interface StoreImageResult {
  records: ImageRecord[];
  /** Layers read and unpacked by this call (0 when the store had them all). */
  layersStored: number;
  /** Blob bytes read for them. */
  bytesRead: number;
}

/**
 * Run `fn` on every item, at most `limit` at once. On the first failure nothing new starts, the others are told
 * to stop (through the signal), and the call returns — with that first error — only once all have settled, so
 * no unpack goes on in the background after a failed load or pull.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await fn(item, stop.signal);
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** A stream that ends with `signal`'s reason as soon as it is aborted. */
async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal.throwIfAborted();
    yield chunk;
  }
}

export async function storeImage(
  store: ImageStore,
  image: ImageToStore,
  opts: StoreImageOptions,
): Promise<StoreImageResult> {
  const shown = displayName(image.names[0] ?? 'the image');
  const config = parseImageConfig(image.config, `the config of ${shown}`);
  const diffIds = image.layers.map((l) => l.diffId);
  if (config.rootfs.diff_ids.length !== diffIds.length || config.rootfs.diff_ids.some((d, i) => d !== diffIds[i])) {
    throw new UserError(
      `${shown}: its config lists ${config.rootfs.diff_ids.length} layers, its manifest ${diffIds.length}`,
    );
  }
  if (image.names.length === 0) throw new Error('storeImage needs at least one name');
  const release = store.lease([...diffIds, image.configDigest]);
  try {
    store.writeBlob(image.config, image.configDigest, `the config of ${shown}`);
    const count = image.layers.length;
    const todo: Array<{ layer: LayerToStore; index: number }> = [];
    const seen = new Set<string>();
    image.layers.forEach((layer, index) => {
      const known = store.hasLayer(layer.diffId) || seen.has(layer.diffId);
      seen.add(layer.diffId);
      if (known)
        opts.onProgress?.({ index, count, diffId: layer.diffId, state: 'exists', bytes: 0, total: layer.size });
      else todo.push({ layer, index });
    });
    let bytesRead = 0;
    await eachLimited(todo, opts.concurrency ?? 3, async ({ layer, index }, signal) => {
      let bytes = 0;
      const progress = (state: LayerProgress['state']) =>
        opts.onProgress?.({ index, count, diffId: layer.diffId, state, bytes, total: layer.size });
      progress('start');
      await store.addLayer(abortable(await layer.open(), signal), {
        diffId: layer.diffId,
        blobDigest: layer.blobDigest,
        label: `layer ${index + 1}/${count} (${shortDigest(layer.diffId)}) of ${shown}`,
        onBytes: (n) => {
          bytes += n;
          bytesRead += n;
          progress('bytes');
        },
      });
      progress('done');
    });
    const records = image.names.map((name) =>
      store.putImage({ name, id: image.configDigest, manifest: image.manifest, layers: diffIds, source: opts.source }),
    );
    return { records, layersStored: todo.length, bytesRead };
  } finally {
    release();
  }
}
