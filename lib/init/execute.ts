/**
 * The TypeScript init's executor: it performs an init plan, operation by operation, through the Syscalls
 * interface, and ends in execve. It needs nothing from the container's root filesystem — no shell, no `mount`,
 * no `umount` — which is what lets `ctr` run an image that holds a single static binary.
 *
 * Three traps of doing this from Node are handled here, each at the step where it matters:
 * - Node opens fds 0–2 close-on-exec; the closeFds step clears that, or the command would start without stdio.
 * - Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve; resetSignals undoes it.
 * - Capabilities, the bounding set, no_new_privs and seccomp belong to a *thread*. All of them are set on Node's
 *   main thread, which is the one that calls execve: the new program carries exactly those. Node's other threads
 *   never run code of ours and vanish at execve.
 */
import { flagValue, MNT_DETACH } from '../mount-options.ts';
import { envValue } from '../spec.ts';
import type { InitOp, InitPlan } from './ops.ts';
import { EXEC_LINE } from './protocol.ts';
import { CLONE_NEWCGROUP, SyscallError, type Syscalls } from './syscalls.ts';

/** What the executor needs besides system calls: the sync channel and the tables of lib/capabilities, lib/seccomp. */
export interface ExecuteDeps {
  /** Send one line to the host over the sync socket. */
  send(line: string): void;
  /** Wait for one line from the host (undefined: the host closed the socket). */
  receive(): string | undefined;
  /** This process's PID as the host numbers it. */
  hostPid(): number;
  capabilityNumber(name: string): number;
  /** The highest capability number this kernel knows. */
  lastCapability(): number;
  seccompProgram(profile: string): Uint8Array;
}

/** An operation failed: which one, and the exit code docker would give (125 the runtime, 126/127 the command). */
export class InitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly op: string,
  ) {
    super(message);
    this.name = 'InitError';
  }
}

/** 64-bit mask of capability names. */
function capMask(names: readonly string[], deps: ExecuteDeps): bigint {
  return names.reduce((m, n) => m | (1n << BigInt(deps.capabilityNumber(n))), 0n);
}

/**
 * Where execve will find `cmd`, as execvp(3) would: a name with a slash as it is, otherwise the first executable
 * file of that name in the container's PATH. Looked up inside the container (after pivot_root), with its PATH.
 */
