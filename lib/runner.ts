/**
 * The process runner: the one place the workshop runs a command.
 *
 * Node is multithreaded, and a multithreaded process cannot call `unshare(2)` or `setns(2)` for itself safely,
 * so every namespace, mount, cgroup move and link change is done by running the same tools a learner would type
 * (`unshare`, `nsenter`, `mount`, `ip`). Routing them all through one runner is what lets the workshop keep its
 * promise that every command is visible: in step mode each command is echoed as it runs, in dry-run mode
 * (`--explain`) it is echoed and *not* run, and in unit tests a recording fake stands in, so lesson logic can be
 * checked without root.
 *
 * Commands are argv arrays (never shell strings), started without a shell.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CommandError, CommandNotFoundError } from './errors.ts';
import { performHostOp, showHostOp, type HostOp } from './hostops.ts';
import { quoteArgv } from './quote.ts';

/**
 * The directories root's tools live in. A normal user's PATH on Debian has no sbin directories, and `sudo`
 * keeps that PATH when asked to (the lesson runner asks, so tools a learner installed in ~/bin are found):
 * then `chroot`, `pivot_root` and friends would not be found. Every command the runner starts gets them
 * appended, after the caller's own directories.
 */
export const SYSTEM_PATH_DIRS: readonly string[] = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/** The PATH the lessons' commands run with: the caller's directories, then any system directory it lacks. */
export function toolPath(envPath: string | undefined): string {
  const own = (envPath ?? '').split(':').filter(Boolean);
  return [...own, ...SYSTEM_PATH_DIRS.filter((d) => !own.includes(d))].join(':');
}

/** Where `command` would be found on `searchPath` (as execvp finds it), or undefined. */
export function findOnPath(command: string, searchPath: string): string | undefined {
  if (command.includes('/')) return fs.existsSync(command) ? command : undefined;
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  /** Extra environment variables (the rest of the environment is inherited). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Throw a CommandError when the command fails (default true). */
  reject?: boolean;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /**
   * `inherit` hands the terminal to the command (the interactive shell at the end of a lesson); `inherit-output`
   * only its output (`ctr run` without -i: the container prints straight to the terminal, its stdin is empty).
   */
  stdio?: 'pipe' | 'inherit' | 'inherit-output';
  /**
   * Give the command a socket as fd 3 (a container's init talks to the host over it: lib/init/protocol.ts).
   * Only for `start`; the host's end is `BackgroundProcess.sync`.
   */
  sync?: boolean;
  /** Only with `sync`: more fds of this process, given to the command as its fds 4, 5, … (a terminal socket). */
  passFds?: readonly number[];
  /** Append the command's stdout and stderr to this file instead of a pipe (a detached container's log). */
  outputFile?: string;
  /**
   * Start it in a session of its own (setsid), out of reach of the terminal's Ctrl-C, which goes to the whole
   * foreground process group: a lesson's undo must finish even when the learner presses Ctrl-C again. One that a
   * Ctrl-C still catches on its way there (before setsid) is run again: an undo makes something gone, so twice is
   * safe.
   */
  ownSession?: boolean;
  /**
   * Only for `start` with `stdio: 'inherit' | 'inherit-output'`: stderr comes through a pipe instead, each chunk
   * handed to this function as it arrives (which writes it on) and also kept for the result.
   */
  onStderr?: (text: string) => void;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number;
  /** Set when the command was killed by a signal, e.g. `SIGKILL` after an OOM kill. */
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** True when nothing ran because the runner is in dry-run mode. */
  dryRun: boolean;
}

export interface BackgroundProcess {
  readonly argv: readonly string[];
  /** The host PID of the started process (0 in dry-run mode). */
  readonly pid: number;
  /** Resolves when the process ends; never throws for a non-zero exit. */
  wait(): Promise<RunResult>;
  kill(signal?: NodeJS.Signals): void;
  /** The host's end of the command's fd 3, when started with `sync: true` (undefined in dry-run mode). */
  readonly sync?: Duplex;
}

