/**
 * SIGINT, SIGTERM and SIGKILL at random points of every lesson and of `ctr`: a workshop that leaks mounts or hangs on
 * Ctrl-C in front of a room is broken.
 *
 * Each point runs a lesson (or ctr) for real, in a network namespace this file made (so lesson 08's network and
 * ctr's bridge are never the machine's), and sends one signal at a chosen moment between a whole run's first line
 * of output and its end (measured first; for ctr, of its whole run); if the run is over before that moment, the
 * point is tried again earlier, so every point lands. SIGINT goes to the run's process group, as Ctrl-C in a terminal
 * does; SIGTERM and SIGKILL to the runner's PID, as `kill` does. Then:
 *   - after SIGINT or SIGTERM, the run ends by itself, promptly, and nothing of it is left: no process of its
 *     process group, no leftover with its id (lib/leftovers.ts), no link or rule in the namespace;
 *   - after SIGKILL, `npm run clean -- --only ID` says what it removes, removes every leftover, and leaves no
 *     process of the group behind.
 * Before its points each lesson runs once whole (that is also how much output it prints), and after them once
 * more: the next run works. RELIABILITY_SEED replays a failure exactly; RELIABILITY_POINTS asks for more points.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { readState } from '../../lib/container/state.ts';
import { listLessonFiles } from '../../lib/discovery.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ctrIn, newContainerId, withoutCaCerts } from '../helpers/fleet.ts';
import {
  createTestNetns,
  describeProcess,
  eventually,
  inNetns,
  pick,
  POINTS,
  processGroup,
  recordIds,
  SEED,
  seeded,
  seedFor,
  sleep,
  type TestNetns,
} from '../helpers/reliability.ts';

type Signal = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
const SIGNALS: Signal[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];
const EXIT: Record<Signal, number> = { SIGINT: 130, SIGTERM: 143, SIGKILL: 137 };

type CtrTarget = 'ctr run' | 'ctr run -d' | 'the waiter of ctr run -d';
const CTR_TARGETS: CtrTarget[] = ['ctr run', 'ctr run -d', 'the waiter of ctr run -d'];

interface Point {
  n: number;
  target: string;
  signal: Signal;
  /** The share of a whole run's time after which the signal goes. */
  at: number;
}

const lessons = listLessonFiles().map((f) => f.number);
const random = seeded(seedFor('signals'));
/** Round-robin over the lessons, so every lesson gets its share; the signal and the moment at random. */
const lessonPoints: Point[] = Array.from({ length: POINTS }, (_, i) => ({
  n: i + 1,
  target: lessons[i % lessons.length] ?? '01',
  signal: pick(random, SIGNALS),
  at: Number((0.02 + random() * 0.8).toFixed(3)),
}));
const ctrPoints: Point[] = Array.from({ length: Math.max(CTR_TARGETS.length, Math.ceil(POINTS / 3)) }, (_, i) => ({
  n: POINTS + i + 1,
  target: CTR_TARGETS[i % CTR_TARGETS.length] ?? 'ctr run',
  signal: SIGNALS[Math.floor(i / CTR_TARGETS.length) % SIGNALS.length] ?? pick(random, SIGNALS),
  at: Number(random().toFixed(3)),
}));

let net: TestNetns;
/**
 * Per lesson: when a whole run prints its first line and when it ends (the points fall in between: from the lesson's
 * first line on, its signal handlers are in place and it is making things), and whether it made anything at all
 * (its output has a cleanup section).
 */
const calibration = new Map<string, { firstMs: number; ms: number; makes: boolean }>();
const ctrDuration = new Map<CtrTarget, number>();
let signalled = 0;

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Milliseconds from the start to the first byte of output (-1: none yet). */
  firstOutputMs: () => number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `argv` in the test namespace, in a process group (session) of its own, keeping its output. */
function start(argv: string[], env: Record<string, string> = {}): Run {
  const [file, ...args] = inNetns(net.name, argv);
  const child = spawn(file ?? 'nsenter', args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...withoutCaCerts(), FORCE_COLOR: '0', COLUMNS: '100', ...env },
  });
  let out = '';
  const t0 = performance.now();
  let first = -1;
  child.stdout?.on('data', (d: Buffer) => {
    if (first < 0) first = performance.now() - t0;
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, firstOutputMs: () => first, exited };
}

