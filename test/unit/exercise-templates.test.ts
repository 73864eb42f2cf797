/**
 * Every exercise's template, as the learner gets it: the copy `npm run exercise NN` makes in exercises/ compiles
 * (its imports reach lib/ from there), exports the functions the lesson swaps in, and holds only a TODO.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listLessonFiles, loadLesson } from '../../lib/discovery.ts';
import { EXERCISES_DIR, startingText, template } from '../../lib/exercise.ts';
import { typecheck } from '../../lib/exercise-sandbox.ts';

const made: string[] = [];
afterAll(() => made.forEach((f) => fs.rmSync(f, { force: true })));

describe('the exercise templates, copied where the learner edits them', async () => {
  const lessons = await Promise.all(listLessonFiles().map(async (f) => ({ f, lesson: await loadLesson(f) })));
  it('every lesson from 01 on has an exercise', () => {
    const without = lessons.filter(({ f, lesson }) => f.number !== '00' && !lesson.exercise).map(({ f }) => f.number);
    expect(without).toEqual([]);
  });

  for (const { f, lesson } of lessons) {
    const ex = lesson.exercise;
    if (!ex) continue;
    it(`lesson ${f.number}: the copy compiles in exercises/, exports ${Object.keys(ex.functions).join(', ')}`, async () => {
      const text = startingText(ex);
      expect(text).not.toMatch(/from ['"]\.\.\/\.\.\//);
      // A hidden name at the copy's own depth (git-ignored, like the learner's file).
      const copy = path.join(EXERCISES_DIR, `.scr-copy-${process.pid}-${ex.file}`);
      made.push(copy);
      fs.writeFileSync(copy, text);
      expect(await typecheck(copy)).toEqual([]);
      for (const name of Object.keys(ex.functions)) {
        expect(text).toMatch(new RegExp(`^export (async )?function ${name}\\(`, 'm'));
      }
      expect(fs.readFileSync(template(ex), 'utf8')).toContain('TODO');
    }, 30_000);
  }
});
