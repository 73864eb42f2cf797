/**
 * The TypeScript init: the program that runs as a container's first process (or as an `exec`'d process) until it
 * becomes the command.
 *
 * util-linux `unshare` (or `nsenter`, for exec) has already made or joined the namespaces and started the host's
 * `node` on this file — a bundle (bundle.ts) so that every module is loaded *before* pivot_root takes the host's
 * files away. It reads its plan from fd 3, the sync socket, executes it (execute.ts) and ends in execve. When an
 * operation fails it tells the host which one and why over the same socket, and exits with docker's code: 125
 * for the runtime, 126 for a command that cannot be executed, 127 for one that is not there.
 */
import fs from 'node:fs';
import { executePlan, InitError } from './execute.ts';
import type { InitPlan } from './ops.ts';
import { errorLine } from './protocol.ts';
import { libcSyscalls } from './syscalls.ts';

const SYNC_FD = 3;

/** Blocking line reads from the sync socket: the init has nothing else to do while it waits. */
function lineReader(fd: number): () => string | undefined {
  let buffered = '';
  const chunk = Buffer.alloc(65536);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return () => {
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        // A non-blocking socket with nothing to read yet: wait a millisecond and look again.
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 1);
          continue;
        }
        throw error;
      }
      if (n === 0) return undefined;
      buffered += chunk.toString('utf8', 0, n);
    }
  };
}

function send(line: string): void {
  fs.writeSync(SYNC_FD, `${line}\n`);
}

/** Our PID as the host numbers it: /proc is still the host's when the init starts, so /proc/self says it. */
function hostPid(): number {
  return Number(fs.readlinkSync('/proc/self'));
}

async function main(): Promise<never> {
  const receive = lineReader(SYNC_FD);
  const first = receive();
  if (first === undefined) throw new InitError('no plan on fd 3 (the init is started by the runtime)', 125, 'plan');
  const plan = JSON.parse(first) as InitPlan;
  const sys = await libcSyscalls();
  const security = await import('./security.ts');
  return executePlan(plan, sys, {
    send,
    receive,
    hostPid,
    capabilityNumber: security.capabilityNumber,
    lastCapability: security.lastCapability,
    seccompProgram: security.seccompProgram,
  });
}

main().catch((error: unknown) => {
  const e =
    error instanceof InitError
      ? error
      : new InitError(error instanceof Error ? error.message : String(error), 125, 'init');
  try {
    // The host reports it, once, in its own words; the container's stderr stays the command's.
    send(errorLine(e.message, e.exitCode, e.op));
  } catch {
    process.stderr.write(`scr-init: ${e.message}\n`); // the host is gone: stderr is all that is left
  }
  process.exit(e.exitCode);
});