function send(run: Run, signal: Signal): void {
  const pid = run.child.pid ?? 0;
  try {
    // Ctrl-C reaches the whole foreground process group; `kill` reaches one process.
    process.kill(signal === 'SIGINT' ? -pid : pid, signal);
  } catch {
    // it ended just now
  }
}

/** Wait for the run to end; a run that does not end after SIGINT or SIGTERM is the bug this file looks for. */
async function ended(run: Run, ms: number) {
  const timer = sleep(ms).then(() => 'timeout' as const);
  const r = await Promise.race([run.exited, timer]);
  if (r === 'timeout') {
    try {
      process.kill(-(run.child.pid ?? 0), 'SIGKILL');
    } catch {
      // gone
    }
    throw new Error(`it did not end within ${ms / 1000} s of the signal:\n${run.output().slice(-2000)}`);
  }
  return r;
}

async function expectNothingLeft(id: string, pgid: number, what: string) {
  expect(
    await eventually(() => processGroup(pgid).length === 0, 5000),
    `${what}: processes ${processGroup(pgid).map(describeProcess).join('; ')}`,
  ).toBe(true);
  expect(await leftoversOf(id), what).toEqual([]);
  expect(await net.links(), `${what}: links in the namespace`).toEqual([]);
  expect(await net.rules(), `${what}: rules in the namespace`).toEqual([]);
}

/** After SIGKILL: npm run clean -- --only ID, in the namespace; it names what it removes and leaves nothing. */
async function cleanAfterKill(id: string, pgid: number, what: string) {
  // A detached container's waiter outlives the killed runner and may still be taking its network down (a stop the
  // runner had begun): wait until what is left stops changing, or clean is blamed for what the waiter removed.
  let before = await leftoversOf(id);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await leftoversOf(id);
    if (JSON.stringify(now) === JSON.stringify(before)) break;
    before = now;
  }
  // npm in the test namespace, so clean sees (and removes) the links and rules the run made there.
  const [file, ...args] = inNetns(net.name, ['npm', 'run', '-s', 'clean', '--', '--only', id]);
  const c = await execa(file ?? 'nsenter', args, { cwd: PROJECT_ROOT, reject: false, env: { FORCE_COLOR: '0' } });
  expect(c.exitCode, `${what}: npm run clean -- --only ${id}\n${c.stdout}\n${c.stderr}`).toBe(0);
  for (const l of before.filter((x) => !x.startsWith('process ') && !x.startsWith('lease '))) {
    // By its name, or — for what a network teardown removes, such as /run/netns/scr<id> — by its last part.
    const name = l.slice(l.indexOf(' ') + 1);
    const said = c.stdout.includes(name) || c.stdout.includes(path.basename(name));
    expect(said, `${what}: clean should say it removes ${l}:\n${c.stdout}`).toBe(true);
  }
  await expectNothingLeft(id, pgid, `${what}, after npm run clean`);
}

/** A run id for lesson `n` at point `p`: the lesson's number and four hex digits from the seed (replayable). */
function lessonId(lesson: string, p: Point, attempt: number): string {
  return `${lesson}${((seedFor(`${p.n}/${attempt}`) >>> 0) & 0xffff).toString(16).padStart(4, '0')}`;
}

async function runLesson(lesson: string, id: string): Promise<Run> {
  recordIds(id);
  return start([process.execPath, path.join(PROJECT_ROOT, 'bin', 'lesson.mjs'), lesson, '--no-shell'], {
    SCRATCH_RUN_ID: id,
  });
}

