/**
 * Run a lesson the way the runner does, without a terminal: real commands, no interactive shell, output kept
 * so a failing test can show what the learner would have seen.
 */
import { CleanupStack } from '../../lib/cleanup.ts';
import { runLesson, type Lesson, type LessonResult, type Mode } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';

export async function runLessonForTest<S>(
  lesson: Lesson<S>,
  opts: { mode?: Mode; rootfs?: string } = {},
): Promise<LessonResult<S> & { output: string }> {
  const text: string[] = [];
  const result = await runLesson(lesson, {
    runner: createRunner(),
    cleanup: new CleanupStack(),
    out: new Printer({ write: (t) => text.push(t) }),
    mode: opts.mode ?? 'run',
    rootfs: opts.rootfs ?? DEFAULT_ROOTFS,
    shell: false,
  });
  return { ...result, output: text.join('') };
}
