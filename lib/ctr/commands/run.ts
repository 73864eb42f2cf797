/**
 * ctr run — docker run: make a container from an image (or a rootfs directory) and run a command in it, attached
 * or detached. From an image, the container's root is an overlay of the image's layers (lower dirs from the
 * store) and its command, environment, working directory and user come from the image's config.
 *
 * Attached, this process is the container's parent: it streams its output, forwards the first Ctrl-C or SIGTERM to
 * the container's PID 1 (a second one kills it), records its exit code and removes its cgroup — and with --rm
 * everything else. With -t the container has a pseudo-terminal of its own, relayed to this one (raw with -i, so a
 * Ctrl-C typed then is the container's key, not a signal for ctr: lib/container/terminal.ts). Detached (-d), a
 * small waiter process (`ctr __shim`, see shim.ts) does all that instead, because this process exits as soon as
 * the container runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { capabilitiesNotHeld, readOwnBoundingSet } from '../../capabilities.ts';
import { CleanupStack } from '../../cleanup.ts';
import { createContainer, markExited, markRunning, oomKilledIn } from '../../container/lifecycle.ts';
import { rewrittenNote, startContainer } from '../../container/start.ts';
import { relayTerminal } from '../../container/terminal.ts';
import { UserError } from '../../errors.ts';
import { LineSplitter } from '../../init/protocol.ts';
import { Timeline } from '../../timeline.ts';
import { usernsBlocker } from '../../preflight.ts';
import { hasNamespace, type ContainerSpec } from '../../spec.ts';
import type { Command, CtrContext } from '../command.ts';
import type { ImageRecord, ImageStore } from '../../image/store.ts';
import { newContainerId, RUN_FLAGS, runRequest, type RunRequest, type RunSource } from '../run-spec.ts';

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A rootfs named on the command line: an existing directory. */
export function resolveRootfsArg(arg: string): Extract<RunSource, { kind: 'rootfs' }> {
  const p = path.resolve(arg);
  if (!isDirectory(p))
    throw new UserError(
      `no such rootfs directory: ${arg}`,
      'ctr run /var/lib/scratch/rootfs/busybox sh   (npm run rootfs builds it)',
    );
  return { kind: 'rootfs', image: arg, path: fs.realpathSync(p) };
}

/**
 * What `ctr run X` starts from: a path (`/…`, `./…`, `../…`) is a rootfs directory; anything else an image in the
 * store (`scratch/layers`, `busybox:1.36`, an id prefix) — or, when there is no such image but a directory of that
 * name, that directory.
 */
export function resolveRunSource(arg: string, store: ImageStore): RunSource {
  if (/^\.{0,2}\//.test(arg)) return resolveRootfsArg(arg);
  let record: ImageRecord | undefined;
  try {
    record = store.get(arg);
  } catch (e) {
    if (!(e instanceof UserError) || !isDirectory(arg)) throw e;
  }
  if (!record) {
    if (isDirectory(arg)) return resolveRootfsArg(arg);
    throw new UserError(
      `no such image or rootfs directory: ${arg}`,
      `ctr images   (ctr pull ${arg}, or ctr load -i FILE; a rootfs: ctr run /var/lib/scratch/rootfs/busybox sh)`,
    );
  }
  return {
    kind: 'image',
    image: arg,
    id: record.id,
    config: store.config(record),
    lowerDirs: store.lowerDirs(record),
  };
}

/**
 * SCRATCH_RUN_ID fixes the new container's id, so a test can find exactly its resources. Run by a lesson (the runner
 * sets SCRATCH_PARENT_RUN to its own run id), the id starts with the lesson's, so `npm run clean -- --only 07ab12`
 * after a killed lesson 07 finds the containers it ran with ctr too. Else a random one.
 */
export function idFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const id = env.SCRATCH_RUN_ID;
  const parent = env.SCRATCH_PARENT_RUN;
  if (!id && parent && /^[0-9a-f]{2,8}$/.test(parent)) return `${parent}${newContainerId()}`.slice(0, 10);
  if (!id) return undefined;
  if (!/^[0-9a-f]{10}$/.test(id))
    throw new UserError(`SCRATCH_RUN_ID=${id} is not a container id (10 hex digits)`, 'unset SCRATCH_RUN_ID');
  return id;
}

