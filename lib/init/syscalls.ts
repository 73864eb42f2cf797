/**
 * The system calls the TypeScript init makes, as one interface with two implementations: the real one, which
 * calls libc through koffi (an FFI: it loads libc.so.6 and calls its functions with C types), and a recording
 * one for unit tests, which makes nothing and remembers every call — so a whole init plan is tested without root.
 *
 * Why an FFI at all: Node's `fs` has mkdir and symlink, but no mount, pivot_root, sethostname, capset, prctl,
 * seccomp or execve. Those are one C call each, and koffi makes them without compiling anything (its binary comes
 * prebuilt from npm). Every call that fails throws a SyscallError carrying the call and errno, which the init
 * reports to the host as "mount /proc: EPERM".
 */
import fs from 'node:fs';
import os from 'node:os';
import { AT_RECURSIVE, MOUNT_ATTR_RDONLY } from '../mount-options.ts';
import { fdMessage } from '../scm-rights.ts';

/** openat(2)'s "relative to the current directory". */
const AT_FDCWD = -100;

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${errnoName(errno)} (${os.constants.errno ? errnoMessage(errno) : errno})`);
    this.name = 'SyscallError';
  }
}

/** `2` → `ENOENT`. */
export function errnoName(errno: number): string {
  const hit = Object.entries(os.constants.errno).find(([, v]) => v === errno);
  return hit?.[0] ?? `errno ${errno}`;
}

function errnoMessage(errno: number): string {
  const messages: Record<string, string> = {
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EINVAL: 'invalid argument',
    EBUSY: 'device or resource busy',
    ENOTDIR: 'not a directory',
    EEXIST: 'file exists',
    ENOEXEC: 'exec format error',
  };
  return messages[errnoName(errno)] ?? errnoName(errno).toLowerCase();
}

export interface Syscalls {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  /** mount_setattr(2) with AT_RECURSIVE: `target` and every mount below it read-only. */
  mountSetattrReadonly(target: string): void;
  /** Whether /proc/self/setgroups says `deny` (a user namespace whose gid map was written without privilege). */
  setgroupsDenied(): boolean;
  /** mkdir -p. */
  mkdirp(path: string, mode: number): void;
  /** An empty file (and its parent directories), unless something is there already. */
  touch(path: string): void;
  /** What is at a path, not following a final symlink: undefined when nothing is. */
  kind(path: string): 'dir' | 'file' | 'other' | undefined;
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** The major and minor numbers of a character device, not following a final symlink; undefined otherwise. */
  charDevice(path: string): { major: number; minor: number } | undefined;
  chmod(path: string, mode: number): void;
  symlink(target: string, path: string): void;
  sethostname(name: string): void;
  chdir(path: string): void;
  chroot(path: string): void;
  pivotRoot(newRoot: string, putOld: string): void;
  unshare(flags: number): void;
  capbsetDrop(cap: number): void;
  setKeepCaps(on: boolean): void;
  setgroups(gids: readonly number[]): void;
  setresgid(gid: number): void;
  setresuid(uid: number): void;
  /** capset(2) with the three sets as 64-bit masks. */
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  ambientClearAll(): void;
  ambientRaise(cap: number): void;
  noNewPrivs(): void;
  seccomp(program: Uint8Array): void;
  resetSignals(): void;
  /** open("/dev/ptmx"), unlock its slave (TIOCSPTLCK 0) and find it (TIOCGPTN): the master fd, the slave's path. */
  openPty(): { master: number; slave: string };
  /** ioctl(TIOCSWINSZ): a terminal's rows and columns. */
  setWindowSize(fd: number, rows: number, columns: number): void;
  /** setsid(); the slave opened as our controlling terminal (TIOCSCTTY), made `uid`'s, on fds 0–2. */
  takeTerminal(slave: string, uid: number): void;
  /** sendmsg(socket) of one byte with `fd` as SCM_RIGHTS (lib/scm-rights.ts). */
  sendFd(socket: number, fd: number): void;
  close(fd: number): void;
  /** Mark every fd from `from` up close-on-exec, and clear close-on-exec on 0–2. */
  closeOnExecFrom(from: number): void;
  /** Whether a file exists and may be executed by us. */
  executable(path: string): boolean;
  execve(path: string, args: readonly string[], env: readonly string[]): never;
}

export const CLONE_NEWCGROUP = 0x02000000;

/** System call numbers glibc has no wrapper for (or whose wrapper does more than we want), per architecture. */
const SYSCALL_NUMBERS: Record<
  string,
  { pivot_root: number; capset: number; seccomp: number; close_range: number; mount_setattr: number }
> = {
  x64: { pivot_root: 155, capset: 126, seccomp: 317, close_range: 436, mount_setattr: 442 },
  arm64: { pivot_root: 41, capset: 91, seccomp: 277, close_range: 436, mount_setattr: 442 },
};

/** The pty ioctls (the same numbers on x86-64 and arm64). */
const TIOCSPTLCK = 0x40045431;
const TIOCGPTN = 0x80045430;
const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;

/** Signals a process may not or need not reset: SIGKILL, SIGSTOP, and glibc's own (32, 33). */
const UNRESETTABLE = new Set([9, 19, 32, 33]);

/** The real system calls, through koffi. Loads libc once; every function is bound before the init runs a plan. */
export async function libcSyscalls(): Promise<Syscalls> {
  const { default: koffi } = await import('koffi');
  const numbers = SYSCALL_NUMBERS[process.arch];
  if (!numbers) throw new Error(`the TypeScript init does not know the system call numbers of ${process.arch}`);
  const libc = koffi.load('libc.so.6');
  const fn = (decl: string) => libc.func(decl);
  const c = {
    mount: fn('int mount(const char *src, const char *tgt, const char *type, unsigned long flags, const char *data)'),
    umount2: fn('int umount2(const char *tgt, int flags)'),
    mknod: fn('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    sethostname: fn('int sethostname(const char *name, size_t len)'),
    chdir: fn('int chdir(const char *path)'),
    chroot: fn('int chroot(const char *path)'),
    unshare: fn('int unshare(int flags)'),
    prctl: fn('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    setgroups: fn('int setgroups(size_t n, const uint32_t *gids)'),
    setresgid: fn('int setresgid(uint32_t r, uint32_t e, uint32_t s)'),
    setresuid: fn('int setresuid(uint32_t r, uint32_t e, uint32_t s)'),
    syscall: fn('long syscall(long nr, ...)'),
    signal: fn('void *signal(int sig, void *handler)'),
    sigprocmask: fn('int sigprocmask(int how, const uint8_t *set, uint8_t *old)'),
    fcntl: fn('int fcntl(int fd, int cmd, ...)'),
    access: fn('int access(const char *path, int mode)'),
    execve: fn('int execve(const char *path, const char **argv, const char **envp)'),
    ioctl: fn('int ioctl(int fd, unsigned long request, ...)'),
    setsid: fn('int setsid(void)'),
    dup2: fn('int dup2(int old, int new)'),
    sendmsg: fn('long sendmsg(int fd, const uint8_t *msg, int flags)'),
  };
  const check = (call: string, r: number | bigint) => {
    if (Number(r) < 0) throw new SyscallError(call, koffi.errno());
  };
  const PR = { CAPBSET_DROP: 24, SET_KEEPCAPS: 8, CAP_AMBIENT: 47, SET_NO_NEW_PRIVS: 38 };
  const split = (mask: bigint) => [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];

  return {
    mount: (source, target, fstype, flags, data) =>
      check(`mount ${target}`, c.mount(source, target, fstype, flags, data)),
    umount2: (target, flags) => check(`umount2 ${target}`, c.umount2(target, flags)),
    mountSetattrReadonly: (target) => {
      // struct mount_attr { __u64 attr_set, attr_clr, propagation, userns_fd; }
      const attr = Buffer.alloc(32);
      attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_RDONLY), 0);
      check(
        `mount_setattr ${target}`,
        c.syscall(
          numbers.mount_setattr,
          'int',
          AT_FDCWD,
          'const char *',
          target,
          'unsigned int',
          AT_RECURSIVE,
          'uint8_t *',
          attr,
          'size_t',
          attr.length,
        ),
      );
    },
    setgroupsDenied: () => {
      try {
        return fs.readFileSync('/proc/self/setgroups', 'utf8').trim() === 'deny';
      } catch {
        return false;
      }
    },
    mkdirp: (p, mode) => fs.mkdirSync(p, { recursive: true, mode }),
    touch: (p) => {
      fs.mkdirSync(p.replace(/\/[^/]*$/, '') || '/', { recursive: true });
      fs.closeSync(fs.openSync(p, 'a'));
    },
    kind: (p) => {
      try {
        const st = fs.lstatSync(p);
        return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      } catch {
        return undefined;
      }
    },
    mknod: (p, mode, major, minor) => {
      // glibc's makedev: the minor's low byte and the major's low 12 bits first, then the high parts above them.
      const dev =
        BigInt(minor & 0xff) |
        (BigInt(major & 0xfff) << 8n) |
        (BigInt(minor & ~0xff) << 12n) |
        (BigInt(major & ~0xfff) << 32n);
      check(`mknod ${p}`, c.mknod(p, mode, dev));
    },
    charDevice: (p) => {
      try {
        const st = fs.lstatSync(p);
        if (!st.isCharacterDevice()) return undefined;
        // glibc's major()/minor() of a 64-bit dev_t.
        return {
          major: ((st.rdev >> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff),
          minor: (st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff),
        };
      } catch {
        return undefined;
      }
    },
    chmod: (p, mode) => fs.chmodSync(p, mode),
    symlink: (target, p) => fs.symlinkSync(target, p),
    sethostname: (name) => check('sethostname', c.sethostname(name, Buffer.byteLength(name))),
    chdir: (p) => check(`chdir ${p}`, c.chdir(p)),
    chroot: (p) => check(`chroot ${p}`, c.chroot(p)),
    pivotRoot: (n, o) => check('pivot_root', c.syscall(numbers.pivot_root, 'const char *', n, 'const char *', o)),
    unshare: (flags) => check('unshare', c.unshare(flags)),
    capbsetDrop: (cap) => check(`prctl(PR_CAPBSET_DROP, ${cap})`, c.prctl(PR.CAPBSET_DROP, cap, 0, 0, 0)),
    setKeepCaps: (on) => check('prctl(PR_SET_KEEPCAPS)', c.prctl(PR.SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0)),
    setgroups: (gids) => check('setgroups', c.setgroups(gids.length, gids.length ? Uint32Array.from(gids) : null)),
    setresgid: (gid) => check('setresgid', c.setresgid(gid, gid, gid)),
    setresuid: (uid) => check('setresuid', c.setresuid(uid, uid, uid)),
    capset: (effective, permitted, inheritable) => {
      const header = Buffer.alloc(8);
      header.writeUInt32LE(0x20080522, 0); // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
      const data = Buffer.alloc(24);
      const [e0, e1] = split(effective);
      const [p0, p1] = split(permitted);
      const [i0, i1] = split(inheritable);
      [e0, p0, i0, e1, p1, i1].forEach((w, i) => data.writeUInt32LE(w ?? 0, i * 4));
      check('capset', c.syscall(numbers.capset, 'uint8_t *', header, 'uint8_t *', data));
    },
    ambientClearAll: () => check('prctl(PR_CAP_AMBIENT_CLEAR_ALL)', c.prctl(PR.CAP_AMBIENT, 4, 0, 0, 0)),
    ambientRaise: (cap) => check(`prctl(PR_CAP_AMBIENT_RAISE, ${cap})`, c.prctl(PR.CAP_AMBIENT, 2, cap, 0, 0)),
    noNewPrivs: () => check('prctl(PR_SET_NO_NEW_PRIVS)', c.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0)),
    seccomp: (program) => {
      // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: 8 bytes each on 64-bit.
      const filter = Buffer.from(program);
      const fprog = Buffer.alloc(16);
      fprog.writeUInt16LE(program.length / 8, 0);
      fprog.writeBigUInt64LE(BigInt(koffi.address(filter)), 8);
      check('seccomp', c.syscall(numbers.seccomp, 'unsigned int', 1, 'unsigned int', 0, 'uint8_t *', fprog));
      void filter; // kept alive until the kernel has copied it
    },
    resetSignals: () => {
      for (let sig = 1; sig <= 64; sig++) if (!UNRESETTABLE.has(sig)) c.signal(sig, null);
      check('sigprocmask', c.sigprocmask(2 /* SIG_SETMASK */, Buffer.alloc(128), null));
    },
    openPty: () => {
      // O_NOCTTY: the master must not become anyone's terminal; Node adds O_CLOEXEC, so the command never has it.
      const master = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
      const n = Buffer.alloc(4); // an int: 0 unlocks, then the slave's number
      check('ioctl(TIOCSPTLCK)', c.ioctl(master, TIOCSPTLCK, 'uint8_t *', n));
      check('ioctl(TIOCGPTN)', c.ioctl(master, TIOCGPTN, 'uint8_t *', n));
      return { master, slave: `/dev/pts/${n.readInt32LE(0)}` };
    },
    setWindowSize: (fd, rows, columns) => {
      const ws = Buffer.alloc(8); // struct winsize { rows, cols, xpixel, ypixel }: four unsigned shorts
      ws.writeUInt16LE(rows, 0);
      ws.writeUInt16LE(columns, 2);
      check('ioctl(TIOCSWINSZ)', c.ioctl(fd, TIOCSWINSZ, 'uint8_t *', ws));
    },
    takeTerminal: (slave, uid) => {
      // A terminal can be the controlling terminal of one session only, led by the caller: a new one, ours.
      check('setsid', c.setsid());
      const fd = fs.openSync(slave, fs.constants.O_RDWR);
      check(`ioctl(${slave}, TIOCSCTTY)`, c.ioctl(fd, TIOCSCTTY, 'int', 0));
      // As runc's fixStdioPermissions: the command's user can reopen its own terminal (tty, ssh-agent, script).
      fs.fchownSync(fd, uid, -1);
      for (const to of [0, 1, 2]) check(`dup2(${slave}, ${to})`, c.dup2(fd, to));
      fs.closeSync(fd);
    },
    sendFd: (socket, fd) => {
      const msg = fdMessage((b) => koffi.address(b), fd);
      check(`sendmsg(${socket}, SCM_RIGHTS)`, c.sendmsg(socket, msg.msghdr, 0));
      void msg; // its buffers stay alive until the kernel has copied them
    },
    close: (fd) => fs.closeSync(fd),
    closeOnExecFrom: (from) => {
      check(
        'close_range',
        c.syscall(numbers.close_range, 'unsigned int', from, 'unsigned int', 0xffffffff, 'unsigned int', 4),
      );
      for (const fd of [0, 1, 2]) c.fcntl(fd, 2 /* F_SETFD */, 'int', 0);
    },
    executable: (p) => c.access(p, 1 /* X_OK */) === 0 && fs.statSync(p, { throwIfNoEntry: false })?.isFile() === true,
    execve: (p, args, env) => {
      c.execve(p, [...args, null], [...env, null]);
      throw new SyscallError(`execve ${p}`, koffi.errno());
    },
  };
}

/** A fake for unit tests: does nothing, records each call as a line; `failOn` makes a call fail with an errno. */
export class RecordingSyscalls implements Syscalls {
  readonly calls: string[] = [];
  private readonly kinds = new Map<string, 'dir' | 'file' | 'other'>();
  private readonly executables = new Set<string>();

  constructor(private readonly failures: Record<string, number> = {}) {}

  /** Pretend something is at a path (a directory to mask, a command in PATH). */
  withPath(path: string, kind: 'dir' | 'file' | 'other', executable = false): this {
    this.kinds.set(path, kind);
    if (executable) this.executables.add(path);
    return this;
  }

  private record(call: string): void {
    this.calls.push(call);
    const name = call.split(/[ (]/)[0] ?? '';
    const errno = this.failures[call] ?? this.failures[name];
    if (errno !== undefined) throw new SyscallError(call, errno);
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null) {
    this.record(`mount ${source} ${target} ${fstype} 0x${flags.toString(16)} ${data ?? ''}`.trimEnd());
  }
  umount2(target: string, flags: number) {
    this.record(`umount2 ${target} ${flags}`);
  }
  mountSetattrReadonly(target: string) {
    this.record(`mount_setattr ${target} AT_RECURSIVE rdonly`);
  }
  /** Set with `denySetgroups()`: a user namespace whose gid map the user wrote. */
  private groupsDenied = false;
  denySetgroups(): this {
    this.groupsDenied = true;
    return this;
  }
  setgroupsDenied() {
    return this.groupsDenied;
  }
  mkdirp(path: string) {
    this.record(`mkdirp ${path}`);
  }
  touch(path: string) {
    this.record(`touch ${path}`);
  }
  kind(path: string) {
    return this.kinds.get(path);
  }
  charDevice(path: string) {
    return path === '/dev/null' ? { major: 1, minor: 3 } : undefined;
  }
  mknod(path: string, mode: number, major: number, minor: number) {
    this.record(`mknod ${path} 0${mode.toString(8)} ${major}:${minor}`);
  }
  chmod(path: string, mode: number) {
    this.record(`chmod ${path} 0${mode.toString(8)}`);
  }
  symlink(target: string, path: string) {
    this.record(`symlink ${target} ${path}`);
  }
  sethostname(name: string) {
    this.record(`sethostname ${name}`);
  }
  chdir(path: string) {
    this.record(`chdir ${path}`);
  }
  chroot(path: string) {
    this.record(`chroot ${path}`);
  }
  pivotRoot(n: string, o: string) {
    this.record(`pivot_root ${n} ${o}`);
  }
  unshare(flags: number) {
    this.record(`unshare 0x${flags.toString(16)}`);
  }
  capbsetDrop(cap: number) {
    this.record(`capbset_drop ${cap}`);
  }
  setKeepCaps(on: boolean) {
    this.record(`keepcaps ${on ? 1 : 0}`);
  }
  setgroups(gids: readonly number[]) {
    this.record(`setgroups ${gids.join(',')}`);
  }
  setresgid(gid: number) {
    this.record(`setresgid ${gid}`);
  }
  setresuid(uid: number) {
    this.record(`setresuid ${uid}`);
  }
  capset(e: bigint, p: bigint, i: bigint) {
    this.record(`capset ${e.toString(16)} ${p.toString(16)} ${i.toString(16)}`);
  }
  ambientClearAll() {
    this.record('ambient_clear');
  }
  ambientRaise(cap: number) {
    this.record(`ambient_raise ${cap}`);
  }
  noNewPrivs() {
    this.record('no_new_privs');
  }
  seccomp(program: Uint8Array) {
    this.record(`seccomp ${program.length / 8} instructions`);
  }
  resetSignals() {
    this.record('reset_signals');
  }
  openPty() {
    this.record('open_pty');
    return { master: 10, slave: '/dev/pts/0' };
  }
  setWindowSize(fd: number, rows: number, columns: number) {
    this.record(`winsize ${fd} ${rows}x${columns}`);
  }
  takeTerminal(slave: string, uid: number) {
    this.record(`take_terminal ${slave} uid ${uid}`);
  }
  sendFd(socket: number, fd: number) {
    this.record(`send_fd ${socket} ${fd}`);
  }
  close(fd: number) {
    this.record(`close ${fd}`);
  }
  closeOnExecFrom(from: number) {
    this.record(`cloexec_from ${from}`);
  }
  executable(path: string) {
    return this.executables.has(path);
  }
  execve(path: string, args: readonly string[], env: readonly string[]): never {
    this.record(`execve ${path} ${JSON.stringify(args)} ${JSON.stringify(env)}`);
    throw new ExecvedForTest(path);
  }
}

/** Thrown by RecordingSyscalls.execve, which cannot really stop the caller the way execve does. */
export class ExecvedForTest extends Error {
  constructor(readonly path: string) {
    super(`execve ${path}`);
    this.name = 'ExecvedForTest';
  }
}
