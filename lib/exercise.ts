/**
 * Exercises: the learner writes a lesson's key step, and the lesson's own checks grade it.
 *
 * Each lesson names one or two lib functions that carry its idea — the argv of chroot, the init plan's
 * pivot_root, the cgroup limit writes — with plain data in and out. `exercises/templates/NN-name.ts` holds the
 * same functions with the contract and the kernel facts in their doc comment and a body that is a TODO; the
 * learner's own copy, `exercises/NN-name.ts`, is made from it on first use (and git-ignored, so a `git pull`
 * never clashes with their work). `npm run lesson NN -- --mine` runs the lesson with the learner's functions in
 * place of lib's (see exercise-sandbox.ts): every command the lesson shows is then theirs, and its
 * "Did it work?" checks — which look at the kernel from the host — say whether it works.
 *
 * A check that fails with the learner's code says three things (see gradeLines): what it expected, what the host
 * showed instead, and which hint is about that mistake. A step that cannot even finish with their code — a
 * command refused, a container that does not start — is graded the same way (stepFailure): the lesson cleans up
 * what the step made, as after any error, and the learner reads one failing check, not a stack trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './bundle.ts';

export const TEMPLATES_DIR = path.join(PROJECT_ROOT, 'exercises', 'templates');
/**
 * Where the learner's copies are: exercises/, or SCRATCH_EXERCISES (tests use a directory of their own, directly
 * in the project like exercises/, so a copy's imports of ../lib/ still resolve).
 */
export const EXERCISES_DIR = process.env.SCRATCH_EXERCISES ?? path.join(PROJECT_ROOT, 'exercises');

export interface Exercise {
  /** The file name, in exercises/ (the learner's) and exercises/templates/ (the starting point): `01-chroot.ts`. */
  file: string;
  /** The lib functions the learner writes, by name: the solution, and what runs without --mine. */
  functions: Record<string, (...args: never[]) => unknown>;
  /** Where the solution is, relative to the project: shown by `npm run exercise NN -- --solution`. */
  solutionIn: string[];
  /** What to write, in one or two sentences (shown by --explain and the exercise list). */
  contract: string;
  /** Hints, one at a time on request, the first gentle, the last nearly the answer. */
  hints: string[];
  /** About how long a typical learner takes, in minutes (INSTRUCTOR.md's hands-on timing). */
  minutes: number;
  /**
   * Checks on what a learner's function returned before the lesson uses it: a message for a value of the wrong
   * shape ("chrootArgv must return an array of strings"), undefined for a good one.
   */
  shape?: Record<string, (value: unknown) => string | undefined>;
}

/**
 * What a check (or a step) adds for the learner when it fails with their code: what it expected, what the host
 * showed, and which hint (1-based) is about that mistake. Without them the claim is what was expected and the
 * check's detail what was seen.
 */
export interface Grading {
  expected?: string;
  seen?: string;
  hint?: number;
}

/** The command that shows hint `n` of a lesson's exercise (without n: the next one). */
export function hintCommand(lessonNumber: string, n?: number): string {
  return `npm run exercise ${lessonNumber} -- --hint${n === undefined ? '' : ` ${n}`}`;
}

/** The hint a failing check points at: its own, within the exercise's hints; the first when it names none. */
export function hintFor(ex: Exercise, grading: Grading): number {
  return Math.min(Math.max(1, grading.hint ?? 1), Math.max(1, ex.hints.length));
}

/** The lines printed under a check that failed with the learner's code. */
export function gradeLines(
  check: Grading & { claim: string; detail?: string },
  lessonNumber: string,
  ex: Exercise,
): string[] {
  const n = hintFor(ex, check);
  return [
    `expected: ${check.expected ?? check.claim}`,
    `seen on the host: ${check.seen ?? check.detail ?? 'not that (the evidence above shows what happened)'}`,
    `read hint ${n}: ${hintCommand(lessonNumber, n)}`,
  ];
}

/**
 * What a learner reads of an error: its message on one line — a failed command's own line and what it said on
 * stderr — never its stack.
 */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(0, 3).join(' — ') || text;
}

/**
 * Thrown by a step that cannot go on because what it saw on the host is wrong (limits that read back as other
 * values than were asked for): the lesson cleans up and ends with this failing check, instead of running on
 * into a failure that would say less.
 */
export class CheckFailed extends Error {
  constructor(readonly check: Grading & { claim: string; detail?: string }) {
    super(`${check.claim}: expected ${check.expected ?? 'it'}, saw ${check.seen ?? check.detail ?? 'otherwise'}`);
    this.name = 'CheckFailed';
  }
}

