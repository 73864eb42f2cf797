/**
 * Run a lesson the way the runner does, without a terminal: real commands, no interactive shell, output kept
 * so a failing test can show what the learner would have seen.
 */
import { CleanupStack } from '../../lib/cleanup.ts';
import { newRunId, runLesson, type Lesson, type LessonResult, type Mode } from '../../lib/lesson.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { Printer } from '../../lib/output.ts';
import { createRunner } from '../../lib/runner.ts';

export async function runLessonForTest<S>(
  lesson: Lesson<S>,
  opts: { mode?: Mode; rootfs?: string; width?: number; id?: string; impl?: Record<string, unknown> } = {},
): Promise<LessonResult<S> & { output: string; id: string }> {
  const text: string[] = [];
  const id = opts.id ?? newRunId(lesson.number);
  const result = await runLesson(lesson, {
    id,
    runner: createRunner(),
    cleanup: new CleanupStack(),
    out: new Printer({ write: (t) => text.push(t), width: opts.width }),
    mode: opts.mode ?? 'run',
    rootfs: opts.rootfs ?? DEFAULT_ROOTFS,
    shell: false,
    impl: opts.impl,
  });
  return { ...result, output: text.join(''), id };
}

/**
 * A run id for a test's own container: the lesson number and four random hex digits, like a lesson run's, so
 * two test runs at once (two checkouts, a learner in another terminal) never share a cgroup or state dir.
 */
export function testId(prefix: string): string {
  return newRunId(prefix);
}
