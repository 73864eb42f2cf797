/**
 * What the host remembers about a container that outlives the command that started it: /run/scratch/<id>/state.json.
 *
 * `docker ps` works because something writes down, for every container, which process it is, since when, and how
 * it ended. Here that is one small JSON file per container, written atomically (a temporary file renamed over the
 * old one, so a reader never sees half of it). A PID alone cannot identify a process for long — PIDs are reused —
 * so the file also keeps the process's start time (field 22 of /proc/<pid>/stat, in clock ticks since boot): a
 * process with that PID and that start time is the container; anything else means it is gone, whatever the file
 * says. A state that claims "running" for a process that is gone is shown as exited, never trusted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { STATE_ROOT, stateDir } from '../names.ts';
import type { ContainerSpec } from '../spec.ts';

export type Status = 'created' | 'running' | 'exited';

export interface ContainerState {
  id: string;
  name?: string;
  /** What was asked for: the image or rootfs as the user named it. */
  image: string;
  /** The image's id (its config digest), when it was started from an image: what `ctr rmi` and `ctr commit` use. */
  imageId?: string;
  spec: ContainerSpec;
  status: Status;
  /** Host PID of the container's first process, and its start time (see the module comment). */
  pid?: number;
  pidStartTime?: number;
  /** Host PID of the waiter (the shim) that records the exit of a detached container. */
  shimPid?: number;
  shimStartTime?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Why it ended, when the exit code alone does not say: "killed by SIGKILL", "the waiter was killed". */
  exitReason?: string;
  /** The kernel's OOM killer killed a process in its cgroup (docker inspect's State.OOMKilled). */
  oomKilled?: boolean;
  /** The container's cgroup directories and its own directory (upper, work), for inspect and removal. */
  cgroupDirs: string[];
  containerDir?: string;
  logPath: string;
  /** `--rm`: remove everything once it exits. */
  autoRemove: boolean;
  detached: boolean;
  /** Published ports, as `-p` wrote them (`8080:80/tcp`), for ps. */
  ports?: string[];
}

export const STATE_FILE = 'state.json';
export const LOG_FILE = 'container.log';

export function statePath(id: string): string {
  return path.join(stateDir(id), STATE_FILE);
}

export function logPath(id: string): string {
  return path.join(stateDir(id), LOG_FILE);
}

/** Write the state atomically: a reader sees the old file or the new one, never a mix. */
export function writeState(state: ContainerState): void {
  const file = statePath(state.id);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function readState(id: string): ContainerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(id), 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

/** Change some fields, re-reading the file first (the waiter and `ctr stop` both write to it). */
export function updateState(id: string, change: Partial<ContainerState>): ContainerState | undefined {
  const state = readState(id);
  if (!state) return undefined;
  const next = { ...state, ...change };
  writeState(next);
  return next;
}

/** Every container with a state file, newest first. */
export function listStates(root = STATE_ROOT): ContainerState[] {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .flatMap((id) => {
      const s = readState(id);
      return s && s.id === id ? [s] : [];
    })
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined when it is gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined; // exited, not yet reaped: not running
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Whether this PID is still the very process the state recorded (same PID, same start time). */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  return pid !== undefined && startTime !== undefined && processStartTime(pid) === startTime;
}

/**
 * The status to believe: a "running" container whose process is gone (or whose PID now belongs to another
 * process) has exited, whatever the file says; if its waiter is gone too, nobody recorded how.
 */
export function effectiveState(state: ContainerState): ContainerState {
  if (state.status !== 'running') return state;
  if (isSameProcess(state.pid, state.pidStartTime)) return state;
  const waiterGone = state.detached && !isSameProcess(state.shimPid, state.shimStartTime);
  return {
    ...state,
    status: 'exited',
    exitReason: waiterGone
      ? 'its process is gone and so is its waiter: the exit code was not recorded'
      : 'its process is gone',
  };
}

/** Find a container by id, unique id prefix, or name. */
export function findState(ref: string, states: ContainerState[] = listStates()): ContainerState | undefined {
  const exact = states.find((s) => s.id === ref || s.name === ref);
  if (exact) return exact;
  const byPrefix = states.filter((s) => ref.length >= 3 && s.id.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}
