/**
 * `docker pull`: an image from a registry into the store.
 *
 * The tag is resolved to a manifest (or an index, from which this machine's platform is chosen); the manifest
 * names the config blob, whose diff_ids say which layers the store must have; only the missing ones are
 * downloaded — each streamed straight into the unpacker, its blob digest and diff_id checked on the way.
 *
 * Which server is asked: the registry in the name, over HTTPS, or plain HTTP for one on this machine
 * (localhost, 127.0.0.0/8, ::1), as docker allows. A **mirror** (`--mirror URL` or `SCRATCH_REGISTRY_MIRROR`)
 * replaces Docker Hub — only Docker Hub, as docker's `registry-mirrors` does — with a pull-through cache, such as
 * the `docker-registry` an instructor runs for a classroom, so that a room makes one set of pulls, not one per
 * learner. If the mirror cannot be reached the pull fails and says so; it does not quietly fall back to Docker
 * Hub, which would spend the room's shared pull allowance.
 */
import { UserError } from '../errors.ts';
import { parseImageConfig } from './config.ts';
import { verifyBuffer, type Digest } from './digest.ts';
import { storeImage, type LayerProgress } from './import.ts';
import { parseManifest, type Descriptor } from './manifest.ts';
import { hostPlatform, resolveManifest, type Platform } from './platform.ts';
import {
  canonicalReference,
  DOCKER_HUB,
  familiarName,
  isLoopbackRegistry,
  parseReference,
  registryBaseUrl,
  type ImageReference,
} from './reference.ts';
import { RegistryClient, type Fetch } from './registry.ts';
import type { ImageRecord, ImageStore } from './store.ts';

/** The environment variable that sets a Docker Hub mirror, as `--mirror` does. */
export const MIRROR_ENV = 'SCRATCH_REGISTRY_MIRROR';

export interface PullOptions {
  store: ImageStore;
  /** A Docker Hub mirror: `http://10.0.0.5:5000`; without a scheme, HTTPS unless on this machine. */
  mirror?: string;
  /** Default: this machine's. */
  platform?: Platform;
  onProgress?: (p: LayerProgress) => void;
  /** Layers downloaded at once (docker: 3). */
  concurrency?: number;
  fetch?: Fetch;
}

export interface PullResult {
  record: ImageRecord;
  /** The image manifest's digest (for a multi-platform image: the chosen platform's). */
  manifest: Digest;
  /** The server asked: the registry, or the mirror. */
  from: string;
  /** Layers downloaded (0 on a second pull of the same image). */
  layersStored: number;
  /** Blobs downloaded: layers and the config (0 on a second pull). */
  blobsFetched: number;
  bytesFetched: number;
}

/** The mirror's base URL, from a flag or the environment; undefined when none is set. */
export function mirrorFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = (flag ?? env[MIRROR_ENV] ?? '').trim();
  if (raw === '') return undefined;
  const withScheme = /^[a-z]+:\/\//i.test(raw)
    ? raw
    : `${isLoopbackRegistry(raw.split('/')[0] ?? '') ? 'http' : 'https'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UserError(`the registry mirror "${raw}" is not a URL`, 'write it as http://HOST:PORT');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`the registry mirror "${raw}" is not http or https`, 'write it as http://HOST:PORT');
  }
  return `${url.protocol}//${url.host}`;
}

/** Where to fetch `ref` from: the mirror for a Docker Hub image when one is set, else the registry itself. */
export function endpointFor(ref: ImageReference, mirror: string | undefined): string {
  return mirror && ref.registry === DOCKER_HUB ? mirror : registryBaseUrl(ref.registry);
}

export async function pull(reference: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(reference);
  const shown = familiarName(ref);
  const from = endpointFor(ref, opts.mirror);
  let blobsFetched = 0;
  const client = new RegistryClient(from, ref.repository, { fetch: opts.fetch });

  const top = await client.getManifest(ref.digest ?? (ref.tag as string));
  if (ref.digest) verifyBuffer(top.data, ref.digest, `the manifest of ${shown}`);
  const open = async (d: Descriptor) => {
    const m = await client.getManifest(d.digest);
    verifyBuffer(m.data, d.digest, `manifest ${d.digest} of ${shown}`);
    return parseManifest(m.data, d.mediaType, `a manifest of ${shown}`);
  };
  const { manifest, descriptor } = await resolveManifest(
    parseManifest(top.data, top.mediaType, `the manifest of ${shown}`),
    open,
    opts.platform ?? hostPlatform(),
    shown,
  );
  const configDigest = manifest.config.digest;
  let config: Buffer;
  if (opts.store.hasBlob(configDigest)) config = opts.store.readBlob(configDigest);
  else {
    config = await client.readBlob(configDigest);
    blobsFetched++;
  }
  const diffIds = parseImageConfig(config, `the config of ${shown}`).rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new UserError(`${shown}: its manifest lists ${manifest.layers.length} layers, its config ${diffIds.length}`);
  }
  const result = await storeImage(
    opts.store,
    {
      names: [canonicalReference(ref)],
      config,
      configDigest,
      manifest: descriptor?.digest ?? top.digest,
      layers: manifest.layers.map((l, i) => ({
        diffId: diffIds[i] as Digest,
        blobDigest: l.digest,
        size: l.size,
        open: () => {
          blobsFetched++;
          return client.openBlob(l.digest);
        },
      })),
    },
    { source: `pull ${new URL(from).host}`, onProgress: opts.onProgress, concurrency: opts.concurrency },
  );
  return {
    record: result.records[0] as ImageRecord,
    manifest: descriptor?.digest ?? top.digest,
    from,
    layersStored: result.layersStored,
    blobsFetched,
    bytesFetched: result.bytesRead,
  };
}
