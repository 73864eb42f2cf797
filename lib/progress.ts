/**
 * Lesson progress: which lessons this learner has completed, kept in a small JSON file in the checkout.
 *
 * Lessons run as root (the runner re-runs itself with sudo), but the file belongs to the learner: when written
 * under sudo it is handed back to the invoking user (SUDO_UID/SUDO_GID), so a later run without sudo, an editor,
 * or `git clean` can still touch it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** In the checkout, unless SCRATCH_PROGRESS names another file (tests use a temporary one). */
export const PROGRESS_FILE =
  process.env.SCRATCH_PROGRESS ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.scratch-progress.json');

export interface Progress {
  /** Lesson number → ISO date it was last completed with every check passing ("watched"). */
  completed: Record<string, string>;
  /** Lesson number → ISO date its exercise last passed the lesson's checks with the learner's code (--mine). */
  solved: Record<string, string>;
  /** Lesson number → how many of its exercise's hints the learner has asked for. */
  hints: Record<string, number>;
}

export function readProgress(file: string = PROGRESS_FILE): Progress {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Progress>;
    return { completed: data.completed ?? {}, solved: data.solved ?? {}, hints: data.hints ?? {} };
  } catch {
    return { completed: {}, solved: {}, hints: {} };
  }
}

/** The uid/gid that should own files written for the learner: the sudo caller's, when there is one. */
export function invokingOwner(env: NodeJS.ProcessEnv = process.env): { uid: number; gid: number } | undefined {
  const uid = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  return Number.isInteger(uid) && Number.isInteger(gid) && env.SUDO_UID && env.SUDO_GID ? { uid, gid } : undefined;
}

export interface ProgressOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  now?: Date;
}

export function markCompleted(lesson: string, opts: ProgressOptions = {}): Progress {
  return updateProgress((p) => (p.completed[lesson] = (opts.now ?? new Date()).toISOString()), opts);
}

/** The learner's own code passed the lesson's checks. */
export function markSolved(lesson: string, opts: ProgressOptions = {}): Progress {
  return updateProgress((p) => (p.solved[lesson] = (opts.now ?? new Date()).toISOString()), opts);
}

/** One more hint shown; returns how many have been shown now. */
export function countHint(lesson: string, total: number, opts: ProgressOptions = {}): number {
  const p = updateProgress((q) => (q.hints[lesson] = Math.min(total, (q.hints[lesson] ?? 0) + 1)), opts);
  return p.hints[lesson] ?? 0;
}

function updateProgress(change: (p: Progress) => unknown, opts: ProgressOptions): Progress {
  const file = opts.file ?? PROGRESS_FILE;
  const progress = readProgress(file);
  change(progress);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(progress, null, 2)}\n`);
  const owner = invokingOwner(opts.env);
  if (owner) fs.chownSync(tmp, owner.uid, owner.gid);
  fs.renameSync(tmp, file);
  return progress;
}
