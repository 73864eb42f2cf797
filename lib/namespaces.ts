/**
 * Namespaces: what a process can see.
 *
 * A namespace wraps one global resource of the kernel so that the processes inside it get their own copy: a UTS
 * namespace has its own hostname, an IPC namespace its own SysV message queues and shared memory, a PID namespace
 * its own process numbers (starting again at 1), a mount namespace its own tree of mounted filesystems, and so
 * on. Nothing else changes: the process still runs on the same kernel, next to every other process; it just
 * cannot see theirs. A "container" is a process started in a fresh set of these.
 *
 * The kernel offers three system calls for this: `clone(2)` starts a process in new namespaces, `unshare(2)`
 * moves the caller into new ones, `setns(2)` joins existing ones. Node cannot call them for itself — a
 * multithreaded process may not unshare its mount or user namespace, and a new PID namespace only applies to the
 * children it starts afterwards — so the workshop uses the same util-linux tools a learner would type:
 * `unshare` to create namespaces and `nsenter` to join them. This module builds their argv (pure, unit-tested)
 * and reads the result back from the host through /proc.
 *
 * The names of the namespace types follow the OCI runtime spec (`network`, `mount`), which is what a
 * `config.json` says; /proc calls the same namespaces `net` and `mnt`.
 */
import fs from 'node:fs';
import { NAMESPACE_KINDS, parseNamespaceLink, readStatusField, type NamespaceKind } from './proc.ts';
import type { Runner } from './runner.ts';

/** A namespace type as the OCI runtime spec names it (`linux.namespaces[].type`). */
export type NamespaceType = 'mount' | 'uts' | 'ipc' | 'pid' | 'network' | 'user' | 'cgroup' | 'time';

export interface NamespaceInfo {
  /** The link name in /proc/<pid>/ns. */
  proc: NamespaceKind;
  /** The option that `unshare` and `nsenter` both use for it. */
  flag: string;
  /** What it isolates, in a few words. */
  isolates: string;
  /** The docker option that controls it. */
  docker: string;
}

export const NAMESPACES: Readonly<Record<NamespaceType, NamespaceInfo>> = {
  user: { proc: 'user', flag: '--user', isolates: 'user and group IDs, capabilities', docker: '--userns' },
  cgroup: { proc: 'cgroup', flag: '--cgroup', isolates: 'the view of the cgroup tree', docker: '--cgroupns' },
  ipc: { proc: 'ipc', flag: '--ipc', isolates: 'SysV IPC objects, POSIX message queues', docker: '--ipc' },
  uts: { proc: 'uts', flag: '--uts', isolates: 'hostname and NIS domain name', docker: '--hostname, --uts' },
  network: { proc: 'net', flag: '--net', isolates: 'network devices, addresses, routes, ports', docker: '--network' },
  pid: { proc: 'pid', flag: '--pid', isolates: 'process IDs', docker: '--pid' },
  mount: { proc: 'mnt', flag: '--mount', isolates: 'the tree of mounted filesystems', docker: '(always)' },
  time: { proc: 'time', flag: '--time', isolates: 'the boot and monotonic clocks', docker: '(none)' },
};

/**
 * The order namespaces are listed in, and joined in by `nsenter`. The user namespace comes first because it is
 * the one that grants capabilities over all the others (joining it first is what lets an unprivileged process
 * join the rest); the mount namespace comes late because once a process has entered it, the host's
 * /proc/<pid>/ns paths it still has to open may no longer be reachable. `unshare` creates all requested
 * namespaces in one system call, so for it the order is only how the command reads.
 */
export const NAMESPACE_ORDER: readonly NamespaceType[] = [
  'user',
  'cgroup',
  'ipc',
  'uts',
  'network',
  'pid',
  'mount',
  'time',
];

/** The requested types, deduplicated, in NAMESPACE_ORDER. */
export function orderedNamespaces(types: readonly NamespaceType[]): NamespaceType[] {
  return NAMESPACE_ORDER.filter((t) => types.includes(t));
}

export interface UnshareOptions {
  /**
   * Fork before running the command. Required for a PID namespace: `unshare(2)` does not move the caller into
   * the new PID namespace, only the children it creates afterwards, so the command must be a child.
   */
  fork?: boolean;
  /**
   * With `fork`: if `unshare` itself dies (Ctrl-C, SIGKILL from a cleanup), the kernel kills its child too, so a
   * container can never outlive the command that started it.
   */
  killChild?: boolean;
  /**
   * Mount propagation `unshare` applies to the new mount namespace. `unchanged` leaves it to the init script,
   * which makes it private itself, visibly (lesson 04 shows what happens when nobody does).
   */
  propagation?: 'private' | 'slave' | 'shared' | 'unchanged';
}

/** `unshare <flags> --` for these namespace types; the command to run follows. */
export function unshareArgv(types: readonly NamespaceType[], opts: UnshareOptions = {}): string[] {
  const ordered = orderedNamespaces(types);
  if (ordered.includes('pid') && !opts.fork) {
    throw new Error('a new PID namespace needs fork: true (only the children of unshare enter it)');
  }
  const argv = ['unshare', ...ordered.map((t) => NAMESPACES[t].flag)];
  if (opts.fork) argv.push('--fork');
  if (opts.fork && opts.killChild) argv.push('--kill-child');
  if (opts.propagation && ordered.includes('mount')) argv.push('--propagation', opts.propagation);
  argv.push('--');
  return argv;
}

