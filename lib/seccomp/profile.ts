/**
 * A seccomp profile — which system calls a container may make — and the default one, with the reason for each
 * rule.
 *
 * A profile is written in names and is independent of the architecture; `compile.ts` turns it into a BPF
 * program for one architecture. It has a default action and a list of rules; a rule names system calls, may
 * test their arguments, and says what happens when it matches. For a given call the rules are tried in order
 * and the first that matches decides; when none does, the default action does.
 *
 * Docker's profile is an *allow list*: about 360 calls are allowed, everything else fails with EPERM, so a
 * system call added to a future kernel is refused until someone reviews it. The default profile here is the
 * same policy written the other way round — everything is allowed except what docker refuses — because what a
 * container must *not* do is the lesson: each entry below is a door, with the reason it is shut. The price is
 * that a brand-new system call is allowed until it is added here; capabilities, dropped before the filter is
 * installed, still stand behind almost every one of these doors. The test suite compares this list with
 * docker's profile call by call on both architectures (seccomp-profile.test.ts lists the differences, each
 * with its reason).
 */
import { kernelAtLeast } from '../preflight.ts';
import {
  AF_ALG,
  AF_VSOCK,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  ENOSYS,
  EPERM,
} from './constants.ts';

/** What happens to a call a rule (or the default) catches. */
export type SeccompAction =
  | { type: 'allow' }
  | { type: 'errno'; errno: number }
  | { type: 'kill-process' }
  | { type: 'kill-thread' }
  | { type: 'trap' }
  | { type: 'log' };

export const ALLOW: SeccompAction = { type: 'allow' };
export const KILL_PROCESS: SeccompAction = { type: 'kill-process' };
export const errnoAction = (errno: number): SeccompAction => ({ type: 'errno', errno });

/**
 * A test on one argument, as libseccomp and the OCI spec define them, on the full 64-bit register:
 * `eq`/`ne`/`lt`/`le`/`gt`/`ge` compare it (unsigned) with `value`; `masked-eq` is `(arg & mask) == value`.
 */
export type ArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked-eq';
export interface ArgCondition {
  /** Which argument, 0–5. */
  index: number;
  op: ArgOp;
  value: bigint;
  /** For `masked-eq` only. */
  mask?: bigint;
}

export interface SeccompRule {
  /** System call names; a name an architecture does not have is skipped there (as libseccomp does). */
  names: readonly string[];
  action: SeccompAction;
  /** All must hold for the rule to match; none means the rule always matches. */
  args?: readonly ArgCondition[];
  /** Why, in one line, for the lesson and `--explain`. */
  why?: string;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  rules: readonly SeccompRule[];
}

const EPERM_ACTION = errnoAction(EPERM);

/** One rule per flag: "refuse the call when argument `index` has this bit" (a rule per bit, so OR). */
function refuseFlags(names: readonly string[], index: number, flags: readonly number[], why: string): SeccompRule[] {
  return flags.map((flag) => ({
    names,
    action: EPERM_ACTION,
    args: [{ index, op: 'masked-eq', mask: BigInt(flag), value: BigInt(flag) }],
    why,
  }));
}

/**
 * The namespace flags clone(2) can carry. CLONE_NEWTIME (0x80) is not among them: in clone(2) that bit belongs
 * to the exit-signal byte, and only unshare(2) and clone3(2) accept it as a flag.
 */
export const CLONE_NAMESPACE_FLAGS = [
  CLONE_NEWNS,
  CLONE_NEWCGROUP,
  CLONE_NEWUTS,
  CLONE_NEWIPC,
  CLONE_NEWUSER,
  CLONE_NEWPID,
  CLONE_NEWNET,
] as const;
export const UNSHARE_NAMESPACE_FLAGS = [...CLONE_NAMESPACE_FLAGS, CLONE_NEWTIME] as const;

/** The low 32 bits: what the kernel reads of an `int` argument, whatever the upper half of the register holds. */
const LOW_32 = 0xffffffffn;

