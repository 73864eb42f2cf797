/**
 * ctr load, pull, images, rmi — docker's image commands, on the content-addressed store of lib/image.
 *
 * An image is a config plus an ordered list of layers; the store keeps each layer unpacked once, under the
 * digest of its uncompressed tar, so an image loaded from three archive formats, pulled again, or sharing its
 * base with another is still one directory per layer. Removing an image removes only the layers no other image
 * and no container uses.
 */
import { formatBytes } from '../../cgroups/limits.ts';
import { effectiveState, listStates, type ContainerState } from '../../container/state.ts';
import { UserError } from '../../errors.ts';
import { parseImageConfig } from '../../image/config.ts';
import { shortDigest, type Digest } from '../../image/digest.ts';
import type { LayerProgress } from '../../image/import.ts';
import { loadImages } from '../../image/load.ts';
import { parsePlatform } from '../../image/platform.ts';
import { mirrorFrom, pull as pullImage } from '../../image/pull.ts';
import { DOCKER_HUB, parseReference } from '../../image/reference.ts';
import { displayName, type ImageRecord, type ImageStore } from '../../image/store.ts';
import { ago } from './ps.ts';
import { atMost, type Command, type CtrContext } from '../command.ts';
import { bool, str } from '../flags.ts';
import { layerDisplay } from '../layer-progress.ts';

/** Run an import with a per-layer display that is stopped whatever happens. */
async function withLayerDisplay<T>(
  ctx: CtrContext,
  verb: 'pull' | 'load',
  quiet: boolean,
  fn: (onProgress: (p: LayerProgress) => void) => Promise<T>,
): Promise<T> {
  const display = quiet ? undefined : layerDisplay({ tty: ctx.tty, write: ctx.out, verb });
  try {
    return await fn((p) => display?.onProgress(p));
  } finally {
    display?.stop();
  }
}

export const load: Command = {
  name: 'load',
  usage: 'ctr load -i FILE',
  summary: 'Load images from a docker save archive (classic or Docker 25+) or an OCI image layout',
  interspersed: true,
  flags: [
    { name: 'input', short: 'i', value: true, arg: 'FILE', help: 'the .tar (or .tar.gz, or layout directory)' },
    { name: 'quiet', short: 'q', help: 'print only the names loaded' },
  ],
  async run(ctx, { flags, rest }) {
    atMost(rest, str(flags.input) === undefined ? 1 : 0, 'load', 'ctr load -i FILE   (one archive at a time)');
    const input = str(flags.input) ?? rest[0];
    if (!input) {
      throw new UserError(
        'ctr load needs an archive: -i FILE',
        'ctr load -i /var/lib/scratch/images-src/layers.docker.tar   (npm run images builds it)',
      );
    }
    const r = await withLayerDisplay(ctx, 'load', bool(flags.quiet), (onProgress) =>
      loadImages(input, { store: ctx.store, onProgress: (_image, p) => onProgress(p) }),
    );
    for (const image of r.images) ctx.out(`Loaded image: ${displayName(image.name)}\n`);
    return 0;
  },
};

export const pull: Command = {
  name: 'pull',
  usage: 'ctr pull [OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Pull an image from a registry (Docker Hub, a mirror, or a registry on this machine)',
  interspersed: true,
  flags: [
    {
      name: 'mirror',
      value: true,
      arg: 'URL',
      help: 'a Docker Hub mirror (the classroom one): http://10.0.0.5:5000; default $SCRATCH_REGISTRY_MIRROR',
    },
    {
      name: 'platform',
      value: true,
      arg: 'OS/ARCH',
      help: 'which platform of a multi-platform image (default: this one)',
    },
    { name: 'quiet', short: 'q', help: 'print only the image name' },
  ],
  async run(ctx, { flags, rest }) {
    const [ref] = rest;
    if (!ref || rest.length > 1) throw new UserError('ctr pull needs one image name', 'ctr pull busybox:latest');
    const parsed = parseReference(ref);
    const mirror = mirrorFrom(str(flags.mirror), ctx.env);
    const platform = str(flags.platform);
    const quiet = bool(flags.quiet);
    if (!quiet) {
      if (!/[:@][^/]*$/.test(ref)) ctx.out('Using default tag: latest\n');
      const from = mirror && parsed.registry === DOCKER_HUB ? ` (from the mirror ${mirror})` : '';
      ctx.out(`${parsed.digest ?? parsed.tag}: Pulling from ${parsed.repository}${from}\n`);
    }
    const r = await withLayerDisplay(ctx, 'pull', quiet, (onProgress) =>
      pullImage(ref, {
        store: ctx.store,
        mirror,
        platform: platform ? parsePlatform(platform) : undefined,
        onProgress,
      }),
    );
    const name = displayName(r.record.name);
    if (!quiet) {
      ctx.out(`Digest: ${r.manifest}\n`);
      ctx.out(
        r.layersStored > 0
          ? `Status: Downloaded newer image for ${name}\n`
          : `Status: Image is up to date for ${name}\n`,
      );
    }
    ctx.out(`${r.record.name}\n`);
    return 0;
  },
};