export interface Runner {
  readonly dryRun: boolean;
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Start a command and return at once (a container that keeps running while the lesson looks at it). */
  start(argv: readonly string[], opts?: Omit<RunOptions, 'reject'>): BackgroundProcess;
  /** Signal every command this runner started that is still running (used on Ctrl-C / SIGTERM). */
  killAll(signal?: NodeJS.Signals): void;
  /**
   * A host effect that is not a command (a cgroup file write, a directory, a signal): echoed like a command, done
   * unless in dry-run mode. `perform` replaces the default way of doing it (a cgroup driver's own file system).
   */
  apply(op: HostOp, perform?: () => void): void;
  /**
   * True while a command holds the terminal (stdio: inherit). Ctrl-C then belongs to that command — the
   * interactive shell handles it itself — and must not end the lesson.
   */
  readonly interactive: boolean;
}

export interface RunnerOptions {
  /** Run nothing; only echo. */
  dryRun?: boolean;
  /** Called with each command, quoted for a shell, before it runs. */
  echo?: (line: string) => void;
}

function emptyResult(argv: readonly string[]): RunResult {
  return { argv, exitCode: 0, signal: undefined, stdout: '', stderr: '', dryRun: true };
}

/** The command could not be started because no such file is on the PATH (not: it ran and failed). */
function notFound(argv: readonly string[], r: Pick<Outcome, 'exitCode' | 'code'>, searchPath: string): boolean {
  return r.exitCode === undefined && r.code === 'ENOENT' && findOnPath(argv[0] ?? '', searchPath) === undefined;
}

function toResult(argv: readonly string[], r: Outcome, searchPath = ''): RunResult {
  if (notFound(argv, r, searchPath)) {
    // What a shell says and returns for a command it cannot find, so callers that accept failure see it as such.
    return {
      argv,
      exitCode: 127,
      signal: undefined,
      stdout: '',
      stderr: `${argv[0]}: command not found\n`,
      dryRun: false,
    };
  }
  return {
    argv,
    // A command killed by a signal has no exit code; report it as a shell would (128 + signal number).
    exitCode: r.exitCode ?? (r.signal ? 128 + signalNumber(r.signal) : 1),
    signal: r.signal ?? undefined,
    stdout: r.stdout,
    stderr: r.stderr,
    dryRun: false,
  };
}

function signalNumber(name: string): number {
  const n = (os.constants.signals as Record<string, number | undefined>)[name];
  return n ?? 0;
}

/** What a finished command left: its exit code or signal, its output, or why it could not start (`code`). */
interface Outcome {
  exitCode?: number;
  signal?: string;
  stdout: string;
  stderr: string;
  code?: string;
}

/** How long the pipes of a command that has exited may stay open before they are closed from this end. */
const PIPE_GRACE_MS = 2000;

/** How long a command that ignores the SIGTERM of its timeout gets before SIGKILL. */
const FORCE_KILL_AFTER_MS = 5000;

/** Captured output loses its one final newline, as `$(…)` in a shell does: `ip netns list` → `scr05ab12`. */
function stripFinalNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

function stdioFor(opts: RunOptions, outputFd: number | undefined): StdioOptions {
  const inherit = opts.stdio === 'inherit';
  const out = outputFd ?? (inherit || opts.stdio === 'inherit-output' ? 'inherit' : 'pipe');
  const noInput = (outputFd !== undefined || opts.stdio === 'inherit-output') && opts.input === undefined;
  const stdin = inherit ? 'inherit' : noInput ? 'ignore' : 'pipe';
  const err = opts.onStderr && outputFd === undefined && out === 'inherit' ? 'pipe' : out;
  return opts.sync ? [stdin, out, err, 'pipe', ...(opts.passFds ?? [])] : [stdin, out, err];
}

/**
 * Start one command with node's child_process: no shell, the caller's environment plus `opts.env` and the tool
 * PATH, stdin fed from `opts.input`, stdout and stderr captured (or inherited, or appended to a file), an optional
 * socket as fd 3. (The runner once used execa for this; doing it directly costs a third of the time per command
 * and none at start-up, which a container start made of a few commands notices.)
 */
