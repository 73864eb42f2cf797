/**
 * Runs one lesson as runLessonForTest does, in this process, and writes its result as JSON to a file: how a test
 * runs a lesson inside a network namespace of its own (see runLessonInOwnNetns in lesson.ts).
 *
 *   node --import tsx test/helpers/lesson-child.ts NN '{"id":"08ab12","width":80}' /tmp/result.json
 *
 * Functions cannot travel as JSON: `implFile` names a module whose exports are the learner's functions (--mine).
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findLessonFile, loadLesson } from '../../lib/discovery.ts';
import { runLessonForTest } from './lesson.ts';

const [number = '', options = '{}', out = ''] = process.argv.slice(2);
const file = findLessonFile(number);
if (!file) throw new Error(`no lesson ${number}`);
const { implFile, ...opts } = JSON.parse(options) as { implFile?: string } & Record<string, unknown>;
const impl = implFile ? ((await import(pathToFileURL(implFile).href)) as Record<string, unknown>) : undefined;
const result = await runLessonForTest(await loadLesson(file), { ...opts, impl });
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
