/**
 * Host effects that are not commands: writing a cgroup file, making or removing a directory, signalling a process.
 *
 * The workshop promises that what a lesson shows is what it does. Most of what it does is a command, run through
 * the runner; the rest is a handful of plain file operations and signals, which Node does itself. Each of those is
 * described here as a value — `{ kind: 'write', path, value }` — with the shell line a learner would type for it
 * (`echo 20 > …/pids.max`), and performed through the runner's `apply`, so `--explain` prints it without doing it,
 * `--verbose` echoes it, and a recording runner in a unit test sees it like any command.
 */
import fs from 'node:fs';
import { quoteArg } from './quote.ts';

export type HostOp =
  | { kind: 'write'; path: string; value: string }
  | { kind: 'mkdir'; path: string; parents?: boolean; mode?: number }
  | { kind: 'rmdir'; path: string }
  /** rm -rf --one-file-system: a state or container directory (never a mount point's contents). */
  | { kind: 'remove'; path: string }
  | { kind: 'kill'; pid: number; signal: NodeJS.Signals };

/** The shell line that does the same thing. */
export function showHostOp(op: HostOp): string {
  switch (op.kind) {
    case 'write':
      return `echo ${quoteArg(op.value)} > ${quoteArg(op.path)}`;
    case 'mkdir':
      return `mkdir ${op.parents ? '-p ' : ''}${op.mode !== undefined ? `-m ${op.mode.toString(8)} ` : ''}${quoteArg(op.path)}`;
    case 'rmdir':
      return `rmdir ${quoteArg(op.path)}`;
    case 'remove':
      return `rm -rf --one-file-system ${quoteArg(op.path)}`;
    case 'kill':
      return `kill -${op.signal.replace(/^SIG/, '')} ${op.pid}`;
  }
}

/** Do it. A write is one write(2), as the kernel wants for cgroup files; a kill of a gone process is not an error. */
export function performHostOp(op: HostOp): void {
  switch (op.kind) {
    case 'write':
      fs.writeFileSync(op.path, op.value);
      return;
    case 'mkdir':
      fs.mkdirSync(op.path, { recursive: op.parents ?? false, mode: op.mode });
      return;
    case 'rmdir':
      fs.rmdirSync(op.path);
      return;
    case 'remove':
      fs.rmSync(op.path, { recursive: true, force: true });
      return;
    case 'kill':
      try {
        process.kill(op.pid, op.signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
  }
}
