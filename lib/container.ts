/**
 * The container: a spec, and the process that spec turns into.
 *
 * A `ContainerSpec` says what the container is — its root filesystem, its command, its hostname, which
 * namespaces it gets, what is mounted inside, which cgroup it belongs to. It grows one field per lesson, and
 * its field names follow the OCI runtime spec (`root.path`, `process.args`, `hostname`, `mounts`,
 * `linux.namespaces`, `linux.devices`) so it maps onto a `config.json`.
 *
 * Turning the spec into a running process takes three parts, each a plain command a learner could type:
 *
 *   env -i PATH=… HOME=/root                      a clean environment: nothing leaks in from the host
 *   [sh -c 'echo $$ > cgroup.procs …' …]          (lesson 05) join the cgroup *before* anything else runs
 *   unshare --uts --ipc --pid --mount --fork …    create the namespaces
 *   sh -c '<init script>' scr-init ROOTFS …       mount, pivot_root, then exec the command
 *
 * The init script is generated here from the spec, one piece per feature (hostname, private propagation,
 * mounts, devices, pivot_root, exec), so each lesson adds a piece instead of copying a script; lessons print it.
 * It runs in the host's `sh`, inside the new namespaces, and ends with `exec`: the command *replaces* the script
 * rather than running as its child, so it keeps the PID (PID 1, in a PID namespace), nothing sits between it and
 * the kernel, and its exit status is the container's, unchanged. Values that come from the user (rootfs path,
 * hostname, command) are passed to the script as positional parameters, never pasted into its text.
 */
import fs from 'node:fs';
import type { CleanupStack } from './cleanup.ts';
import { CommandError } from './errors.ts';
import type { InteractiveShell } from './lesson.ts';
import {
  bindRootLines,
  deviceLines,
  makePrivateLines,
  mountLines,
  pivotRootLines,
  DEFAULT_DEVICES,
  DEFAULT_MOUNTS,
  type Device,
  type Mount,
} from './mounts.ts';
import { childrenOf, nsenterArgv, readProcessState, unshareArgv, type NamespaceType } from './namespaces.ts';
import { processExists } from './proc.ts';
import { quoteArg } from './quote.ts';
import { assertRootfs } from './rootfs.ts';
import type { BackgroundProcess, Runner, RunResult } from './runner.ts';

export interface ContainerSpec {
  /** Names everything made for this container on the host; also the default hostname. */
  id: string;
  /** OCI `root`: the directory that becomes the container's `/`. */
  root: { path: string };
  /** OCI `process`: the command (`args`, run with `exec`), its environment (`KEY=value`) and directory. */
  process: { args: string[]; env?: string[]; cwd?: string };
  /** OCI `hostname`; needs a UTS namespace. */
  hostname?: string;
  /** OCI `linux.namespaces[].type`: the namespaces the container gets (all others are the host's). */
  namespaces: NamespaceType[];
  /**
   * How the container's `/` is made: `chroot` (lessons 01–03) only changes where `/` resolves and leaves the
   * host's filesystem in the tree; `pivot_root` (lesson 04 on, needs a mount namespace) replaces the root and
   * removes the host's from the container's tree.
   */
  rootSwitch: 'chroot' | 'pivot_root';
  /** OCI `mounts`: filesystems mounted inside the root before the command starts (needs a mount namespace). */
  mounts?: Mount[];
  /** OCI `linux.devices`: device nodes made in the container's /dev (mount a tmpfs on /dev first). */
  devices?: Device[];
  /**
   * Lesson 05: `cgroup.procs` files (absolute paths) the container's first process writes its own PID into
   * before it creates any namespace, so it and everything it starts are inside the cgroup from the first
   * instruction on.
   */
  cgroup?: { procsFiles: string[] };
}

