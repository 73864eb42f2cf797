/**
 * The lesson kit: a container spec built up one lesson at a time, one small transform per feature.
 *
 * Lesson 02 starts from a chrooted process and adds a UTS and an IPC namespace; lesson 03 adds a PID namespace and
 * a /proc; lesson 04 swaps chroot for pivot_root with the usual mounts and devices; lesson 05 a cgroup; lesson 06 an
 * overlay root; and so on. Each transform takes a spec and returns a new one with its feature added, so a lesson
 * writes `build(base, withUtsIpc('box'), withPid)` and shows exactly the fields its step adds — and every later
 * lesson and `ctr` reuse the same transforms instead of rebuilding the chain by hand.
 */
import { ociCapabilities, type CapabilityChanges } from './capabilities.ts';
import { DEFAULT_DEVICES, DEFAULT_MOUNTS, PROC_MOUNT, SYS_BIND_MOUNT } from './mounts.ts';
import { maskedPathsFor, READONLY_PATHS } from './security/paths.ts';
import type { NamespaceType } from './namespaces.ts';
import { CGROUP_PARENT } from './names.ts';
import {
  DEFAULT_PATH,
  withEnv,
  type ContainerSpec,
  type IdMapping,
  type Resources,
  type RootfsSource,
  type User,
} from './spec.ts';

export type Transform = (spec: ContainerSpec) => ContainerSpec;

/** Apply transforms left to right. */
export function build(base: ContainerSpec, ...transforms: Transform[]): ContainerSpec {
  return transforms.reduce((spec, t) => t(spec), base);
}

/** Lesson 01's container: a command chrooted into the rootfs, with a clean environment and nothing else. */
export function chrootSpec(opts: { id: string; rootfs: string; args: string[] }): ContainerSpec {
  return {
    id: opts.id,
    root: { path: opts.rootfs },
    rootfs: { type: 'bind' },
    process: { args: opts.args, env: [DEFAULT_PATH, 'HOME=/root'], cwd: '/' },
    mounts: [],
    linux: { namespaces: [], devices: [] },
    rootSwitch: 'chroot',
  };
}

function addNamespaces(spec: ContainerSpec, types: NamespaceType[]): ContainerSpec {
  const have = new Set(spec.linux.namespaces.map((n) => n.type));
  const added = types.filter((t) => !have.has(t)).map((type) => ({ type }));
  return { ...spec, linux: { ...spec.linux, namespaces: [...spec.linux.namespaces, ...added] } };
}

/** Lesson 02: its own hostname (UTS) and SysV IPC; HOSTNAME in the environment, as docker sets it. */
export function withUtsIpc(hostname: string): Transform {
  return (spec) => {
    const s = addNamespaces(spec, ['uts', 'ipc']);
    return { ...s, hostname, process: { ...s.process, env: withEnv(s.process.env, 'HOSTNAME', hostname) } };
  };
}

/** Lesson 03: its own PIDs, and a mount namespace so its own /proc can be mounted without touching the host. */
export const withPid: Transform = (spec) => {
  const s = addNamespaces(spec, ['pid', 'mount']);
  const mounts = s.mounts.some((m) => m.destination === '/proc') ? s.mounts : [...s.mounts, PROC_MOUNT];
  return { ...s, mounts };
};

/** Lesson 04: pivot_root instead of chroot, with /proc, a read-only /sys, a minimal /dev, /dev/pts, /dev/shm. */
export const withPivotRoot: Transform = (spec) => {
  const s = addNamespaces(spec, ['mount']);
  return {
    ...s,
    rootSwitch: 'pivot_root',
    mounts: [...DEFAULT_MOUNTS],
    linux: { ...s.linux, devices: [...DEFAULT_DEVICES] },
  };
};

/** Lesson 05: a cgroup of its own (/scratch/<id>) with these limits, and a cgroup namespace to hide the tree above. */
export function withCgroup(resources: Resources = {}): Transform {
  return (spec) => {
    const s = addNamespaces(spec, ['cgroup']);
    return { ...s, linux: { ...s.linux, cgroupsPath: `/${CGROUP_PARENT}/${spec.id}`, resources } };
  };
}

/** Lesson 06: the root is an overlay of read-only layers with the container's own upper dir, mounted on `root`. */
export function withOverlay(root: string, rootfs: Extract<RootfsSource, { type: 'overlay' }>): Transform {
  return (spec) => ({ ...spec, root: { ...spec.root, path: root }, rootfs });
}

