import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/00-a-container-is-a-process.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

describe.skipIf(!canRunIntegration)('lesson 00: a container is a process', () => {
  it('an ordinary process shares every namespace with its parent, and is gone afterwards', async () => {
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const { pid, namespaces, runnerNamespaces } = r.state;
    expect(pid).toBeGreaterThan(1);
    expect(namespaces).toEqual(runnerNamespaces);
    expect(Object.keys(namespaces ?? {})).toEqual(expect.arrayContaining(['mnt', 'pid', 'net', 'uts', 'ipc']));
    expect(processExists(pid ?? 0)).toBe(false);
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
