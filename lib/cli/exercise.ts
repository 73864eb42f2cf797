/**
 * npm run exercise [NN] — the hands-on loop: list the exercises and where you are, run yours, get a hint.
 *
 *   npm run exercise                     every exercise: not started, failing or solved; what to do next
 *   npm run exercise 03                  run lesson 03 with your exercises/03-*.ts (as npm run lesson 03 -- --mine)
 *   npm run exercise 03 -- --watch       run it again each time you save the file
 *   npm run exercise 03 -- --hint        the next hint (one at a time)
 *   npm run exercise 03 -- --hint 2      hint 2 again (a failing check names the hint about its mistake)
 *   npm run exercise 03 -- --reset       start over from the template (your file is kept as a .bak)
 *   npm run exercise 03 -- --solution    lib's version of the functions you write
 *   npm run exercise -- --progress       one line with your progress, to paste into the class chat
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../bundle.ts';
import { findLessonFile, listLessonFiles, loadLesson, type LessonFile } from '../discovery.ts';
import { UserError } from '../errors.ts';
import {
  ensureWorkingCopy,
  resetExercise,
  shownPath,
  solutionText,
  touched,
  workingCopy,
  type Exercise,
} from '../exercise.ts';
import type { Lesson } from '../lesson.ts';
import { Printer, terminalWidth, wantsColor } from '../output.ts';
import { countHint, invokingOwner, readProgress, type Progress } from '../progress.ts';
import { main } from './main.ts';

interface WithExercise {
  file: LessonFile;
  lesson: Lesson<unknown>;
  ex: Exercise;
}

async function exercises(): Promise<WithExercise[]> {
  const out: WithExercise[] = [];
  for (const file of listLessonFiles()) {
    const lesson = await loadLesson(file);
    if (lesson.exercise) out.push({ file, lesson, ex: lesson.exercise });
  }
  return out;
}

export type ExerciseState = 'solved' | 'failing' | 'not started';

export function stateOf(number: string, ex: Exercise, progress: Progress): ExerciseState {
  if (progress.solved[number]) return 'solved';
  return fs.existsSync(workingCopy(ex)) && touched(ex) ? 'failing' : 'not started';
}

const MARK: Record<ExerciseState, string> = { solved: '✔', failing: '✘', 'not started': '·' };

/** One line for the class chat: `alice@vm  01 ✔  02 ✔  03 ✘  04 ·  05 ·  (2/5 solved)`. */
export function progressLine(all: { number: string; state: ExerciseState }[], who: string): string {
  const solved = all.filter((e) => e.state === 'solved').length;
  return `${who}  ${all.map((e) => `${e.number} ${MARK[e.state]}`).join('  ')}  (${solved}/${all.length} solved)`;
}

/** The hint asked for by number (`--hint 2`): one the exercise has, or a line that says which it has. */
function chosenHint(text: string, ex: Exercise, number: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > ex.hints.length) {
    throw new UserError(
      `exercise ${number} has hints 1 to ${ex.hints.length}, not "${text}"`,
      `npm run exercise ${number} -- --hint ${Math.min(Math.max(1, Math.trunc(n) || 1), ex.hints.length)}`,
    );
  }
  return n;
}

async function runMine(number: string, watch: boolean, out: Printer): Promise<number> {
  const run = () =>
    execa(
      process.execPath,
      [...process.execArgv, path.join(PROJECT_ROOT, 'lib/cli/lesson.ts'), number, '--mine', '--no-shell'],
      {
        stdio: 'inherit',
        reject: false,
      },
    ).then((r) => r.exitCode ?? 1);
  if (!watch) return run();
  const all = await exercises();
  const target = all.find((e) => e.file.number === number);
  if (!target) throw new UserError(`lesson ${number} has no exercise`, 'npm run exercise');
  ensureWorkingCopy(target.ex, invokingOwner());
  const file = workingCopy(target.ex);
  out.note(`Watching ${shownPath(target.ex)}: each time you save it, lesson ${number} runs with it. Ctrl-C stops.`);
  let running = false;
  let again = false;
  const go = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    do {
      again = false;
      await run();
      out.note(`(watching ${shownPath(target.ex)} — save it to run again; Ctrl-C stops)`);
    } while (again);
    running = false;
  };
  let timer: NodeJS.Timeout | undefined;
  // The directory, not the file: many editors save by writing a new file and renaming it over the old one,
  // after which a watch on the old file hears nothing more.
  fs.watch(path.dirname(file), (_event, name) => {
    if (name !== null && name !== path.basename(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void go(), 150); // an editor saves in bursts: one run per save
  });
  await go();
  return new Promise<number>(() => {}); // until Ctrl-C
}

await main(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      watch: { type: 'boolean', default: false },
      hint: { type: 'boolean', default: false },
      reset: { type: 'boolean', default: false },
      solution: { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const out = new Printer({ color: wantsColor(process.stdout), width: terminalWidth(process.stdout) });
  const progress = readProgress();
  const all = await exercises();
  const states = all.map((e) => ({ number: e.file.number, state: stateOf(e.file.number, e.ex, progress) }));

  if (values.progress) {
    const who = `${process.env.SUDO_USER ?? process.env.USER ?? os.userInfo().username}@${os.hostname()}`;
    out.line(progressLine(states, who));
    return 0;
  }
  const [arg, hintNumber] = positionals;
  if (arg === undefined) {
    out.line(out.c.bold(' Exercises: write the key step of a lesson; the lesson’s own checks grade it'));
    for (const [i, e] of all.entries()) {
      const s = states[i]?.state ?? 'not started';
      out.line(`  ${MARK[s]} ${e.file.number}  ${e.ex.file.padEnd(24)} ${s.padEnd(12)} ~${e.ex.minutes} min`);
    }
    const next = all.find((_, i) => states[i]?.state !== 'solved');
    out.line();
    out.prose(
      next
        ? `Next: ${next.ex.contract} Edit ${shownPath(next.ex)} (made from its template on first run), then ` +
            `npm run exercise ${next.file.number}  (add -- --watch to re-run on each save, -- --hint when stuck).`
        : 'Every exercise is solved. Well done — now try lesson 12 with ctr, built from the same lib/.',
    );
    return 0;
  }
  const file = findLessonFile(arg);
  const target = file && all.find((e) => e.file.number === file.number);
  if (!target) throw new UserError(`lesson ${arg} has no exercise`, 'npm run exercise   (lists them)');
  const { ex } = target;
  const number = target.file.number;
  if (values.hint) {
    const n = hintNumber === undefined ? countHint(number, ex.hints.length) : chosenHint(hintNumber, ex, number);
    out.line(out.c.bold(` Hint ${n}/${ex.hints.length} for ${shownPath(ex)}`));
    out.prose(ex.hints[n - 1] ?? ex.contract);
    if (n < ex.hints.length) out.note(`(npm run exercise ${number} -- --hint again for the next one)`);
    return 0;
  }
  if (values.reset) {
    const kept = resetExercise(ex, new Date(), invokingOwner());
    out.check(
      `${shownPath(ex)} is the template again${kept ? `; yours is kept as ${path.relative(PROJECT_ROOT, kept)}` : ''}`,
      true,
    );
    return 0;
  }
  if (values.solution) {
    out.line(out.c.bold(` lib's version of what ${shownPath(ex)} asks for:`));
    out.line(solutionText(ex));
    return 0;
  }
  if (ensureWorkingCopy(ex, invokingOwner())) {
    out.note(`Made ${shownPath(ex)} from its template. ${ex.contract}`);
  }
  return runMine(number, values.watch, out);
});