/** A working directory inside the container (docker run -w). */
export function withCwd(cwd: string): Transform {
  return (spec) => ({ ...spec, process: { ...spec.process, cwd } });
}

/** Another command, same container (docker run IMAGE CMD…). */
export function withArgs(args: string[]): Transform {
  return (spec) => ({ ...spec, process: { ...spec.process, args } });
}

/** Lessons 02–05 in one: the container as lesson 04 leaves it (own hostname, IPC, PIDs, mounts; pivot_root). */
export function isolatedSpec(opts: { id: string; rootfs: string; args: string[]; hostname?: string }): ContainerSpec {
  return build(chrootSpec(opts), withUtsIpc(opts.hostname ?? `scr${opts.id}`), withPid, withPivotRoot);
}

export interface SecurityOptions extends CapabilityChanges {
  /** docker --security-opt no-new-privileges. */
  noNewPrivileges?: boolean;
  /** docker --security-opt seccomp=unconfined turns the filter off. */
  seccomp?: 'default' | 'unconfined';
  /** This machine's CPU numbers: docker masks each CPU's thermal_throttle directory too. */
  cpus?: number[];
}

/**
 * Lesson 11: what docker does to every container by default — docker's 14 capabilities (plus --cap-add, minus
 * --cap-drop) in the bounding, permitted and effective sets, masked and read-only paths in /proc and /sys, and
 * its seccomp filter; no_new_privs only when asked for.
 */
export function withSecurity(opts: SecurityOptions = {}): Transform {
  return (spec) => ({
    ...spec,
    process: {
      ...spec.process,
      capabilities: ociCapabilities({ add: opts.add, drop: opts.drop }),
      noNewPrivileges: opts.noNewPrivileges ?? false,
    },
    linux: {
      ...spec.linux,
      maskedPaths: maskedPathsFor(opts.cpus ?? []),
      readonlyPaths: [...READONLY_PATHS],
      ...(opts.seccomp === 'unconfined' ? { seccomp: undefined } : { seccomp: { profile: 'default' } }),
    },
  });
}

/** Lesson 11: a read-only root filesystem (docker --read-only). */
export const withReadOnlyRoot: Transform = (spec) => ({ ...spec, root: { ...spec.root, readonly: true } });

/** A writable tmpfs where a program needs one, typically with a read-only root (docker --tmpfs DIR). */
export function withTmpfs(dirs: string[]): Transform {
  return (spec) => ({
    ...spec,
    mounts: [
      ...spec.mounts,
      ...dirs.map((destination) => ({
        destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'noexec', 'mode=1777'],
      })),
    ],
  });
}

/** docker run --user: the command runs as this uid and gid (and its supplementary groups). */
export function withUser(user: User): Transform {
  return (spec) => ({ ...spec, process: { ...spec.process, user } });
}

/**
 * Lesson 09: a user namespace of its own, with these maps — root inside is whoever uid 0 maps to outside. Two
 * mounts change with it: a fresh sysfs needs a network namespace the user namespace owns, so the host's /sys is
 * bound in read-only instead (lib/mounts.ts); and the init binds device nodes from the host's /dev, since mknod
 * is refused in a user namespace (lib/init/plan.ts). Apply it after withPivotRoot, which sets the mounts.
 */
export function withUserns(maps: { uidMappings: IdMapping[]; gidMappings: IdMapping[] }): Transform {
  return (spec) => {
    const s = addNamespaces(spec, ['user']);
    return {
      ...s,
      mounts: s.mounts.map((m) => (m.destination === '/sys' && m.type === 'sysfs' ? SYS_BIND_MOUNT : m)),
      linux: { ...s.linux, uidMappings: [...maps.uidMappings], gidMappings: [...maps.gidMappings] },
    };
  };
}

/**
 * Lesson 09's rootless container: a user namespace with these maps, and a network namespace of its own — an
 * unprivileged user can join nothing root made, and its user namespace must own the network namespace it
 * configures (a user-mode stack such as slirp4netns attaches to it from outside).
 */
export function withRootless(maps: { uidMappings: IdMapping[]; gidMappings: IdMapping[] }): Transform {
  return (spec) => withUserns(maps)(addNamespaces(spec, ['network']));
}

/** A host file or directory bound into the container (docker run -v SOURCE:DESTINATION). */
export function withBind(source: string, destination: string, options: string[] = []): Transform {
  return (spec) => ({
    ...spec,
    mounts: [...spec.mounts, { destination, type: 'bind', source, options: ['bind', ...options] }],
  });
}
