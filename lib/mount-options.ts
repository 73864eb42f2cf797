/**
 * Mount options: the words of `mount -o` and of an OCI `mounts[].options`, and the numbers mount(2) takes.
 *
 * `mount -t tmpfs -o nosuid,mode=755 tmpfs /dev` looks like one list of options, but the kernel splits it in
 * two. Generic options that every filesystem understands (`ro`, `nosuid`, `nodev`, `noexec`, `bind`, …) are bits
 * in the `flags` argument of mount(2), named `MS_*`. Everything else (`mode=755`, `size=64k`, `lowerdir=…` for
 * overlay) is a string handed to the filesystem itself, the `data` argument. Mount *propagation* (`private`,
 * `shared`, …) is a third kind: it cannot be combined with a mount, it is a separate mount(2) call on an existing
 * mount point. The `mount` command does this sorting for you; a runtime that calls mount(2) itself must do it,
 * and this module is that sorting, as a pure function both init executors use.
 */

/** The mount(2) flags the workshop uses, by name (values from <linux/mount.h>). */
export const MS = {
  MS_RDONLY: 0x1,
  MS_NOSUID: 0x2,
  MS_NODEV: 0x4,
  MS_NOEXEC: 0x8,
  MS_SYNCHRONOUS: 0x10,
  MS_REMOUNT: 0x20,
  MS_DIRSYNC: 0x80,
  MS_NOSYMFOLLOW: 0x100,
  MS_NOATIME: 0x400,
  MS_NODIRATIME: 0x800,
  MS_BIND: 0x1000,
  MS_MOVE: 0x2000,
  MS_REC: 0x4000,
  MS_UNBINDABLE: 0x20000,
  MS_PRIVATE: 0x40000,
  MS_SLAVE: 0x80000,
  MS_SHARED: 0x100000,
  MS_RELATIME: 0x200000,
  MS_STRICTATIME: 0x1000000,
} as const;
export type MountFlag = keyof typeof MS;

/** umount2(2) flags. */
export const MNT_DETACH = 0x2;

/** mount_setattr(2): AT_RECURSIVE in its flags, MOUNT_ATTR_RDONLY in attr_set. */
export const AT_RECURSIVE = 0x8000;
export const MOUNT_ATTR_RDONLY = 0x1;

/** Option word → the flag it sets (or, for `rw`/`suid`/…, `null`: the default, nothing to set). */
const FLAG_OPTIONS: Record<string, MountFlag[] | null> = {
  ro: ['MS_RDONLY'],
  rw: null,
  nosuid: ['MS_NOSUID'],
  suid: null,
  nodev: ['MS_NODEV'],
  dev: null,
  noexec: ['MS_NOEXEC'],
  exec: null,
  sync: ['MS_SYNCHRONOUS'],
  async: null,
  dirsync: ['MS_DIRSYNC'],
  remount: ['MS_REMOUNT'],
  noatime: ['MS_NOATIME'],
  nodiratime: ['MS_NODIRATIME'],
  relatime: ['MS_RELATIME'],
  strictatime: ['MS_STRICTATIME'],
  nosymfollow: ['MS_NOSYMFOLLOW'],
  bind: ['MS_BIND'],
  rbind: ['MS_BIND', 'MS_REC'],
};

const PROPAGATION: Record<string, MountFlag[]> = {
  private: ['MS_PRIVATE'],
  rprivate: ['MS_PRIVATE', 'MS_REC'],
  shared: ['MS_SHARED'],
  rshared: ['MS_SHARED', 'MS_REC'],
  slave: ['MS_SLAVE'],
  rslave: ['MS_SLAVE', 'MS_REC'],
  unbindable: ['MS_UNBINDABLE'],
  runbindable: ['MS_UNBINDABLE', 'MS_REC'],
};

export interface ParsedMountOptions {
  /** Flags for the mount(2) call itself. */
  flags: MountFlag[];
  /** Filesystem-specific options, comma-joined: the `data` argument ('' when there are none). */
  data: string;
  /** Propagation to set afterwards with a second mount(2) call, if any. */
  propagation: MountFlag[];
  /**
   * `rro` (OCI runtime spec 1.1): read-only all the way down, the mounts below included — one mount_setattr(2)
   * with AT_RECURSIVE, since a remount only ever changes one mount.
   */
  recursiveReadonly: boolean;
}

/** Sort `mount -o` words into mount(2)'s flags, its data string, and a propagation change. Pure. */
export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const flags = new Set<MountFlag>();
  const data: string[] = [];
  let propagation: MountFlag[] = [];
  let recursiveReadonly = false;
  for (const o of options) {
    if (o === 'rro') recursiveReadonly = true;
    else if (o in FLAG_OPTIONS) for (const f of FLAG_OPTIONS[o] ?? []) flags.add(f);
    else if (o in PROPAGATION) propagation = PROPAGATION[o] ?? [];
    else data.push(o);
  }
  return { flags: [...flags], data: data.join(','), propagation, recursiveReadonly };
}

/** The numeric value of some flags, for mount(2). */
export function flagValue(flags: readonly MountFlag[]): number {
  return flags.reduce((v, f) => v | MS[f], 0);
}

/** `MS_NOSUID|MS_NODEV`, or `0`: how a C programmer (and the syscall listing) writes them. */
export function showFlags(flags: readonly MountFlag[]): string {
  return flags.length === 0 ? '0' : flags.join('|');
}
