/**
 * Starting a container from the host: launch its init, meet it at the sync point, know when its command runs.
 *
 * The host side of lib/init/protocol.ts. The init is started with a socket as fd 3. The TypeScript init first
 * gets its plan there. When the init says `ready <pid>` it has done nothing yet, and the host does its part while
 * it waits: it writes that PID into the cgroup's cgroup.procs (after Node has started its threads, so a tight
 * pids.max cannot starve it), and runs whatever else a later lesson needs at that point. Then `go`. When the init
 * says `exec`, everything is set up and the command is about to run; an `error` line names the step that failed.
 * A container that dies before `exec` is an error with its exit code and the last lines of its stderr.
 */
import fs from 'node:fs';
import type { CleanupStack } from '../cleanup.ts';
import { UserError } from '../errors.ts';
import { markInheritedFdsCloseOnExec } from '../fds.ts';
import { initPlan, type Executor, type PlanParts } from '../init/plan.ts';
import type { InitPlan } from '../init/ops.ts';
import { LineSplitter, MAPPED_LINE, parseInitLine } from '../init/protocol.ts';
import { renderSh } from '../init/render-sh.ts';
import { childrenOf, readProcessState } from '../namespaces.ts';
import { processExists } from '../proc.ts';
import { quoteArgv } from '../quote.ts';
import type { BackgroundProcess, Runner, RunResult } from '../runner.ts';
import { hasNamespace, type ContainerSpec } from '../spec.ts';
import type { Timeline } from '../timeline.ts';
import { idMapSteps, userMaps, writeIdMaps } from '../userns.ts';
import { nsenterExecArgv, runArgv, type InitProgram, type TsInit, type UnshareArgv } from './launch.ts';
import { isSameProcess, processStartTime } from './state.ts';
import { terminalSocket, type TerminalControl, type TerminalSocket } from './terminal.ts';
import { assertRoot } from './root.ts';

export interface ContainerResult {
  exitCode: number;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** Set when the exit status was put back from what the launcher reported (see UNSHARE_LOST_SIGKILL). */
  rewritten?: { launcherExitCode: number; launcherSaid: string };
}

/**
 * util-linux 2.38's `unshare --fork` cannot pass on a SIGKILL: when its child is killed by SIGKILL it tries to
 * re-raise the signal on itself, fails (SIGKILL has no handler to reset), prints this line and exits 1. That is
 * the OOM killer's and `docker kill`'s signal, so it is put back here: exit 137, SIGKILL — and `rewritten`
 * keeps what unshare really said, so a lesson can show it.
 */
const UNSHARE_LOST_SIGKILL = /^unshare: sigprocmask unblock failed: Invalid argument\n?/m;

const LAUNCHER_LINE = 'unshare: sigprocmask unblock failed: Invalid argument';

/**
 * A container whose output goes to the terminal still has its stderr read by the host (as docker does without
 * -t): passed on as it comes, without unshare's line above, which is kept for the result to put the 137 back.
 * unshare writes that line in pieces, so text that could be its start is held until it is known not to be.
 * With a terminal (-t) stderr is the terminal itself, so there the line shows and the exit stays 1.
 */
export function stderrWithoutLauncherLine(write: (text: string) => void): {
  push: (text: string) => void;
  end: () => void;
} {
  let held = '';
  const couldStartLine = (text: string) => `${LAUNCHER_LINE}\n`.startsWith(text);
  return {
    push(text) {
      held += text;
      let out = '';
      for (;;) {
        const at = held.indexOf(LAUNCHER_LINE.slice(0, 1));
        if (at < 0) {
          out += held;
          held = '';
          break;
        }
        out += held.slice(0, at);
        held = held.slice(at);
        if (held.startsWith(`${LAUNCHER_LINE}\n`)) {
          held = held.slice(LAUNCHER_LINE.length + 1);
        } else if (couldStartLine(held)) {
          break; // maybe the start of the line: wait for more
        } else {
          out += held.slice(0, 1);
          held = held.slice(1);
        }
      }
      if (out !== '') write(out);
    },
    end() {
      if (held !== '' && held !== LAUNCHER_LINE) write(held);
      held = '';
    },
  };
}