/** The environment a container starts with when the spec gives none (docker's defaults, give or take). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function containerEnv(spec: ContainerSpec): string[] {
  const env = spec.process.env ?? [DEFAULT_PATH, 'HOME=/root'];
  const hasPath = env.some((e) => e.startsWith('PATH='));
  const extra = [
    // The init script runs host tools (mount, hostname) before the command: it needs a PATH even if the image has none.
    ...(hasPath ? [] : [DEFAULT_PATH]),
    ...(spec.hostname && !env.some((e) => e.startsWith('HOSTNAME=')) ? [`HOSTNAME=${spec.hostname}`] : []),
  ];
  return [...env, ...extra];
}

/**
 * The container as lesson 04 leaves it: its own hostname, IPC, PIDs and mount tree, pivot_root into the rootfs,
 * /proc, read-only /sys and a minimal /dev. Later lessons start from this and add their field.
 */
export function baseContainerSpec(opts: {
  id: string;
  rootfs: string;
  args: string[];
  hostname?: string;
}): ContainerSpec {
  return {
    id: opts.id,
    root: { path: opts.rootfs },
    process: { args: opts.args },
    hostname: opts.hostname ?? `scr${opts.id}`,
    namespaces: ['uts', 'ipc', 'pid', 'mount'],
    rootSwitch: 'pivot_root',
    mounts: [...DEFAULT_MOUNTS],
    devices: [...DEFAULT_DEVICES],
  };
}

/** Mistakes in a spec that lib or a lesson made (not the learner): thrown as plain errors. */
export function validateSpec(spec: ContainerSpec): void {
  const has = (t: NamespaceType) => spec.namespaces.includes(t);
  if (spec.process.args.length === 0) throw new Error('container spec has no command (process.args is empty)');
  if (spec.hostname !== undefined && !has('uts')) {
    throw new Error('setting a hostname needs a UTS namespace, or it would rename the host');
  }
  if ((spec.mounts?.length || spec.rootSwitch === 'pivot_root') && !has('mount')) {
    throw new Error('mounts and pivot_root need a mount namespace, or they would land on the host');
  }
  if (spec.devices?.length && !spec.mounts?.some((m) => m.destination === '/dev')) {
    throw new Error('devices need a tmpfs mounted on /dev first, or they would be made in the rootfs on disk');
  }
  if (spec.rootSwitch === 'chroot' && spec.process.cwd && spec.process.cwd !== '/') {
    throw new Error('a working directory needs rootSwitch pivot_root (chroot always starts in /)');
  }
}

// ---- the init script ----------------------------------------------------------------------------------------

/** One feature's share of the init script. */
export interface ScriptPiece {
  /** Which feature needs these lines, shown as a comment above them. */
  feature: string;
  lines: string[];
}

/** The script's own name ($0), which is what `ps` shows for it while it runs. */
export const INIT_NAME = 'scr-init';

/** The positional parameters of the init script, before the command: [name, value]. */
export function initParams(spec: ContainerSpec): Array<[string, string]> {
  const params: Array<[string, string]> = [['root', spec.root.path]];
  if (spec.hostname !== undefined) params.push(['hostname', spec.hostname]);
  if (spec.process.cwd && spec.rootSwitch === 'pivot_root') params.push(['cwd', spec.process.cwd]);
  return params;
}

/** The init script, feature by feature. Pure: the same spec always gives the same pieces. */
export function initScriptPieces(spec: ContainerSpec): ScriptPiece[] {
  validateSpec(spec);
  const params = initParams(spec);
  const pieces: ScriptPiece[] = [
    {
      // -e: stop at the first failing step rather than exec the command half set up; -u: a typo is an error.
      feature: 'stop at the first error; name the parameters (the command follows them)',
      lines: ['set -eu', params.map(([name], i) => `${name}=$${i + 1}`).join(' '), `shift ${params.length}`],
    },
  ];
  if (spec.hostname !== undefined) {
    pieces.push({ feature: 'UTS namespace: our own hostname', lines: ['hostname "$hostname"'] });
  }
  if (spec.namespaces.includes('mount')) {
    pieces.push({ feature: 'mount namespace: nothing mounted here propagates to the host', lines: makePrivateLines() });
  }
  if (spec.rootSwitch === 'pivot_root') {
    pieces.push({ feature: 'pivot_root needs the new root to be a mount point', lines: bindRootLines() });
  }
  if (spec.mounts?.length) {
    const where = spec.mounts.map((m) => m.destination).join(', ');
    pieces.push({ feature: `mounts inside the rootfs: ${where}`, lines: spec.mounts.flatMap(mountLines) });
  }
  if (spec.devices?.length) {
    pieces.push({ feature: 'devices: only the harmless ones', lines: deviceLines(spec.devices) });
  }
  if (spec.rootSwitch === 'pivot_root') {
    pieces.push({ feature: 'pivot_root: the rootfs becomes /, the host root is detached', lines: pivotRootLines() });
    if (spec.process.cwd) pieces.push({ feature: 'working directory', lines: ['cd "$cwd"'] });
  }
  pieces.push({
    feature: 'become the command: same PID, its exit status is the container’s',
    lines: [spec.rootSwitch === 'pivot_root' ? 'exec "$@"' : 'exec chroot "$root" "$@"'],
  });
  return pieces;
}

