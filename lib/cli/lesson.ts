/**
 * npm run lesson [NN] — the lesson runner.
 *
 * Finds the lesson, checks the machine can run it (Linux, root, tools, rootfs — building the default rootfs on
 * first use), then runs it in the chosen mode with a cleanup stack that is unwound on success, failure, Ctrl-C
 * and SIGTERM. Without root it re-runs itself through sudo; off Linux it explains the lesson instead of running
 * it. Every user mistake ends as one line with its fix (see main.ts).
 */
import { fileURLToPath } from 'node:url';
import { CleanupStack } from '../cleanup.ts';
import {
  findLessonFile,
  listLessonFiles,
  loadLesson,
  normalizeLessonNumber,
  plannedLesson,
  type LessonFile,
} from '../discovery.ts';
import { UserError } from '../errors.ts';
import { runLesson, type Lesson } from '../lesson.ts';
import { DEFAULT_ROOTFS } from '../names.ts';
import { Printer, promptTheme, terminalWidth, wantsColor } from '../output.ts';
import { evaluate, gatherFacts } from '../preflight.ts';
import { ensureWorkingCopy, shownPath, workingCopy } from '../exercise.ts';
import { loadExercise, type LoadedExercise } from '../exercise-sandbox.ts';
import { invokingOwner, markCompleted, markSolved, readProgress } from '../progress.ts';
import { assertRootfs, resolveRootfs, rootfsExists } from '../rootfs.ts';
import { claimRunId, releaseClaim } from '../run-ids.ts';
import { createRunner, toolPath } from '../runner.ts';
import { lessonArgv, parseLessonArgs, USAGE, type LessonArgs } from './args.ts';
import { main } from './main.ts';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

async function lessonTitles(files: LessonFile[]): Promise<Map<string, string>> {
  const titles = new Map<string, string>();
  for (const f of files) {
    try {
      titles.set(f.number, (await loadLesson(f)).title);
    } catch {
      titles.set(f.number, f.slug.replaceAll('-', ' '));
    }
  }
  return titles;
}

async function lessonList(files: LessonFile[]): Promise<string> {
  const titles = await lessonTitles(files);
  const done = readProgress().completed;
  return files.map((f) => `  ${done[f.number] ? '✔' : ' '} ${f.number}  ${titles.get(f.number)}`).join('\n');
}

async function pickLesson(files: LessonFile[]): Promise<LessonFile> {
  if (!process.stdin.isTTY) {
    process.stdout.write(`Lessons:\n${await lessonList(files)}\n`);
    throw new UserError('no lesson number given', 'npm run lesson 01');
  }
  // Loaded only when needed: start-up time matters on a live demo, and most runs name their lesson.
  const { select } = await import('@inquirer/prompts');
  const titles = await lessonTitles(files);
  const done = readProgress().completed;
  const next = files.find((f) => !done[f.number]) ?? files[0];
  return select({
    theme: promptTheme(wantsColor(process.stdout)),
    message: 'Which lesson? (✔ = completed)',
    default: next,
    pageSize: files.length,
    choices: files.map((f) => ({
      name: `${done[f.number] ? '✔' : ' '} ${f.number}  ${titles.get(f.number)}`,
      value: f,
    })),
  });
}

/**
 * Re-run this lesson under sudo with `argv` (the lesson already chosen, the flags already parsed); returns its
 * exit code. PATH is kept, and already holds the sbin directories (see the top of main).
 */
