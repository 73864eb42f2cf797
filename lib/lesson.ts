/**
 * The lesson framework: what a lesson is, and how one is run in each of the three modes.
 *
 * A lesson is a plain object (see `defineLesson`): a number, a title, the docker command it relates to, and a
 * list of steps. Each step says in prose what it is about to do and why, lists the exact commands it runs (and
 * the matching docker command), then runs them and prints evidence from the host and the container side.
 *
 * Declaring the commands apart from running them is what gives the three modes:
 * - run:     print each step's prose and commands, run it, print the evidence;
 * - step:    the same, but pause before each step (Enter runs it, q quits, cleanly);
 * - explain: print every step's prose and commands and run nothing (works on macOS too).
 * A step's `run` receives the very commands it declared — argv arrays, host effects, containers — so what is
 * shown is what runs. The framework holds every step to it: each command or host effect the step's runner sees
 * is compared with what the step showed, and one that was not shown is reported (`unshown`; a test keeps it
 * empty for every lesson). Evidence read straight from /proc or a file is reading, not doing, and is not shown.
 *
 * A lesson keeps what it observed in its `state`, and ends with checks on that state ("the shell is PID 1
 * inside") that tell "it worked" from "it didn't"; tests assert on the same state, from the host.
 */
import type { CleanupStack } from './cleanup.ts';
import { CheckFailed, gradeLines, shownPath, stepFailure, type Exercise, type Grading } from './exercise.ts';
import { ExerciseError } from './exercise-sandbox.ts';
import { showHostOp, type HostOp } from './hostops.ts';
import { mountsUnder, mountTablePath } from './mountinfo.ts';
import { heredocFile, wrap, type Printer } from './output.ts';
import { quoteArg, quoteArgv } from './quote.ts';
import { assertRootfsHas } from './rootfs-tools.ts';
import type { Runner, RunOptions } from './runner.ts';

/**
 * A command as shown to the learner, and what the step then does with it: an argv it runs; an argv it starts in
 * the background (`bg`, shown with `&`); a host effect that is not a command (`op`: a cgroup file write, a
 * kill); or a shell line that is only shown (a file written with a heredoc, `PID=$!`).
 */
export type Shown =
  readonly string[] | { readonly bg: readonly string[] } | { readonly op: HostOp } | { readonly shell: string };

export type Mode = 'run' | 'step' | 'explain';

export interface LessonContext<S> {
  readonly runner: Runner;
  readonly cleanup: CleanupStack;
  readonly out: Printer;
  readonly mode: Mode;
  /** The root filesystem the lesson's container uses. */
  readonly rootfs: string;
  /** A short id unique to this run ("01a3f9"): names everything the run creates (cgroup, veth, state dir). */
  readonly id: string;
  /** What the lesson has observed so far; steps fill it in, checks and tests read it. */
  readonly state: S;
  /**
   * The lesson's key step, the learner's or lib's: `ctx.use(chrootArgv)(rootfs, cmd)`. With `--mine` it is the
   * function of the same name in the learner's exercise file; otherwise the lib function itself.
   */
  use<F extends (...args: never[]) => unknown>(fn: F): F;
}

export interface Step<S, C extends Record<string, Shown> = Record<string, Shown>> {
  title: string;
  /** What the step does and why, in plain words. */
  explain: string;
  /** The matching docker command, if there is one. */
  docker?: string;
  /** The exact commands the step runs. Values not known before running (a PID) appear as placeholders. */
  commands: (ctx: LessonContext<S>) => C;
  /** Runs the commands (the same object `commands` returned) and prints the evidence. */
  run: (ctx: LessonContext<S>, cmd: C) => Promise<void>;
  /** With --mine: the exercise hint to read when this step cannot finish with the learner's code. */
  hint?: number;
}

/** Identity function that lets TypeScript infer a step's command names. */
export function step<S, C extends Record<string, Shown>>(s: Step<S, C>): Step<S> {
  return s as unknown as Step<S>;
}