/** The init script as one text, each piece under a comment naming its feature. */
export function initScript(spec: ContainerSpec): string {
  return initScriptPieces(spec)
    .map((p) => [`# ${p.feature}`, ...p.lines].join('\n'))
    .join('\n');
}

// ---- the argv -----------------------------------------------------------------------------------------------

/**
 * The cgroup prologue (lesson 05): a host-side `sh` writes its own PID ($$) into each cgroup.procs file given
 * before `--`, then `exec`s the rest — so the same process, already in the cgroup, goes on to create the
 * namespaces. The paths are positional parameters, never part of the script text.
 */
export const CGROUP_PROLOGUE = 'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"';

export function cgroupPrologueArgv(procsFiles: readonly string[]): string[] {
  if (procsFiles.length === 0) return [];
  return ['sh', '-c', CGROUP_PROLOGUE, 'scr-cgroup', ...procsFiles, '--'];
}

/** `env -i` with the container's environment: the command sees exactly these variables. */
export function envArgv(spec: ContainerSpec): string[] {
  return ['env', '-i', ...containerEnv(spec)];
}

/** The `unshare` part: the spec's namespaces; fork when a PID namespace needs it; propagation left to the script. */
export function containerUnshareArgv(spec: ContainerSpec): string[] {
  const fork = spec.namespaces.includes('pid');
  return unshareArgv(spec.namespaces, { fork, killChild: fork, propagation: 'unchanged' });
}

/** The whole argv that runs the container to completion (or in the background). Pure. */
export function containerArgv(spec: ContainerSpec): string[] {
  const script = initScript(spec);
  return [
    ...envArgv(spec),
    ...cgroupPrologueArgv(spec.cgroup?.procsFiles ?? []),
    ...containerUnshareArgv(spec),
    'sh',
    '-c',
    script,
    INIT_NAME,
    ...initParams(spec).map(([, value]) => value),
    ...spec.process.args,
  ];
}

/**
 * The argv that runs `argv` inside the running container whose first process is `hostPid` (docker exec): the
 * same environment and cgroup, then `nsenter` into its namespaces and its root directory.
 */
export function containerExecArgv(spec: ContainerSpec, hostPid: number | string, argv: readonly string[]): string[] {
  return [
    ...envArgv(spec),
    ...cgroupPrologueArgv(spec.cgroup?.procsFiles ?? []),
    ...nsenterArgv(hostPid, spec.namespaces, { root: true, wd: true }),
    ...argv,
  ];
}

/** The file name the shown commands keep the init script in. */
export const INIT_FILE = 'init.sh';

/** The init script as a heredoc that writes it to init.sh: pasted into a shell, it makes that very file. */
export function initScriptHeredoc(spec: ContainerSpec): string {
  return `cat > ${INIT_FILE} <<'EOF'\n${initScript(spec)}\nEOF`;
}

/**
 * The container's command as a line a learner can paste after the heredoc: the same argv as containerArgv, with
 * the script read back from init.sh instead of spelled out inline.
 */
export function showContainerCommand(spec: ContainerSpec): string {
  const script = initScript(spec);
  return containerArgv(spec)
    .map((a) => (a === script ? `"$(cat ${INIT_FILE})"` : quoteArg(a)))
    .join(' ');
}

