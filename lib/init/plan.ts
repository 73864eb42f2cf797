/**
 * The init plan: from a container spec to the ordered list of operations its first process performs.
 *
 * The order is the whole craft of a container runtime, and every line of it has a reason:
 *   1. sync first — the host puts the process into its cgroup before it does anything, so every page it touches
 *      from then on is counted there (and for a TypeScript init, only after Node has started its threads, which
 *      a tight pids.max would otherwise refuse);
 *   2. the cgroup namespace only after that, so its root is the container's own cgroup;
 *   3. propagation private before the first mount, or the mounts would appear on the host;
 *   4. mounts and devices into the new root while the host's paths are still reachable (a bind source lives on
 *      the host), then pivot_root(".", ".") and detaching the old root — no `.oldroot` directory is ever made
 *      in the rootfs, so any number of containers can share one; with `-t`, the terminal right after (its
 *      /dev/ptmx must be the container's own devpts, and /dev/console is still writable), as runc does;
 *   5. masked and read-only paths, then the read-only root, once the container's /proc and / are in place;
 *   6. the bounding set dropped before the uid change (which needs CAP_SETUID, and after which only permitted
 *      capabilities kept by PR_SET_KEEPCAPS survive), then capset and the ambient set;
 *   7. no_new_privs, then seccomp as late as possible — unless no_new_privs is off, when installing a filter
 *      needs CAP_SYS_ADMIN and so comes before the capabilities go (runc does the same);
 *   8. signals back to default, every fd but 0–2 closed on exec, and execve.
 * `exec` into a running container reuses 1 and 6–8, entering the container's root by chroot("/proc/PID/root").
 *
 * With a user namespace (lesson 09) the init is root only inside it, and two things a host's root does are
 * refused there: mknod (device nodes are bound from the host's /dev instead, as runc does for rootless
 * containers) and overlay's trusted.* xattrs (it keeps them in user.* instead: `userxattr`). Its maps were
 * written before the init started (lib/userns.ts says why), so the plan itself has no step for them.
 */
import { DEV_SYMLINKS, type Mount } from '../mounts.ts';
import { parseMountOptions } from '../mount-options.ts';
import { hasNamespace, validateSpec, type ContainerSpec } from '../spec.ts';
import type { InitOp, InitPlan, PlanStep } from './ops.ts';
import { TERMINAL_FD } from './protocol.ts';

/** Which init runs the plan: the `sh` script of lessons 02–06, or the TypeScript init (lesson 07 on, `ctr`). */
export type Executor = 'sh' | 'ts';

/**
 * Parts of the plan a learner can write, with lib's as the default: how the rootfs becomes a mount point of a
 * private tree, and how pivot_root switches to it and lets go of the host's root (lesson 04's exercise); how
 * an overlay root names its layers (lesson 06's).
 */
export interface PlanParts {
  rootMountOps: (root: string) => InitOp[];
  pivotRootOps: (root: string) => InitOp[];
  /** Lesson 06's exercise: the overlay's layers, as the options of its mount. */
  overlayData: (lower: readonly string[], upper: string, work: string) => string;
}

/**
 * Private propagation first (or the mounts that follow would appear on the host), then the rootfs bound onto
 * itself: pivot_root wants its new root to be a mount point, and a bind mount makes one.
 */
export function rootMountOps(root: string): InitOp[] {
  return [
    { op: 'makePrivate' },
    { op: 'mount', source: root, target: root, fstype: null, flags: ['MS_BIND', 'MS_REC'], data: '' },
  ];
}

/**
 * From inside the new root, pivot_root(".", ".") makes it / and stacks the old root on top of it at ".", where
 * umount2(".", MNT_DETACH) lets go of it — no directory for the old root is ever needed — then chdir("/").
 */
export function pivotRootOps(root: string): InitOp[] {
  return [{ op: 'chdir', path: root }, { op: 'pivotRoot' }, { op: 'detachOldRoot' }, { op: 'chdir', path: '/' }];
}

const LIB_PARTS: PlanParts = { rootMountOps, pivotRootOps, overlayData };

export interface RunPlanOptions {
  mode: 'run';
  executor: Executor;
  parts?: Partial<PlanParts>;
}

export interface ExecPlanOptions {
  mode: 'exec';
  /** Host PID of the container's first process: its root is the one to enter. */
  targetPid: number;
  /** The exec'd command, and how it differs from the container's first process (`ctr exec -e K=V -w DIR`). */
  args: string[];
  env?: string[];
  cwd?: string;
  /** `ctr exec -t`: the exec'd command gets a pseudo-terminal of its own, of this size when given. */
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
}

