/**
 * The operations of an init plan: what a container's first process does, in order, before it becomes the command.
 *
 * Between "namespaces exist" and "the command runs" a container runtime makes a few dozen system calls inside the
 * new namespaces: mounts, device nodes, sethostname, pivot_root, setuid, capset, prctl, seccomp, and finally
 * execve. runc does them in Go and C; here they are first written down as data — this list of typed operations —
 * by a pure function of the container spec (plan.ts). The same list is then
 *   - shown as a syscall listing (render-syscalls.ts) in `--explain` and `--step`,
 *   - rendered as an `sh` script (render-sh.ts) that lessons 02–06 print and run on the busybox rootfs,
 *   - executed by the TypeScript init (execute.ts), which needs nothing from the container's root filesystem.
 * Each operation maps to one system call or a small fixed group of them, named in its comment.
 */
import type { MountFlag } from '../mount-options.ts';

export type InitOp =
  /** Tell the host "ready, my PID is N" over the sync socket, then wait for its "go" (cgroup join, …). */
  | { op: 'sync' }
  /** unshare(CLONE_NEWCGROUP): a cgroup namespace rooted at the cgroup the host just put us in. */
  | { op: 'unshareCgroupns' }
  /** mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL): cut propagation to and from the host. */
  | { op: 'makePrivate' }
  /** mkdir -p PATH; with `like`, an empty file instead when that bind source is not a directory. */
  | { op: 'mkpath'; path: string; like?: string }
  /** mount(source, target, fstype, flags, data). */
  | { op: 'mount'; source: string | null; target: string; fstype: string | null; flags: MountFlag[]; data: string }
  /** mount_setattr(path, AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY}): this mount and every mount below it read-only. */
  | { op: 'readonlyTree'; path: string }
  /** mknod(path, S_IFCHR|mode, makedev(major, minor)), then chmod to the exact mode (umask applies to mknod). */
  | { op: 'mknod'; path: string; type: 'c' | 'b'; major: number; minor: number; mode: number }
  /** symlink(target, path). */
  | { op: 'symlink'; target: string; path: string }
  /** sethostname(name). */
  | { op: 'sethostname'; name: string }
  /** chdir(path). */
  | { op: 'chdir'; path: string }
  /** pivot_root(".", "."): the current directory becomes /, the old root is stacked on top of it at ".". */
  | { op: 'pivotRoot' }
  /** umount2(".", MNT_DETACH): detach the old root stacked at "." by pivotRoot; no directory needed. */
  | { op: 'detachOldRoot' }
  /** chroot(path): lessons 01–03's root switch, and `exec` entering a running container's root. */
  | { op: 'chroot'; path: string }
  /** Mask a path as runc does: /dev/null bound over a file, an empty read-only tmpfs over a directory. */
  | { op: 'maskPath'; path: string }
  /** Bind a path onto itself and remount it read-only (skipped where it does not exist). */
  | { op: 'readonlyPath'; path: string }
  /** mount(NULL, "/", NULL, MS_REMOUNT|MS_BIND|MS_RDONLY, NULL): the root filesystem read-only. */
  | { op: 'readonlyRoot' }
  /**
   * A pseudo-terminal of the container's own (`-t`): open /dev/ptmx (its devpts), unlock it, find its slave;
   * its window size set (TIOCSWINSZ) when `size` is known; setsid() and make the slave the controlling terminal
   * on fds 0–2, owned by `uid`; bind it on /dev/console (`console`: a container's first process, not an exec'd
   * one); send the master to the host over fd `socket` (SCM_RIGHTS), which relays its own terminal to it; close it.
   */
  | {
      op: 'terminal';
      socket: number;
      uid: number;
      console: boolean;
      size?: { rows: number; columns: number };
    }
  /** prctl(PR_CAPBSET_DROP, cap) for every capability not kept: no process below can ever regain them. */
  | { op: 'dropBounding'; keep: string[] }
  /** prctl(PR_SET_KEEPCAPS, on): keep permitted capabilities across the uid change that follows. */
  | { op: 'keepCaps'; on: boolean }
  /** setgroups(gids), setresgid(gid, gid, gid), setresuid(uid, uid, uid). */
  | { op: 'setUser'; uid: number; gid: number; additionalGids: number[] }
  /** capset(): the effective, permitted and inheritable sets. */
  | { op: 'capset'; effective: string[]; permitted: string[]; inheritable: string[] }
  /** prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL), then PR_CAP_AMBIENT_RAISE for each ambient capability. */
  | { op: 'ambient'; raise: string[] }
  /** prctl(PR_SET_NO_NEW_PRIVS, 1): execve can never grant more privileges (setuid bits, file capabilities). */
  | { op: 'noNewPrivs' }
  /** seccomp(SECCOMP_SET_MODE_FILTER, …) with the profile's BPF program for this architecture. */
  | { op: 'seccomp'; profile: string }
  /** Every signal back to SIG_DFL and an empty signal mask: ignored signals stay ignored across execve. */
  | { op: 'resetSignals' }
  /** close_range(3, ~0, CLOSE_RANGE_CLOEXEC) and clear FD_CLOEXEC on 0–2: the command gets exactly stdin/out/err. */
  | { op: 'closeFds' }
  /** execve(path found in PATH, args, env): become the command. Nothing of the init remains. */
  | { op: 'exec'; args: string[]; env: string[] };

export type InitOpName = InitOp['op'];

/** What a plan is for: a container's first process, or a process joining a running container (`exec`). */
export type PlanMode = 'run' | 'exec';

/** A few operations that do one thing for one feature ("mount namespace: nothing propagates to the host"). */
export interface PlanStep {
  feature: string;
  ops: InitOp[];
}

export interface InitPlan {
  mode: PlanMode;
  /** The container's id, for messages. */
  id: string;
  /** The directory that becomes / (run mode), shown as "$root" by the sh rendering. */
  root: string;
  steps: PlanStep[];
}

/** Every operation of a plan, in order. */
export function planOps(plan: InitPlan): InitOp[] {
  return plan.steps.flatMap((s) => s.ops);
}