/** A check on what the lesson observed; with --mine a failing one also says expected, seen and its hint. */
export interface Check extends Grading {
  claim: string;
  ok: boolean;
  detail?: string;
}

export interface InteractiveShell {
  /** Why the learner is dropped into a shell, and what to try there. */
  explain: string;
  argv: readonly string[];
  /** How to show the command when its argv is unreadable inline (a container's whole init script). */
  display?: string;
  /** Files the argv inlines (init.sh), shown by name: `"$(cat init.sh)"`. */
  files?: Record<string, string>;
  /** Start it some other way than running `argv` on the terminal (a container that needs its sync socket). */
  start?: () => Promise<unknown>;
  /** The host directory that is the shell's `/`, below which what it mounts lands: the lesson's rootfs if unset. */
  root?: string;
}

export interface Lesson<S = unknown> {
  /** Two digits: "01". */
  number: string;
  title: string;
  summary: string;
  /** What docker does that this lesson builds by hand. */
  docker: string;
  /** Most lessons need root; the rootless lesson does not. */
  needsRoot: boolean;
  /** Whether the lesson uses the busybox (or another) rootfs. */
  needsRootfs: boolean;
  /**
   * The commands the lesson runs inside the rootfs (its container's command, what it execs, what the init
   * script runs after pivot_root). A rootfs without one of them stops the lesson before it makes anything.
   */
  rootfsCommands?: readonly string[];
  /**
   * The lesson changes the network of the namespace it runs in — a bridge, iptables rules, sysctls — as lesson 08
   * does to the learner's VM. Tests run such a lesson in a network namespace of their own, never the machine's.
   */
  changesHostNetwork?: boolean;
  initialState: () => S;
  steps: Step<S>[];
  /** The shell offered at the end (skipped with --no-shell or when stdin is not a terminal). */
  shell?: (ctx: LessonContext<S>) => InteractiveShell;
  checks: (state: S) => Check[];
  recap: { saw: string[]; next: string };
  /** The lesson's key step, for the learner to write (lib/exercise.ts; `npm run exercise NN`). */
  exercise?: Exercise;
}

export function defineLesson<S>(lesson: Lesson<S>): Lesson<S> {
  return lesson;
}

/** What the pause before a step answered: run it, stop the lesson (q), or Ctrl-C at the prompt. */
export type PauseAnswer = 'run' | 'stop' | 'interrupt';

export interface RunLessonOptions {
  runner: Runner;
  cleanup: CleanupStack;
  out: Printer;
  mode: Mode;
  rootfs: string;
  /** Offer the interactive shell at the end. */
  shell: boolean;
  id?: string;
  /** Step mode: asked before each step; `true`/'run' runs it, `false`/'stop' quits, 'interrupt' is Ctrl-C. */
  pause?: (index: number, total: number) => Promise<boolean | PauseAnswer>;
  /**
   * Aborted on Ctrl-C or SIGTERM, with the signal's name as its reason: the lesson stops at once — no further
   * output from the step, no further command — then cleans up.
   */
  signal?: AbortSignal;
  /** The learner's exercise functions, by name (`--mine`): `ctx.use(fn)` returns these instead of lib's. */
  impl?: Record<string, unknown>;
}

/** What one step showed and what it ran, as comparable lines (argv quoted with the script inline; host effects). */
export interface StepRecord {
  title: string;
  shown: string[];
  ran: string[];
}

export interface LessonResult<S> {
  state: S;
  checks: Check[];
  /** False when the learner quit in step mode, or the lesson was interrupted. */
  completed: boolean;
  /** Every check passed (always true in explain mode, which checks nothing). */
  ok: boolean;
  /** The signal that stopped the lesson (SIGINT, SIGTERM), if one did. */
  interrupted?: string;
  /** Per step: what it showed and what it ran. */
  steps: StepRecord[];
  /** Commands or host effects a step ran without showing them first ("step 3: kill -KILL 4711"): must be empty. */
  unshown: string[];
}

