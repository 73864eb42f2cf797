/**
 * The lesson kit: a container spec built up one lesson at a time, one small transform per feature.
 *
 * Lesson 02 starts from a chrooted process and adds a UTS and an IPC namespace; lesson 03 adds a PID namespace and
 * a /proc; lesson 04 swaps chroot for pivot_root with the usual mounts and devices; lesson 05 a cgroup; lesson 06 an
 * overlay root; lesson 07 the process an image's config describes; lesson 08 a network namespace joined by path;
 * and so on. Each transform takes a spec and returns a new one with its feature added, so a lesson writes
 * `build(base, withUtsIpc('box'), withPid)` and shows exactly the fields its step adds — and every later lesson
 * and `ctr` reuse the same transforms instead of rebuilding the chain by hand.
 */
import { ociCapabilities, type CapabilityChanges } from './capabilities.ts';
import { DOCKER_DEVICE_RULES, type DeviceRule } from './cgroups/device-rules.ts';
import { CGROUP2_MOUNT, DEFAULT_DEVICES, DEFAULT_MOUNTS, PROC_MOUNT, SYS_BIND_MOUNT, type Mount } from './mounts.ts';
import { maskedPathsFor, READONLY_PATHS } from './security/paths.ts';
import type { NamespaceType } from './namespaces.ts';
import { CGROUP_PARENT } from './names.ts';
import { mergeEnv, withHome } from './image/config.ts';
import {
  DEFAULT_PATH,
  envValue,
  withEnv,
  type Capabilities,
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

/**
 * Lesson 02 (its exercise): the spec with its own hostname (UTS namespace) and SysV IPC (IPC namespace), and
 * HOSTNAME in the environment, as docker sets it.
 */
export function addUtsIpc(spec: ContainerSpec, hostname: string): ContainerSpec {
  const s = addNamespaces(spec, ['uts', 'ipc']);
  return { ...s, hostname, process: { ...s.process, env: withEnv(s.process.env, 'HOSTNAME', hostname) } };
}

export function withUtsIpc(hostname: string): Transform {
  return (spec) => addUtsIpc(spec, hostname);
}

/**
 * Lesson 03 (its exercise): the spec with its own PIDs (PID namespace), and a mount namespace with a proc
 * filesystem mounted at /proc, so `ps` inside sees only the container and the mount stays off the host.
 */
export function addPidNamespace(spec: ContainerSpec): ContainerSpec {
  const s = addNamespaces(spec, ['pid', 'mount']);
  const mounts = s.mounts.some((m) => m.destination === '/proc') ? s.mounts : [...s.mounts, PROC_MOUNT];
  return { ...s, mounts };
}

export const withPid: Transform = addPidNamespace;

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

/**
 * On a pure cgroup v2 host, the container's cgroup mounted read-only at /sys/fs/cgroup, as docker does: after
 * withCgroup (the mount is made inside the cgroup namespace, whose root is the container's cgroup) and after the
 * read-only /sys it sits on. On a v1 or hybrid host docker mounts each v1 hierarchy instead; here the container's
 * /sys/fs/cgroup then stays as sysfs shows it, and the limits are read from the host.
 */
export const withCgroupfs: Transform = (spec) => ({
  ...spec,
  mounts: [...spec.mounts.filter((m) => m.destination !== CGROUP2_MOUNT.destination), CGROUP2_MOUNT],
});

/** Lesson 06: the root is an overlay of read-only layers with the container's own upper dir, mounted on `root`. */
export function withOverlay(root: string, rootfs: Extract<RootfsSource, { type: 'overlay' }>): Transform {
  return (spec) => ({ ...spec, root: { ...spec.root, path: root }, rootfs });
}

/**
 * Lesson 07: the process an image's config describes (lib/image/config.ts `containerProcess`: Entrypoint + Cmd,
 * Env, WorkingDir), run as its `User` resolved in the image's own /etc/passwd and /etc/group (lib/image/user.ts),
 * with HOME from there unless the image sets it, and the HOSTNAME the container already has.
 */
export function withImageProcess(
  p: { args: readonly string[]; env: readonly string[]; cwd: string },
  user: { uid: number; gid: number; additionalGids: readonly number[]; home: string },
): Transform {
  return (spec) => {
    const hostname = envValue(spec.process.env, 'HOSTNAME');
    const env = withHome(mergeEnv(hostname === undefined ? [] : [`HOSTNAME=${hostname}`], p.env), user.home);
    return {
      ...spec,
      process: {
        ...spec.process,
        args: [...p.args],
        env,
        cwd: p.cwd,
        user: { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
      },
    };
  };
}

/**
 * Lesson 08: join a network namespace the host has already made and wired, by its path (as runc joins the one a
 * CNI plugin or docker made), with the container's own /etc/hosts and /etc/resolv.conf bound over the rootfs's.
 */
export function withNetwork(netnsPath: string, mounts: readonly Mount[] = []): Transform {
  return (spec) => ({
    ...spec,
    mounts: [...spec.mounts, ...mounts],
    linux: {
      ...spec.linux,
      namespaces: [...spec.linux.namespaces.filter((n) => n.type !== 'network'), { type: 'network', path: netnsPath }],
    },
  });
}

/** A working directory inside the container (docker run -w). */
export function withCwd(cwd: string): Transform {
  return (spec) => ({ ...spec, process: { ...spec.process, cwd } });
}

/**
 * docker run -e: each `NAME=value` set in the environment, in order, replacing what the image (or an earlier -e)
 * said for that name.
 */
export function withEnvVars(vars: readonly string[]): Transform {
  return (spec) => {
    const env = vars.reduce((e, v) => {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`withEnvVars wants NAME=value, not ${JSON.stringify(v)}`);
      return withEnv(e, v.slice(0, eq), v.slice(eq + 1));
    }, spec.process.env);
    return { ...spec, process: { ...spec.process, env } };
  };
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
  /** docker --device-cgroup-rule: more devices allowed, after docker's default rules. */
  deviceRules?: DeviceRule[];
}

/**
 * docker's rule for a user other than root: only the bounding set is given; effective, permitted (and the
 * others) start empty, as execve would leave them for a non-root program (moby's SetCapabilities). A setuid-root
 * program can still raise them up to the bounding set — unless no_new_privs is on.
 */
function capabilitiesFor(caps: Capabilities, user: User | undefined): Capabilities {
  if (!user || user.uid === 0) return caps;
  return { bounding: [...caps.bounding], effective: [], inheritable: [], permitted: [], ambient: [] };
}

/**
 * Lesson 11: the capability sets the command starts with (OCI `process.capabilities`), as computed by
 * `ociCapabilities()` — for a non-root user, the bounding set only.
 */
export function withCapabilities(caps: Capabilities): Transform {
  return (spec) => ({ ...spec, process: { ...spec.process, capabilities: capabilitiesFor(caps, spec.process.user) } });
}

/** Lesson 11: no_new_privs — execve can never grant more privileges (docker --security-opt no-new-privileges). */
export const withNoNewPrivileges: Transform = (spec) => ({
  ...spec,
  process: { ...spec.process, noNewPrivileges: true },
});

/** Lesson 11: docker's masked and read-only paths in /proc and /sys (`cpus`: this machine's CPU numbers). */
export function withMaskedPaths(cpus: readonly number[] = []): Transform {
  return (spec) => ({
    ...spec,
    linux: { ...spec.linux, maskedPaths: maskedPathsFor(cpus), readonlyPaths: [...READONLY_PATHS] },
  });
}

/**
 * Lesson 11: the device cgroup's rules (OCI `linux.resources.devices`) — by default docker's: any node may be made,
 * only null, zero, full, random, urandom, the terminals and tun opened. They live in a cgroup, so the container gets
 * one (`/scratch/<id>`) if it has none yet; whoever starts it makes that cgroup with the rules
 * (lib/cgroups `createCgroup(…, { devices })`) before the container's first process joins it.
 */
export function withDeviceRules(rules: readonly DeviceRule[] = DOCKER_DEVICE_RULES): Transform {
  return (spec) => ({
    ...spec,
    linux: {
      ...spec.linux,
      cgroupsPath: spec.linux.cgroupsPath ?? `/${CGROUP_PARENT}/${spec.id}`,
      resources: { ...spec.linux.resources, devices: [...rules] },
    },
  });
}

/** Lesson 11: docker's default seccomp filter, or none (`unconfined`: docker --security-opt seccomp=unconfined). */
export function withSeccomp(profile: 'default' | 'unconfined' = 'default'): Transform {
  return (spec) => ({
    ...spec,
    linux: { ...spec.linux, seccomp: profile === 'unconfined' ? undefined : { profile } },
  });
}

/**
 * Lesson 11: what docker does to every container by default — docker's 14 capabilities (plus --cap-add, minus
 * --cap-drop) in the bounding, permitted and effective sets, masked and read-only paths in /proc and /sys, its
 * seccomp filter, and its device rules (plus --device-cgroup-rule); no_new_privs only when asked for.
 */
export function withSecurity(opts: SecurityOptions = {}): Transform {
  return (spec) =>
    build(
      { ...spec, process: { ...spec.process, noNewPrivileges: opts.noNewPrivileges ?? false } },
      withCapabilities(ociCapabilities({ add: opts.add, drop: opts.drop })),
      withMaskedPaths(opts.cpus ?? []),
      withSeccomp(opts.seccomp ?? 'default'),
      withDeviceRules([...DOCKER_DEVICE_RULES, ...(opts.deviceRules ?? [])]),
    );
}

/** docker run --network none: a network namespace of its own, with only a loopback interface (down). */
export const withNoNetwork: Transform = (spec) => addNamespaces(spec, ['network']);

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
  return (spec) => {
    const caps = spec.process.capabilities;
    return {
      ...spec,
      process: { ...spec.process, user, ...(caps ? { capabilities: capabilitiesFor(caps, user) } : {}) },
    };
  };
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
