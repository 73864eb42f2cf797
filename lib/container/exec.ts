/**
 * Running another process inside a running container: `docker exec`.
 *
 * A container is a set of namespaces, a cgroup, a root and a security profile, all held by its first process. A
 * plain `nsenter --target PID` joins the namespaces and the root, and that is all: the new process stays in the
 * host's cgroup (the container's limits do not apply to it) and keeps whatever privileges the caller had — the
 * host root's full capability set, no seccomp filter. `exec` here closes both gaps: `nsenter` joins every
 * namespace of the container, the host moves the process into the container's cgroup at the sync point, and the
 * same TypeScript init, in exec mode, enters the container's root and applies its user, capabilities,
 * no_new_privs and seccomp filter before it becomes the command.
 */
import type { CleanupStack } from '../cleanup.ts';
import { markInheritedFdsCloseOnExec } from '../fds.ts';
import { initPlan } from '../init/plan.ts';
import type { Runner } from '../runner.ts';
import type { ContainerSpec } from '../spec.ts';
import { execArgvFor, type TsInit } from './launch.ts';
import { handshake, toContainerResult, type ContainerResult } from './start.ts';
import { relayTerminal, terminalSocket, type TerminalRelay, type TerminalSocket } from './terminal.ts';

export interface ExecOptions {
  init: TsInit;
  /** The container's cgroup.procs files: the exec'd process joins them at the sync point. */
  procsFiles: readonly string[];
  env?: string[];
  cwd?: string;
  input?: string;
  /** `inherit`: the exec'd process gets this terminal (`ctr exec -it`). */
  stdio?: 'pipe' | 'inherit' | 'inherit-output';
  readyTimeoutMs?: number;
  /**
   * The launcher's argv, when the caller built it (lesson 10 shows it, and with --mine a learner's execArgvFor
   * builds it); default: execArgvFor's.
   */
  argv?: readonly string[];
  /**
   * `ctr exec -t`: a pseudo-terminal of its own, relayed to this process's terminal (keys too with `input`):
   * the same as `ctr run -t` (lib/container/terminal.ts). `stdio` is then the launcher's only: pipes.
   */
  terminal?: { input: boolean };
  /** Called with the exec'd process's host PID once it runs the command (evidence read while it runs). */
  started?: (pid: number) => Promise<void> | void;
}

/** Run `args` inside the container whose first process is `targetPid`, and wait for it to end. */
export async function execInContainer(
  runner: Runner,
  cleanup: CleanupStack,
  spec: ContainerSpec,
  targetPid: number,
  args: string[],
  opts: ExecOptions,
): Promise<ContainerResult & { pid: number }> {
  const withPty = opts.terminal !== undefined && !runner.dryRun;
  const size = withPty && process.stdout.isTTY ? process.stdout : undefined;
  const plan = initPlan(spec, {
    mode: 'exec',
    targetPid,
    args,
    env: opts.env,
    cwd: opts.cwd,
    terminal: opts.terminal !== undefined,
    consoleSize: size && { height: size.rows, width: size.columns },
  });
  const argv = opts.argv ?? execArgvFor(spec, targetPid, opts.init);
  if (!runner.dryRun) await markInheritedFdsCloseOnExec();
  let socket: TerminalSocket | undefined;
  if (withPty) {
    const s = await terminalSocket();
    socket = s;
    cleanup.push(`close the terminal socket of an exec in ${spec.id}`, () => s.close());
  }
  const proc = runner.start(argv, {
    sync: true,
    passFds: socket ? [socket.childFd] : undefined,
    input: socket ? (opts.input ?? '') : opts.input,
    stdio: socket ? 'pipe' : opts.stdio,
  });
  socket?.closeChildEnd();
  const drop = cleanup.push(`stop exec'd process (PID ${proc.pid})`, async () => {
    proc.kill('SIGKILL');
    await proc.wait();
  });
  try {
    let pid = 0;
    if (!runner.dryRun) {
      const joinCgroup = async (p: number) => {
        for (const f of opts.procsFiles) runner.apply({ kind: 'write', path: f, value: String(p) });
      };
      pid = (await handshake(proc, plan, true, joinCgroup, opts.readyTimeoutMs ?? 15_000)).pid;
    }
    let relay: TerminalRelay | undefined;
    if (socket && opts.terminal) {
      const master = socket.receiveMaster();
      socket.close();
      if (master === undefined) throw new Error(`exec in ${spec.id}: its init said exec but sent no terminal`);
      relay = relayTerminal(master, socket.control, cleanup, opts.terminal);
    }
    if (pid !== 0) await opts.started?.(pid);
    const result = toContainerResult(await proc.wait());
    await relay?.finish();
    return { ...result, pid };
  } finally {
    drop();
  }
}
