/**
 * ctr __shim — the waiter of a detached container (docker has containerd-shim, podman has conmon).
 *
 * Someone must be the parent of a detached container: the kernel tells only a process's parent how it ended.
 * `ctr run -d` exits as soon as the container runs, so it starts this small process first, in a session of its
 * own, and hands it the request over fd 3. The waiter makes the container (state dir, cgroup, root), starts it
 * with its output going to the log file, answers `started ID` (or `error …`), then waits: when the container
 * exits it writes the exit code into state.json, removes the cgroup, and — with --rm — everything else. One
 * node process per detached container: heavier than conmon's C, and the price of writing it in the workshop's
 * own language; a waiter killed with kill -9 leaves a state that `ctr ps` reports as exited, code unknown.
 */
import fs from 'node:fs';
import net from 'node:net';
import { CleanupStack } from '../../cleanup.ts';
import { createContainer, markExited, markRunning, oomKilledIn } from '../../container/lifecycle.ts';
import { rewrittenNote, startContainer } from '../../container/start.ts';
import { processStartTime, updateState } from '../../container/state.ts';
import { relayToLog } from '../../container/terminal.ts';
import { UserError } from '../../errors.ts';
import { LineSplitter } from '../../init/protocol.ts';
import type { Command } from '../command.ts';
import type { RunRequest } from '../run-spec.ts';

function readRequest(sock: net.Socket): Promise<RunRequest> {
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      const [first] = lines.push(chunk);
      if (first !== undefined) resolve(JSON.parse(first) as RunRequest);
    });
    sock.on('end', () => reject(new Error('no request on fd 3')));
  });
}

export const shim: Command = {
  name: '__shim',
  usage: 'ctr __shim   (started by ctr run -d, request on fd 3)',
  summary: 'Wait for a detached container and record how it ended',
  flags: [],
  hidden: true,
  async run(ctx) {
    const sock = new net.Socket({ fd: 3, readable: true, writable: true });
    const req = await readRequest(sock);
    const cleanup = new CleanupStack();
    let container: Awaited<ReturnType<typeof startContainer>> | undefined;
    let created: Awaited<ReturnType<typeof createContainer>> | undefined;
    let log: ReturnType<typeof relayToLog> | undefined;
    const onSignal = () => void container?.stop(0);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => {}); // the terminal of `ctr run -d` may close: the waiter stays
    try {
      created = await createContainer(ctx.runner, cleanup, { ...req, detached: true });
      container = await startContainer(ctx.runner, cleanup, created.state.spec, {
        executor: 'ts',
        init: await ctx.init(),
        procsFiles: created.cgroup.procsFiles,
        logFile: created.state.logPath,
      });
      // -dt: the container's terminal shows in its log (its launcher's own output goes there directly).
      if (container.pty) log = relayToLog(container.pty.master, created.state.logPath, cleanup);
      markRunning(created.state, container.hostPid);
      updateState(req.spec.id, { shimPid: process.pid, shimStartTime: processStartTime(process.pid) });
      if (!req.autoRemove) created.keep();
      sock.end(`started ${req.spec.id}\n`);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const exitCode = (e as { exitCode?: number }).exitCode ?? 125;
      const fix = e instanceof UserError ? e.fix : undefined;
      // Undo first, answer after: `ctr run -d` returns on the answer, and must find nothing of it left.
      await cleanup.unwind();
      sock.end(`error ${JSON.stringify({ message: e.message, fix, exitCode })}\n`);
      return exitCode;
    }
    const r = await container.wait();
    await log?.finish();
    if (r.rewritten) dropLastLine(created.state.logPath, r.rewritten.launcherSaid);
    const oom = oomKilledIn(created.cgroup);
    // Cgroup and network first, then the exit code: whoever waits for "exited" (ctr stop) finds them gone.
    await cleanup.unwind();
    markExited(req.spec.id, r.exitCode, rewrittenNote(r) ?? (r.signal ? `killed by ${r.signal}` : undefined), oom);
    return 0;
  },
};

/**
 * unshare's line about the SIGKILL it could not pass on (see lib/container/start.ts) was written into the log,
 * after everything the container wrote: it is the launcher's, not the container's, so `ctr logs` does not show it.
 */
function dropLastLine(logPath: string, line: string): void {
  try {
    const text = fs.readFileSync(logPath, 'utf8');
    const at = text.lastIndexOf(`${line}\n`);
    if (at >= 0 && at + line.length + 1 === text.length) fs.truncateSync(logPath, Buffer.byteLength(text.slice(0, at)));
  } catch {
    // no log (the container never started): nothing to drop
  }
}