/**
 * The shell line that sets $PID to the host PID of the container's first process, after starting it with `&`:
 * `$!` itself (env execs unshare, which execs the script, which execs the command), or, with a PID namespace,
 * the child that `unshare --fork` made (given a moment to exist).
 */
export function pidLine(spec: ContainerSpec): string {
  return spec.namespaces.includes('pid') ? 'sleep 0.5; PID=$(pgrep -P $!)' : 'PID=$!';
}

/**
 * What a lesson shows for starting a container in the background: the init script as a heredoc, then the
 * command that runs it, with `&`, then the line that keeps its PID in $PID for the commands that follow.
 */
export function startCommands(spec: ContainerSpec): {
  script: { shell: string };
  start: { shell: string };
  pid: { shell: string };
} {
  return {
    script: { shell: initScriptHeredoc(spec) },
    start: { shell: `${showContainerCommand(spec)} &` },
    pid: { shell: pidLine(spec) },
  };
}

/** The same container with an interactive login shell as its command, and the terminal type passed in. */
export function interactiveSpec(spec: ContainerSpec, term = process.env.TERM ?? 'xterm'): ContainerSpec {
  const env = spec.process.env ?? [DEFAULT_PATH, 'HOME=/root'];
  return { ...spec, process: { ...spec.process, args: ['sh', '-l'], env: [...env, `TERM=${term}`] } };
}

/** The shell a lesson offers at the end: a login shell in this same container, shown as init.sh + command. */
export function interactiveShell(spec: ContainerSpec, explain: string): InteractiveShell {
  const shell = interactiveSpec(spec);
  return { explain, argv: containerArgv(shell), display: showContainerCommand(shell) };
}

// ---- running it ---------------------------------------------------------------------------------------------

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
 * re-raise the signal on itself, fails to reset the handler of SIGKILL (which has none), prints this line and
 * exits 1. That is the OOM killer's and `docker kill`'s signal, so it is put back here: exit 137, SIGKILL.
 */
const UNSHARE_LOST_SIGKILL = /^unshare: sigprocmask unblock failed: Invalid argument\n?/m;

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

export interface RunContainerOptions {
  /** Written to the container's stdin. */
  input?: string;
  /** startContainer: how long the container may take to reach its command (slow, emulated guests need more). */
  readyTimeoutMs?: number;
}

/**
 * Run the container until its command ends; return the command's exit code and output. While it runs, its end
 * is on the cleanup stack (Ctrl-C stops it); nothing of it outlives the call.
 */
export async function runContainer(
  runner: Runner,
  cleanup: CleanupStack,
  spec: ContainerSpec,
  opts: RunContainerOptions = {},
): Promise<ContainerResult> {
  assertRootfs(spec.root.path);
  const proc = runner.start(containerArgv(spec), { input: opts.input });
  const drop = cleanup.push(`stop container ${spec.id} (PID ${proc.pid})`, async () => {
    proc.kill('SIGKILL');
    await proc.wait();
  });
  try {
    return toContainerResult(await proc.wait());
  } finally {
    drop();
  }
}

export interface Container {
  readonly spec: ContainerSpec;
  /** The argv that started it. */
  readonly argv: readonly string[];
  /** Host PID of the container's first process (PID 1 inside, with a PID namespace); 0 in dry-run mode. */
  readonly hostPid: number;
  /** Host PID of the command the runner started (env → unshare); the same as hostPid without a PID namespace. */
  readonly launcherPid: number;
  /** The argv that runs a command inside (shown before `exec`). */
  execArgv(argv: readonly string[]): string[];
  /** Run a command inside the running container (docker exec) and wait for it; never throws on a non-zero exit. */
  exec(argv: readonly string[], opts?: RunContainerOptions): Promise<ContainerResult>;
  /** Resolves when the container's first process has ended. */
  wait(): Promise<ContainerResult>;
  /** End it: SIGTERM first if `graceMs` > 0 (docker stop), then SIGKILL to its first process. */
  stop(graceMs?: number): Promise<ContainerResult>;
}

