/**
 * On a projector, a line past the terminal's width wraps mid-word or runs off the screen. Every lesson's full
 * output (every step, every command, the shell at the end; explained, and run for real) stays within the width
 * it is given: 100 columns, and 80 for a half-screen pane. And every command it shows can be pasted: a value
 * not known yet is `"$PID"`, set by a `PID=…` line shown before it.
 */
import { describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { listLessonFiles, loadLesson } from '../../lib/discovery.ts';
import { runLesson } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { MAX_WIDTH, Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonSafely } from '../helpers/lesson.ts';

async function explained(file: ReturnType<typeof listLessonFiles>[number], width: number) {
  const lesson = await loadLesson(file);
  const text: string[] = [];
  const ran: string[] = [];
  await runLesson(lesson, {
    runner: createRunner({ dryRun: true, echo: (l) => ran.push(l) }),
    cleanup: new CleanupStack(),
    out: new Printer({ write: (t) => text.push(t), width }),
    mode: 'explain',
    rootfs: DEFAULT_ROOTFS,
    shell: false,
  });
  return { text: text.join(''), ran };
}

const tooWide = (text: string, width: number) => text.split('\n').filter((l) => [...l].length > width);

describe('lesson output on a projector', () => {
  for (const file of listLessonFiles()) {
    for (const width of [MAX_WIDTH, 80]) {
      it(`lesson ${file.number} explained fits in ${width} columns and runs nothing`, async () => {
        const { text, ran } = await explained(file, width);
        expect(tooWide(text, width)).toEqual([]);
        expect(ran).toEqual([]);
      });
    }

    it(`lesson ${file.number}: a value not known yet is "$PID", defined by a PID= line shown before it`, async () => {
      const { text } = await explained(file, MAX_WIDTH);
      expect(text).not.toMatch(/'[^'\n]*\$PID[^'\n]*'/); // single quotes would pass the letters $PID along
      const firstUse = text.search(/"[^"\n]*\$PID/);
      if (firstUse >= 0) {
        const definition = text.search(/(^|[\s;])PID=/m);
        expect(definition).toBeGreaterThanOrEqual(0);
        expect(definition).toBeLessThan(firstUse);
      }
    });
  }
});

describe.skipIf(!canRunIntegration)('lesson output on a projector, run for real', () => {
  for (const file of listLessonFiles()) {
    for (const width of [MAX_WIDTH, 80]) {
      it(`lesson ${file.number}: evidence, checks and cleanup fit in ${width} columns`, async () => {
        const r = await runLessonSafely(await loadLesson(file), { width });
        expect(r.checks.filter((c) => !c.ok)).toEqual([]);
        expect(tooWide(r.output, width)).toEqual([]);
      }, 120_000);
    }
  }
});
