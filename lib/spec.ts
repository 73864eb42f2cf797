/**
 * The container spec: everything that says what a container is, in one value.
 *
 * A container is a process, but "which process, seeing what" takes a lot of saying: its root filesystem and how
 * that root is made, its command, environment and working directory, its user, which namespaces it gets (new
 * ones, or existing ones joined by path), what is mounted inside, which devices it has, what it may use
 * (cgroup limits), and what it may do (capabilities, no_new_privs, seccomp, masked paths). The OCI runtime spec
 * — the `config.json` that runc, crun and youki read — already names every one of these, so the fields here
 * follow it (`root.path`, `process.args`, `process.user`, `linux.namespaces`, `linux.resources`, …); lib/oci.ts
 * turns a spec into that `config.json`.
 *
 * A spec grows one field per lesson: lib/kit.ts has one small transform per lesson feature (`withUtsIpc`,
 * `withPid`, …) so a lesson adds its field and shows the difference. Everything that runs a container —
 * the init plan (lib/init/plan.ts), the launcher, `ctr` — reads only this value.
 */
import type { DeviceRule } from './cgroups/device-rules.ts';
import type { Device, Mount } from './mounts.ts';
import type { NamespaceType } from './namespaces.ts';

/** OCI `linux.namespaces[]`: a new namespace of this type, or — with `path` — an existing one joined. */
export interface NamespaceSpec {
  type: NamespaceType;
  /** e.g. /run/netns/scr08ab12: join this namespace instead of making a new one (docker's `--network container:`). */
  path?: string;
}

/**
 * How the directory `root.path` is made inside the container's own mount namespace, so that every container has a
 * root of its own even when they all start from the same rootfs:
 * - `bind`: root.path is the rootfs itself, bind-mounted onto itself (pivot_root wants a mount point); writes go
 *   to the rootfs (lessons 02–05, and runc's bundle rootfs);
 * - `overlay`: root.path is the container's own empty directory, and an overlay of read-only `lower` layers
 *   (top first) plus the container's `upper`/`work` directories is mounted on it (lesson 06 on, and `ctr`).
 */
export type RootfsSource = { type: 'bind' } | { type: 'overlay'; lower: string[]; upper: string; work: string };

/** OCI `process.user`. */
export interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** OCI `process.capabilities`: capability names (`CAP_CHOWN`) in each of the five sets. */
export interface Capabilities {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
  ambient: string[];
}

/** OCI `linux.resources`, the part the workshop limits. Absent = not limited. */
export interface Resources {
  memory?: {
    /** Bytes. */
    limit: number;
    /** Memory plus swap, in bytes (OCI's `swap` field means exactly that). Equal to limit = no swap. */
    swap?: number;
  };
  pids?: { limit: number };
  /** CFS quota per period, in µs: `--cpus 0.5` is quota 50000, period 100000. */
  cpu?: { quota: number; period: number };
  /** The device cgroup's rules, in order (lib/cgroups/device-rules.ts): which device nodes may be opened or made. */
  devices?: DeviceRule[];
}

/**
 * OCI `linux.uidMappings[]` / `gidMappings[]`: `size` ids from `containerID` on, inside the container's user
 * namespace, are the ids from `hostID` on outside it — one line of /proc/<pid>/uid_map (`0 1000 1`).
 */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** A seccomp filter: a named profile of lib/seccomp, or none (`seccomp=unconfined`). */
export interface SeccompSpec {
  profile: string;
}

export interface ContainerSpec {
  /** Short id; names everything made for this container on the host (cgroup, state dir, veth). */
  id: string;
  /** A unique name chosen by the user (`ctr run --name web`). */
  name?: string;
  /** OCI `root`: the directory that becomes the container's `/`. */
  root: { path: string; readonly?: boolean };
  rootfs: RootfsSource;
  /** OCI `process`. `env` is exactly the environment the command starts with: nothing is added later. */
  process: {
    args: string[];
    env: string[];
    cwd: string;
    user?: User;
    /** Absent: the capabilities of whoever starts it (root: all). */
    capabilities?: Capabilities;
    noNewPrivileges?: boolean;
    /** The command gets a pseudo-terminal of its own, relayed to the one ctr runs in (`ctr run -t`). */
    terminal?: boolean;
    /** OCI `consoleSize`: that terminal's size from its first instant (before the host can relay a resize). */
    consoleSize?: { height: number; width: number };
  };
  /** OCI `hostname`; needs a UTS namespace. */
  hostname?: string;
  /** OCI `mounts`, mounted inside the root in this order. */
  mounts: Mount[];
  linux: {
    namespaces: NamespaceSpec[];
    devices: Device[];
    /** OCI `cgroupsPath`: the container's cgroup, relative to each tree's root (`/scratch/<id>`). */
    cgroupsPath?: string;
    resources?: Resources;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: SeccompSpec;
    /** With a user namespace (lesson 09): who the container's uids and gids are on the host. */
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
  };
  /**
   * Not OCI: how `/` is switched. `chroot` (lessons 01–03) only changes where `/` resolves and leaves the host's
   * tree reachable; `pivot_root` (lesson 04 on) makes the root the root of the container's mount namespace.
   */
  rootSwitch: 'chroot' | 'pivot_root';
}

/** The PATH a container gets when its image names none (docker's default). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function hasNamespace(spec: ContainerSpec, type: NamespaceType): boolean {
  return spec.linux.namespaces.some((n) => n.type === type);
}

/** The namespaces the container gets new (those without a path). */
export function newNamespaces(spec: ContainerSpec): NamespaceType[] {
  return spec.linux.namespaces.filter((n) => n.path === undefined).map((n) => n.type);
}