export function toContainerResult(r: Pick<RunResult, 'exitCode' | 'signal' | 'stdout' | 'stderr'>): ContainerResult {
  if (r.exitCode === 1 && UNSHARE_LOST_SIGKILL.test(r.stderr)) {
    const said = UNSHARE_LOST_SIGKILL.exec(r.stderr)?.[0].trim() ?? '';
    return {
      exitCode: 137,
      signal: 'SIGKILL',
      stdout: r.stdout,
      stderr: r.stderr.replace(UNSHARE_LOST_SIGKILL, ''),
      rewritten: { launcherExitCode: 1, launcherSaid: said },
    };
  }
  return { exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The last few kilobytes of a file ('' when it cannot be read). */
function fileTail(file: string, bytes = 4096): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(bytes, size));
      fs.readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** One line saying how an exit code was put back, for output that shows the container's exit. */
export function rewrittenNote(r: ContainerResult): string | undefined {
  return r.rewritten
    ? `unshare ${r.rewritten.launcherExitCode === 1 ? 'exited 1' : `exited ${r.rewritten.launcherExitCode}`} ` +
        `("${r.rewritten.launcherSaid}"): util-linux 2.38 cannot re-raise SIGKILL; shown as 137, as docker does`
    : undefined;
}

export interface StartOptions {
  /** Which init runs the plan (default: the TypeScript init). */
  executor?: Executor;
  /** The node binary and init bundle for the TypeScript init (lib/init/bundle.ts's `tsInit()`). */
  init?: TsInit;
  /** Parts of the init plan the learner wrote (`--mine`); lib's otherwise. */
  parts?: Partial<PlanParts>;
  /** How the namespaces are made, when the learner wrote it (lesson 03's exercise). */
  unshareArgv?: UnshareArgv;
  /** The cgroup.procs files of the container's cgroup: the sh init joins through the launcher, the TS init at sync. */
  procsFiles?: readonly string[];
  /** More host work at the sync point, after the cgroup join (network, a user-mode network stack). */
  atSync?: (pid: number) => Promise<void>;
  /**
   * With a user namespace: how the host writes the maps while the launcher waits before the init (default: root
   * writes the spec's maps itself). A rootless container passes the user's own writes (lib/userns.ts idMapSteps).
   */
  mapIds?: (pid: number) => Promise<void>;
  /** Written to the container's stdin. */
  input?: string;
  /** `inherit`: the container gets this terminal (an interactive shell). */
  stdio?: 'pipe' | 'inherit' | 'inherit-output';
  /** The container's stdout and stderr go to this file (a detached container). */
  logFile?: string;
  /** How long the init may take to reach its command (slow, emulated guests need more). */
  readyTimeoutMs?: number;
  /** A command in front of the launcher, which must exec the rest (see LaunchOptions in shown.ts). */
  launcher?: readonly string[];
  /** Marks `launch`, `ready`, `go`, `exec` and `running` on it as the start goes (npm run bench reads them). */
  timeline?: Timeline;
}

export interface Container {
  readonly spec: ContainerSpec;
  readonly plan: InitPlan;
  /** The argv that started it. */
  readonly argv: readonly string[];
  /** Host PID of the container's first process (PID 1 inside, with a PID namespace); 0 in dry-run mode. */
  readonly hostPid: number;
  /** Host PID of the launcher the runner started (env → unshare); the first process's parent with --fork. */
  readonly launcherPid: number;
  /**
   * With `process.terminal` (`-t`): the master of the container's pseudo-terminal, now the caller's to relay and
   * close (relayTerminal or relayToLog in terminal.ts), and what the relay does to terminals (window size, raw
   * mode). Undefined otherwise, and in dry-run mode.
   */
  readonly pty?: { master: number; control: TerminalControl };
  /** Resolves when the container's first process has ended. */
  wait(): Promise<ContainerResult>;
  /** End it: SIGTERM first if `graceMs` > 0 (docker stop), then SIGKILL. */
  stop(graceMs?: number): Promise<ContainerResult>;
  /**
   * The argv of a plain `nsenter` into it (its namespaces and root, and its cgroup when it has one): how lessons
   * 02–05 run their evidence inside. `ctr exec` goes further (lib/container/exec.ts).
   */
  execArgv(argv: readonly string[]): string[];
  /** Run that and wait for it; never throws on a non-zero exit. */
  exec(argv: readonly string[], opts?: { input?: string }): Promise<ContainerResult>;
}

const READY_TIMEOUT_MS = 15_000;

/** What the init program is for this spec and executor. */
export function initProgram(plan: InitPlan, executor: Executor, init?: TsInit): InitProgram {
  if (executor === 'sh') return { executor: 'sh', script: renderSh(plan) };
  if (!init) throw new Error('the TypeScript init needs its node and bundle (tsInit())');
  return { executor: 'ts', init };
}

interface Handshake {
  pid: number;
}

/** Every process below `pid`, parents before their children (none when dry-running: pid 0). */
function descendantsOf(pid: number): number[] {
  if (pid <= 0) return [];
  const out: number[] = [];
  for (let level = childrenOf(pid); level.length > 0; level = level.flatMap((p) => childrenOf(p))) out.push(...level);
  return out;
}

/** A process's argv from /proc/<pid>/cmdline (empty while execve is still building it, or once it is gone). */
function cmdlineOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

/**
 * After the init said `exec`, wait until the process really runs the command: the kernel sends no event for
 * execve, and the init cannot speak after it. Inside execve the new argv and environment are written last, so
 * the process's cmdline becoming the command's argv means the new program is in place — microseconds later,
 * so this is a short, bounded look, and evidence read right after start sees the command, not the init.
 */
async function execDone(pid: number, args: readonly string[], limitMs = 2000): Promise<void> {
  const deadline = Date.now() + limitMs;
  const done = () => {
    const now = cmdlineOf(pid);
    if (now.length === args.length && now.every((a, i) => a === args[i])) return true;
    // A command as short as /bin/true may already be gone (or a zombie, whose cmdline is empty): done too.
    const state = readProcessState(pid)?.state;
    return state === undefined || state === 'Z' || state === 'X';
  };
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
}

/**
 * Talk to the init until it says `exec` (resolves with its PID), or fails: an `error` line, an exit before
 * `exec`, or the timeout. `onReady` is the host's part at the sync point. With `onUserns`, the launcher first
 * stops before the init (`userns <pid>`): the host writes the maps there, says `mapped`, and only then sends
 * the plan, which the init would otherwise find in the socket in place of the word it waits for.
 */
export function handshake(
  proc: BackgroundProcess,
  plan: InitPlan,
  sendPlan: boolean,
  onReady: (pid: number) => Promise<void>,
  timeoutMs: number,
  onUserns?: (pid: number) => Promise<void>,
  timeline?: Timeline,
): Promise<Handshake> {
  const sync = proc.sync;
  if (!sync) throw new Error('the container was started without its sync socket');
  return new Promise<Handshake>((resolve, reject) => {
    let pid = 0;
    const last = plan.steps.at(-1)?.ops.at(-1);
    const args = last?.op === 'exec' ? last.args : [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sync.removeAllListeners('data');
      if (error) reject(error);
      else
        void execDone(pid, args).then(() => {
          timeline?.mark('running');
          resolve({ pid });
        });
    };
    const timer = setTimeout(
      () => finish(new Error(`container ${plan.id} did not reach its command within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const lines = new LineSplitter();
    sync.setEncoding('utf8');
    sync.on('error', () => {}); // the init closing its end is not an error; its exit is handled below
    sync.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const msg = parseInitLine(line);
        if (msg.kind === 'userns' && onUserns) {
          // The waiting sh: unshare's child with a PID namespace (--fork), else unshare itself, exec'd in place.
          onUserns(msg.pid ?? childrenOf(proc.pid)[0] ?? proc.pid).then(
            () => sync.write(`${MAPPED_LINE}\n${sendPlan ? `${JSON.stringify(plan)}\n` : ''}`),
            (error: unknown) => {
              sync.write('abort\n');
              finish(error instanceof Error ? error : new Error(String(error)));
            },
          );
        } else if (msg.kind === 'ready') {
          pid = msg.pid;
          timeline?.mark('ready');
          onReady(pid).then(
            () => {
              sync.write('go\n');
              timeline?.mark('go');
            },
            (error: unknown) => {
              sync.write('abort\n');
              finish(error instanceof Error ? error : new Error(String(error)));
            },
          );
        } else if (msg.kind === 'exec') {
          timeline?.mark('exec');
          finish();
        } else if (msg.kind === 'error') {
          finish(new InitFailed(plan.id, msg.message, msg.exitCode, msg.op));
        } else {
          finish(new Error(`container ${plan.id}: a user-namespace sync nobody expected`));
        }
      }
    });
    void proc.wait().then((r) => {
      if (!settled) finish(new InitDied(plan.id, toContainerResult(r)));
    });
    if (sendPlan && !onUserns) sync.write(`${JSON.stringify(plan)}\n`);
  });
}

/**
 * The init ended before its command started, without saying why over the socket (killed, or a shell init whose
 * step failed): one line for the user, with what it printed last, and docker's 125.
 */
export class InitDied extends UserError {
  readonly exitCode = 125;

  constructor(
    readonly id: string,
    readonly result: ContainerResult,
  ) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
    const said = result.stderr.trim().split('\n').slice(-3).join(' | ');
    super(
      `container ${id}: its init ${how} before its command started${said ? ` (${said})` : ''}`,
      result.signal === 'SIGKILL'
        ? 'a larger memory limit (the OOM killer kills with SIGKILL), or dmesg for why'
        : 'npm run doctor   (it checks what containers need here)',
    );
    this.name = 'InitDied';
  }
}

/** The init reported a failed step: one line for the user, with docker's exit code (125, 126 or 127). */
export class InitFailed extends UserError {
  constructor(
    readonly id: string,
    message: string,
    readonly exitCode: number,
    readonly op: string,
  ) {
    super(`container ${id}: ${message}`);
    this.name = 'InitFailed';
  }
}

/**
 * Start the container in the background and return once its command is about to run. Its end is registered on
 * the cleanup stack first.
 */
export async function startContainer(
  runner: Runner,
  cleanup: CleanupStack,
  spec: ContainerSpec,
  opts: StartOptions = {},
): Promise<Container> {
  const executor = opts.executor ?? 'ts';
  assertRoot(spec, executor);
  const plan = initPlan(spec, { mode: 'run', executor, parts: opts.parts });
  const program = initProgram(plan, executor, opts.init);
  const procsFiles = opts.procsFiles ?? [];
  const argv = [
    ...(opts.launcher ?? []),
    ...runArgv(spec, program, executor === 'sh' ? procsFiles : [], opts.unshareArgv),
  ];
  // The sh init cannot close what it inherits; the TypeScript init marks every fd above 2 close-on-exec itself
  // (its closeFds step), so for it the host need not load an FFI to do it first.
  if (!runner.dryRun && executor === 'sh') await markInheritedFdsCloseOnExec();
  // With -t the command's stdio is the pty the init makes: the launcher's own is pipes, read here, so what
  // unshare says (its SIGKILL line) is kept for the result, as without a terminal.
  const withPty = spec.process.terminal === true && executor === 'ts' && !runner.dryRun;
  const stdio = withPty ? 'pipe' : opts.stdio;
  const toTerminal = stdio === 'inherit' || stdio === 'inherit-output';
  const stderrFilter = toTerminal ? stderrWithoutLauncherLine((t) => process.stderr.write(t)) : undefined;
  let ptySocket: TerminalSocket | undefined;
  if (withPty) {
    const socket = await terminalSocket();
    ptySocket = socket;
    cleanup.push(`close the terminal socket of ${spec.id}`, () => socket.close());
  }
  opts.timeline?.mark('launch');
  const proc = runner.start(argv, {
    sync: true,
    passFds: ptySocket ? [ptySocket.childFd] : undefined,
    input: withPty ? (opts.input ?? '') : opts.input,
    stdio,
    outputFile: opts.logFile,
    onStderr: stderrFilter?.push,
  });
  ptySocket?.closeChildEnd();
  const launcherPid = proc.pid;
  let finished: ContainerResult | undefined;
  // A detached container's output goes straight to its log file: what its launcher said last is read back from there.
  const done = proc.wait().then((r) => {
    stderrFilter?.end();
    return (finished = toContainerResult(opts.logFile ? { ...r, stderr: fileTail(opts.logFile) } : r));
  });
  let hostPid = 0;
  let hostStartTime: number | undefined;

  const stop = async (graceMs = 0): Promise<ContainerResult> => {
    if (finished) {
      // The launcher is gone, but its child need not be: a PID 1 ignores the Ctrl-C that ended the launcher, and
      // a credentials change in a user namespace clears the death signal `unshare --kill-child` set for it.
      if (hostPid !== 0 && hostPid !== launcherPid && isSameProcess(hostPid, hostStartTime)) {
        runner.apply({ kind: 'kill', pid: hostPid, signal: 'SIGKILL' });
      }
      return finished;
    }
    // Only ever the process this run started: the launcher's child (or the launcher itself), checked by PID — or,
    // once its launcher is gone (a Ctrl-C reaches the whole process group, and a PID 1 ignores it), by the start
    // time it had when it said `ready`: a reused PID has another.
    const ours =
      hostPid !== 0 &&
      (hostPid === launcherPid ||
        readProcessState(hostPid)?.ppid === launcherPid ||
        isSameProcess(hostPid, hostStartTime));
    if (ours && graceMs > 0) {
      runner.apply({ kind: 'kill', pid: hostPid, signal: 'SIGTERM' });
      const timer = setTimeout(() => !finished && proc.kill('SIGKILL'), graceMs);
      await done.finally(() => clearTimeout(timer));
    } else if (ours && processExists(hostPid)) {
      runner.apply({ kind: 'kill', pid: hostPid, signal: 'SIGKILL' });
      // The launcher ends by itself once its child is gone; give it a moment before forcing it.
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    // Stopped before it said `ready` (its PID is not known yet): whatever the launcher started goes first, since
    // `unshare --kill-child` cannot be relied on once a user namespace changed the child's credentials.
    if (!finished && hostPid === 0) {
      for (const pid of descendantsOf(launcherPid).reverse()) runner.apply({ kind: 'kill', pid, signal: 'SIGKILL' });
      // And one whose launcher died first (a Ctrl-C reaches the whole group) is no one's child any more: closing
      // our end of the sync socket ends it — an init that waits for `go` (or its maps) gives up at end of file.
      proc.sync?.destroy();
    }
    // With a PID namespace, `unshare --kill-child` makes sure its child dies with it, whatever happened above.
    if (!finished) proc.kill('SIGKILL');
    return done;
  };
  cleanup.push(`stop container ${spec.id} (PID ${launcherPid})`, () => stop());

  if (!runner.dryRun) {
    const joinCgroup = async (pid: number) => {
      // Known from here on, so that a Ctrl-C before the command runs still stops this process (see stop()).
      hostPid = pid;
      hostStartTime = processStartTime(pid);
      // The TypeScript init joins here; the sh init was put in the cgroup by its launcher already.
      if (executor === 'ts') for (const f of procsFiles) runner.apply({ kind: 'write', path: f, value: String(pid) });
      await opts.atSync?.(pid);
    };
    const mapIds = hasNamespace(spec, 'user')
      ? (opts.mapIds ?? ((pid: number) => writeIdMaps(runner, idMapSteps(pid, userMaps(spec), { as: 'root' }))))
      : undefined;
    const timeout = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const started = await handshake(proc, plan, executor === 'ts', joinCgroup, timeout, mapIds, opts.timeline);
    hostPid = started.pid;
    hostStartTime = processStartTime(hostPid);
  }
  let pty: Container['pty'];
  if (ptySocket) {
    // The init sent the master before it said `exec`: it is in the socket by now.
    const master = ptySocket.receiveMaster();
    ptySocket.close();
    if (master === undefined) throw new Error(`container ${spec.id}: its init said exec but sent no terminal`);
    pty = { master, control: ptySocket.control };
  }
  const execArgv = (cmd: readonly string[]) => nsenterExecArgv(spec, hostPid, cmd, procsFiles);
  return {
    spec,
    plan,
    argv,
    hostPid,
    launcherPid,
    pty,
    wait: () => done,
    stop,
    execArgv,
    async exec(cmd, execOpts = {}) {
      return toContainerResult(await runner.run(execArgv(cmd), { input: execOpts.input, reject: false }));
    },
  };
}

/**
 * Run the container until its command ends; return its exit code and output. While it runs, its end is on the
 * cleanup stack (Ctrl-C stops it); nothing of it outlives the call.
 */
export async function runContainer(
  runner: Runner,
  cleanup: CleanupStack,
  spec: ContainerSpec,
  opts: StartOptions = {},
): Promise<ContainerResult> {
  const c = await startContainer(runner, cleanup, spec, opts);
  return c.wait();
}

/** How a container's start command is shown: its argv, the sh script replaced by a reference to init.sh. */
export function showRunArgv(argv: readonly string[], scriptText?: string): string {
  if (scriptText === undefined) return quoteArgv(argv);
  return argv.map((a) => (a === scriptText ? '"$(cat init.sh)"' : quoteArgv([a]))).join(' ');
}
