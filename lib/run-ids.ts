/**
 * Run ids that no two runs on one machine ever share.
 *
 * A run's id names everything it makes — its cgroup, its state directory, its veth, its network namespace — so two
 * runs with one id would make, use and remove each other's things. A random id is unlikely to collide, not certain
 * not to: a lesson's id is its number and four hex digits (short enough for an interface name), and two runners
 * started at the same moment in two terminals draw from the same 65536. So an id is *claimed*: a file
 * /run/scratch/.runs/<id> created with O_EXCL, which only one process can win; the loser draws again. The file
 * holds the claimant's PID and that PID's start time, so a claim whose run was killed (kill -9 gives no chance
 * to release it) is recognised as stale and taken over, rather than shrinking the pool forever; `npm run clean`
 * removes it too. The runner releases the claim when the lesson is over, after its cleanup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { processStartTime, isSameProcess } from './container/state.ts';
import { UserError } from './errors.ts';
import { STATE_ROOT } from './names.ts';

export const RUNS_DIR = path.join(STATE_ROOT, '.runs');

export interface ClaimOptions {
  /** Where claims are kept (tests use their own). */
  dir?: string;
  /** A random number in [0, 1): Math.random, or a test's. */
  random?: () => number;
  /** The claiming process (this one). */
  pid?: number;
}

/** A lesson run id: the lesson's number and four hex digits (`05a3f9`). */
export function drawRunId(lessonNumber: string, random: () => number = Math.random): string {
  return `${lessonNumber}${Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

function holder(file: string): { pid: number; start: number } | undefined {
  try {
    const [pid, start] = fs.readFileSync(file, 'utf8').trim().split(' ').map(Number);
    return pid ? { pid, start: start ?? 0 } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Try to claim `id`: true if this call now holds it. A claim whose holder is gone (or whose file is empty, because
 * its holder was killed between creating and writing it, long enough ago) is stale and taken over.
 */
export function tryClaim(id: string, opts: ClaimOptions = {}): boolean {
  const dir = opts.dir ?? RUNS_DIR;
  const pid = opts.pid ?? process.pid;
  const file = path.join(dir, id);
  for (let attempt = 0; attempt < 3; attempt++) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, `${pid} ${processStartTime(pid) ?? 0}\n`);
      fs.closeSync(fd);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // the directory was removed under us by a releasing run: again
      if (code !== 'EEXIST') throw error;
    }
    const h = holder(file);
    const young = (() => {
      try {
        return Date.now() - fs.statSync(file).mtimeMs < 5000;
      } catch {
        return false;
      }
    })();
    if (h ? isSameProcess(h.pid, h.start || undefined) : young) return false;
    // Stale: its run is gone. Rename it away first, so that of two runs seeing it stale at once only one takes it.
    const stale = `${file}.stale-${pid}`;
    try {
      fs.renameSync(file, stale);
      fs.rmSync(stale, { force: true });
    } catch {
      return false;
    }
  }
  return false;
}

/** Give a claim back, and the claims directory with it when it is empty. */
export function releaseClaim(id: string, dir: string = RUNS_DIR): void {
  fs.rmSync(path.join(dir, id), { force: true });
  try {
    fs.rmdirSync(dir);
  } catch {
    // Another run's claim is in it, or it is gone already.
  }
}

/**
 * A run id for lesson `lessonNumber` that no other live run holds — `wanted` (SCRATCH_RUN_ID) if given, else a
 * random one — claimed until `releaseClaim(id)`.
 */
export function claimRunId(lessonNumber: string, wanted?: string, opts: ClaimOptions = {}): string {
  const dir = opts.dir ?? RUNS_DIR;
  // A run without root (the rootless lesson) cannot write under /run/scratch, and makes nothing of root's there
  // either: its id is drawn without a claim.
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return wanted ?? drawRunId(lessonNumber, opts.random);
  }
  const claim = (id: string) => tryClaim(id, opts);
  if (wanted !== undefined) {
    if (claim(wanted)) return wanted;
    throw new UserError(
      `the run id ${wanted} is in use by another run (PID ${holder(path.join(dir, wanted))?.pid ?? '?'})`,
      'unset SCRATCH_RUN_ID, or wait for that run to end',
    );
  }
  for (let i = 0; i < 1000; i++) {
    const id = drawRunId(lessonNumber, opts.random);
    if (claim(id)) return id;
  }
  throw new UserError(`no free run id for lesson ${lessonNumber}`, `npm run clean   (stale claims in ${dir})`);
}
