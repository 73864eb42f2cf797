/**
 * Runs one lesson as runLessonForTest does, in this process, and writes its result as JSON to a file: how a test
 * runs a lesson inside a network namespace of its own (see runLessonInOwnNetns in lesson.ts).
 *
 *   node --import tsx test/helpers/lesson-child.ts NN '{"id":"08ab12","width":80}' /tmp/result.json
 *
 * Functions cannot travel as JSON: `implFile` names a module whose exports are the learner's functions (--mine),
 * or `exerciseFile` a learner's file, loaded as --mine loads it. A thrown error comes back as `{ thrown }`.
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findLessonFile, loadLesson } from '../../lib/discovery.ts';
import { loadExercise, type LoadedExercise } from '../../lib/exercise-sandbox.ts';
import { runLessonForTest } from './lesson.ts';

const [number = '', options = '{}', out = ''] = process.argv.slice(2);
const file = findLessonFile(number);
if (!file) throw new Error(`no lesson ${number}`);
const lesson = await loadLesson(file);
const { implFile, exerciseFile, ...opts } = JSON.parse(options) as {
  implFile?: string;
  exerciseFile?: string;
} & Record<string, unknown>;
let result: unknown;
let loaded: LoadedExercise | undefined;
try {
  let impl = implFile ? ((await import(pathToFileURL(implFile).href)) as Record<string, unknown>) : undefined;
  // A learner's file, loaded as `--mine` loads it: type-checked, run in a worker, its answers checked for shape.
  const ex = lesson.exercise;
  if (exerciseFile && ex) {
    loaded = await loadExercise(exerciseFile, Object.keys(ex.functions), {
      hintCommand: `npm run exercise ${number} -- --hint`,
      shape: ex.shape,
    });
    impl = loaded.impl;
  }
  result = await runLessonForTest(lesson, { ...opts, impl });
} catch (error) {
  // An error is a result too (a learner's TODO, a refused command): the parent test looks at it.
  const e = error instanceof Error ? error : new Error(String(error));
  result = { thrown: { name: e.name, message: e.message } };
} finally {
  await loaded?.close();
}
// State holds live objects (containers, cleanup stacks): keep their data, drop functions and cycles.
const ancestors: unknown[] = [];
const json = JSON.stringify(result, function (this: unknown, _key, value: unknown) {
  if (typeof value === 'function') return undefined;
  if (typeof value !== 'object' || value === null) return value;
  while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
  if (ancestors.includes(value)) return '[cycle]';
  ancestors.push(value);
  return value;
});
fs.writeFileSync(out, json);