const POLL_MS = 5;
const READY_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll something the host can read about a container (a zombie appeared, a process is gone) until `probe`
 * returns a value. The kernel sends no event for these, so looking again every few milliseconds is the honest
 * way; the timeout only turns a hang into an error that says what never happened.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting ${timeoutMs / 1000}s for ${what}`);
    await sleep(POLL_MS);
  }
}

function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

const sameArgv = (a: readonly string[] | undefined, b: readonly string[]) =>
  !!a && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Whether a command line is one of the stages before the container's command: `env -i`, the cgroup prologue,
 * `unshare`, the init script. Once the first process is none of these, the init script has exec'd the command
 * (which may itself have exec'd something else already): mounts, pivot_root and hostname are done.
 */
export function isLauncherStage(cmdline: readonly string[], script: string): boolean {
  const [argv0 = '', flag, text] = cmdline;
  if (argv0 === 'env' || argv0 === 'unshare') return true;
  return argv0 === 'sh' && flag === '-c' && (text === script || text === CGROUP_PROLOGUE);
}

/**
 * Start the container in the background and return once its command runs: its first process has `exec`ed the
 * command (its /proc/<pid>/cmdline is no longer a launcher stage), so the mounts, pivot_root and hostname are
 * all done.
 * Its end is registered on the cleanup stack at once.
 */
export async function startContainer(
  runner: Runner,
  cleanup: CleanupStack,
  spec: ContainerSpec,
  opts: RunContainerOptions = {},
): Promise<Container> {
  assertRootfs(spec.root.path);
  const argv = containerArgv(spec);
  const proc: BackgroundProcess = runner.start(argv, { input: opts.input });
  const launcherPid = proc.pid;
  let finished: ContainerResult | undefined;
  const done = proc.wait().then((r) => (finished = toContainerResult(r)));
  let hostPid = spec.namespaces.includes('pid') ? 0 : launcherPid;

  const stop = async (graceMs = 0): Promise<ContainerResult> => {
    if (finished) return finished;
    // Signal the container's first process, by PID, and only while it is still the one this run started.
    const ours = hostPid !== 0 && (hostPid === launcherPid || readProcessState(hostPid)?.ppid === launcherPid);
    if (ours && graceMs > 0) {
      process.kill(hostPid, 'SIGTERM');
      const timer = setTimeout(() => !finished && proc.kill('SIGKILL'), graceMs);
      await done.finally(() => clearTimeout(timer));
    } else if (ours && processExists(hostPid)) {
      process.kill(hostPid, 'SIGKILL');
    }
    // With a PID namespace, `unshare --kill-child` makes sure its child dies with it, whatever happened above.
    if (!finished) proc.kill('SIGKILL');
    return done;
  };
  cleanup.push(`stop container ${spec.id} (PID ${launcherPid})`, () => stop());

  if (!runner.dryRun) {
    const timeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const script = initScript(spec);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (finished) {
        // Exited before (or just as) it became ready: say why, with its stderr.
        if (finished.exitCode !== 0) {
          throw new CommandError({ argv, display: showContainerCommand(spec), ...finished });
        }
        break;
      }
      if (hostPid === 0) hostPid = childrenOf(launcherPid)[0] ?? 0;
      const cmdline = hostPid !== 0 ? readCmdline(hostPid) : undefined;
      if (cmdline && (sameArgv(cmdline, spec.process.args) || !isLauncherStage(cmdline, script))) break;
      if (Date.now() > deadline) {
        throw new Error(`container ${spec.id} did not start its command within ${timeoutMs / 1000}s`);
      }
      await sleep(POLL_MS);
    }
  }

  return {
    spec,
    argv,
    hostPid,
    launcherPid,
    execArgv: (cmd) => containerExecArgv(spec, hostPid, cmd),
    async exec(cmd, execOpts = {}) {
      const r = await runner.run(containerExecArgv(spec, hostPid, cmd), { input: execOpts.input, reject: false });
      return toContainerResult(r);
    },
    wait: () => done,
    stop,
  };
}
