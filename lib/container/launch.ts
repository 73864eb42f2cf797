/**
 * The command line that starts a container, or a process inside a running one: pure argv builders.
 *
 * Node cannot put itself into new namespaces (a multithreaded process may not unshare its mount namespace, and a
 * new PID namespace only applies to children), so a container is started by the same util-linux tools a learner
 * can type, each doing one thing, then handing over with exec:
 *
 *   env -i [K=V…]                          a clean environment: nothing of the host's leaks in
 *   [sh -c 'echo $$ > cgroup.procs…' …]    the sh init only: join the cgroup before anything else runs
 *   [nsenter --net=/run/netns/scr…]        join namespaces that already exist (lesson 08's network)
 *   [setpriv --reuid=100000 …]             with a user namespace: become the host uid the container's root maps to
 *   unshare --uts --ipc --pid --mount …    make the new ones; --fork, since only children enter a PID namespace
 *   [sh -c '<wait for the maps>']          with a user namespace: stop until the host has written uid_map, gid_map
 *   sh -c '<init.sh>' …   or   node init.cjs    the init, which runs the plan and execs the command
 *
 * A container with a user namespace (lesson 09, `ctr run --userns`) is started as the host uid its root maps to,
 * never as root, and its init must start *after* its maps exist: a program exec'd in a user namespace whose map
 * does not list it loses every capability there. util-linux's own `unshare --map-users` can write maps only
 * through newuidmap, which refuses root a range /etc/subuid does not grant it, and cannot wait for a map written
 * by someone else; so the launcher's last host program before the init is a one-line `sh` that says
 * `userns` on the sync socket and waits for `mapped` — the user namespace's own sync point.
 *
 * `exec` into a running container joins its namespaces with `nsenter`, keeping the host's root for a moment
 * (`--root=/`) so the host's node can start; the init then enters the container's root itself.
 */
import { NAMESPACES, orderedNamespaces, type NamespaceType } from '../namespaces.ts';
import { hasNamespace, joinedNamespaces, mappedRoot, newNamespaces, type ContainerSpec } from '../spec.ts';
import { asUser } from '../userns.ts';
import type { Executor } from '../init/plan.ts';
import { INIT_NAME, scriptArgs, type ShScript } from '../init/render-sh.ts';

/**
 * The cgroup prologue of the sh init: a host `sh` writes its own PID ($$) into each cgroup.procs given before `--`,
 * then execs the rest — so the process that goes on to make the namespaces is already in the cgroup. Paths are
 * positional parameters, never part of the script text.
 */
export const CGROUP_PROLOGUE = 'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"';

export function cgroupPrologueArgv(procsFiles: readonly string[]): string[] {
  return procsFiles.length === 0 ? [] : ['sh', '-c', CGROUP_PROLOGUE, 'scr-cgroup', ...procsFiles, '--'];
}

/** `env -i K=V…`: the environment the next program starts with, and nothing else. */
export function envArgv(env: readonly string[]): string[] {
  return ['env', '-i', ...env];
}

/** `nsenter --net=PATH … --` for the namespaces the spec joins by path; nothing when it joins none. */
export function joinArgv(spec: ContainerSpec): string[] {
  const joins = joinedNamespaces(spec);
  if (joins.length === 0) return [];
  const byType = new Map(joins);
  return [
    'nsenter',
    ...orderedNamespaces([...byType.keys()]).map((t) => `${NAMESPACES[t].flag}=${byType.get(t)}`),
    '--',
  ];
}

/**
 * The cgroup namespace is made by `unshare` unless the TypeScript init makes it itself after joining the cgroup
 * (see lib/init/plan.ts): a namespace made before the join would be rooted at the host's cgroup.
 */
export function cgroupnsByInit(spec: ContainerSpec, executor: Executor): boolean {
  return executor === 'ts' && hasNamespace(spec, 'cgroup') && !!spec.linux.cgroupsPath;
}

/**
 * `unshare <new namespaces> [--fork --kill-child] --` (lesson 03's exercise): the flag of each new namespace, in
 * NAMESPACE_ORDER; with a PID namespace, --fork (unshare(2) moves only the children it starts afterwards into a
 * new PID namespace, so the init must be a child) and --kill-child (the container dies with its launcher).
 */
export function unshareArgvFor(spec: ContainerSpec, executor: Executor): string[] {
  const types = newNamespaces(spec).filter((t) => !(t === 'cgroup' && cgroupnsByInit(spec, executor)));
  const ordered = orderedNamespaces(types);
  const fork = ordered.includes('pid');
  // --kill-child: if unshare dies (Ctrl-C, a cleanup's SIGKILL), the kernel kills the container with it.
  return [
    'unshare',
    ...ordered.map((t: NamespaceType) => NAMESPACES[t].flag),
    ...(fork ? ['--fork', '--kill-child'] : []),
    '--',
  ];
}