export type PlanOptions = RunPlanOptions | ExecPlanOptions;

/** A path inside the container, before pivot_root: under the rootfs. */
function inRoot(root: string, p: string): string {
  const clean = `/${p}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return clean === '' ? root : `${root}${clean}`;
}

/** mkdir the mount point, mount, and — for a bind mount with flags — the remount that applies them. */
export function mountOps(root: string, m: Mount): InitOp[] {
  const target = inRoot(root, m.destination);
  const { flags, data, propagation, recursiveReadonly } = parseMountOptions(m.options);
  const isBind = m.type === 'bind' || flags.includes('MS_BIND');
  // A file is bound onto a file (resolv.conf), a directory onto a directory: the source's type decides, when it runs.
  const ops: InitOp[] = [isBind ? { op: 'mkpath', path: target, like: m.source } : { op: 'mkpath', path: target }];
  if (isBind) {
    const bindFlags = flags.filter((f) => f === 'MS_BIND' || f === 'MS_REC');
    if (!bindFlags.includes('MS_BIND')) bindFlags.unshift('MS_BIND');
    ops.push({ op: 'mount', source: m.source, target, fstype: null, flags: bindFlags, data: '' });
    // A bind mount ignores every other flag on its first call: ro, nosuid, … need a remount.
    const rest = flags.filter((f) => f !== 'MS_BIND' && f !== 'MS_REC');
    if (rest.length > 0) {
      ops.push({
        op: 'mount',
        source: null,
        target,
        fstype: null,
        flags: ['MS_REMOUNT', 'MS_BIND', ...rest],
        data: '',
      });
    }
  } else {
    ops.push({ op: 'mount', source: m.source, target, fstype: m.type, flags, data });
  }
  if (propagation.length > 0)
    ops.push({ op: 'mount', source: null, target, fstype: null, flags: propagation, data: '' });
  if (recursiveReadonly) ops.push({ op: 'readonlyTree', path: target });
  return ops;
}

/**
 * The overlay's options: lower layers top first (the leftmost is on top, and the one a name is looked up in
 * first), then the container's own upper directory, where every write lands, and its work directory, where
 * overlayfs prepares a copy-up before renaming it into upper.
 */
export function overlayData(lower: readonly string[], upper: string, work: string): string {
  return `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
}

/**
 * The container's devices: made with mknod — or, in a user namespace, where mknod is refused, bound from the
 * host's own node onto an empty file (the node is the host's; the container gets only the ones listed).
 */
function deviceOps(root: string, devices: ContainerSpec['linux']['devices'], userns: boolean): InitOp[] {
  return devices.flatMap((d): InitOp[] => {
    const path = inRoot(root, d.path);
    if (!userns) {
      return [{ op: 'mknod', path, type: d.type, major: d.major, minor: d.minor, mode: d.fileMode }];
    }
    return [
      { op: 'mkpath', path, like: d.path },
      { op: 'mount', source: d.path, target: path, fstype: null, flags: ['MS_BIND'], data: '' },
    ];
  });
}

/**
 * Two overlayfs features the runtime always turns off, whatever the kernel's defaults: with `redirect_dir` on,
 * renaming a directory that came from a lower layer is recorded in upper as an xattr pointing at its old path;
 * with `metacopy` on, a chmod or chown copies up only the metadata and leaves the data in the lower layer. Either
 * way the upper directory stops being a complete list of what the container changed, and `docker diff` or a
 * commit (a tar of upper, lib/image/commit.ts) would be wrong: docker's overlay2 driver falls back to a slow
 * file-by-file comparison when it finds them on. Off, a renamed lower directory is copied whole (rename(2)
 * says EXDEV and `mv` copies), and upper is always the container's whole diff.
 */
export const OVERLAY_FEATURES = 'redirect_dir=off,metacopy=off';

