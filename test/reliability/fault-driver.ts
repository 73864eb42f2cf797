/**
 * The fault-injection suite's worker (faults.test.ts runs it inside its test network namespace, one process per
 * target): `node --import tsx fault-driver.ts TARGET SEED`, TARGET a lesson number or `ctr`.
 *
 * It runs the target once with a recording runner (test/helpers/faulty-runner.ts) to list every command and host
 * effect of its setup, then again once per kind of step — the first mount, a cgroup write, an `ip` and an
 * `iptables` command, the container's init before its sync, and one step at random (from SEED) — each time
 * making that one step fail. For every run it prints one JSON line: the run id, the step made to fail, and the
 * error the run ended with. Whether anything of the run is left is the test's to judge, from the host.
 */
import { initBundle } from '../../lib/bundle.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { run as ctrRun } from '../../lib/ctr/commands/run.ts';
import { parseFlags } from '../../lib/ctr/flags.ts';
import { DEFAULT_STORE_ROOT, ImageStore } from '../../lib/image/store.ts';
import { RUN_FLAGS } from '../../lib/ctr/run-spec.ts';
import { findLessonFile, loadLesson } from '../../lib/discovery.ts';
import { newRunId, runLesson } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';
import { newContainerId } from '../helpers/fleet.ts';
import { FaultyRunner, type Call, type Category } from '../helpers/faulty-runner.ts';
import { seeded } from '../helpers/reliability.ts';

const [target = '', seedArg = '1'] = process.argv.slice(2);
const random = seeded(Number(seedArg));
const CATEGORIES: Category[] = ['mount', 'cgroup', 'ip', 'iptables', 'init'];

interface Outcome {
  id: string;
  runner: FaultyRunner;
  /** Calls made before the run began to undo what it made: its setup (and its evidence). */
  setupCalls: number;
  error?: string;
}

async function lessonRun(failAt?: number): Promise<Outcome> {
  const file = findLessonFile(target);
  if (!file) throw new Error(`no lesson ${target}`);
  const lesson = await loadLesson(file);
  const id = newRunId(lesson.number);
  const runner = new FaultyRunner(createRunner(), failAt);
  const cleanup = new CleanupStack();
  const out: Outcome = { id, runner, setupCalls: Number.POSITIVE_INFINITY };
  const unwind = cleanup.unwind.bind(cleanup);
  cleanup.unwind = (onEach) => {
    out.setupCalls = Math.min(out.setupCalls, runner.calls.length);
    return unwind(onEach);
  };
  try {
    const r = await runLesson(lesson, {
      id,
      runner,
      cleanup,
      out: new Printer({ write: () => {}, width: 100 }),
      mode: 'run',
      rootfs: DEFAULT_ROOTFS,
      shell: false,
    });
    if (!r.ok) out.error = `checks failed: ${r.checks.filter((c) => !c.ok).map((c) => c.claim)}`;
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  }
  return out;
}

async function ctrRunOnce(failAt?: number): Promise<Outcome> {
  const id = newContainerId();
  process.env.SCRATCH_RUN_ID = id;
  const runner = new FaultyRunner(createRunner(), failAt);
  const out: Outcome = { id, runner, setupCalls: 0 };
  try {
    const code = await ctrRun.run(
      {
        runner,
        out: () => {},
        err: () => {},
        init: initBundle,
        self: { node: process.execPath, args: [] },
        store: new ImageStore(DEFAULT_STORE_ROOT),
        tty: false,
        env: process.env,
      },
      parseFlags(['--rm', DEFAULT_ROOTFS, '/bin/true'], RUN_FLAGS, 'run'),
    );
    if (code !== 0) out.error = `exit ${code}`;
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  }
  // Setup: up to the init's start and the cgroup join at its sync point.
  const calls = runner.calls;
  const start = calls.findIndex((c) => c.category === 'init');
  let end = start + 1;
  while (calls[end]?.category === 'cgroup' && calls[end]?.line.includes('cgroup.procs')) end++;
  out.setupCalls = start < 0 ? calls.length : end;
  return out;
}

const once = target === 'ctr' ? ctrRunOnce : lessonRun;
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const recorded = await once();
print({
  type: 'record',
  id: recorded.id,
  calls: recorded.runner.calls.length,
  setup: recorded.setupCalls,
  error: recorded.error,
});
const setup = recorded.runner.calls.slice(0, recorded.setupCalls);
const choices: Array<{ wanted: string; call: Call }> = [];
/** Steps that change something (a rule added, a cgroup file written), rather than read it: failing those counts. */
const CHANGES: Partial<Record<Category, RegExp>> = {
  cgroup: /"kind":"(write|mkdir)"/,
  ip: / (add|set) /,
  iptables: / -[AIN] /,
};
for (const category of CATEGORIES) {
  const all = setup.filter((c) => c.category === category);
  const changing = all.filter((c) => CHANGES[category]?.test(c.line) ?? true);
  const of = changing.length > 0 ? changing : all;
  const call = category === 'mount' ? of[0] : of[Math.floor(random() * of.length)];
  if (call) choices.push({ wanted: category, call });
}
const any = setup[Math.floor(random() * setup.length)];
if (any) choices.push({ wanted: 'random', call: any });
for (const { wanted, call } of choices) {
  const o = await once(call.index);
  print({
    type: 'inject',
    id: o.id,
    wanted,
    planned: call.line,
    failed: o.runner.failed?.line,
    failedCategory: o.runner.failed?.category,
    error: o.error,
  });
}