/**
 * The user namespace's sync point, as a host `sh` between unshare and the init: say `userns`, wait for the
 * host's `mapped`, then exec the init with the maps in place. The host knows which process it is: unshare's
 * child (or unshare itself, without a PID namespace) — and any process in the namespace can take its maps.
 */
export const USERNS_WAIT = 'echo userns >&3; read -r go <&3; [ "$go" = mapped ] && exec "$@"';

/** $0 of that `sh`, as `ps` shows it for the moment it waits. */
export const USERNS_WAITER = 'scr-userns';

/** `setpriv … --` as the host uid and gid of the container's root; nothing without a user namespace. */
export function mappedRootArgv(spec: ContainerSpec): string[] {
  const root = mappedRoot(spec);
  return root ? asUser(root, []) : [];
}

/** The waiter in front of the init, with a user namespace; nothing without one. */
export function usernsWaitArgv(spec: ContainerSpec): string[] {
  return hasNamespace(spec, 'user') ? ['sh', '-c', USERNS_WAIT, USERNS_WAITER] : [];
}

export interface TsInit {
  /** The node binary: the host's, the one running this (process.execPath). */
  node: string;
  /** dist/init.cjs (lib/bundle.ts). */
  bundle: string;
}

export type InitProgram = { executor: 'sh'; script: ShScript } | { executor: 'ts'; init: TsInit };

/** How the namespaces are made (lesson 03's exercise replaces it with the learner's). */
export type UnshareArgv = (spec: ContainerSpec, executor: Executor) => string[];

/** The whole argv that starts the container. Pure. */
export function runArgv(
  spec: ContainerSpec,
  program: InitProgram,
  procsFiles: readonly string[] = [],
  unshare: UnshareArgv = unshareArgvFor,
): string[] {
  if (program.executor === 'sh') {
    if (hasNamespace(spec, 'user')) {
      throw new Error(
        'the sh init cannot start a container with a user namespace (it mknods); use the TypeScript init',
      );
    }
    return [
      ...envArgv(spec.process.env),
      ...cgroupPrologueArgv(procsFiles),
      ...joinArgv(spec),
      ...unshare(spec, 'sh'),
      'sh',
      '-c',
      program.script.text,
      INIT_NAME,
      ...scriptArgs(program.script),
      ...spec.process.args,
    ];
  }
  // The TypeScript init gets its environment from the plan (execve's envp): node itself starts with none.
  // Namespaces made by root are joined as root, before setpriv gives up root for the container's mapped uid.
  return [
    ...envArgv([]),
    ...joinArgv(spec),
    ...mappedRootArgv(spec),
    ...unshare(spec, 'ts'),
    ...usernsWaitArgv(spec),
    program.init.node,
    program.init.bundle,
  ];
}

/**
 * `exec` through the TypeScript init: join every namespace of the container's first process (cgroup namespace
 * included), keep the host's root (--root=/ --wd=/) so node and the init bundle can be found, then the init
 * chroots into /proc/PID/root. The host moves the process into the container's cgroup at the sync point.
 */
export function execArgvFor(spec: ContainerSpec, targetPid: number | string, init: TsInit): string[] {
  const types = orderedNamespaces(spec.linux.namespaces.map((n) => n.type));
  return [
    ...envArgv([]),
    'nsenter',
    '--target',
    String(targetPid),
    ...types.map((t) => NAMESPACES[t].flag),
    '--root=/',
    '--wd=/',
    '--',
    init.node,
    init.bundle,
  ];
}

/**
 * A plain `nsenter` into a running container (lessons 02–05's evidence, and lesson 10's first, incomplete exec):
 * the container's environment and namespaces and its root, but not its capabilities or seccomp — nor its cgroup,
 * unless its cgroup.procs files are given for the prologue.
 *
 * Run by root, `nsenter --user` becomes uid 0 *inside* the container's user namespace, which is the container's
 * mapped root outside. `as` runs it as that user instead (lesson 09's rootless container, entered by its own
 * user): it keeps its uid (--preserve-credentials), which the map already makes root inside — a user cannot
 * setgroups, and needs not.
 */
export function nsenterExecArgv(
  spec: ContainerSpec,
  targetPid: number | string,
  argv: readonly string[],
  procsFiles: readonly string[] = [],
  as?: { uid: number; gid: number },
): string[] {
  const types = orderedNamespaces(spec.linux.namespaces.map((n) => n.type));
  return [
    ...envArgv(spec.process.env),
    ...cgroupPrologueArgv(procsFiles),
    ...(as ? asUser(as, []) : []),
    'nsenter',
    '--target',
    String(targetPid),
    ...types.map((t) => NAMESPACES[t].flag),
    ...(as && types.includes('user') ? ['--preserve-credentials'] : []),
    '--root',
    '--wd',
    '--',
    ...argv,
  ];
}