export interface NsenterOptions {
  /** Also take the target's root directory (needed when it was made with chroot rather than pivot_root). */
  root?: boolean;
  /** Also take the target's working directory. */
  wd?: boolean;
}

/**
 * `nsenter --target <pid> <flags> --`: join the namespaces of a running process; the command follows. (`pid` may
 * be a placeholder like `$PID` when a command is only shown.)
 */
export function nsenterArgv(
  pid: number | string,
  types: readonly NamespaceType[],
  opts: NsenterOptions = {},
): string[] {
  const argv = ['nsenter', '--target', String(pid), ...orderedNamespaces(types).map((t) => NAMESPACES[t].flag)];
  if (opts.root) argv.push('--root');
  if (opts.wd) argv.push('--wd');
  argv.push('--');
  return argv;
}

export type NamespaceInodes = Partial<Record<NamespaceKind, number>>;

/** The namespaces in `ls -l /proc/<pid>/ns` output: `… uts -> uts:[4026532301]` per line. */
export function parseNamespaceListing(text: string): NamespaceInodes {
  const out: NamespaceInodes = {};
  for (const line of text.split('\n')) {
    const m = /\s([a-z_]+) -> '?([a-z_]+:\[\d+\])'?$/.exec(line.trim());
    const kind = m?.[1] as NamespaceKind | undefined;
    const inode = m?.[2] ? parseNamespaceLink(m[2]) : undefined;
    if (kind && NAMESPACE_KINDS.includes(kind) && inode !== undefined) out[kind] = inode;
  }
  return out;
}

/** The namespace kinds (as /proc names them) in which two processes differ. */
export function differingNamespaces(a: NamespaceInodes, b: NamespaceInodes): NamespaceKind[] {
  return NAMESPACE_KINDS.filter((k) => a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]);
}

/** The /proc kinds for a list of OCI types, e.g. `['uts', 'mount']` → `['mnt', 'uts']` (in /proc order). */
export function procKinds(types: readonly NamespaceType[]): NamespaceKind[] {
  const kinds = types.map((t) => NAMESPACES[t].proc);
  return NAMESPACE_KINDS.filter((k) => kinds.includes(k));
}

/** A process's namespaces as one line per kind, `uts     4026532301`, for printing side by side. */
export function formatNamespaces(ns: NamespaceInodes, kinds: readonly NamespaceKind[] = NAMESPACE_KINDS): string {
  return kinds
    .filter((k) => ns[k] !== undefined)
    .map((k) => `${k.padEnd(7)}${ns[k]}`)
    .join('\n');
}

/**
 * The PID of a process in each PID namespace it belongs to, outermost first: the `NSpid` line of
 * /proc/<pid>/status. `[4711, 1]` is the host's PID 4711, which is PID 1 in its own namespace.
 */
export function parseNsPid(field: string | undefined): number[] {
  return (field ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n));
}

export function readNsPid(pid: number): number[] {
  return parseNsPid(readStatusField(pid, 'NSpid'));
}

/**
 * Host PIDs of every process in the PID namespace with this inode, found by reading each /proc/<pid>/ns/pid
 * link: how the host sees "all the processes of the container".
 */
export function processesInPidNamespace(inode: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parseNamespaceLink(fs.readlinkSync(`/proc/${entry}/ns/pid`)) === inode) pids.push(Number(entry));
    } catch {
      // It exited while we looked, or is a kernel thread.
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The children of a process, from /proc/<pid>/task/<pid>/children (empty when it is gone). */
export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * A process's state letter (R running, S sleeping, Z zombie: exited, but not yet waited for by its parent) and
 * parent PID, from /proc/<pid>/stat; undefined once it is gone. The command name before them may contain spaces
 * and parentheses, hence the search for the last `)`.
 */
export function readProcessState(pid: number): { state: string; ppid: number; comm: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state = '', ppid = ''] = stat.slice(close + 2).split(' ');
    return { state, ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

/** This process's hostname, read from the kernel (/proc/sys/kernel/hostname): the host's, for the lesson runner. */
export function ownHostname(): string {
  return fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
}

/** The hostname as a process in `pid`'s UTS namespace sees it (the host's when `pid` is undefined). */
export async function readHostname(runner: Runner, pid?: number): Promise<string> {
  const argv = pid === undefined ? ['hostname'] : [...nsenterArgv(pid, ['uts']), 'hostname'];
  return (await runner.run(argv)).stdout.trim();
}

// ---- System V IPC, the thing an IPC namespace isolates ------------------------------------------------------

/** One message queue as `ipcs -q` lists it. IDs restart at 0 in every IPC namespace; keys tell queues apart. */
export interface IpcQueue {
  key: string;
  id: number;
}

/** The id `ipcmk -Q` prints: `Message queue id: 3`. */
export function parseIpcmkId(stdout: string): number | undefined {
  const m = /id:\s*(\d+)/.exec(stdout);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** The queues in `ipcs -q` output (rows under the `key msqid owner …` header). */
export function parseIpcsQueues(stdout: string): IpcQueue[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => /^0x[0-9a-f]+$/i.test(f[0] ?? '') && /^\d+$/.test(f[1] ?? ''))
    .map((f) => ({ key: f[0] ?? '', id: Number(f[1]) }));
}
