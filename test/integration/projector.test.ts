/**
 * On a projector, a line past 100 columns wraps mid-word or runs off the screen. Every lesson's full explain
 * output (every step, every command, the shell at the end) stays within 100 columns.
 */
import { describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { listLessonFiles, loadLesson } from '../../lib/discovery.ts';
import { runLesson } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { MAX_WIDTH, Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

describe('lesson output on a projector', () => {
  for (const file of listLessonFiles()) {
    it(`lesson ${file.number} explained fits in ${MAX_WIDTH} columns and runs nothing`, async () => {
      const lesson = await loadLesson(file);
      const text: string[] = [];
      const ran: string[] = [];
      await runLesson(lesson, {
        runner: createRunner({ dryRun: true, echo: (l) => ran.push(l) }),
        cleanup: new CleanupStack(),
        out: new Printer({ write: (t) => text.push(t) }),
        mode: 'explain',
        rootfs: DEFAULT_ROOTFS,
        shell: false,
      });
      const lines = text.join('').split('\n');
      expect(lines.filter((l) => [...l].length > MAX_WIDTH)).toEqual([]);
      expect(ran).toEqual([]);
    });
  }
});

describe.skipIf(!canRunIntegration)('lesson output on a projector, run for real', () => {
  for (const file of listLessonFiles()) {
    it(`lesson ${file.number}: evidence, checks and cleanup fit in ${MAX_WIDTH} columns`, async () => {
      const r = await runLessonForTest(await loadLesson(file));
      expect(r.output.split('\n').filter((l) => [...l].length > MAX_WIDTH)).toEqual([]);
    });
  }
});