/** Calls refused with EPERM, grouped, each group with its reason. */
const REFUSED: ReadonlyArray<{ names: readonly string[]; why: string }> = [
  {
    names: ['mount', 'umount2', 'pivot_root', 'move_mount', 'open_tree', 'open_tree_attr', 'mount_setattr'],
    why: "reshape the mount tree: mount the host's disk, or unmount a masked path to see what it hides",
  },
  {
    names: ['fsopen', 'fsconfig', 'fsmount', 'fspick'],
    why: 'the newer mount API: the same power as mount(2) through another door',
  },
  {
    names: ['setns'],
    why:
      "join another process's namespaces through its /proc/<pid>/ns file; with nstype 0 the kernel accepts any " +
      'kind, so the flags cannot tell a harmless call apart, and the whole call is refused',
  },
  {
    names: ['keyctl', 'add_key', 'request_key'],
    why: "the kernel keyring is not namespaced: the host's and other containers' keys would be within reach",
  },
  {
    names: ['bpf'],
    why: 'load programs into the kernel; a large attack surface, and it can read kernel memory',
  },
  {
    names: ['perf_event_open'],
    why: 'performance counters reveal kernel addresses and other processes; a large attack surface',
  },
  {
    names: ['userfaultfd'],
    why: 'lets a process pause the kernel in the middle of a copy: the standard tool for winning kernel races',
  },
  {
    names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
    why: 'runs I/O on kernel threads this filter never sees, and has been a rich source of kernel exploits',
  },
  {
    names: ['kexec_load', 'kexec_file_load'],
    why: 'replace the running kernel',
  },
  {
    names: ['init_module', 'finit_module', 'delete_module'],
    why: 'load or unload kernel code; modules are shared by every container and the host',
  },
  {
    names: ['reboot'],
    why: 'reboot the machine (inside a PID namespace it would only end the container, but refuse it anyway)',
  },
  {
    names: ['swapon', 'swapoff'],
    why: "change the host's swap",
  },
  {
    names: ['acct'],
    why: 'switch process accounting on or off for the whole machine',
  },
  {
    names: ['clock_settime', 'settimeofday'],
    why: "the clock is not namespaced: setting it sets the host's time",
  },
  {
    names: ['iopl', 'ioperm'],
    why: 'direct access to hardware I/O ports (x86 only)',
  },
  {
    names: ['open_by_handle_at'],
    why:
      "open a file by its inode handle, skipping the path walk and with it the container's root: the 2014 " +
      '"shocker" escape read the host\'s /etc/shadow this way',
  },
  {
    names: ['sethostname', 'setdomainname'],
    why: 'the init sets the hostname before the filter; after it, nothing in the container (an exec included) may',
  },
  {
    names: ['syslog'],
    why: "read or clear the kernel's log, which holds kernel addresses and the host's messages",
  },
  {
    names: ['quotactl', 'quotactl_fd', 'lookup_dcookie', 'vhangup', 'fanotify_init'],
    why: 'administration of file systems and terminals, and watching file events beyond the container',
  },
  {
    names: ['lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules'],
    why: 'Linux security module attributes; docker allows them only with CAP_SYS_ADMIN',
  },
  {
    names: ['kcmp', 'pidfd_getfd', 'process_madvise'],
    why: "inspect other processes' kernel state or take their file descriptors (docker: only with CAP_SYS_PTRACE)",
  },
  {
    names: ['mbind', 'set_mempolicy', 'get_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
    why: "NUMA memory placement, including other processes' memory (docker: only with CAP_SYS_NICE)",
  },
  {
    names: [
      '_sysctl',
      'uselib',
      'ustat',
      'sysfs',
      'nfsservctl',
      'create_module',
      'get_kernel_syms',
      'query_module',
      'getpmsg',
      'putpmsg',
      'afs_syscall',
      'tuxcall',
      'security',
      'vserver',
    ],
    why: 'obsolete x86_64 entry points; most return ENOSYS anyway, and uselib has a history of bugs',
  },
];

/**
 * Calls docker lets a process without CAP_SYS_PTRACE make only on Linux 4.8 and later: before 4.8 a tracer
 * could change a system call after the filter had approved it, so ptrace was a way around seccomp itself.
 */
const PTRACE_CALLS = ['ptrace', 'process_vm_readv', 'process_vm_writev'];

export interface DefaultProfileOptions {
  /** `uname -r` of the kernel the filter will run on; below 4.8 ptrace is refused too. */
  kernelRelease?: string;
}

/** Docker's default refusals as a deny list: everything not named here is allowed. */
export function defaultSeccompProfile(opts: DefaultProfileOptions = {}): SeccompProfile {
  const rules: SeccompRule[] = REFUSED.map(({ names, why }) => ({ names, action: EPERM_ACTION, why }));
  if (opts.kernelRelease !== undefined && !kernelAtLeast(opts.kernelRelease, [4, 8])) {
    rules.push({
      names: PTRACE_CALLS,
      action: EPERM_ACTION,
      why: 'before Linux 4.8 a tracer could rewrite a system call after the filter approved it',
    });
  }
  rules.push(
    ...refuseFlags(
      ['unshare'],
      0,
      UNSHARE_NAMESPACE_FLAGS,
      'make a new namespace: a new user namespace hands out every capability inside it, and with them kernel ' +
        'code (netfilter, file systems) behind many recent escapes. unshare(2) without these flags (CLONE_FILES, ' +
        "CLONE_FS) only stops sharing the caller's own tables and stays allowed",
    ),
    ...refuseFlags(
      ['clone'],
      0,
      CLONE_NAMESPACE_FLAGS,
      'fork or start a thread into a new namespace; plain fork and pthread_create carry none of these flags and ' +
        'stay allowed',
    ),
    {
      names: ['clone3'],
      action: errnoAction(ENOSYS),
      why:
        'its flags sit in a struct in memory, which a filter cannot read; ENOSYS ("no such call") makes libc ' +
        'fall back to clone(2), whose flags the filter can check — docker does the same',
    },
    ...[AF_VSOCK, AF_ALG].map((family): SeccompRule => ({
      names: ['socket'],
      action: EPERM_ACTION,
      args: [{ index: 0, op: 'masked-eq', mask: LOW_32, value: BigInt(family) }],
      why:
        family === AF_VSOCK
          ? 'AF_VSOCK talks to the hypervisor and is not namespaced: every container would reach the same peers'
          : 'AF_ALG exposes the kernel\'s crypto code; CVE-2026-31431 ("Copy Fail") wrote into the shared page ' +
            'cache through it',
    })),
  );
  return { defaultAction: ALLOW, rules };
}

/**
 * Docker allows these, and so does this profile; noted here because a reader of the list above will look for
 * them.
 * - adjtimex, clock_adjtime: they both read and set the clock; which one is decided by a field of a struct in
 *   memory the filter cannot see. Setting needs CAP_SYS_TIME, which the container does not have.
 * - personality: docker allows only five values (e.g. refusing ADDR_NO_RANDOMIZE). Those flags weaken only the
 *   caller's own exploit mitigations, the kernel clears them when a setuid program runs, and "refuse unless one
 *   of five values" cannot be written as deny rules that runc reads the same way (one test per argument per
 *   rule), so it is left out.
 * - chroot: allowed because CAP_SYS_CHROOT is in docker's default set.
 * - uretprobe, uprobe: entered only from trampolines the kernel places when the host traces a program.
 * - file_getattr, file_setattr (Linux 6.17): docker's list predates them; they do what the FS_IOC_FSGETXATTR
 *   ioctls docker allows already do.
 */
export const ALLOWED_ON_PURPOSE = [
  'adjtimex',
  'clock_adjtime',
  'personality',
  'chroot',
  'uretprobe',
  'uprobe',
  'file_getattr',
  'file_setattr',
] as const;