function spawnCommand(file: string, args: readonly string[], opts: RunOptions, searchPath: string) {
  const outputFd = opts.outputFile === undefined ? undefined : fs.openSync(opts.outputFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      stdio: stdioFor(opts, outputFd),
      env: { ...process.env, ...opts.env, PATH: searchPath },
      cwd: opts.cwd,
      detached: opts.ownSession === true && opts.stdio !== 'inherit',
    });
  } finally {
    if (outputFd !== undefined) fs.closeSync(outputFd);
  }
  const done = new Promise<Outcome>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const onStderr = opts.onStderr;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onStderr?.(d);
    });
    // The command may exit without reading its input (EPIPE); that is its business, not an error here.
    child.stdin?.on('error', () => {});
    if (child.stdin) child.stdin.end(opts.input ?? '');
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS).unref();
      }, opts.timeoutMs);
    }
    const streamsEnded = Promise.all(
      [child.stdout, child.stderr].map(
        (s) => new Promise<void>((r) => (s && !s.readableEnded ? s.on('close', () => r()) : r())),
      ),
    );
    // Once the command has exited, what is still in its pipes comes within moments — unless a process it left
    // behind holds them open (a container PID 1 orphaned by a Ctrl-C): that must not keep the runner waiting forever.
    const drained = () =>
      Promise.race([
        streamsEnded,
        new Promise<void>((r) =>
          setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            r();
          }, PIPE_GRACE_MS).unref(),
        ),
      ]);
    let settled = false;
    const finish = (o: Omit<Outcome, 'stdout' | 'stderr'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void drained().then(() =>
        resolve({ ...o, stdout: stripFinalNewline(stdout), stderr: stripFinalNewline(stderr) }),
      );
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a command that never started ends here (ENOENT, EACCES); a running one ends with 'exit'.
      if (child.pid === undefined) finish({ code: error.code });
    });
    child.on('exit', (code, signal) => finish({ exitCode: code ?? undefined, signal: signal ?? undefined }));
  });
  return { child, done };
}

/** How often a command in a session of its own is started when a Ctrl-C caught it on its way there. */
const OWN_SESSION_ATTEMPTS = 3;

/** The real runner, built on node's child_process. */
export function createRunner(options: RunnerOptions = {}): Runner {
  const live = new Set<ChildProcess>();
  const echo = (argv: readonly string[]) => options.echo?.(quoteArgv(argv));
  let interactive = 0;
  // A command still running when this process exits (an error, process.exit) is ended with it, not orphaned.
  const endAll = () => {
    for (const child of live) child.kill('SIGTERM');
  };
  const track = (child: ChildProcess, done: Promise<unknown>) => {
    if (live.size === 0) process.on('exit', endAll);
    live.add(child);
    void done.finally(() => {
      live.delete(child);
      if (live.size === 0) process.off('exit', endAll);
    });
  };

  return {
    dryRun: options.dryRun ?? false,
    get interactive() {
      return interactive > 0;
    },

    async run(argv, opts = {}) {
      echo(argv);
      if (options.dryRun) return emptyResult(argv);
      const [file, ...args] = argv;
      if (!file) throw new Error('runner.run called with an empty argv');
      const searchPath = toolPath(opts.env?.PATH ?? process.env.PATH);
      if (opts.stdio === 'inherit') interactive++;
      let outcome: Outcome;
      try {
        for (let attempt = 1; ; attempt++) {
          const { child, done } = spawnCommand(file, args, opts, searchPath);
          track(child, done);
          outcome = await done;
          // A Ctrl-C sent to our group between the fork and the child's setsid can still reach the child (seen: an
          // undo killed by SIGINT, about 1 run in 6 of lesson 08 with Ctrl-C every 10 ms): run it again.
          if (!(opts.ownSession && outcome.signal === 'SIGINT' && attempt < OWN_SESSION_ATTEMPTS)) break;
        }
      } finally {
        if (opts.stdio === 'inherit') interactive--;
      }
      if (notFound(argv, outcome, searchPath)) {
        if (opts.reject !== false) throw new CommandNotFoundError(file, searchPath);
      }
      const result = toResult(argv, outcome, searchPath);
      if (result.exitCode !== 0 && opts.reject !== false) {
        throw new CommandError({ ...result, display: quoteArgv(argv) });
      }
      return result;
    },

    start(argv, opts = {}) {
      echo(argv);
      if (options.dryRun) {
        return { argv, pid: 0, wait: async () => emptyResult(argv), kill: () => {} };
      }
      const [file, ...args] = argv;
      if (!file) throw new Error('runner.start called with an empty argv');
      const searchPath = toolPath(opts.env?.PATH ?? process.env.PATH);
      const { child, done } = spawnCommand(file, args, opts, searchPath);
      track(child, done);
      const sync = opts.sync ? (child.stdio[3] as Duplex) : undefined;
      const result = done.then((o) => toResult(argv, o, searchPath));
      return {
        argv,
        pid: child.pid ?? 0,
        wait: () => result,
        kill: (signal: NodeJS.Signals = 'SIGTERM') => {
          child.kill(signal);
        },
        sync,
      };
    },

    killAll(signal = 'SIGTERM') {
      for (const child of live) child.kill(signal);
    },

    apply(op, perform) {
      options.echo?.(showHostOp(op));
      if (options.dryRun) return;
      if (perform) perform();
      else performHostOp(op);
    },
  };
}

