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
 * A step's `run` receives the very commands it declared, so what is shown is what runs.
 *
 * A lesson keeps what it observed in its `state`, and ends with checks on that state ("the shell is PID 1
 * inside") that tell "it worked" from "it didn't"; tests assert on the same state, from the host.
 */
import type { CleanupStack } from './cleanup.ts';
import type { Printer } from './output.ts';
import { quoteArgv } from './quote.ts';
import type { Runner } from './runner.ts';

/** A command as shown to the learner: an argv to run, or a shell line for something done another way. */
export type Shown = readonly string[] | { readonly shell: string };

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
}

/** Identity function that lets TypeScript infer a step's command names. */
export function step<S, C extends Record<string, Shown>>(s: Step<S, C>): Step<S> {
  return s as unknown as Step<S>;
}

export interface Check {
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
  initialState: () => S;
  steps: Step<S>[];
  /** The shell offered at the end (skipped with --no-shell or when stdin is not a terminal). */
  shell?: (ctx: LessonContext<S>) => InteractiveShell;
  checks: (state: S) => Check[];
  recap: { saw: string[]; next: string };
}

export function defineLesson<S>(lesson: Lesson<S>): Lesson<S> {
  return lesson;
}

export interface RunLessonOptions {
  runner: Runner;
  cleanup: CleanupStack;
  out: Printer;
  mode: Mode;
  rootfs: string;
  /** Offer the interactive shell at the end. */
  shell: boolean;
  id?: string;
  /** Step mode: asked before each step; resolve false to quit. */
  pause?: (index: number, total: number) => Promise<boolean>;
}

export interface LessonResult<S> {
  state: S;
  checks: Check[];
  /** False when the learner quit in step mode. */
  completed: boolean;
  /** Every check passed (always true in explain mode, which checks nothing). */
  ok: boolean;
}

export function newRunId(lessonNumber: string): string {
  return `${lessonNumber}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

export function showCommand(shown: Shown): string {
  return Array.isArray(shown) ? quoteArgv(shown as readonly string[]) : (shown as { shell: string }).shell;
}

/**
 * Run a lesson in the given mode. The cleanup stack is unwound before this returns, whatever happened; the
 * caller also unwinds it on a signal (both share one unwind).
 */
export async function runLesson<S>(lesson: Lesson<S>, opts: RunLessonOptions): Promise<LessonResult<S>> {
  const { out } = opts;
  const ctx: LessonContext<S> = {
    runner: opts.runner,
    cleanup: opts.cleanup,
    out,
    mode: opts.mode,
    rootfs: opts.rootfs,
    id: opts.id ?? newRunId(lesson.number),
    state: lesson.initialState(),
  };
  const explainOnly = opts.mode === 'explain';

  out.lessonHeader(lesson.number, lesson.title, lesson.summary);
  out.docker(lesson.docker);
  let completed = true;
  try {
    for (const [i, s] of lesson.steps.entries()) {
      out.stepHeader(i + 1, lesson.steps.length, s.title);
      out.prose(s.explain);
      if (s.docker) out.docker(s.docker);
      const cmds = s.commands(ctx);
      for (const c of Object.values(cmds)) out.command(showCommand(c));
      if (explainOnly) continue;
      if (opts.mode === 'step' && opts.pause && !(await opts.pause(i + 1, lesson.steps.length))) {
        completed = false;
        out.note('Stopped here; cleaning up.');
        break;
      }
      out.line();
      await s.run(ctx, cmds);
    }
    if (completed && lesson.shell && (opts.shell || explainOnly)) {
      const sh = lesson.shell(ctx);
      out.stepHeader(lesson.steps.length + 1, lesson.steps.length + 1, 'Your turn: a shell in the container');
      out.prose(sh.explain);
      out.command(sh.display ?? quoteArgv(sh.argv));
      if (!explainOnly) await opts.runner.run(sh.argv, { stdio: 'inherit', reject: false });
    }
  } finally {
    const reports = await opts.cleanup.unwind();
    if (reports.length > 0) {
      out.line();
      out.line(out.c.dim(' Cleaning up'));
      for (const r of reports) {
        out.check(r.description, r.error === undefined, r.error ? String(r.error) : undefined);
      }
    }
  }

  const checks = explainOnly || !completed ? [] : lesson.checks(ctx.state);
  if (checks.length > 0) {
    out.line();
    out.line(out.c.bold(' Did it work?'));
    for (const c of checks) out.check(c.claim, c.ok, c.detail);
  }
  if (completed) out.recap(lesson.recap.saw, lesson.recap.next);
  return { state: ctx.state, checks, completed, ok: checks.every((c) => c.ok) };
}
