/**
 * ctr run — docker run: make a container from a rootfs and run a command in it, attached or detached.
 *
 * Attached, this process is the container's parent: it streams its output, forwards the first Ctrl-C or SIGTERM to
 * the container's PID 1 (a second one kills it), records its exit code and removes its cgroup — and with --rm
 * everything else. Detached (-d), a small waiter process (`ctr __shim`, see shim.ts) does all that instead, because
 * this process exits as soon as the container runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { CleanupStack } from '../../cleanup.ts';
import { createContainer, markExited, markRunning } from '../../container/lifecycle.ts';
import { rewrittenNote, startContainer } from '../../container/start.ts';
import { UserError } from '../../errors.ts';
import { LineSplitter } from '../../init/protocol.ts';
import { Timeline } from '../../timeline.ts';
import type { Command, CtrContext } from '../command.ts';
import { RUN_FLAGS, runRequest, type RunRequest } from '../run-spec.ts';

/** A rootfs named on the command line: an existing directory (images come with lesson 07). */
export function resolveRootfsArg(arg: string): { image: string; path: string } {
  const p = path.resolve(arg);
  let isDir = false;
  try {
    isDir = fs.statSync(p).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir)
    throw new UserError(
      `no such rootfs directory: ${arg}`,
      'ctr run /var/lib/scratch/rootfs/busybox sh   (npm run rootfs builds it)',
    );
  return { image: arg, path: fs.realpathSync(p) };
}

/** SCRATCH_RUN_ID fixes the new container's id, so a test can find exactly its resources; else a random one. */
function idFromEnv(): string | undefined {
  const id = process.env.SCRATCH_RUN_ID;
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
function writeTimings(timeline: Timeline): void {
  const file = process.env.SCRATCH_TIMINGS;
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
    signals.started();
    markRunning(created.state, pid);
    if (!req.autoRemove) created.keep();
    const r = await c.wait();
    // Its PID is free now, and may be another process's soon: nothing is sent to it any more.
    pid = 0;
    timeline.mark('exited');
    const note = rewrittenNote(r);
    if (note) ctx.err(`ctr: ${note}\n`);
    markExited(
      req.spec.id,
      r.exitCode,
      r.signal ? `killed by ${r.signal}${killed ? ' (ctr was interrupted twice)' : ''}` : undefined,
    );
    return r.exitCode;
  } finally {
    await cleanup.unwind();
    signals.stop();
    timeline.mark('removed');
    writeTimings(timeline);
  }
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
  usage: 'ctr run [OPTIONS] ROOTFS COMMAND [ARG...]',
  summary: 'Run a command in a new container',
  flags: RUN_FLAGS,
  async run(ctx, { flags, rest }) {
    const [image, ...args] = rest;
    if (!image)
      throw new UserError('ctr run needs a rootfs and a command', 'ctr run /var/lib/scratch/rootfs/busybox sh');
    const req = runRequest(flags, resolveRootfsArg(image), args, { id: idFromEnv() });
    const timeline = new Timeline();
    timeline.mark('spec');
    if (req.detach && req.interactive)
      throw new UserError('-d and -i do not go together here (no attach yet)', 'drop -i, then ctr exec -it ID sh');
    return req.detach ? runDetached(ctx, req) : runAttached(ctx, req, timeline);
  },
};
