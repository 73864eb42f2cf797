/**
 * The sync protocol between the host and a container's init: a few lines over one socket, the init's fd 3.
 *
 *   init → host   userns                                        with a user namespace, before the init starts:
 *   host → init   mapped                                        the launcher's `sh` waits while the host writes
 *                                                               uid_map and gid_map (lib/container/launch.ts)
 *   host → init   the plan, as one line of JSON                (TypeScript init only; the sh init is its plan)
 *   init → host   ready <host pid>                              the init runs and waits; nothing is done yet
 *   host → init   go                                            the host did its part: cgroup, network, maps
 *   init → host   exec                                          set up, command found: execve comes next
 *   init → host   error <json {message, exitCode, op}>          an operation failed; the init then exits
 *
 * With `-t` the init gets a second socket as fd 4 (TERMINAL_FD): it sends the master of the container's new
 * pseudo-terminal there, as SCM_RIGHTS ancillary data, before it says `exec` — so once the host reads `exec`, the
 * master is already waiting in that socket. (Not on fd 3: the host reads that one through libuv, which drops the
 * ancillary data of an ordinary read.)
 *
 * The host learns "the command runs" from a message, never by polling /proc. It cannot wait for the socket's end
 * of file instead (the close-on-exec signal runc uses): `unshare --fork` keeps a copy of fd 3 while it waits for
 * its child. The TypeScript init looks the command up before it says `exec`, so "not found" and "permission
 * denied" arrive as errors before it; only a binary the kernel then refuses (a missing interpreter) fails after,
 * and shows as the container's exit code, 126 or 127.
 */

export type InitMessage =
  /** The launcher's `sh` says where it is only by its presence: the host knows unshare's PID (pid: undefined). */
  | { kind: 'userns'; pid?: number }
  | { kind: 'ready'; pid: number }
  | { kind: 'exec' }
  | { kind: 'error'; message: string; exitCode: number; op: string };

export const MAPPED_LINE = 'mapped';

/** The init's fd for the terminal socket (`-t`). */
export const TERMINAL_FD = 4;

export const EXEC_LINE = 'exec';

export function readyLine(pid: number): string {
  return `ready ${pid}`;
}

export function errorLine(message: string, exitCode: number, op: string): string {
  return `error ${JSON.stringify({ message, exitCode, op })}`;
}

/** Parse one line from the init; anything else is reported as an error message, not thrown. */
export function parseInitLine(line: string): InitMessage {
  const ready = /^ready (\d+)$/.exec(line.trim());
  if (ready) return { kind: 'ready', pid: Number(ready[1]) };
  const userns = /^userns(?: (\d+))?$/.exec(line.trim());
  if (userns) return { kind: 'userns', pid: userns[1] === undefined ? undefined : Number(userns[1]) };
  if (line.trim() === EXEC_LINE) return { kind: 'exec' };
  if (line.startsWith('error ')) {
    try {
      const e = JSON.parse(line.slice(6)) as { message?: string; exitCode?: number; op?: string };
      return { kind: 'error', message: e.message ?? 'unknown', exitCode: e.exitCode ?? 125, op: e.op ?? '?' };
    } catch {
      // fall through
    }
  }
  return { kind: 'error', message: `unexpected message from the init: ${line}`, exitCode: 125, op: 'sync' };
}

/** Splits a byte stream into lines (the socket delivers chunks, not lines). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }
}
