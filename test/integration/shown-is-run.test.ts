/**
 * What a lesson shows is what it runs, for every lesson: each command and host effect a step runs was shown by
 * that step (the framework records both), and what `--explain` prints for a step is what that step runs for real
 * — the same argv, up to the values only a run can know (PIDs, which `--explain` shows as `$PID`).
 */
import { describe, expect, it } from 'vitest';
import { listLessonFiles, loadLesson } from '../../lib/discovery.ts';
import type { StepRecord } from '../../lib/lesson.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, runLessonSafely, testId } from '../helpers/lesson.ts';

/** A shown or run line with what only a run can know made equal: numbers, and placeholders like $PID. */
export function comparable(line: string): string {
  return line
    .replace(/'/g, '')
    .replace(/"?\$[A-Z][A-Z0-9_]*"?/g, 'N')
    .replace(/\d+/g, 'N');
}

const byStep = (steps: StepRecord[], pick: (s: StepRecord) => string[]) =>
  steps.map((s) => [...new Set(pick(s).map(comparable))].sort());

describe.skipIf(!canRunIntegration)('what a lesson shows is what it runs', () => {
  for (const file of listLessonFiles()) {
    it(`lesson ${file.number}: every command it runs was shown, and --explain shows the very same ones`, async () => {
      const lesson = await loadLesson(file);
      const id = testId(file.number);
      const explained = await runLessonForTest(lesson, { mode: 'explain', id });
      // A lesson that changes the host's network runs in a network namespace made for it (runLessonSafely).
      const ran = await runLessonSafely(lesson, { id });
      expect(ran.checks.filter((c) => !c.ok)).toEqual([]);
      expect(ran.unshown).toEqual([]);
      expect(ran.steps.map((s) => s.title)).toEqual(explained.steps.map((s) => s.title));
      expect(byStep(ran.steps, (s) => s.shown)).toEqual(byStep(explained.steps, (s) => s.shown));
      // Every step that shows a command runs at least one: nothing is shown only for show.
      for (const s of ran.steps) if (s.shown.length > 0) expect(s.ran.length, s.title).toBeGreaterThan(0);
      expect(await leftoversOf(id)).toEqual([]);
      expect(ran.leftInHost).toEqual([]);
    });
  }
});
