/**
 * Finding the lessons: every `lessons/NN-short-name.ts` is one, in number order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledLessonPath, runsCompiled } from './bundle.ts';
import type { Lesson } from './lesson.ts';

export const LESSONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'lessons');

export interface LessonFile {
  number: string;
  slug: string;
  file: string;
}

const LESSON_FILE = /^(\d{2})-([a-z0-9-]+)\.ts$/;

/** The lesson files in a directory, sorted by number. */
export function listLessonFiles(dir: string = LESSONS_DIR): LessonFile[] {
  return fs
    .readdirSync(dir)
    .flatMap((name) => {
      const m = LESSON_FILE.exec(name);
      return m?.[1] && m[2] ? [{ number: m[1], slug: m[2], file: path.join(dir, name) }] : [];
    })
    .sort((a, b) => a.number.localeCompare(b.number));
}

/** Accept "5", "05" or "05-cgroups"; return the two-digit number, or undefined. */
export function normalizeLessonNumber(arg: string): string | undefined {
  const m = /^(\d{1,2})(?:-[a-z0-9-]*)?$/.exec(arg.trim());
  return m?.[1] ? m[1].padStart(2, '0') : undefined;
}

export function findLessonFile(arg: string, files: LessonFile[] = listLessonFiles()): LessonFile | undefined {
  const n = normalizeLessonNumber(arg);
  return n === undefined ? undefined : files.find((f) => f.number === n);
}

/**
 * The module to import for a lesson: its .ts file under a TypeScript loader, or — when this code runs compiled
 * (npm run lesson) — its compiled twin in dist/, built from that same file (lib/bundle.ts).
 */
export function lessonModule(file: LessonFile, moduleUrl: string = import.meta.url): string {
  return runsCompiled(moduleUrl) ? compiledLessonPath(file.file) : file.file;
}

export async function loadLesson(file: LessonFile): Promise<Lesson<unknown>> {
  const mod = (await import(pathToFileURL(lessonModule(file)).href)) as { default?: Lesson<unknown> };
  if (!mod.default) throw new Error(`${file.file} has no default export (a lesson made with defineLesson)`);
  return mod.default;
}

/**
 * A lesson of the plan that is not written yet: its quiz exists (the quizzes cover the whole plan), its lesson
 * file does not. Gives its number and title, so "npm run lesson 06" can say "planned" instead of "no such lesson".
 */
export async function plannedLesson(
  arg: string,
  files: LessonFile[] = listLessonFiles(),
): Promise<{ number: string; title: string } | undefined> {
  const number = normalizeLessonNumber(arg);
  if (number === undefined || files.some((f) => f.number === number)) return undefined;
  const { listQuizNumbers, loadQuiz } = await import('./quiz.ts');
  if (!listQuizNumbers().includes(number)) return undefined;
  return { number, title: (await loadQuiz(number)).title };
}
