/**
 * Host effects that are not commands: writing a cgroup file, making or removing a directory, signalling a process,
 * attaching a device program to a cgroup.
 *
 * The workshop promises that what a lesson shows is what it does. Most of what it does is a command, run through
 * the runner; the rest is a handful of plain file operations and signals, which Node does itself. Each of those is
 * described here as a value — `{ kind: 'write', path, value }` — with the shell line a learner would type for it
 * (`echo 20 > …/pids.max`), and performed through the runner's `apply`, so `--explain` prints it without doing it,
 * `--verbose` echoes it, and a recording runner in a unit test sees it like any command.
 */
import fs from 'node:fs';
import { attachDeviceFilter } from './bpf/load.ts';
import { deviceProgram } from './bpf/device-program.ts';
import { foldDeviceRules } from './cgroups/device-emulator.ts';
import type { DeviceRule } from './cgroups/device-rules.ts';
import { quoteArg } from './quote.ts';

export type HostOp =
  /** One write(2) of `value`; `note` is shown after it (`# if present`). */
  | { kind: 'write'; path: string; value: string; note?: string }
  | { kind: 'mkdir'; path: string; parents?: boolean; mode?: number }
  /** Hand a path to a user (a rootless container's directories); `recursive` for a whole tree. */
  | { kind: 'chown'; path: string; uid: number; gid: number; recursive?: boolean }
  /** `mode` in octal, as chmod takes it. */
  | { kind: 'chmod'; path: string; mode: number }
  /** `ifEmpty`: a shared parent, removed only when no other run still has something in it. */
  | { kind: 'rmdir'; path: string; ifEmpty?: boolean }
  /** rm -rf --one-file-system: a state or container directory (never a mount point's contents). */
  | { kind: 'remove'; path: string }
  /** `pid` is `$PID` where a lesson shows the kill before it knows the number. */
  | { kind: 'kill'; pid: number | string; signal: NodeJS.Signals }
  /** SIGKILL to every process listed in these cgroup.procs files (a cgroup being removed). */
  | { kind: 'killGroup'; procsFiles: string[] }
  /** cgroup v2's device rules: a BPF program built from these rules, loaded and attached to the cgroup `path`. */
  | { kind: 'attachDevices'; path: string; rules: DeviceRule[] };

/**
 * A path as a shell reads it back. One holding a placeholder for a value not known yet (`/proc/$PID/uid_map`)
 * stays unquoted, so the shell fills in the number the shown `PID=…` line set (single quotes would not).
 */
function showPath(p: string): string {
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(p) && /\$[A-Z][A-Z0-9_]*/.test(p) ? p : quoteArg(p);
}

/** The shell line that does the same thing. */
export function showHostOp(op: HostOp): string {
  switch (op.kind) {
    case 'write': {
      // echo adds the newline: a value that is one line ending in one is shown as exactly the echo that writes it.
      const oneLine = /^[^\n]*\n$/.test(op.value) ? op.value.slice(0, -1) : op.value;
      // A value not known yet (`$EXEC`, a PID) stays unquoted, so the shell fills it in.
      const value = /^\$[A-Z][A-Z0-9_]*$/.test(oneLine) ? oneLine : quoteArg(oneLine);
      return `echo ${value} > ${showPath(op.path)}${op.note ? `   # ${op.note}` : ''}`;
    }
    case 'mkdir':
      return `mkdir ${op.parents ? '-p ' : ''}${op.mode !== undefined ? `-m ${op.mode.toString(8)} ` : ''}${quoteArg(op.path)}`;
    case 'chown':
      return `chown ${op.recursive ? '-R ' : ''}${op.uid}:${op.gid} ${quoteArg(op.path)}`;
    case 'chmod':
      return `chmod ${op.mode.toString(8)} ${quoteArg(op.path)}`;
    case 'rmdir':
      return `rmdir ${quoteArg(op.path)}${op.ifEmpty ? '   # only if no other run has one in it' : ''}`;
    case 'remove':
      return `rm -rf --one-file-system ${quoteArg(op.path)}`;
    case 'kill':
      return `kill -${op.signal.replace(/^SIG/, '')} ${typeof op.pid === 'number' ? op.pid : `"${op.pid}"`}`;
    case 'killGroup':
      return `kill -KILL $(cat ${op.procsFiles.map(quoteArg).join(' ')})`;
    case 'attachDevices': {
      // No shell command does this (bpftool needs the program compiled and pinned first): the line says what runs.
      const n = deviceProgram(foldDeviceRules(op.rules)).length / 8;
      return `# bpf(BPF_PROG_LOAD) a ${n}-instruction device program, then\n# bpf(BPF_PROG_ATTACH) it to ${showPath(op.path)}`;
    }
  }
}

const tolerated = (error: unknown, codes: string[]) => codes.includes((error as NodeJS.ErrnoException).code ?? '');

/** Do it. A write is one write(2), as the kernel wants for cgroup files; a kill of a gone process is not an error. */
export function performHostOp(op: HostOp): void {
  switch (op.kind) {
    case 'write':
      fs.writeFileSync(op.path, op.value);
      return;
    case 'mkdir':
      fs.mkdirSync(op.path, { recursive: op.parents ?? false, mode: op.mode });
      return;
    case 'chown':
      if (op.recursive) chownTree(op.path, op.uid, op.gid);
      else fs.chownSync(op.path, op.uid, op.gid);
      return;
    case 'chmod':
      fs.chmodSync(op.path, op.mode);
      return;
    case 'rmdir':
      try {
        fs.rmdirSync(op.path);
      } catch (error) {
        if (!op.ifEmpty || !tolerated(error, ['ENOTEMPTY', 'EBUSY', 'ENOENT'])) throw error;
      }
      return;
    case 'remove':
      fs.rmSync(op.path, { recursive: true, force: true });
      return;
    case 'kill':
      if (typeof op.pid !== 'number' || op.pid <= 0) throw new Error(`not a process to signal: ${op.pid}`);
      try {
        process.kill(op.pid, op.signal);
      } catch (error) {
        if (!tolerated(error, ['ESRCH'])) throw error;
      }
      return;
    case 'killGroup':
      for (const file of op.procsFiles) {
        let pids: string[] = [];
        try {
          pids = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
        } catch {
          continue; // the group is gone already
        }
        for (const pid of pids) performHostOp({ kind: 'kill', pid: Number(pid), signal: 'SIGKILL' });
      }
      return;
    case 'attachDevices':
      attachDeviceFilter(op.path, deviceProgram(foldDeviceRules(op.rules)));
  }
}

/** chown -R, without following links (a link is re-owned itself, never what it points at). */
function chownTree(p: string, uid: number, gid: number): void {
  fs.lchownSync(p, uid, gid);
  if (!fs.lstatSync(p).isDirectory()) return;
  for (const e of fs.readdirSync(p)) chownTree(`${p}/${e}`, uid, gid);
}