function rootSteps(spec: ContainerSpec, parts: PlanParts): PlanStep[] {
  const root = spec.root.path;
  const userns = hasNamespace(spec, 'user');
  const steps: PlanStep[] = [];
  const privateStep: PlanStep = {
    feature: 'mount namespace: nothing mounted here propagates to the host',
    ops: [{ op: 'makePrivate' }],
  };
  if (spec.rootSwitch === 'pivot_root' && spec.rootfs.type === 'bind') {
    steps.push({
      feature: 'a private mount tree, the rootfs bound onto itself (a mount point)',
      ops: parts.rootMountOps(root),
    });
  } else if (hasNamespace(spec, 'mount')) {
    steps.push(privateStep);
  }
  if (spec.rootSwitch === 'pivot_root') {
    if (spec.rootfs.type === 'overlay') {
      const { lower, upper, work } = spec.rootfs;
      steps.push({
        feature: 'overlay: read-only layers, this container’s own upper dir on top',
        ops: [
          {
            op: 'mount',
            source: 'overlay',
            target: root,
            fstype: 'overlay',
            flags: [],
            // In a user namespace overlayfs wants userxattr, and refuses it next to any redirect_dir or metacopy
            // option (EINVAL): with userxattr it turns both off by itself.
            data: `${parts.overlayData(lower, upper, work)},${userns ? 'userxattr' : OVERLAY_FEATURES}`,
          },
        ],
      });
    }
  }
  if (spec.mounts.length > 0) {
    steps.push({
      feature: `mounts inside the root: ${spec.mounts.map((m) => m.destination).join(', ')}`,
      ops: spec.mounts.flatMap((m) => mountOps(root, m)),
    });
  }
  if (spec.linux.devices.length > 0) {
    steps.push({
      feature: userns
        ? 'devices: the harmless ones, bound from the host (mknod is refused in a user namespace)'
        : 'devices: only the harmless ones, and the usual links',
      ops: [
        ...deviceOps(root, spec.linux.devices, userns),
        ...DEV_SYMLINKS.map(([target, link]): InitOp => ({ op: 'symlink', target, path: inRoot(root, link) })),
      ],
    });
  }
  return steps;
}

function switchRootSteps(spec: ContainerSpec, parts: PlanParts): PlanStep[] {
  if (spec.rootSwitch === 'chroot') {
    return [
      {
        feature: 'chroot: the rootfs becomes / (the host’s tree stays reachable)',
        ops: [
          { op: 'chroot', path: spec.root.path },
          { op: 'chdir', path: '/' },
        ],
      },
    ];
  }
  const steps: PlanStep[] = [
    {
      feature: 'pivot_root: the rootfs becomes /, the host’s root is detached',
      ops: parts.pivotRootOps(spec.root.path),
    },
  ];
  // docker makes a -w (or image WorkingDir) the rootfs lacks. Here, after pivot_root, so that a symlink in the
  // rootfs resolves inside it and never on the host; before the root is made read-only, so --read-only works too.
  if (spec.process.cwd !== '/') {
    steps.push({
      feature: 'working directory: made if the rootfs lacks it',
      ops: [{ op: 'mkpath', path: spec.process.cwd }],
    });
  }
  const { readonlyPaths = [], maskedPaths = [] } = spec.linux;
  if (readonlyPaths.length + maskedPaths.length > 0) {
    steps.push({
      feature: 'read-only and masked paths: kernel knobs and host information out of reach',
      ops: [
        ...readonlyPaths.map((path): InitOp => ({ op: 'readonlyPath', path })),
        ...maskedPaths.map((path): InitOp => ({ op: 'maskPath', path })),
      ],
    });
  }
  if (spec.root.readonly) steps.push({ feature: 'a read-only root filesystem', ops: [{ op: 'readonlyRoot' }] });
  return steps;
}

/** Capabilities, user, no_new_privs and seccomp, in the order that works (see the module comment, 6–7). */
function privilegeSteps(process: ContainerSpec['process'], seccomp: string | undefined): PlanStep[] {
  const steps: PlanStep[] = [];
  const early = seccomp !== undefined && !process.noNewPrivileges;
  const filter: PlanStep | undefined = seccomp
    ? {
        feature: `seccomp: the ${seccomp} filter on every system call from now on`,
        ops: [{ op: 'seccomp', profile: seccomp }],
      }
    : undefined;
  if (filter && early) steps.push(filter);
  const caps = process.capabilities;
  const user = process.user;
  const changesUser =
    user !== undefined && (user.uid !== 0 || user.gid !== 0 || (user.additionalGids?.length ?? 0) > 0);
  if (caps)
    steps.push({ feature: 'capabilities: the bounding set first', ops: [{ op: 'dropBounding', keep: caps.bounding }] });
  if (user && changesUser) {
    const setUser: InitOp = {
      op: 'setUser',
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids ?? [],
    };
    steps.push({
      feature: `user: uid ${user.uid}, gid ${user.gid}`,
      ops: caps ? [{ op: 'keepCaps', on: true }, setUser, { op: 'keepCaps', on: false }] : [setUser],
    });
  }
  if (caps) {
    steps.push({
      feature: 'capabilities: effective, permitted, inheritable, ambient',
      ops: [
        { op: 'capset', effective: caps.effective, permitted: caps.permitted, inheritable: caps.inheritable },
        { op: 'ambient', raise: caps.ambient },
      ],
    });
  }
  if (process.noNewPrivileges) steps.push({ feature: 'no_new_privs', ops: [{ op: 'noNewPrivs' }] });
  if (filter && !early) steps.push(filter);
  return steps;
}

