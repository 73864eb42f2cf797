/**
 * A container's root: checking the rootfs it starts from, and giving each container a root of its own.
 *
 * Many containers may start from one rootfs at the same moment, so nothing may be written into it that another
 * container would trip over. The root switch itself writes nothing (pivot_root(".", ".") needs no directory),
 * and the root is a mount made inside the container's own mount namespace: either the rootfs bound onto itself
 * (lessons 02–05), or — lesson 06 on, and `ctr` — an overlay whose upper and work directories belong to this
 * container alone, under /var/lib/scratch/containers/<id>/. Writes land there; the rootfs stays as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import { UserError } from '../errors.ts';
import type { HostOp } from '../hostops.ts';
import type { Executor } from '../init/plan.ts';
import { mountsUnder, mountTablePath, readMountinfo } from '../mountinfo.ts';
import { containerDir } from '../names.ts';
import type { Runner } from '../runner.ts';
import type { Mount } from '../mounts.ts';
import { hasNamespace, type ContainerSpec, type RootfsSource } from '../spec.ts';

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `name` is in the rootfs at one of the usual places, without following links out of it. */
function rootfsHas(rootfs: string, name: string): boolean {
  return ['bin', 'sbin', 'usr/bin', 'usr/sbin'].some((d) => {
    try {
      fs.lstatSync(path.join(rootfs, d, name));
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Refuse, with one line and its fix, a root that cannot work: a rootfs that is missing or not a directory; for
 * the sh init, which runs the rootfs's own `umount` after pivot_root, a rootfs without `umount`; and, in a user
 * namespace, a layer with something mounted below it (a /proc a lesson's shell left in the rootfs): overlayfs
 * takes a private clone of each lower layer's mount, and the kernel refuses to clone one whose submounts came from
 * the host's more privileged mount namespace (they are locked), so the mount fails with a bare EINVAL.
 */
export function assertRoot(spec: ContainerSpec, executor: Executor): void {
  const dirs = spec.rootfs.type === 'overlay' ? spec.rootfs.lower : [spec.root.path];
  for (const dir of dirs) {
    if (!fs.existsSync(dir))
      throw new UserError(`rootfs ${dir} does not exist`, 'npm run rootfs   (or pass another directory)');
    if (!isDirectory(dir))
      throw new UserError(`rootfs ${dir} is not a directory`, 'pass the directory that holds bin/, etc/, …');
  }
  if (spec.rootfs.type === 'overlay' && hasNamespace(spec, 'user')) {
    const mounts = readMountinfo();
    for (const dir of dirs) {
      const below = mountsUnder(mountTablePath(dir), mounts).filter((m) => m.mountPoint !== mountTablePath(dir));
      const first = below.at(-1);
      if (first) {
        throw new UserError(
          `rootfs ${dir} has ${first.mountPoint} mounted below it, and overlay in a user namespace cannot use a ` +
            'layer with mounts below it',
          `sudo umount ${below.map((m) => m.mountPoint).join(' ')}`,
        );
      }
    }
  }
  if (
    executor === 'sh' &&
    spec.rootSwitch === 'pivot_root' &&
    spec.rootfs.type === 'bind' &&
    !rootfsHas(spec.root.path, 'umount')
  ) {
    throw new UserError(
      `rootfs ${spec.root.path} has no umount, which the sh init runs after pivot_root`,
      'use the TypeScript init (ctr does), or a rootfs with util-linux or busybox',
    );
  }
}

export interface OverlayRoot {
  /** The directory the overlay is mounted on, inside the container's mount namespace: root.path. */
  root: string;
  rootfs: Extract<RootfsSource, { type: 'overlay' }>;
  /** The container's own directory (upper, work, rootfs). */
  dir: string;
}

export interface CreatedOverlayRoot extends OverlayRoot {
  /** Keep the directories when the cleanup stack unwinds (a container kept after it exits). */
  dropRemoval(): void;
}

/** Where a container's overlay directories are: /var/lib/scratch/containers/<id>/{upper,work,rootfs}. */
export function overlayPaths(id: string, lower: readonly string[]): OverlayRoot {
  const dir = containerDir(id);
  return {
    dir,
    root: path.join(dir, 'rootfs'),
    rootfs: { type: 'overlay', lower: [...lower], upper: path.join(dir, 'upper'), work: path.join(dir, 'work') },
  };
}

/**
 * The host effects that make those directories, in order (what a lesson shows): the container's own directory,
 * readable by root only (an upper dir may hold setuid programs the container wrote), then upper, work and the
 * mount point inside it.
 */
export function overlayRootOps(o: OverlayRoot): HostOp[] {
  return [
    { kind: 'mkdir', path: o.dir, parents: true, mode: 0o700 },
    ...[o.rootfs.upper, o.rootfs.work, o.root].map((d): HostOp => ({ kind: 'mkdir', path: d })),
  ];
}

/**
 * Make the container's own directories for an overlay root; their removal is registered first. overlayfs wants
 * upper and work on the same filesystem, and not on overlayfs itself: /var/lib/scratch is on the host's disk.
 *
 * With a user namespace the overlay is mounted by the container's root, an ordinary uid on the host (`owner`):
 * its directories are handed to it, and /var/lib/scratch/containers lets it pass through (x), never list (r).
 */
export function createOverlayRoot(
  runner: Runner,
  cleanup: CleanupStack,
  id: string,
  lower: readonly string[],
  owner?: { uid: number; gid: number },
): CreatedOverlayRoot {
  const o = overlayPaths(id, lower);
  const dropRemoval = cleanup.push(`remove ${o.dir}`, () => runner.apply({ kind: 'remove', path: o.dir }));
  for (const op of overlayRootOps(o)) runner.apply(op);
  if (owner) {
    runner.apply({ kind: 'chmod', path: path.dirname(o.dir), mode: 0o711 });
    runner.apply({ kind: 'chown', path: o.dir, uid: owner.uid, gid: owner.gid, recursive: true });
  }
  return { ...o, dropRemoval };
}

/**
 * With a user namespace, the container's root cannot make a mount point in a directory of the rootfs (the host's
 * root owns it, and no line of the map names the host's root): /etc/resolv.conf for the bridge, a --tmpfs
 * directory. The host makes each missing one in the container's own upper dir instead, before it starts — the
 * directories above it (the overlay merges them with the rootfs's, keeping their mode) and an empty file or
 * directory to mount on — and gives them to the container's root, as docker's remapped root owns its layers. A
 * mount point inside another mount (/dev/pts in the /dev tmpfs) is the container's own to make.
 */
export function upperMountPoints(
  o: Pick<OverlayRoot, 'rootfs'>,
  mounts: readonly Mount[],
  owner: { uid: number; gid: number },
): HostOp[] {
  const ops: HostOp[] = [];
  const made = new Set<string>();
  const inLayers = (p: string) => o.rootfs.lower.find((l) => fs.existsSync(path.join(l, p)));
  const rels = mounts.map((m) => path.normalize(m.destination).replace(/^\/+/, ''));
  const make = (rel: string, op: HostOp) => {
    made.add(rel);
    ops.push(op, { kind: 'chown', path: path.join(o.rootfs.upper, rel), uid: owner.uid, gid: owner.gid });
  };
  for (const [i, m] of mounts.entries()) {
    const rel = rels[i] ?? '';
    const nested = rels.slice(0, i).some((r) => r !== '' && rel.startsWith(`${r}/`));
    if (!rel || nested || inLayers(rel)) continue;
    const parts = rel.split('/');
    for (let j = 1; j < parts.length; j++) {
      const dir = parts.slice(0, j).join('/');
      if (made.has(dir)) continue;
      const lower = inLayers(dir);
      const mode = lower ? fs.statSync(path.join(lower, dir)).mode & 0o7777 : 0o755;
      make(dir, { kind: 'mkdir', path: path.join(o.rootfs.upper, dir), mode });
    }
    const isFile = m.type === 'bind' && fs.existsSync(m.source) && !fs.statSync(m.source).isDirectory();
    make(
      rel,
      isFile
        ? { kind: 'write', path: path.join(o.rootfs.upper, rel), value: '' }
        : { kind: 'mkdir', path: path.join(o.rootfs.upper, rel), mode: 0o755 },
    );
  }
  return ops;
}