/**
 * Ctrl-C and SIGTERM while attached: the first goes to the container's PID 1, the second kills it. One that comes
 * while the container is being made is kept and passed on the moment it runs (so it stops at once); one that comes
 * after it ended, while its cgroup, root and network are taken down, waits for that to finish — a second Ctrl-C
 * must not leave half of a container behind. The handlers stay until the very end (`stop()`).
 */
function forwardSignals(pid: () => number, kill: () => void) {
  let count = 0;
  let pending: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid(), signal);
    } catch {
      kill();
    }
  };
  const on = (signal: NodeJS.Signals) => {
    count++;
    if (pid() === 0) {
      pending ??= signal;
      return;
    }
    if (count > 1) return kill();
    forward(signal);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    /** The container runs now: a signal that came while it was being made is passed on. */
    started: () => pending && pid() !== 0 && forward(pending),
    stop: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/**
 * SCRATCH_TIMINGS=FILE: when the run is over, write its timeline there as JSON (spec, created, launch, ready, go,
 * exec, running, exited, removed; milliseconds since ctr started) — what `npm run bench` reads.
 */
function writeTimings(env: NodeJS.ProcessEnv, timeline: Timeline): void {
  const file = env.SCRATCH_TIMINGS;
  if (file) fs.writeFileSync(file, `${JSON.stringify(timeline.marks)}\n`);
}

async function runAttached(ctx: CtrContext, req: RunRequest, timeline: Timeline): Promise<number> {
  const cleanup = new CleanupStack();
  let pid = 0;
  let killed = false;
  const signals = forwardSignals(
    () => pid,
    () => {
      killed = true;
      if (pid) ctx.runner.apply({ kind: 'kill', pid, signal: 'SIGKILL' });
    },
  );
  try {
    const created = await createContainer(ctx.runner, cleanup, { ...req, detached: false });
    timeline.mark('created');
    const c = await startContainer(ctx.runner, cleanup, created.state.spec, {
      executor: 'ts',
      init: await ctx.init(),
      procsFiles: created.cgroup.procsFiles,
      stdio: req.interactive ? 'inherit' : 'inherit-output',
      timeline,
    });
    pid = c.hostPid;
    // -t: this terminal relayed to the container's own pty (raw with -i, so Ctrl-C is the container's key).
    const relay = c.pty && relayTerminal(c.pty.master, c.pty.control, cleanup, { input: req.interactive });
    signals.started();
    markRunning(created.state, pid);
    if (!req.autoRemove) created.keep();
    const r = await c.wait();
    await relay?.finish();
    // Its PID is free now, and may be another process's soon: nothing is sent to it any more.
    pid = 0;
    timeline.mark('exited');
    // As docker, nothing is printed for a killed command: its exit code says it, and `ctr inspect` says how.
    const killedBy = r.signal ? `killed by ${r.signal}${killed ? ' (ctr was interrupted twice)' : ''}` : undefined;
    markExited(req.spec.id, r.exitCode, rewrittenNote(r) ?? killedBy, oomKilledIn(created.cgroup));
    return r.exitCode;
  } finally {
    await cleanup.unwind();
    signals.stop();
    timeline.mark('removed');
    writeTimings(ctx.env, timeline);
  }
}

function withConsoleSize(spec: ContainerSpec, size: { rows: number; columns: number }): ContainerSpec {
  return { ...spec, process: { ...spec.process, consoleSize: { height: size.rows, width: size.columns } } };
}

/**
 * Node flags for the waiter, which stays as long as its container: no JIT (it runs a few hundred lines, then
 * sleeps; without a JIT node maps about 5 MB less, and wasm, which needs one, is off too) and no V8 worker threads
 * (three fewer threads per container). What it does is unchanged. Measured in `npm run bench` (group scale): its
 * private memory stays about 10 MB whatever the flags — the price of a node process.
 */
export const SHIM_NODE_FLAGS = ['--jitless', '--no-expose-wasm', '--v8-pool-size=0'];

/**
 * Detached: hand the request to a new waiter process, wait for its "started" (or its error), print the id.
 * The waiter is started in its own session, so closing this terminal does not end it.
 */
async function runDetached(ctx: CtrContext, req: RunRequest): Promise<number> {
  const child = spawn(ctx.self.node, [...SHIM_NODE_FLAGS, ...ctx.self.args, '__shim'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const channel = child.stdio[3] as Duplex;
  channel.write(`${JSON.stringify(req)}\n`);
  const reply = await new Promise<string>((resolve) => {
    const lines = new LineSplitter();
    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      const [first] = lines.push(chunk);
      if (first !== undefined) resolve(first);
    });
    channel.on('end', () =>
      resolve('error {"message":"the waiter exited before the container started","exitCode":125}'),
    );
    child.on('error', (e) => resolve(`error ${JSON.stringify({ message: e.message, exitCode: 125 })}`));
  });
  channel.destroy();
  child.unref();
  if (reply.startsWith('started ')) {
    ctx.out(`${req.spec.id}\n`);
    return 0;
  }
  const e = JSON.parse(reply.slice('error '.length)) as { message: string; fix?: string; exitCode: number };
  throw Object.assign(new UserError(e.message, e.fix), { exitCode: e.exitCode });
}

export const run: Command = {
  name: 'run',
  usage: 'ctr run [OPTIONS] IMAGE|ROOTFS [COMMAND] [ARG...]',
  summary: 'Run a command in a new container, from an image or a rootfs directory',
  flags: RUN_FLAGS,
  async run(ctx, { flags, rest }) {
    const [image, ...args] = rest;
    if (!image)
      throw new UserError(
        'ctr run needs an image (or a rootfs directory)',
        'ctr run scratch/layers   (or: ctr run /var/lib/scratch/rootfs/busybox sh)',
      );
    const req = runRequest(flags, resolveRunSource(image, ctx.store), args, {
      id: idFromEnv(ctx.env),
      hostEnv: ctx.env,
    });
    // Before anything is made: capabilities ctr cannot give, and a host that refuses user namespaces, in one line.
    const lacking = capabilitiesNotHeld(req.spec.process.capabilities?.bounding ?? [], readOwnBoundingSet());
    if (lacking.length > 0) {
      throw new UserError(
        `ctr cannot give ${lacking.join(', ')}: it does not hold it itself (its bounding set lacks it; does ctr run in a container?)`,
        lacking.map((c) => `--cap-drop ${c.replace(/^CAP_/, '')}`).join(' '),
      );
    }
    if (hasNamespace(req.spec, 'user')) {
      const blocked = usernsBlocker();
      if (blocked) throw blocked;
    }
    const timeline = new Timeline();
    timeline.mark('spec');
    if (req.detach && req.interactive)
      throw new UserError('-d and -i do not go together here (no attach yet)', 'drop -i, then ctr exec -it ID sh');
    if (req.interactive && req.tty && !process.stdin.isTTY)
      throw new UserError('the input device is not a TTY', 'drop -t to pipe input into the container (-i alone)');
    // -t: the pty starts with this terminal's size (docker's ConsoleSize), so a shell's first prompt fits it.
    const sized = req.tty && process.stdout.isTTY ? { ...req, spec: withConsoleSize(req.spec, process.stdout) } : req;
    return req.detach ? runDetached(ctx, sized) : runAttached(ctx, sized, timeline);
  },
};
