/**
 * Names of everything the workshop creates on the host.
 *
 * Everything carries the prefix `scr` (or lives under a `scratch` directory), so that `npm run clean` can find
 * what a crashed run left behind by name alone, and so that nothing the workshop makes can be mistaken for — or
 * collide with — something the host already had.
 */
import path from 'node:path';

export const PREFIX = 'scr';
/** Per-run state: /run/scratch/<id>/ (tmpfs, gone at reboot). */
export const STATE_ROOT = '/run/scratch';
/** Built root filesystems, images and layers. */
export const LIB_ROOT = '/var/lib/scratch';
export const ROOTFS_ROOT = path.join(LIB_ROOT, 'rootfs');
export const DEFAULT_ROOTFS = path.join(ROOTFS_ROOT, 'busybox');
/** Each container's own directories (an overlay's upper and work): /var/lib/scratch/containers/<id>/. */
export const CONTAINERS_ROOT = path.join(LIB_ROOT, 'containers');
/** The cgroup parent: /sys/fs/cgroup/<controller>/scratch/<id> on v1, /sys/fs/cgroup/scratch/<id> on v2. */
export const CGROUP_PARENT = 'scratch';
/** The bridge lesson 08 makes. */
export const BRIDGE = 'scr0';
/** Linux refuses interface names longer than 15 characters (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

export function stateDir(id: string): string {
  return path.join(STATE_ROOT, id);
}

export function containerDir(id: string): string {
  return path.join(CONTAINERS_ROOT, id);
}

/** An interface name for run `id`: `scr<id><suffix>`, refused if it would be too long for the kernel. */
export function linkName(id: string, suffix: string): string {
  const name = `${PREFIX}${id}${suffix}`;
  if (name.length > IFNAME_MAX) throw new Error(`interface name ${name} is longer than ${IFNAME_MAX} characters`);
  return name;
}