async function rerunWithSudo(reason: string, argv: string[], out: Printer): Promise<number> {
  const { execa } = await import('execa'); // only here: loading it costs every other start-up time
  const hasSudo = (await execa('sh', ['-c', 'command -v sudo'], { reject: false })).exitCode === 0;
  if (!hasSudo) throw new UserError(`${reason} needs root and sudo is not installed`, 'su -c "npm run lesson ..."');
  out.note(`${reason} needs root (namespaces, mounts and cgroups are root-only). Re-running with sudo…`);
  const script = fileURLToPath(import.meta.url);
  const sudoArgv = [
    '--preserve-env=PATH,TERM,COLUMNS,NO_COLOR,SCRATCH_ROOTFS,SCRATCH_PROGRESS,SCRATCH_RUN_ID,FORCE_COLOR',
    process.execPath,
    ...process.execArgv,
    script,
    ...argv,
  ];
  // Ctrl-C reaches the child directly (same terminal); the parent only waits for it to finish cleaning up.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  try {
    const r = await execa('sudo', sudoArgv, { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  } finally {
    process.off('SIGINT', ignore);
  }
}

/**
 * The line that says what to run next: the next lesson, or — where it is only planned — what to do meanwhile, or,
 * after the last lesson of the plan, that the workshop is complete.
 */
async function whatNext(lesson: Lesson<unknown>, files: LessonFile[], mode: string): Promise<string> {
  const number = String(Number(lesson.number) + 1).padStart(2, '0');
  const flag = mode === 'explain' ? ' -- --explain' : '';
  if (files.some((f) => f.number === number))
    return `Next: npm run lesson ${number}${flag}   (quiz first: npm run quiz ${lesson.number})`;
  const planned = await plannedLesson(number);
  if (!planned) {
    return (
      `That was the last lesson: the workshop is complete. Quiz: npm run quiz ${lesson.number}; the exercises ` +
      'still open: npm run exercise'
    );
  }
  return `Lesson ${number} (${planned.title}) is planned and not in this checkout yet. Meanwhile: npm run quiz ${lesson.number}`;
}

/** Stop at the first required thing this machine lacks, with its fix. */
function preflight(lesson: Lesson<unknown>): void {
  const blocking = evaluate(gatherFacts()).filter((f) => f.required && !f.ok && f.name !== 'root');
  const first = blocking[0];
  if (first) throw new UserError(`lesson ${lesson.number} cannot run here: ${first.name} — ${first.detail}`, first.fix);
}

/** The learner's exercise for this lesson, made from its template on first use, type-checked and loaded. */
async function loadMine(lesson: Lesson<unknown>, out: Printer): Promise<LoadedExercise> {
  const ex = lesson.exercise;
  if (!ex) throw new UserError(`lesson ${lesson.number} has no exercise`, 'npm run exercise   (lists them)');
  if (ensureWorkingCopy(ex, invokingOwner())) {
    out.note(`Made ${shownPath(ex)} from its template: write your code there (the TODOs), then run this again.`);
  }
  return loadExercise(workingCopy(ex), Object.keys(ex.functions), {
    hintCommand: `npm run exercise ${lesson.number} -- --hint`,
    shape: ex.shape,
  });
}

/**
 * SCRATCH_RUN_ID fixes the run's id (tests and scripts that must find exactly this run's resources); it must
 * look like one the runner would make, since it names cgroups, state dirs and links.
 */
function runIdFromEnv(lessonNumber: string): string | undefined {
  const id = process.env.SCRATCH_RUN_ID;
  if (id === undefined || id === '') return undefined;
  if (!/^\d{2}[0-9a-f]{1,6}$/.test(id) || !id.startsWith(lessonNumber)) {
    throw new UserError(`SCRATCH_RUN_ID=${id} is not a run id for lesson ${lessonNumber}`, 'unset SCRATCH_RUN_ID');
  }
  return id;
}

async function ensureRootfs(rootfs: string, out: Printer): Promise<void> {
  // Only the default rootfs is built on first use: another path is the learner's, and is never written to.
  if (rootfsExists(rootfs)) return;
  if (rootfs !== DEFAULT_ROOTFS) assertRootfs(rootfs);
  out.note('First run: building the busybox rootfs the lessons use (a few seconds, offline).');
  const { buildBusyboxRootfs } = await import('../../rootfs-scripts/busybox.ts');
  const r = await buildBusyboxRootfs({ dir: rootfs, progress: process.stdout.isTTY, log: (l) => out.line(l) });
  out.check(`busybox rootfs ready in ${r.dir} (${r.applets} commands, ${r.ms} ms)`, true);
  out.line();
}

await main(async () => {
  // `npm run lesson 04 | head` closes stdout early. Without a listener the next write throws EPIPE and the
  // process dies before its cleanup stack runs, leaving mounts behind; with one, output stops and cleanup runs.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  // Lessons run root's tools, and chroot, pivot_root and friends live in the sbin directories, which a normal
  // user's PATH on Debian lacks — and sudo keeps that PATH for the re-run below. Add them here, once, so this
  // process, the sudo re-run and every command either starts find them (doctor judges this same PATH).
  process.env.PATH = toolPath(process.env.PATH);
  const args = parseLessonArgs(process.argv.slice(2), !!process.stdin.isTTY, process.env);
  const out = new Printer({ color: wantsColor(process.stdout), width: terminalWidth(process.stdout) });
  if (args.help) {
    out.line(USAGE);
    return 0;
  }
  const files = listLessonFiles();
  const file = args.lesson === undefined ? await pickLesson(files) : findLessonFile(args.lesson, files);
  if (!file) {
    const planned = args.lesson === undefined ? undefined : await plannedLesson(args.lesson);
    if (planned) {
      throw new UserError(
        `lesson ${planned.number} (${planned.title}) is planned and not in this checkout yet`,
        `npm run quiz ${planned.number}   (its quiz is here), or npm run lesson ${files.at(-1)?.number ?? '00'}`,
      );
    }
    const last = files.at(-1);
    const number = args.lesson === undefined ? undefined : normalizeLessonNumber(args.lesson);
    if (last && number !== undefined && Number(number) === Number(last.number) + 1) {
      // The one a learner tries after the last lesson: nothing to list, only where the workshop ends.
      throw new UserError(
        `there is no lesson ${number}: the workshop ends with lesson ${last.number}`,
        `npm run lesson ${last.number}   (or npm run exercise for the exercises still open)`,
      );
    }
    out.line(`Lessons:\n${await lessonList(files)}`);
    throw new UserError(`there is no lesson "${args.lesson}"`, 'npm run lesson 01   (or npm run lesson for a picker)');
  }
  if (args.fromNpm.length > 0) {
    // npm printed "Unknown cli config" for these and kept them; the lesson honours them, and says how to write it.
    out.warn(
      `npm kept ${args.fromNpm.join(' ')} for itself; honoured anyway. Lesson flags go after --: ` +
        `npm run lesson ${file.number} -- ${args.fromNpm.join(' ')}`,
    );
  }
  const lesson = await loadLesson(file);
  const rootfs = resolveRootfs(args.rootfs);
  let mode = args.mode;

  if (process.platform !== 'linux' && mode !== 'explain') {
    out.warn(
      `This is ${process.platform}: containers are a Linux kernel feature, so here the lesson is explained, not run.`,
    );
    mode = 'explain';
  }
  if (mode !== 'explain') {
    if (lesson.needsRoot && process.getuid?.() !== 0) {
      // The lesson the picker chose, and the flags as parsed (npm's included): the re-run asks nothing again.
      const again: LessonArgs = { ...args, rootfs: args.rootfs === undefined ? undefined : rootfs };
      return rerunWithSudo(`lesson ${lesson.number}`, lessonArgv(again, file.number), out);
    }
    preflight(lesson);
    if (lesson.needsRootfs) await ensureRootfs(rootfs, out);
  }

  // --mine: the learner's exercise file, type-checked and loaded before anything is made.
  const mine = args.mine ? await loadMine(lesson, out) : undefined;

  const echo = mode === 'step' || mode === 'explain' || args.verbose;
  const runner = createRunner({ dryRun: mode === 'explain', echo: echo ? (l) => out.echo(l) : undefined });
  const cleanup = new CleanupStack();

  // Ctrl-C and SIGTERM: the lesson stops at once (its steps print and start nothing more), undoes what was
  // made, and the runner exits with the conventional code. Outside a lesson there is nothing to undo.
  const stop = new AbortController();
  let inLesson = false;
  // A signal that arrives while the lesson is already cleaning up after its last step still ends it with 130.
  let caught: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && runner.interactive) return; // the interactive shell handles its own Ctrl-C
    if (!inLesson) process.exit(SIGNAL_EXIT[signal] ?? 1);
    caught ??= signal;
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A promise a step forgot to handle would otherwise end node on the spot, skipping the cleanup: it is a bug, shown
  // as one, and the lesson stops and undoes what it made as on Ctrl-C.
  process.on('unhandledRejection', (error) => {
    out.error(`unexpected error (a bug in the workshop — please report it): ${String(error)}`);
    stop.abort('an unexpected error');
  });
  // A real run claims its id, so a run started at the same moment in another terminal never gets the same one;
  // the claim is given back as the process exits, however it exits (a run killed with -9 leaves a stale one, which
  // the next claimant takes over). Claimed only now that a signal can no longer end the process unannounced.
  const wantedId = runIdFromEnv(lesson.number);
  const id = mode === 'explain' ? wantedId : claimRunId(lesson.number, wantedId);
  if (mode !== 'explain' && id !== undefined) process.once('exit', () => releaseClaim(id));
  // The id names this run, not what it starts: a ctr the lesson runs picks its own, beginning with this one.
  delete process.env.SCRATCH_RUN_ID;
  if (id !== undefined) process.env.SCRATCH_PARENT_RUN = id;

  inLesson = true;
  const result = await runLesson(lesson, {
    id,
    runner,
    cleanup,
    out,
    mode,
    rootfs,
    shell: args.shell && mode !== 'explain',
    pause: mode === 'step' ? (await import('./pause.ts')).createPause() : undefined,
    signal: stop.signal,
    impl: mine?.impl,
  }).finally(() => mine?.close());
  inLesson = false;
  const signalled = result.interrupted ?? caught;
  if (signalled) return SIGNAL_EXIT[signalled] ?? 1;

  if (process.platform !== 'linux') {
    out.line();
    out.note('To run it for real, start the workshop VM: cd vagrant && vagrant up && vagrant ssh, then cd /workshop.');
    return 0;
  }
  if (result.completed) {
    out.line();
    out.prose(await whatNext(lesson, files, mode));
  }
  if (mode === 'explain' || !result.completed) return 0;
  if (!result.ok) {
    if (mine) {
      out.error(
        `Not yet: with your ${lesson.exercise?.file}, the checks above failed. Read what each expected and saw; ` +
          `stuck? npm run exercise ${lesson.number} -- --hint`,
      );
    } else {
      out.error('Some checks failed: the lesson did not show what it should. `npm run doctor` may say why.');
    }
    return 1;
  }
  try {
    if (mine) {
      markSolved(lesson.number);
      out.check(`Solved: your ${lesson.exercise?.file} passes every check of lesson ${lesson.number}`, true);
    } else markCompleted(lesson.number);
  } catch (error) {
    out.warn(`could not save your progress: ${error instanceof Error ? error.message : String(error)}`);
  }
  return 0;
});
