/**
 * An init plan as the system calls it makes, written the way `strace` or a C programmer would:
 * `mount("proc", "/…/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)`. This is what `--explain` and `--step`
 * show for a container started by the TypeScript init, whose work is otherwise invisible (it runs no commands).
 */
import { showFlags } from '../mount-options.ts';
import type { InitOp, InitPlan } from './ops.ts';

const q = (s: string | null) => (s === null ? 'NULL' : JSON.stringify(s));
/**
 * A long option string as C's adjacent literals, cut after each `,` and `:` ("lowerdir=/a:" "/b," …): the same
 * string to a compiler, and a line a projector can wrap.
 */
const data = (s: string) => (s.length <= 40 ? q(s) : (s.match(/[^,:]+[,:]?/g) ?? [s]).map((p) => q(p)).join(' '));
const octal = (n: number) => `0${n.toString(8)}`;
const list = (xs: readonly (string | number)[]) => `[${xs.join(', ')}]`;
/** Capability names with a space after each comma, so a long set wraps on a projector. */
const capList = (caps: readonly string[]) =>
  caps.length === 0 ? 'none' : caps.map((c) => c.replace(/^CAP_/, '')).join(', ');

/** One operation as one or a few system-call lines. */
export function syscallLines(op: InitOp): string[] {
  switch (op.op) {
    case 'sync':
      return ['write(3, "ready <pid>\\n")', 'read(3, …) = "go\\n"      // the host did its part'];
    case 'unshareCgroupns':
      return ['unshare(CLONE_NEWCGROUP)'];
    case 'makePrivate':
      return ['mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)'];
    case 'mkpath':
      return op.like === undefined
        ? [`mkdir(${q(op.path)}, 0755)      // and its parents`]
        : [`mkdir or creat(${q(op.path)})      // a directory or an empty file, like ${op.like}`];
    case 'mount':
      return [
        `mount(${q(op.source)}, ${q(op.target)}, ${q(op.fstype)}, ${showFlags(op.flags)}, ${op.data ? data(op.data) : 'NULL'})`,
      ];
    case 'readonlyTree':
      return [`mount_setattr(AT_FDCWD, ${q(op.path)}, AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY})`];
    case 'mknod':
      return [
        `mknod(${q(op.path)}, S_IF${op.type === 'c' ? 'CHR' : 'BLK'}|${octal(op.mode)}, makedev(${op.major}, ${op.minor}))`,
      ];
    case 'symlink':
      return [`symlink(${q(op.target)}, ${q(op.path)})`];
    case 'sethostname':
      return [`sethostname(${q(op.name)}, ${op.name.length})`];
    case 'chdir':
      return [`chdir(${q(op.path)})`];
    case 'pivotRoot':
      return ['pivot_root(".", ".")      // new root: this directory; the old root is stacked on it'];
    case 'detachOldRoot':
      return ['umount2(".", MNT_DETACH)      // the old root, and the host with it, leaves our tree'];
    case 'chroot':
      return [`chroot(${q(op.path)})`];
    case 'maskPath':
      return [`mount("/dev/null" or "tmpfs", ${q(op.path)}, …, MS_BIND or MS_RDONLY, NULL)      // masked`];
    case 'readonlyPath':
      return [
        `mount(${q(op.path)}, ${q(op.path)}, NULL, MS_BIND|MS_REC, NULL)`,
        `mount(NULL, ${q(op.path)}, NULL, MS_REMOUNT|MS_BIND|MS_RDONLY|MS_REC, NULL)`,
      ];
    case 'readonlyRoot':
      return ['mount(NULL, "/", NULL, MS_REMOUNT|MS_BIND|MS_RDONLY, NULL)'];
    case 'dropBounding':
      return [`prctl(PR_CAPBSET_DROP, cap)      // for every capability but ${capList(op.keep)}`];
    case 'keepCaps':
      return [`prctl(PR_SET_KEEPCAPS, ${op.on ? 1 : 0})`];
    case 'setUser':
      return [
        `setgroups(${op.additionalGids.length}, ${list(op.additionalGids)})`,
        `setresgid(${op.gid}, ${op.gid}, ${op.gid})`,
        `setresuid(${op.uid}, ${op.uid}, ${op.uid})`,
      ];
    case 'capset':
      return [
        `capset(v3, {effective: ${capList(op.effective)}; permitted: ${capList(op.permitted)}; ` +
          `inheritable: ${capList(op.inheritable)}})`,
      ];
    case 'ambient':
      return [
        'prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)',
        ...op.raise.map((c) => `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, ${c}, 0, 0)`),
      ];
    case 'noNewPrivs':
      return ['prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)'];
    case 'seccomp':
      return [`seccomp(SECCOMP_SET_MODE_FILTER, 0, &{${op.profile} filter for this architecture})`];
    case 'resetSignals':
      return ['rt_sigaction(sig, SIG_DFL) for every signal; rt_sigprocmask(SIG_SETMASK, {}, NULL)'];
    case 'closeFds':
      return ['close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); fcntl(0..2, F_SETFD, 0)'];
    case 'exec':
      return [`execve(${q(op.args[0] ?? '')} found in PATH, ${JSON.stringify(op.args)}, [${op.env.length} variables])`];
  }
}

/** The whole plan: each step's feature as a comment, then its system calls. */
export function renderSyscalls(plan: InitPlan): string {
  return plan.steps.map((s) => [`// ${s.feature}`, ...s.ops.flatMap(syscallLines)].join('\n')).join('\n');
}