/**
 * The check that stands for a step which stopped with the learner's code in it (a command failed, the kernel or
 * a tool refused what it was given): expected to run to the end, seen what stopped it.
 */
export function stepFailure(
  index: number,
  step: { title: string; hint?: number },
  error: unknown,
): Grading & { claim: string; ok: false; detail?: string } {
  return {
    claim: `step ${index + 1}, “${step.title}”, ran to the end with your code`,
    ok: false,
    expected: `step ${index + 1} to run its commands to the end`,
    seen: `it stopped: ${messageOf(error)}`,
    hint: step.hint,
  };
}

export function workingCopy(ex: Exercise): string {
  return path.join(EXERCISES_DIR, ex.file);
}

export function template(ex: Exercise): string {
  return path.join(TEMPLATES_DIR, ex.file);
}

/** The learner's file as the learner should see it named: `exercises/01-chroot.ts`. */
export function shownPath(ex: Exercise): string {
  return path.relative(PROJECT_ROOT, workingCopy(ex));
}

/**
 * The learner's copy as it starts: the template's text with its imports pointed one directory up — the template
 * sits in exercises/templates/, the copy in exercises/, and both must compile against the same lib/.
 */
export function startingText(ex: Exercise): string {
  return fs.readFileSync(template(ex), 'utf8').replace(/(from\s+['"])\.\.\/\.\.\//g, '$1../');
}

/** Make the learner's copy from the template if there is none yet; true when it was just made. */
export function ensureWorkingCopy(ex: Exercise, owner?: { uid: number; gid: number }): boolean {
  const file = workingCopy(ex);
  if (fs.existsSync(file)) return false;
  fs.writeFileSync(file, startingText(ex));
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
  return true;
}

/** Whether the learner has changed their copy at all. */
export function touched(ex: Exercise): boolean {
  try {
    return fs.readFileSync(workingCopy(ex), 'utf8') !== startingText(ex);
  } catch {
    return false;
  }
}

/** Put the template back, keeping the learner's version next to it; returns where it was kept. */
export function resetExercise(
  ex: Exercise,
  now = new Date(),
  owner?: { uid: number; gid: number },
): string | undefined {
  const file = workingCopy(ex);
  let kept: string | undefined;
  if (fs.existsSync(file)) {
    kept = `${file}.${now.toISOString().replace(/[:.]/g, '-')}.bak`;
    fs.renameSync(file, kept);
  }
  fs.writeFileSync(file, startingText(ex));
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
  return kept;
}

/** The text of an exported function in a TypeScript source: from its doc comment to its closing brace. */
export function functionSource(source: string, name: string): string | undefined {
  const start = new RegExp(`^export (?:async )?function ${name}\\b`, 'm').exec(source)?.index;
  if (start === undefined) return undefined;
  const docStart = source.lastIndexOf('/**', start);
  const between = docStart >= 0 ? source.slice(docStart, start) : '';
  const from = docStart >= 0 && /^\/\*\*[\s\S]*\*\/\s*$/.test(between) ? docStart : start;
  let depth = 0;
  const open = source.indexOf('{', source.indexOf(')', start));
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(from, i + 1);
  }
  return undefined;
}

/** The solution as the learner reads it: each function's source from lib. */
export function solutionText(ex: Exercise): string {
  const parts: string[] = [];
  for (const name of Object.keys(ex.functions)) {
    for (const rel of ex.solutionIn) {
      const text = functionSource(fs.readFileSync(path.join(PROJECT_ROOT, rel), 'utf8'), name);
      if (text) {
        parts.push(`// ${rel}\n${text}`);
        break;
      }
    }
  }
  return parts.join('\n\n');
}

export const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Shape check: an argv. */
export function argvShape(name: string) {
  return (v: unknown) => (isStringArray(v) ? undefined : `${name} must return an array of strings (an argv)`);
}

/** Shape check: a container spec (the fields every lesson reads). */
export function specShape(name: string) {
  return (v: unknown) => {
    const s = v as { process?: { args?: unknown; env?: unknown }; linux?: { namespaces?: unknown }; mounts?: unknown };
    const ok =
      typeof v === 'object' &&
      v !== null &&
      isStringArray(s.process?.args) &&
      isStringArray(s.process?.env) &&
      Array.isArray(s.linux?.namespaces) &&
      Array.isArray(s.mounts);
    return ok
      ? undefined
      : `${name} must return a container spec (process.args, process.env, linux.namespaces, mounts)`;
  };
}

/** Shape check: a list of objects with the given key (init plan operations `op`, cgroup writes `kind`). */
export function listOf(name: string, key: string, what: string) {
  return (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && key in x)
      ? undefined
      : `${name} must return a list of ${what}`;
}