/** One call a RecordingRunner saw: a command, or a host effect (`op`, with `argv` empty). */
export interface RecordedCall {
  argv: readonly string[];
  opts: RunOptions;
  background: boolean;
  op?: HostOp;
}

type Responder = (argv: readonly string[]) => Partial<RunResult> | undefined;

/**
 * A runner for unit tests: it runs nothing, remembers every command, and answers with canned results, so the
 * logic that builds commands (and reacts to their output) is tested without root or Linux.
 */
export class RecordingRunner implements Runner {
  readonly dryRun = false;
  readonly interactive = false;
  readonly calls: RecordedCall[] = [];
  private readonly responders: Responder[] = [];

  /** Answer commands for which `match` returns a result; later responders win. */
  respond(match: Responder): this {
    this.responders.unshift(match);
    return this;
  }

  /** Answer every command whose quoted form contains `needle` with this stdout. */
  respondTo(needle: string, stdout: string, exitCode = 0): this {
    return this.respond((argv) => (quoteArgv(argv).includes(needle) ? { stdout, exitCode } : undefined));
  }

  /** The recorded commands and host effects, as shell lines, one per entry: handy for `toEqual` assertions. */
  get lines(): string[] {
    return this.calls.map((c) => (c.op ? showHostOp(c.op) : quoteArgv(c.argv)));
  }

  /** Records the effect; performs it only through `perform` (a cgroup driver's fake file system in a test). */
  apply(op: HostOp, perform?: () => void): void {
    this.calls.push({ argv: [], opts: {}, background: false, op });
    perform?.();
  }

  private answer(argv: readonly string[]): RunResult {
    for (const r of this.responders) {
      const hit = r(argv);
      if (hit) return { argv, exitCode: 0, signal: undefined, stdout: '', stderr: '', dryRun: false, ...hit };
    }
    return { argv, exitCode: 0, signal: undefined, stdout: '', stderr: '', dryRun: false };
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv, opts, background: false });
    const result = this.answer(argv);
    if (result.exitCode !== 0 && opts.reject !== false) {
      throw new CommandError({ ...result, display: quoteArgv(argv) });
    }
    return result;
  }

  start(argv: readonly string[], opts: RunOptions = {}): BackgroundProcess {
    this.calls.push({ argv, opts, background: true });
    const result = this.answer(argv);
    return { argv, pid: 4242, wait: async () => result, kill: () => {} };
  }

  killAll(): void {}
}