/** The namespaces it joins: [type, path]. */
export function joinedNamespaces(spec: ContainerSpec): Array<[NamespaceType, string]> {
  return spec.linux.namespaces.flatMap((n) =>
    n.path === undefined ? [] : [[n.type, n.path] as [NamespaceType, string]],
  );
}

/** The host id that container id `id` maps to, or undefined when no mapping covers it. */
export function hostIdOf(mappings: readonly IdMapping[], id: number): number | undefined {
  const m = mappings.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m === undefined ? undefined : m.hostID + (id - m.containerID);
}

/**
 * Who the container's root is on the host, when it has a user namespace of its own: the uid and gid that
 * container id 0 maps to. The container is started as that uid (lib/container/launch.ts), so it never holds
 * more than an ordinary user does on the host; undefined without a user namespace.
 */
export function mappedRoot(spec: ContainerSpec): { uid: number; gid: number } | undefined {
  if (!hasNamespace(spec, 'user')) return undefined;
  const uid = hostIdOf(spec.linux.uidMappings ?? [], 0);
  const gid = hostIdOf(spec.linux.gidMappings ?? [], 0);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** The value of `NAME` in an env list, as the command will see it. */
export function envValue(env: readonly string[], name: string): string | undefined {
  const hit = [...env].reverse().find((e) => e.startsWith(`${name}=`));
  return hit?.slice(name.length + 1);
}

/** Set `NAME=value` in an env list, replacing an earlier value. */
export function withEnv(env: readonly string[], name: string, value: string): string[] {
  return [...env.filter((e) => !e.startsWith(`${name}=`)), `${name}=${value}`];
}

/**
 * Mistakes in a spec that lib or a lesson made (not the learner): thrown as plain errors, before anything runs.
 * Each rule stops something that would land on the host instead of in the container.
 */
export function validateSpec(spec: ContainerSpec): void {
  const has = (t: NamespaceType) => hasNamespace(spec, t);
  if (spec.process.args.length === 0) throw new Error('container spec has no command (process.args is empty)');
  if (!spec.process.cwd.startsWith('/')) throw new Error(`process.cwd must be absolute: ${spec.process.cwd}`);
  if (spec.hostname !== undefined && !has('uts')) {
    throw new Error('setting a hostname needs a UTS namespace, or it would rename the host');
  }
  const needsMountNs =
    spec.mounts.length > 0 ||
    spec.rootSwitch === 'pivot_root' ||
    spec.rootfs.type === 'overlay' ||
    !!spec.root.readonly ||
    !!spec.linux.maskedPaths?.length ||
    !!spec.linux.readonlyPaths?.length;
  if (needsMountNs && !has('mount')) {
    throw new Error('mounts and pivot_root need a mount namespace, or they would land on the host');
  }
  if (spec.linux.devices.length > 0 && !spec.mounts.some((m) => m.destination === '/dev')) {
    throw new Error('devices need a tmpfs mounted on /dev first, or they would be made in the rootfs on disk');
  }
  if (spec.rootSwitch === 'chroot' && spec.process.cwd !== '/') {
    throw new Error('a working directory needs rootSwitch pivot_root (chroot always starts in /)');
  }
  if (spec.rootSwitch === 'chroot' && spec.rootfs.type === 'overlay') {
    throw new Error('an overlay root needs pivot_root: under chroot the host would keep the layers in view');
  }
  for (const [type, p] of joinedNamespaces(spec)) {
    if (!p.startsWith('/')) throw new Error(`the ${type} namespace path must be absolute: ${p}`);
  }
  if (spec.linux.resources && !spec.linux.cgroupsPath) {
    throw new Error('limits (linux.resources) need a cgroup (linux.cgroupsPath)');
  }
  validateUserNamespace(spec);
}

/**
 * A user namespace needs both maps, each mapping container id 0 (the container's root is started as the host
 * id it maps to), with no two lines overlapping inside or outside — the kernel refuses such a map, and after
 * the process started it would be too late to say why. Maps without a user namespace would silently not apply.
 */
function validateUserNamespace(spec: ContainerSpec): void {
  const { uidMappings, gidMappings } = spec.linux;
  if (!hasNamespace(spec, 'user')) {
    if (uidMappings?.length || gidMappings?.length) throw new Error('uid/gid mappings need a user namespace');
    return;
  }
  if (spec.linux.namespaces.some((n) => n.type === 'user' && n.path !== undefined)) {
    throw new Error('joining an existing user namespace by path is not supported: give the container its own');
  }
  for (const [name, maps] of [
    ['uidMappings', uidMappings],
    ['gidMappings', gidMappings],
  ] as const) {
    if (!maps?.length) throw new Error(`a user namespace needs linux.${name}`);
    if (hostIdOf(maps, 0) === undefined) throw new Error(`linux.${name} must map container id 0 (the root)`);
    for (const [i, a] of maps.entries()) {
      if (![a.containerID, a.hostID, a.size].every((n) => Number.isInteger(n) && n >= 0) || a.size === 0) {
        throw new Error(`linux.${name}[${i}] is not a mapping: ${JSON.stringify(a)}`);
      }
      for (const b of maps.slice(i + 1)) {
        const overlaps = (x: number, y: number) => x < y + b.size && y < x + a.size;
        if (overlaps(a.containerID, b.containerID) || overlaps(a.hostID, b.hostID)) {
          throw new Error(`linux.${name} has overlapping lines: ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
        }
      }
    }
  }
}
