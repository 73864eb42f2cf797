/**
 * Honest checks: for every lesson with an exercise, the untouched template fails the lesson (cleanly: one line,
 * nothing left on the host), and lib's own functions, loaded the way a learner's file is, pass every check.
 * A check that passes on the template would be a bug in the check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLessonFiles, loadLesson } from '../../lib/discovery.ts';
import { EXERCISES_DIR, template } from '../../lib/exercise.ts';
import { loadExercise } from '../../lib/exercise-sandbox.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { createOwnHostNetns, runLessonForTest, runLessonInNetns, testId } from '../helpers/lesson.ts';

/** A file that exports lib's own functions under the exercise's names: the solution, as a learner's file. */
function solutionFile(number: string, solutionIn: string[], names: string[]): string {
  const file = path.join(EXERCISES_DIR, `.solution-${number}-${process.pid}.ts`);
  const lines = names.map((name) => {
    const from = solutionIn.find((rel) =>
      new RegExp(`^export (?:async )?function ${name}\\b`, 'm').test(
        fs.readFileSync(path.join(EXERCISES_DIR, '..', rel), 'utf8'),
      ),
    );
    return `export { ${name} } from '../${from}';`;
  });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe.skipIf(!canRunIntegration)('exercises: the template fails its lesson, the solution passes it', () => {
  for (const file of listLessonFiles()) {
    it(`lesson ${file.number}`, async (t) => {
      const lesson = await loadLesson(file);
      const ex = lesson.exercise;
      if (!ex) return t.skip();
      const names = Object.keys(ex.functions);
      const opts = { hintCommand: `npm run exercise ${file.number} -- --hint`, shape: ex.shape };

      // A lesson that changes the host's network runs in a namespace of its own, in a child process that loads
      // the learner's file itself; any other runs here.
      const runWith = async (exerciseFile: string, id: string) => {
        if (lesson.changesHostNetwork) {
          const netns = await createOwnHostNetns();
          try {
            const r = await runLessonInNetns(lesson, netns.name, { id, exerciseFile });
            expect(await netns.leftovers()).toEqual([]);
            return r;
          } finally {
            await netns.remove();
          }
        }
        const loaded = await loadExercise(exerciseFile, names, opts);
        try {
          return await runLessonForTest(lesson, { id, impl: loaded.impl });
        } finally {
          await loaded.close();
        }
      };

      const id = testId(file.number);
      const r = await runWith(template(ex), id).catch((e: unknown) => e);
      if (r instanceof Error) {
        expect(r.name).toBe('ExerciseError');
        expect(r.message).toMatch(new RegExp(`^exercises/templates/${ex.file}:\\d+: TODO`));
        expect(r.message.split('\n')).toHaveLength(1);
      } else {
        expect((r as { ok: boolean }).ok).toBe(false);
      }
      expect(await leftoversOf(id)).toEqual([]);

      const solution = solutionFile(file.number, ex.solutionIn, names);
      try {
        const id2 = testId(file.number);
        const r2 = await runWith(solution, id2);
        expect(r2.checks.filter((c) => !c.ok)).toEqual([]);
        expect(r2.unshown).toEqual([]);
        expect(await leftoversOf(id2)).toEqual([]);
      } finally {
        fs.rmSync(solution, { force: true });
      }
    });
  }
});