/**
 * `-t`: a new pseudo-terminal inside the container, its master handed to the host. The host's own terminal is of
 * no use in there: the container's devpts (newinstance) does not hold it, so `tty` would say "not a tty", and a
 * shell could not make it its controlling terminal (no job control, no Ctrl-C for its foreground job).
 */
function terminalStep(process: ContainerSpec['process'], console: boolean): PlanStep {
  const size = process.consoleSize;
  return {
    feature: `terminal: a pty of the container’s own on 0–2${console ? ' and /dev/console' : ''}, its master sent to the host`,
    ops: [
      {
        op: 'terminal',
        socket: TERMINAL_FD,
        uid: process.user?.uid ?? 0,
        console,
        // The command may ask its size at once (a shell does): set here, before it runs, not by the host later.
        ...(size ? { size: { rows: size.height, columns: size.width } } : {}),
      },
    ],
  };
}

function handOverStep(args: string[], env: string[]): PlanStep {
  return {
    feature: 'become the command: same PID, its environment, fds 0–2 only',
    ops: [{ op: 'resetSignals' }, { op: 'closeFds' }, { op: 'exec', args, env }],
  };
}

/** The plan for a container's first process (`run`) or for a process joining it (`exec`). Pure. */
export function initPlan(spec: ContainerSpec, opts: PlanOptions): InitPlan {
  validateSpec(spec);
  const seccomp = spec.linux.seccomp?.profile;
  if (opts.mode === 'exec') {
    const process = {
      ...spec.process,
      env: opts.env ?? spec.process.env,
      cwd: opts.cwd ?? spec.process.cwd,
      consoleSize: opts.consoleSize,
    };
    return {
      mode: 'exec',
      id: spec.id,
      root: spec.root.path,
      steps: [
        { feature: 'sync: the host moves us into the container’s cgroup', ops: [{ op: 'sync' }] },
        {
          feature: 'the container’s root, through its first process',
          ops: [
            { op: 'chroot', path: `/proc/${opts.targetPid}/root` },
            { op: 'chdir', path: process.cwd },
          ],
        },
        ...(opts.terminal ? [terminalStep(process, false)] : []),
        ...privilegeSteps(process, seccomp),
        handOverStep(opts.args, process.env),
      ],
    };
  }

  const steps: PlanStep[] = [{ feature: 'sync: tell the host we are ready, wait for its go', ops: [{ op: 'sync' }] }];
  // The sh init's cgroup namespace is made by `unshare --cgroup` after the launcher joined the cgroup (a shell has
  // no unshare(2)); the TypeScript init joins at the sync point, so it makes the namespace itself, afterwards.
  if (opts.executor === 'ts' && hasNamespace(spec, 'cgroup') && spec.linux.cgroupsPath) {
    steps.push({ feature: 'cgroup namespace: our cgroup looks like the root', ops: [{ op: 'unshareCgroupns' }] });
  }
  if (spec.hostname !== undefined) {
    steps.push({ feature: 'UTS namespace: our own hostname', ops: [{ op: 'sethostname', name: spec.hostname }] });
  }
  const parts = { ...LIB_PARTS, ...opts.parts };
  const [switchRoot, ...afterSwitch] = switchRootSteps(spec, parts);
  steps.push(...rootSteps(spec, parts), ...(switchRoot ? [switchRoot] : []));
  if (spec.process.terminal) steps.push(terminalStep(spec.process, true));
  steps.push(...afterSwitch);
  if (spec.process.cwd !== '/')
    steps.push({ feature: 'working directory', ops: [{ op: 'chdir', path: spec.process.cwd }] });
  steps.push(...privilegeSteps(spec.process, seccomp), handOverStep(spec.process.args, spec.process.env));
  return { mode: 'run', id: spec.id, root: spec.root.path, steps };
}