export function newRunId(lessonNumber: string): string {
  return `${lessonNumber}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

/** An argument that is only a placeholder for a value not known yet (`$PID`), maybe inside a path. */
const PLACEHOLDER_ARG = /^[A-Za-z0-9_@%+=:,./-]*(\$[A-Z][A-Z0-9_]*[A-Za-z0-9_@%+=:,./-]*)+$/;

/**
 * An argv as a line a learner can paste. Like quoteArgv, except that an argument holding a placeholder such as
 * `$PID` is double-quoted, so the shell fills in the value a shown `PID=…` line set (single quotes would pass
 * the four characters `$PID` to the command).
 */
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => (PLACEHOLDER_ARG.test(a) ? `"${a}"` : quoteArg(a))).join(' ');
}

/** The shown line that writes `content` to the file `name` with a heredoc: printed once per lesson (see below). */
export function writeFile(name: string, content: string): { shell: string } {
  return { shell: `cat > ${name} <<'EOF'\n${content}\nEOF` };
}

/** showArgv, with an argument that is a written file's whole text shown as `"$(cat NAME)"`. */
export function showArgvUsing(argv: readonly string[], files: Record<string, string>): string {
  const byContent = new Map(Object.entries(files).map(([name, content]) => [content, name]));
  return argv
    .map((a) => {
      const name = byContent.get(a);
      return name ? `"$(cat ${name})"` : showArgv([a]);
    })
    .join(' ');
}

/** The line a learner reads for a shown command; `files` are written files an argv refers to by name. */
export function showCommand(shown: Shown, files: Record<string, string> = {}): string {
  if (isArgv(shown)) return showArgvUsing(shown, files);
  if ('bg' in shown) return `${showArgvUsing(shown.bg, files)} &`;
  if ('op' in shown) return showHostOp(shown.op);
  return shown.shell;
}

function isArgv(shown: Shown): shown is readonly string[] {
  return Array.isArray(shown);
}

/** The comparable line of what a shown command makes the step do: its argv as run, or its host effect. */
export function doneLine(shown: Shown): string | undefined {
  if (isArgv(shown)) return quoteArgv(shown);
  if ('bg' in shown) return quoteArgv(shown.bg);
  if ('op' in shown) return showHostOp(shown.op);
  return undefined;
}

/** What a run command or host effect looked like, for comparing it with what the step showed. */
type Done = { argv: readonly string[] } | { op: string };

/**
 * Whether something the step ran is what it showed: the same argv, where a shown placeholder argument
 * (`/proc/$PID/ns`) stands for the value the step learned while running (`/proc/4711/ns`); or the same host effect.
 */
export function matchesShown(done: Done, shown: Shown): boolean {
  if ('op' in done) {
    if (typeof shown !== 'object' || !('op' in shown)) return false;
    const line = showHostOp(shown.op);
    if (line === done.op) return true;
    const pattern = line.replace(/[.*+?^{}()|[\]\\]/g, '\\$&').replace(/"?\$[A-Z][A-Z0-9_]*"?/g, '[0-9]+');
    return /\$[A-Z]/.test(line) && new RegExp(`^${pattern}$`).test(done.op);
  }
  const argv = isArgv(shown) ? shown : 'bg' in shown ? shown.bg : undefined;
  if (!argv || argv.length !== done.argv.length) return false;
  return argv.every((a, i) => {
    const d = done.argv[i] ?? '';
    if (a === d) return true;
    if (!PLACEHOLDER_ARG.test(a)) return false;
    const pattern = a.replace(/[.*+?^{}()|[\]\\]/g, '\\$&').replace(/\$[A-Z][A-Z0-9_]*/g, '[0-9a-zA-Z._:-]+');
    return new RegExp(`^${pattern}$`).test(d);
  });
}

/** A runner that reports each command and host effect to `seen` before passing it on. */
function watchedRunner(runner: Runner, seen: (done: Done, line: string) => void): Runner {
  return {
    get dryRun() {
      return runner.dryRun;
    },
    get interactive() {
      return runner.interactive;
    },
    run: (argv, opts) => {
      seen({ argv }, quoteArgv(argv));
      return runner.run(argv, opts);
    },
    start: (argv, opts) => {
      seen({ argv }, quoteArgv(argv));
      return runner.start(argv, opts);
    },
    killAll: (signal) => runner.killAll(signal),
    apply: (op, perform) => {
      seen({ op: showHostOp(op) }, showHostOp(op));
      runner.apply(op, perform);
    },
  };
}

/** Thrown by a stopping lesson's runner at a step that tries to run one more command. */
export class LessonStopped extends Error {
  constructor() {
    super('the lesson is stopping: no new command is started');
    this.name = 'LessonStopped';
  }
}

/**
 * A runner that refuses to start anything while `allowed()` is false, and passes everything else through; while
 * `shielded()`, each command starts in a session of its own, where a second Ctrl-C cannot reach it.
 */
function gatedRunner(runner: Runner, allowed: () => boolean, shielded: () => boolean): Runner {
  const shield = (opts?: RunOptions) => (shielded() ? { ...opts, ownSession: true } : opts);
  return {
    get dryRun() {
      return runner.dryRun;
    },
    get interactive() {
      return runner.interactive;
    },
    run: (argv, opts) => (allowed() ? runner.run(argv, shield(opts)) : Promise.reject(new LessonStopped())),
    start: (argv, opts) => {
      if (!allowed()) throw new LessonStopped();
      return runner.start(argv, shield(opts));
    },
    killAll: (signal) => runner.killAll(signal),
    apply: (op, perform) => {
      if (!allowed()) throw new LessonStopped();
      runner.apply(op, perform);
    },
  };
}

/** How long a stopped step may take to notice (its current wait ends) before the lesson gives up on it. */
const SETTLE_MS = 5000;

/**
 * Ctrl-C reaches the whole process group at once: a command the step runs (a `ctr` that exits 130) may end of it,
 * and fail the step, a moment before this process's own handler has seen the signal. A failing step waits this
 * long for a signal before it counts as a failure.
 */
const SIGNAL_GRACE_MS = 500;

/**
 * Run a lesson in the given mode. The cleanup stack is unwound before this returns, whatever happened —
 * including when `signal` aborts it half-way through a step.
 */
export async function runLesson<S>(lesson: Lesson<S>, opts: RunLessonOptions): Promise<LessonResult<S>> {
  const { out } = opts;
  // running → (signal) stopping → unwinding → stopped. Steps print and run commands only while running; undos
  // run commands only while unwinding.
  let phase: 'running' | 'stopping' | 'unwinding' | 'stopped' | 'done' = 'running';
  let interrupted: string | undefined;
  const records: StepRecord[] = [];
  const unshown: string[] = [];
  let current: StepRecord | undefined;
  let currentShown: Shown[] = [];
  const seen = (done: Done, line: string) => {
    if (phase !== 'running' || !current) return; // cleanup and the final shell are not a step's commands
    current.ran.push(line);
    if (!currentShown.some((s) => matchesShown(done, s))) unshown.push(`step ${records.length}: ${line}`);
  };
  const impl = opts.impl ?? {};
  const ctx: LessonContext<S> = {
    runner: watchedRunner(
      gatedRunner(
        opts.runner,
        () => phase === 'running' || phase === 'unwinding',
        // Cleanup: a learner who presses Ctrl-C again must not kill the undo that is running.
        () => phase === 'unwinding',
      ),
      seen,
    ),
    cleanup: opts.cleanup,
    out: out.gated(() => phase === 'running'),
    mode: opts.mode,
    rootfs: opts.rootfs,
    id: opts.id ?? newRunId(lesson.number),
    state: lesson.initialState(),
    use: (fn) => (typeof impl[fn.name] === 'function' ? (impl[fn.name] as typeof fn) : fn),
  };
  const explainOnly = opts.mode === 'explain';
  let markStopped: () => void = () => {};
  const stopped = new Promise<'stopped'>((resolve) => (markStopped = () => resolve('stopped')));
  const stop = (reason: string) => {
    if (phase !== 'running') return;
    phase = 'stopping';
    interrupted = reason;
    out.line();
    out.warn(`${reason}: stopping the lesson and cleaning up`);
    opts.runner.killAll('SIGKILL');
    markStopped();
  };
  const onAbort = () => stop(typeof opts.signal?.reason === 'string' ? opts.signal.reason : 'SIGINT');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  // The shell at the end counts as a step when it will be offered: "Step 6/6" follows "5/6", not "5/5".
  const offerShell = !!lesson.shell && (opts.shell || explainOnly);
  const total = lesson.steps.length + (offerShell ? 1 : 0);
  const writtenFiles = new Map<string, string>();

  out.lessonHeader(lesson.number, lesson.title, lesson.summary);
  out.docker(lesson.docker);
  if (lesson.exercise && (explainOnly || opts.impl)) {
    const ex = lesson.exercise;
    const whose = opts.impl ? `yours, from ${shownPath(ex)}` : `write it in ${shownPath(ex)}`;
    out.note(`Exercise (${whose}): ${ex.contract}`);
  }
  let completed = true;
  let pending: Promise<unknown> | undefined;
  // With --mine, a step that stops with the learner's code in it is graded as a failing check (after cleanup).
  let running: number | undefined;
  let stepFailed: Check | undefined;
  const failureAsCheck = (error: unknown): Check | undefined => {
    if (error instanceof CheckFailed) return { ...error.check, ok: false };
    // The learner's code made the step fail (a refused command, a container that did not start): a failing check,
    // not a stack trace. A mistake in their file itself (ExerciseError) is already one clear line: it stays thrown.
    if (!opts.impl || running === undefined || error instanceof ExerciseError) return undefined;
    return stepFailure(running, lesson.steps[running] ?? { title: '?' }, error);
  };
  try {
    // A rootfs the learner brought may lack a command the lesson runs inside it: say so before making anything.
    if (!explainOnly && lesson.rootfsCommands) {
      assertRootfsHas(opts.rootfs, lesson.rootfsCommands, `lesson ${lesson.number}`);
    }
    for (const [i, s] of lesson.steps.entries()) {
      if (phase !== 'running') break;
      running = i;
      const cmds = s.commands(ctx);
      showFilesOnce(out, cmds, writtenFiles, i + 1);
      out.stepHeader(i + 1, total, s.title);
      out.prose(s.explain);
      if (s.docker) out.docker(s.docker);
      const files = Object.fromEntries(writtenFiles);
      current = { title: s.title, shown: [], ran: [] };
      currentShown = Object.values(cmds);
      records.push(current);
      for (const c of Object.values(cmds)) {
        const done = doneLine(c);
        if (done !== undefined) current.shown.push(done);
        const file = heredocFile(showCommand(c));
        if (file) out.note(`(${file.name}: the script above, written with cat > ${file.name})`);
        else out.command(showCommand(c, files));
      }
      if (explainOnly) continue;
      if (opts.mode === 'step' && opts.pause) {
        const answer = await Promise.race([opts.pause(i + 1, total), stopped]);
        if (answer === 'stopped') break;
        if (answer === 'interrupt') {
          stop('SIGINT');
          break;
        }
        if (answer === false || answer === 'stop') {
          completed = false;
          out.note('Stopped here; cleaning up.');
          break;
        }
      }
      out.line();
      pending = s.run(ctx, cmds);
      pending.catch(() => {}); // a stopped step's late failure is expected; a running one's is seen just below
      if ((await Promise.race([pending.then(() => 'done' as const), stopped])) === 'stopped') break;
    }
    current = undefined;
    running = undefined;
    if (phase === 'running' && completed && offerShell && lesson.shell) {
      const sh = lesson.shell(ctx);
      out.stepHeader(total, total, 'Your turn: a shell in the container');
      out.prose(sh.explain);
      out.command(sh.display ?? showArgvUsing(sh.argv, { ...Object.fromEntries(writtenFiles), ...sh.files }));
      if (!explainOnly) await runShell(ctx, sh);
    }
  } catch (error) {
    // A step that failed because the lesson was stopping under it is not an error: the signal is the story.
    if (phase === 'running') await Promise.race([stopped, new Promise((r) => setTimeout(r, SIGNAL_GRACE_MS))]);
    if (phase === 'running') {
      stepFailed = failureAsCheck(error);
      if (!stepFailed) throw error;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    const wasInterrupted = phase !== 'running';
    phase = 'unwinding';
    const reports = await opts.cleanup.unwind();
    if (wasInterrupted && pending) {
      // The interrupted step may still be between two commands; once it has given up, undo what it made since.
      phase = 'stopped';
      await Promise.race([pending.catch(() => {}), new Promise((r) => setTimeout(r, SETTLE_MS).unref())]);
      phase = 'unwinding';
      reports.push(...(await opts.cleanup.unwind()));
    }
    phase = wasInterrupted ? 'stopped' : 'done';
    if (reports.length > 0 || wasInterrupted) {
      out.line();
      out.line(out.c.bold(' Cleaning up'));
      for (const r of reports) {
        out.check(r.description, r.error === undefined, r.error ? String(r.error) : undefined);
      }
      if (reports.length === 0) out.check('nothing was left to undo', true);
    }
  }

  if (interrupted) {
    return { state: ctx.state, checks: [], completed: false, ok: false, interrupted, steps: records, unshown };
  }
  const checks = stepFailed ? [stepFailed] : explainOnly || !completed ? [] : lesson.checks(ctx.state);
  if (checks.length > 0) {
    out.line();
    out.line(out.c.bold(' Did it work?'));
    for (const c of checks) {
      out.check(c.claim, c.ok, c.detail);
      if (!c.ok && opts.impl && lesson.exercise) {
        for (const l of gradeLines(c, lesson.number, lesson.exercise)) {
          for (const [j, w] of wrap(l, out.width - 6).entries()) out.line(`${j === 0 ? '    → ' : '      '}${w}`);
        }
      }
    }
  }
  if (completed && !stepFailed) out.recap(lesson.recap.saw, lesson.recap.next);
  return { state: ctx.state, checks, completed, ok: checks.every((c) => c.ok), steps: records, unshown };
}

/**
 * A file a step writes with a heredoc (the container's init.sh) is printed once per lesson, above the header of
 * the first step that uses it — not inside the step, where its forty lines would push the step's title off the
 * screen before the --step pause — and the step then refers to it. A later step that writes different text
 * under the same name gets it printed again.
 */
function showFilesOnce(out: Printer, cmds: Record<string, Shown>, written: Map<string, string>, step: number): void {
  for (const c of Object.values(cmds)) {
    const shown = showCommand(c);
    const file = heredocFile(shown);
    if (!file || written.get(file.name) === file.content) continue;
    written.set(file.name, file.content);
    out.line();
    const label = `${file.name}: the script the container runs from step ${step} on (written once, used by name):`;
    for (const l of wrap(label, out.width - 1, ' ')) out.line(out.c.bold(l));
    out.command(shown);
  }
}

/**
 * The learner's shell. What they mount under the lesson's rootfs in it (`mount -t proc proc /proc` in a
 * container without a mount namespace lands on the host) is unmounted when it ends: the undo is registered
 * before the shell starts, from the mounts that were there before it.
 */
async function runShell<S>(ctx: LessonContext<S>, sh: InteractiveShell): Promise<void> {
  const root = mountTablePath(sh.root ?? ctx.rootfs);
  const before = new Set(mountsUnder(root).map((m) => m.id));
  pushUnmountNew(ctx, root, before);
  if (sh.start) await sh.start();
  else await ctx.runner.run(sh.argv, { stdio: 'inherit', reject: false });
}

function pushUnmountNew<S>(ctx: LessonContext<S>, root: string, before: Set<number>): void {
  ctx.cleanup.push(`unmount what your shell left mounted under ${root}`, async () => {
    for (const m of mountsUnder(root).filter((x) => !before.has(x.id))) {
      await ctx.runner.run(['umount', '--lazy', m.mountPoint], { reject: false });
    }
  });
}