/** When the image was made: its config's `created`, or when it was stored. */
function createdOf(store: ImageStore, r: ImageRecord): string {
  try {
    return parseImageConfig(store.readBlob(r.id)).created ?? r.stored;
  } catch {
    return r.stored;
  }
}

/** `docker images`: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE; names as people write them. */
export function imagesTable(store: ImageStore, records: readonly ImageRecord[], now = Date.now()): string {
  const rows = [
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    ...records.map((r) => {
      const shown = displayName(r.name);
      const at = shown.search(/[:@][^/]*$/);
      const [repo, tag] =
        at < 0 ? [shown, '<none>'] : [shown.slice(0, at), shown[at] === '@' ? '<none>' : shown.slice(at + 1)];
      return [repo, tag, shortDigest(r.id), ago(createdOf(store, r), now), formatBytes(store.size(r))];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd((widths[i] ?? 0) + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export const images: Command = {
  name: 'images',
  usage: 'ctr images [OPTIONS]',
  summary: 'List the images in the store',
  interspersed: true,
  flags: [{ name: 'quiet', short: 'q', help: 'only the image ids' }],
  async run(ctx, { flags, rest }) {
    atMost(rest, 0, 'images', 'ctr images   (every image in the store)');
    const all = ctx.store.list();
    if (bool(flags.quiet)) ctx.out([...new Set(all.map((r) => `${shortDigest(r.id)}\n`))].join(''));
    else ctx.out(`${imagesTable(ctx.store, all)}\n`);
    return 0;
  },
};

/** The containers (running or not, until `ctr rm`) made from this image. */
export function containersUsing(record: ImageRecord, states: readonly ContainerState[]): ContainerState[] {
  return states.filter((s) => s.imageId === record.id);
}

/** Whether a layer is one of some container's lower directories (its overlay needs it while the container exists). */
export function layerInUse(store: ImageStore, states: readonly ContainerState[]): (d: Digest) => boolean {
  const dirs = new Set(states.flatMap((s) => (s.spec.rootfs.type === 'overlay' ? s.spec.rootfs.lower : [])));
  return (d) => dirs.has(store.layerDir(d));
}

export const rmi: Command = {
  name: 'rmi',
  usage: 'ctr rmi [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove images, and the layers no other image or container uses',
  interspersed: true,
  flags: [{ name: 'force', short: 'f', help: 'remove the name even if a container uses the image (its layers stay)' }],
  async run(ctx, { flags, rest }) {
    if (rest.length === 0) throw new UserError('ctr rmi needs at least one image', 'ctr rmi scratch/layers');
    for (const ref of rest) {
      const record = ctx.store.require(ref);
      const states = listStates().map(effectiveState);
      const users = containersUsing(record, states);
      if (users.length > 0 && !bool(flags.force)) {
        const c = users[0] as ContainerState;
        throw new UserError(
          `image ${ref} is used by container ${c.name ?? c.id} (${c.status}): remove the container first, or force it`,
          `ctr rm -f ${c.name ?? c.id}   (or ctr rmi -f ${ref})`,
        );
      }
      const r = ctx.store.remove(ref, { inUse: layerInUse(ctx.store, states) });
      for (const name of r.untagged) ctx.out(`Untagged: ${displayName(name)}\n`);
      for (const d of r.deletedLayers) ctx.out(`Deleted: ${d}\n`);
    }
    return 0;
  },
};