describe.skipIf(!canRunIntegration)(`signals at random points (RELIABILITY_SEED=${SEED})`, () => {
  beforeAll(async () => {
    console.log(
      `signals: RELIABILITY_SEED=${SEED} RELIABILITY_POINTS=${POINTS} — ${lessonPoints.length} lesson points, ` +
        `${ctrPoints.length} ctr points`,
    );
    net = await createTestNetns('sig');
  }, 60_000);
  afterAll(async () => {
    await net?.destroy();
  });

  describe.each(lessons)('lesson %s', (lesson) => {
    it('runs whole first: its output is what the points are placed in', async () => {
      const id = `${lesson}${(seedFor(`calibrate${lesson}`) & 0xffff).toString(16).padStart(4, '0')}`;
      const t = performance.now();
      const run = await runLesson(lesson, id);
      const r = await ended(run, 120_000);
      expect(r.code, run.output().slice(-3000)).toBe(0);
      const ms = performance.now() - t;
      calibration.set(lesson, { firstMs: run.firstOutputMs(), ms, makes: / Cleaning up/.test(run.output()) });
      await expectNothingLeft(id, run.child.pid ?? 0, `lesson ${lesson}, whole`);
    }, 150_000);

    const mine = lessonPoints.filter((p) => p.target === lesson);
    it.each(mine)(
      `point $n: $signal at $at of its run`,
      async (p) => {
        const cal = calibration.get(lesson);
        if (!cal) throw new Error(`lesson ${lesson} did not run whole first`);
        // A run may go faster than the first one did: if it is over before the signal, try again earlier.
        for (let attempt = 0, at = p.at; ; attempt++, at /= 2) {
          const id = lessonId(lesson, p, attempt);
          const run = await runLesson(lesson, id);
          // From this run's own first line: before it, the runner has no handlers yet and has made nothing.
          await eventually(() => run.firstOutputMs() >= 0 || run.child.exitCode !== null, 60_000);
          await Promise.race([sleep(at * (cal.ms - cal.firstMs)), run.exited]);
          const finishedFirst = run.child.exitCode !== null;
          if (finishedFirst && attempt < 4) {
            await expectNothingLeft(id, run.child.pid ?? 0, `lesson ${lesson}, finished before the signal`);
            continue;
          }
          send(run, p.signal);
          const r = await ended(run, 30_000);
          const ms = Math.round(run.firstOutputMs() + at * (cal.ms - cal.firstMs));
          const what = `lesson ${lesson}, ${p.signal} at ${ms} ms (id ${id})`;
          if (!finishedFirst && cal.makes) signalled++;
          console.log(
            `signals: point ${p.n}, lesson ${lesson}: ${p.signal} at ${ms} ms, attempt ${attempt + 1}` +
              `${finishedFirst ? ' — the run had finished' : ''}${cal.makes ? '' : ' — it makes nothing'}`,
          );
          if (p.signal === 'SIGKILL') {
            if (!finishedFirst) expect(r.signal, what).toBe('SIGKILL');
            await cleanAfterKill(id, run.child.pid ?? 0, what);
          } else {
            // Interrupted: the conventional exit code; or it had finished (0) just before the signal arrived.
            expect([EXIT[p.signal], 0], `${what}\n${run.output().slice(-2000)}`).toContain(r.code);
            await expectNothingLeft(id, run.child.pid ?? 0, what);
          }
          return;
        }
      },
      150_000,
    );

    it('runs whole again afterwards: the next run works', async () => {
      const id = `${lesson}${(seedFor(`again${lesson}`) & 0xffff).toString(16).padStart(4, '0')}`;
      const run = await runLesson(lesson, id);
      const r = await ended(run, 120_000);
      expect(r.code, run.output().slice(-3000)).toBe(0);
      await expectNothingLeft(id, run.child.pid ?? 0, `lesson ${lesson}, whole again`);
    }, 150_000);
  });

  describe('ctr', () => {
    const ctr = () => ctrIn(net.name);
    const ctrArgv = (target: CtrTarget) =>
      target === 'ctr run'
        ? ['run', '--rm', DEFAULT_ROOTFS, 'sh', '-c', 'sleep 1']
        : ['run', '-d', '--rm', DEFAULT_ROOTFS, 'sleep', '30'];
    const startCtr = (target: CtrTarget, id: string) => {
      recordIds(id);
      return start([process.execPath, path.join(PROJECT_ROOT, 'bin', 'ctr.mjs'), ...ctrArgv(target)], {
        SCRATCH_RUN_ID: id,
      });
    };

    it('each way of running it takes its usual time first', async () => {
      for (const target of CTR_TARGETS) {
        const id = newContainerId();
        const t = performance.now();
        const run = startCtr(target, id);
        const r = await ended(run, 60_000);
        expect(r.code, run.output()).toBe(0);
        ctrDuration.set(target, performance.now() - t);
        if (target !== 'ctr run') await ctr()(['rm', '-f', id]);
        await expectNothingLeft(id, run.child.pid ?? 0, `${target}, whole`);
      }
    }, 120_000);

    it.each(ctrPoints)(
      'point $n: $signal to $target at $at of its run',
      async (p) => {
        const target = p.target as CtrTarget;
        const id = newContainerId();
        const duration = ctrDuration.get(target) ?? 1000;
        const run = startCtr(target, id);
        let victim: Run | { child: { pid: number } } = run;
        if (target === 'the waiter of ctr run -d') {
          expect((await ended(run, 60_000)).code, run.output()).toBe(0);
          const shim = readState(id)?.shimPid ?? 0;
          expect(shim).toBeGreaterThan(0);
          await sleep(p.at * 1000);
          victim = { child: { pid: shim } };
          try {
            process.kill(shim, p.signal);
          } catch {
            // gone already
          }
        } else {
          await sleep(p.at * duration);
          send(run, p.signal);
          await ended(run, 30_000);
        }
        const what = `${target}, ${p.signal} (id ${id})`;
        if (target === 'ctr run -d') {
          // The waiter runs in a session of its own: killing `ctr run -d` half-way leaves either a whole container
          // (it was handed over) or nothing — never half of one. `ctr rm -f` removes the whole one.
          await sleep(1500);
          if (readState(id)) await ctr()(['rm', '-f', id]);
          await expectNothingLeft(id, run.child.pid ?? 0, what);
        } else if (p.signal === 'SIGKILL') {
          await cleanAfterKill(id, victim.child.pid ?? 0, what);
        } else {
          // The waiter stops its container and, for --rm, removes everything; ctr run does it attached.
          await eventually(() => !fs.existsSync(`/run/scratch/${id}`), 15_000);
          await expectNothingLeft(id, victim.child.pid ?? 0, what);
        }
      },
      120_000,
    );
  });

  it(`signals landed at ${Math.min(30, POINTS)} points or more while a lesson was running and making things`, () => {
    expect(signalled).toBeGreaterThanOrEqual(Math.min(30, POINTS));
  });

  // A learner whose first Ctrl-C seems slow presses it again, and again: every press reaches the whole foreground
  // process group, so also whatever command the cleanup is running at that moment.
  it.each(['05', '08', '12'])(
    'lesson %s, Ctrl-C pressed every 10 ms from the middle of its run on: it stops once and its cleanup finishes whole',
    async (lesson) => {
      const cal = calibration.get(lesson);
      // From the middle of a run on; a run faster than the whole one measured first is tried again, earlier.
      for (let attempt = 0, share = 0.4; ; attempt++, share /= 2) {
        const id = `${lesson}${((seedFor(`hammer${lesson}/${attempt}`) >>> 0) & 0xffff).toString(16).padStart(4, '0')}`;
        const run = await runLesson(lesson, id);
        await eventually(() => run.firstOutputMs() >= 0 || run.child.exitCode !== null, 60_000);
        await Promise.race([sleep(cal ? share * (cal.ms - cal.firstMs) : 500 * share), run.exited]);
        if (run.child.exitCode !== null && attempt < 4) {
          await expectNothingLeft(id, run.child.pid ?? 0, `lesson ${lesson}, finished before the first Ctrl-C`);
          continue;
        }
        let presses = 0;
        const hammer = setInterval(() => {
          presses++;
          send(run, 'SIGINT');
        }, 10);
        try {
          const r = await ended(run, 30_000);
          const what = `lesson ${lesson}, Ctrl-C ${presses} times (id ${id})`;
          expect([130, 0], `${what}\n${run.output().slice(-2500)}`).toContain(r.code);
          expect(
            run
              .output()
              .split('\n')
              .filter((l) => l.includes('✘')),
            what,
          ).toEqual([]);
          expect(presses, what).toBeGreaterThan(1);
          await expectNothingLeft(id, run.child.pid ?? 0, what);
        } finally {
          clearInterval(hammer);
        }
        return;
      }
    },
    60_000,
  );
});
