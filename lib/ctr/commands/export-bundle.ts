/**
 * ctr export-bundle — write a container, or an image as `ctr run` would start it, as an OCI bundle that runc can
 * run. (lib/oci-bundle.ts says what a bundle is and what it cannot carry.)
 */
import path from 'node:path';
import { lookup } from '../../container/lifecycle.ts';
import { UserError } from '../../errors.ts';
import { build, withNoNetwork } from '../../kit.ts';
import { exportBundle } from '../../oci-bundle.ts';
import type { ContainerSpec } from '../../spec.ts';
import type { Command, CtrContext } from '../command.ts';
import type { FlagValues } from '../flags.ts';
import { newContainerId, RUN_FLAGS, runRequest } from '../run-spec.ts';
import { idFromEnv, resolveRunSource } from './run.ts';

interface ToExport {
  spec: ContainerSpec;
  /** The files of its root, bottom layer first. */
  layers: string[];
  /** Names its cgroup (`/scratch/<id>b`) and the runc container id the message suggests. */
  id: string;
}

/** A container, as it is now: its read-only layers, bottom first, then its own changes. */
function containerToExport(ref: string): ToExport | undefined {
  let state;
  try {
    state = lookup(ref);
  } catch (e) {
    if (e instanceof UserError && /^no such container/.test(e.message)) return undefined;
    throw e;
  }
  const rootfs = state.spec.rootfs;
  const layers = rootfs.type === 'overlay' ? [...rootfs.lower].reverse().concat(rootfs.upper) : [state.spec.root.path];
  return { spec: state.spec, layers, id: state.id };
}

/**
 * An image (or a rootfs directory) as `ctr run [FLAGS] IMAGE [COMMAND…]` would start it: docker's default profile
 * changed by the flags, the image's config, and a network namespace of its own with only lo.
 */
function imageToExport(ctx: CtrContext, ref: string, args: string[], flags: FlagValues): ToExport {
  let source;
  try {
    source = resolveRunSource(ref, ctx.store);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(
      `no such container, image or rootfs directory: ${ref}`,
      'ctr ps -a   (or ctr images; a container or an image: ctr export-bundle web /tmp/web-bundle)',
    );
  }
  // Named like ctr run's containers (SCRATCH_RUN_ID, a lesson's run id): runc's cgroup is /scratch/<id>b.
  const id = idFromEnv(ctx.env) ?? newContainerId();
  const req = runRequest(flags, source, args, { id, hostEnv: ctx.env });
  const layers = source.kind === 'image' ? [...source.lowerDirs].reverse() : [source.path];
  return { spec: build(req.spec, withNoNetwork), layers, id };
}

/**
 * With an image, `ctr run`'s flags that shape the container itself. Not those about ctr's side of it (-d, --rm,
 * -i, -t, --name), nor the network ones: a bundle has no bridge, and --userns needs ids ctr hands out per run.
 */
const BUNDLE_FLAGS = RUN_FLAGS.filter(
  (f) => !['detach', 'rm', 'interactive', 'tty', 'name', 'network', 'publish', 'userns'].includes(f.name),
);

export const exportBundleCommand: Command = {
  name: 'export-bundle',
  usage: 'ctr export-bundle CONTAINER DIR | ctr export-bundle [OPTIONS] IMAGE|ROOTFS DIR [COMMAND] [ARG...]',
  summary: 'Write a container, or an image as ctr run starts it, as an OCI bundle (config.json + rootfs/) for runc',
  flags: BUNDLE_FLAGS,
  async run(ctx, { flags, rest }) {
    const [ref, dir, ...args] = rest;
    if (!ref || !dir)
      throw new UserError(
        'ctr export-bundle needs a container (or an image) and a directory',
        'ctr export-bundle web /tmp/web-bundle',
      );
    const found = containerToExport(ref);
    const given = Object.keys(flags).map((f) => `--${f}`);
    if (found && (args.length > 0 || given.length > 0)) {
      throw new UserError(
        `container ${ref} has its command and options already (${[...given, ...args].join(' ')}): they go only with an image`,
        `ctr export-bundle ${ref} ${dir}`,
      );
    }
    const x = found ?? imageToExport(ctx, ref, args, flags);
    const out = exportBundle(x.spec, x.layers, path.resolve(dir), `${x.id}b`);
    ctx.out(
      `${out.dir}: config.json and rootfs/ (${out.files} files) — run it with: runc run -b ${out.dir} ${x.id}b\n`,
    );
    return 0;
  },
};
