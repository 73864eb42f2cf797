/**
 * An OCI bundle: a container spec and its root filesystem, written the way runc, crun and youki read them.
 *
 * A bundle is just a directory with `config.json` (lib/oci.ts makes it from our spec) and the root filesystem,
 * here `rootfs/`: the container's layers — read-only lower layers plus, for a container that ran, its own upper
 * dir — flattened into one plain directory (lib/image/flatten.ts applies each layer's whiteouts and opaque
 * directories on the way up). Lesson 12 writes one and runs it under runc, a production runtime, to show that
 * `ctr` made the same container: same capabilities, no_new_privs, seccomp, hostname, mounts and masked paths.
 *
 * What a bundle cannot carry is what lives outside it: a network namespace joined by path (the container's
 * veth on scr0) becomes a fresh one with only `lo`, and the cgroup gets a path of its own (runc makes it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.ts';
import type { HostOp } from './hostops.ts';
import { flattenLayers } from './image/flatten.ts';
import { cgroupParents } from './leftovers.ts';
import { CGROUP_PARENT } from './names.ts';
import { toOciConfig, type OciConfig } from './oci.ts';
import type { ContainerSpec } from './spec.ts';

export interface ExportedBundle {
  dir: string;
  config: OciConfig;
  files: number;
}

/** The spec as a bundle can carry it: namespaces made fresh, no host paths, its own cgroup path. */
export function bundleSpec(spec: ContainerSpec, cgroupName: string): ContainerSpec {
  return {
    ...spec,
    root: { ...spec.root, path: 'rootfs' },
    rootfs: { type: 'bind' },
    // Files the runtime bound in from the host (resolv.conf, hosts) are left out: they are not in the bundle.
    mounts: spec.mounts.filter((m) => m.type !== 'bind'),
    linux: {
      ...spec.linux,
      namespaces: spec.linux.namespaces.map((n) => ({ type: n.type })),
      cgroupsPath: `/${CGROUP_PARENT}/${cgroupName}`,
    },
  };
}

/**
 * Write `dir/config.json` and `dir/rootfs/` from the spec and its layers (bottom first; a container's upper dir
 * last). `dir` must not exist or be empty: nothing is overwritten.
 */
export function exportBundle(
  spec: ContainerSpec,
  layersBottomFirst: readonly string[],
  dir: string,
  cgroupName: string,
): ExportedBundle {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new UserError(`${dir} is not empty: a bundle goes into a new directory`, `ctr export-bundle ID ${dir}-new`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const stats = flattenLayers(layersBottomFirst, path.join(dir, 'rootfs'));
  const config = toOciConfig(bundleSpec(spec, cgroupName));
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { dir, config, files: stats.files };
}

/** What to install when runc, the oracle lesson 12 compares ctr with, is not on this machine. */
export const RUNC_FIX = 'apt-get install -y runc   (or: npm run setup)';

/**
 * `runc run` of a bundle, in the foreground (the bundle's `terminal` is false: output goes to our pipes), with
 * runc's own state under `root` rather than /run/runc — a run's state directory, so `npm run clean` finds it.
 */
export function runcRunArgv(root: string, bundle: string, id: string): string[] {
  return ['runc', '--root', root, 'run', '--bundle', bundle, id];
}

/** Take down whatever of a runc container is left (its processes, cgroup and state): the undo of runcRunArgv. */
export function runcDeleteArgv(root: string, id: string): string[] {
  return ['runc', '--root', root, 'delete', '--force', id];
}

/**
 * What `runc delete` leaves: runc makes a bundle's cgroup in every hierarchy the host mounts — on a hybrid host
 * also blkio, cpuset, freezer, name=systemd and the empty v2 tree, which ctr never uses — and removes only the
 * leaf. The `scratch` parents it made on the way are the workshop's, removed here once empty (a group another
 * run still has in one keeps it).
 */
export function cgroupParentRemovals(): HostOp[] {
  return cgroupParents().map((p) => ({ kind: 'rmdir', path: p, ifEmpty: true }));
}