export function resolveCommand(
  cmd: string,
  env: readonly string[],
  sys: Pick<Syscalls, 'executable' | 'kind'>,
): string {
  if (cmd.includes('/')) {
    if (sys.kind(cmd) === undefined) throw new InitError(`exec: "${cmd}": no such file or directory`, 127, 'exec');
    if (!sys.executable(cmd)) throw new InitError(`exec: "${cmd}": permission denied`, 126, 'exec');
    return cmd;
  }
  const dirs = (envValue(env, 'PATH') ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  for (const dir of dirs) {
    const candidate = `${dir.replace(/\/$/, '')}/${cmd}`;
    if (sys.executable(candidate)) return candidate;
  }
  throw new InitError(`exec: "${cmd}": executable file not found in $PATH`, 127, 'exec');
}

/** `whileHostWorks` runs between `ready` and the host's `go`: work of ours that needs nothing from the host. */
function perform(op: InitOp, sys: Syscalls, deps: ExecuteDeps, whileHostWorks: () => void = () => {}): void {
  switch (op.op) {
    case 'sync': {
      deps.send(`ready ${deps.hostPid()}`);
      whileHostWorks();
      const reply = deps.receive();
      if (reply !== 'go') throw new InitError(`the host did not say go (${reply ?? 'it hung up'})`, 125, 'sync');
      return;
    }
    case 'unshareCgroupns':
      return sys.unshare(CLONE_NEWCGROUP);
    case 'makePrivate':
      return sys.mount(null, '/', null, flagValue(['MS_REC', 'MS_PRIVATE']), null);
    case 'mkpath':
      // Already there (the rootfs has /etc/hosts): nothing to make — and in a user namespace, a root-owned file
      // could not even be opened to touch it.
      if (sys.kind(op.path) !== undefined) return;
      if (op.like !== undefined && sys.kind(op.like) !== 'dir') return sys.touch(op.path);
      return sys.mkdirp(op.path, 0o755);
    case 'mount':
      return sys.mount(op.source, op.target, op.fstype, flagValue(op.flags), op.data || null);
    case 'readonlyTree':
      return sys.mountSetattrReadonly(op.path);
    case 'mknod':
      sys.mknod(op.path, (op.type === 'c' ? 0o020000 : 0o060000) | op.mode, op.major, op.minor);
      return sys.chmod(op.path, op.mode);
    case 'symlink':
      return sys.symlink(op.target, op.path);
    case 'sethostname':
      return sys.sethostname(op.name);
    case 'chdir':
      return sys.chdir(op.path);
    case 'pivotRoot':
      return sys.pivotRoot('.', '.');
    case 'detachOldRoot':
      return sys.umount2('.', MNT_DETACH);
    case 'chroot':
      return sys.chroot(op.path);
    case 'maskPath': {
      const kind = sys.kind(op.path);
      if (kind === undefined) return;
      if (kind === 'dir') return sys.mount('tmpfs', op.path, 'tmpfs', flagValue(['MS_RDONLY']), null);
      // runc's CVE-2025-31133: a /dev/null replaced by a link would bind a file of the container's choosing.
      const dev = sys.charDevice('/dev/null');
      if (dev?.major !== 1 || dev.minor !== 3) {
        throw new InitError(`cannot mask ${op.path}: /dev/null is not the null device (1:3)`, 125, 'maskPath');
      }
      return sys.mount('/dev/null', op.path, null, flagValue(['MS_BIND']), null);
    }
    case 'readonlyPath':
      if (sys.kind(op.path) === undefined) return;
      sys.mount(op.path, op.path, null, flagValue(['MS_BIND', 'MS_REC']), null);
      return sys.mount(null, op.path, null, flagValue(['MS_REMOUNT', 'MS_BIND', 'MS_RDONLY', 'MS_REC']), null);
    case 'readonlyRoot':
      return sys.mount(null, '/', null, flagValue(['MS_REMOUNT', 'MS_BIND', 'MS_RDONLY']), null);
    case 'terminal': {
      const { master, slave } = sys.openPty();
      if (op.size) sys.setWindowSize(master, op.size.rows, op.size.columns);
      sys.takeTerminal(slave, op.uid);
      if (op.console) {
        // The console a program writes to when it has no terminal (runc binds the slave there too).
        if (sys.kind('/dev/console') === undefined) sys.touch('/dev/console');
        sys.mount(slave, '/dev/console', null, flagValue(['MS_BIND']), null);
      }
      sys.sendFd(op.socket, master);
      // The host holds the master now; a copy here would keep the terminal open after the host let go.
      return sys.close(master);
    }
    case 'dropBounding': {
      const keep = new Set(op.keep.map((n) => deps.capabilityNumber(n)));
      for (let cap = 0; cap <= deps.lastCapability(); cap++) if (!keep.has(cap)) sys.capbsetDrop(cap);
      return;
    }
    case 'keepCaps':
      return sys.setKeepCaps(op.on);
    case 'setUser':
      // A user namespace whose gid map was written without privilege refuses setgroups for good; with no
      // groups to set there is nothing lost, so only a wanted group list makes that an error.
      if (op.additionalGids.length > 0 || !sys.setgroupsDenied()) sys.setgroups(op.additionalGids);
      sys.setresgid(op.gid);
      return sys.setresuid(op.uid);
    case 'capset':
      return sys.capset(capMask(op.effective, deps), capMask(op.permitted, deps), capMask(op.inheritable, deps));
    case 'ambient':
      sys.ambientClearAll();
      for (const c of op.raise) sys.ambientRaise(deps.capabilityNumber(c));
      return;
    case 'noNewPrivs':
      return sys.noNewPrivs();
    case 'seccomp':
      return sys.seccomp(deps.seccompProgram(op.profile));
    case 'resetSignals':
      return sys.resetSignals();
    case 'closeFds':
      return sys.closeOnExecFrom(3);
    case 'exec': {
      const [cmd = ''] = op.args;
      const path = resolveCommand(cmd, op.env, sys);
      deps.send(EXEC_LINE);
      return sys.execve(path, op.args, op.env);
    }
  }
}

/**
 * Run every operation of the plan. Returns only if execve fails, which throws: an InitError naming the operation
 * and the exit code to use. (In a real run, a successful execve means this function never returns at all.)
 */
export function executePlan(plan: InitPlan, sys: Syscalls, deps: ExecuteDeps): never {
  // The seccomp filter is compiled while the host joins us to the cgroup (a few ms each, both on the way to the
  // command): the filter itself is still installed at its own step. A profile that fails to compile here fails
  // again there, under that step's name.
  const programs = new Map<string, Uint8Array>();
  const compileFilters = () => {
    for (const op of plan.steps.flatMap((s) => s.ops)) {
      if (op.op !== 'seccomp' || programs.has(op.profile)) continue;
      try {
        programs.set(op.profile, deps.seccompProgram(op.profile));
      } catch {
        // reported at the seccomp step
      }
    }
  };
  const withFilters: ExecuteDeps = { ...deps, seccompProgram: (p) => programs.get(p) ?? deps.seccompProgram(p) };
  for (const step of plan.steps) {
    for (const op of step.ops) {
      try {
        perform(op, sys, withFilters, compileFilters);
      } catch (error) {
        // Only a failed system call (or file operation) is a step that failed; anything else is a bug: rethrown.
        const failedCall = error instanceof SyscallError || (error instanceof Error && 'code' in error);
        if (!failedCall) throw error;
        const detail = error.message;
        if (op.op === 'exec' && error instanceof SyscallError) {
          // The file is there and executable, yet the kernel refused it: a bad binary, or a missing interpreter.
          throw new InitError(`exec: "${op.args[0]}": ${detail}`, error.errno === 2 ? 127 : 126, 'exec');
        }
        throw new InitError(`${step.feature} — ${detail}`, 125, op.op);
      }
    }
  }
  throw new InitError('the plan has no exec step', 125, 'exec');
}
