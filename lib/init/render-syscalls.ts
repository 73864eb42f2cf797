/**
 * An init plan as the system calls it makes, written the way `strace` or a C programmer would:
 * `mount("proc", "/…/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)`. This is what `--explain` and `--step`
 * show for a container started by the TypeScript init, whose work is otherwise invisible (it runs no commands).
 */
import { showFlags } from '../mount-options.ts';
import type { InitOp, InitPlan } from './ops.ts';

const q = (s: string | null) => (s === null ? 'NULL' : JSON.stringify(s));
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
    case 'mount': {
      const head = `mount(${q(op.source)}, ${q(op.target)}, ${q(op.fstype)}, ${showFlags(op.flags)},`;
      if (op.data.length <= DATA_PIECE) return [`${head} ${op.data ? q(op.data) : 'NULL'})`];
      // An overlay's options name every layer: written as C writes a long string, in adjacent pieces.
      const pieces = dataPieces(op.data);
      return [head, ...pieces.map((piece, i) => `      ${q(piece)}${i === pieces.length - 1 ? ')' : ''}`)];
    }
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
    case 'terminal':
      return [
        'open("/dev/ptmx", O_RDWR|O_NOCTTY|O_CLOEXEC) = m      // the container’s devpts: pts/ptmx',
        'ioctl(m, TIOCSPTLCK, &0); ioctl(m, TIOCGPTN, &n)      // unlocked; its slave is /dev/pts/n',
        ...(op.size ? [`ioctl(m, TIOCSWINSZ, {rows: ${op.size.rows}, cols: ${op.size.columns}})`] : []),
        'setsid(); open("/dev/pts/n", O_RDWR) = s; ioctl(s, TIOCSCTTY, 0)',
        `fchown(s, ${op.uid}, -1); dup2(s, 0); dup2(s, 1); dup2(s, 2); close(s)`,
        ...(op.console ? ['mount("/dev/pts/n", "/dev/console", NULL, MS_BIND, NULL)'] : []),
        `sendmsg(${op.socket}, {"t", SCM_RIGHTS: [m]}); close(m)      // the host relays its terminal to m`,
      ];
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
      // The argv as strace prints it, ["sh", "-c", "…"]: a long one can break between its arguments.
      return [
        `execve(${q(op.args[0] ?? '')} found in PATH, [${op.args.map(q).join(', ')}], [${op.env.length} variables])`,
      ];
  }
}

/** How long a piece of a long mount data string may be in the listing. */
const DATA_PIECE = 56;

/** A mount data string cut before its `,` and `:` separators into pieces of at most DATA_PIECE characters. */
export function dataPieces(data: string): string[] {
  const parts = data.split(/(?=[,:])/);
  const out: string[] = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (last !== undefined && last.length + part.length <= DATA_PIECE) out[out.length - 1] = last + part;
    else out.push(part);
  }
  return out;
}

/**
 * The whole plan: each step's feature as a comment, then its system calls. A layer's 64-digit digest in a path is
 * shortened to its first 12 digits and `…`, as docker shows image and layer ids: the listing is for reading.
 */
export function renderSyscalls(plan: InitPlan): string {
  return plan.steps
    .map((s) => [`// ${s.feature}`, ...s.ops.flatMap(syscallLines)].join('\n'))
    .join('\n')
    .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');
}
