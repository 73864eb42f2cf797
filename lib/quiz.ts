/**
 * Quizzes: a handful of questions after each lesson, asked in the terminal.
 *
 * A lesson shows a mechanism once; a question makes the learner say it back in their own head ("which
 * namespace gives the shell PID 1?"). Each question has one right answer and a short reason, and the reason
 * is shown whatever the learner picked, because the point is the explanation, not the score.
 *
 * A quiz is plain data (`defineQuiz`), one file per lesson in `lessons/quiz/NN.ts`. Asking goes through an
 * `ask` function that receives the exact prompt configuration; the real one is inquirer's `select`, and tests
 * pass one that drives the same prompt with inquirer's testing helpers, so what is tested is what a learner sees.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { select } from '@inquirer/prompts';
import { compiledQuizPath, runsCompiled } from './bundle.ts';
import { UserError } from './errors.ts';
import { promptTheme, wantsColor, type Printer } from './output.ts';

export interface Question {
  /** The question, one or two lines. */
  prompt: string;
  /** The possible answers, in the order shown. */
  choices: readonly string[];
  /** Index into `choices` of the one right answer. */
  answer: number;
  /** Why that answer is right, shown after every answer. */
  why: string;
}

export interface Quiz {
  /** The lesson it belongs to, two digits ("05"). */
  lesson: string;
  /** The lesson's title, shown in the quiz picker. */
  title: string;
  questions: readonly Question[];
}

export function defineQuiz(quiz: Quiz): Quiz {
  return quiz;
}

/** What is wrong with a quiz, one line per problem; empty means it is well formed. */
export function quizProblems(quiz: Quiz): string[] {
  const problems: string[] = [];
  if (!/^\d{2}$/.test(quiz.lesson)) problems.push(`lesson "${quiz.lesson}" is not two digits`);
  if (quiz.questions.length < 3) problems.push(`only ${quiz.questions.length} questions (at least 3)`);
  for (const [i, q] of quiz.questions.entries()) {
    const where = `question ${i + 1}`;
    if (q.choices.length < 2) problems.push(`${where}: fewer than 2 choices`);
    if (!Number.isInteger(q.answer) || q.answer < 0 || q.answer >= q.choices.length) {
      problems.push(`${where}: answer ${q.answer} is not one of its ${q.choices.length} choices`);
    }
    if (new Set(q.choices).size !== q.choices.length) problems.push(`${where}: two choices are the same`);
    if (!q.why.trim()) problems.push(`${where}: no explanation`);
  }
  return problems;
}

/** The configuration handed to inquirer's `select` for one question; values are choice indexes. */
export interface QuestionPrompt {
  message: string;
  choices: { name: string; value: number }[];
  pageSize: number;
  loop: boolean;
}

export function questionPrompt(q: Question, index: number, total: number): QuestionPrompt {
  return {
    message: `(${index + 1}/${total}) ${q.prompt}`,
    choices: q.choices.map((name, value) => ({ name, value })),
    // Every choice visible at once: a quiz where an answer scrolls off screen is a trick question.
    pageSize: q.choices.length,
    loop: false,
  };
}

export type Ask = (prompt: QuestionPrompt) => Promise<number>;

/** Ask with inquirer's select prompt, on the terminal, in colours that read on a light theme too. */
export const askInTerminal: Ask = (prompt) =>
  select<number>({ ...prompt, theme: promptTheme(wantsColor(process.stdout)) });

/** The answer a typed line names: its number (1-based) or letter, e.g. "2", "b", "B)"; undefined otherwise. */
export function parseAnswer(line: string, count: number): number | undefined {
  const t = line.trim().toLowerCase().replace(/[).]$/, '');
  const n = /^\d+$/.test(t) ? Number(t) - 1 : /^[a-z]$/.test(t) ? t.charCodeAt(0) - 97 : -1;
  return n >= 0 && n < count ? n : undefined;
}

/**
 * Ask without a terminal (a remote class typing into a shared session, a script, a test): the question and its
 * choices as numbered lines, and one answer per input line — a number or a letter. A line that names no
 * choice is asked again; the end of the input stops the quiz with a UserError.
 */
export function askByLines(nextLine: () => Promise<string | undefined>, write: (text: string) => void): Ask {
  return async (prompt) => {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    write(`${prompt.message}\n`);
    for (const c of prompt.choices) write(`  ${c.value + 1}) ${c.name}\n`);
    for (;;) {
      write(`answer 1-${prompt.choices.length} (or a-${letters[prompt.choices.length - 1]}): `);
      const line = await nextLine();
      if (line === undefined) {
        write('\n');
        throw new UserError('the input ended before every question had an answer', QUIZ_INPUT_FIX);
      }
      write(`${line}\n`);
      const picked = parseAnswer(line, prompt.choices.length);
      if (picked !== undefined) return picked;
    }
  };
}

const QUIZ_INPUT_FIX = "one answer per line, a number or a letter: printf '2\\nb\\n…' | npm run quiz 05";

export interface QuizAnswer {
  question: Question;
  picked: number;
  correct: boolean;
}

export interface QuizResult {
  answers: QuizAnswer[];
  score: number;
  total: number;
}

/** Ask every question in order, print whether each answer was right and why, then the score. */
export async function runQuiz(quiz: Quiz, opts: { out: Printer; ask?: Ask }): Promise<QuizResult> {
  const { out } = opts;
  const ask = opts.ask ?? askInTerminal;
  const answers: QuizAnswer[] = [];
  out.line(out.c.bold(` Quiz · lesson ${quiz.lesson} · ${quiz.title}`));
  out.line();
  for (const [i, q] of quiz.questions.entries()) {
    const picked = await ask(questionPrompt(q, i, quiz.questions.length));
    const correct = picked === q.answer;
    answers.push({ question: q, picked, correct });
    if (correct) out.check('Right.', true);
    else {
      out.check('Not quite.', false);
      out.prose(`The answer: ${q.choices[q.answer]}`);
    }
    out.note(q.why);
    out.line();
  }
  const score = answers.filter((a) => a.correct).length;
  const total = quiz.questions.length;
  out.line(out.c.bold(` ${score}/${total} right.`));
  out.line(
    score === total
      ? '  Every answer right: on to the next lesson.'
      : `  To see it again: npm run lesson ${quiz.lesson} -- --explain`,
  );
  return { answers, score, total };
}

export const QUIZ_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'lessons', 'quiz');

const QUIZ_FILE = /^(\d{2})\.ts$/;

/** The lesson numbers that have a quiz file, in order. */
export function listQuizNumbers(dir: string = QUIZ_DIR): string[] {
  return fs
    .readdirSync(dir)
    .flatMap((name) => QUIZ_FILE.exec(name)?.[1] ?? [])
    .sort();
}

export async function loadQuiz(number: string, dir: string = QUIZ_DIR): Promise<Quiz> {
  const file = path.join(dir, `${number}.ts`);
  // Run compiled (the lesson runner's "planned" message), a quiz is imported from its compiled twin (lib/bundle.ts).
  const module = runsCompiled(import.meta.url) ? compiledQuizPath(file) : file;
  const mod = (await import(pathToFileURL(module).href)) as { default?: Quiz };
  if (!mod.default) throw new Error(`${file} has no default export (a quiz made with defineQuiz)`);
  return mod.default;
}
