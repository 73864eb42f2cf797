import { describe, expect, it } from 'vitest';
import { CleanupStack, withCleanup } from '../../lib/cleanup.ts';

describe('the cleanup stack', () => {
  it('undoes in the reverse order things were made', async () => {
    const done: string[] = [];
    const stack = new CleanupStack();
    stack.push('mount', () => done.push('unmount'));
    stack.push('cgroup', () => done.push('rmdir cgroup'));
    stack.push('process', async () => {
      await new Promise((r) => setTimeout(r, 5));
      done.push('kill');
    });
    expect(stack.pending).toEqual(['process', 'cgroup', 'mount']);
    await stack.unwind();
    expect(done).toEqual(['kill', 'rmdir cgroup', 'unmount']);
    expect(stack.size).toBe(0);
  });

  it('keeps going when one undo fails, and reports it', async () => {
    const done: string[] = [];
    const stack = new CleanupStack();
    stack.push('a', () => done.push('a'));
    stack.push('b', () => {
      throw new Error('busy');
    });
    stack.push('c', () => done.push('c'));
    const reports = await stack.unwind();
    expect(done).toEqual(['c', 'a']);
    expect(reports.map((r) => [r.description, r.error ? String(r.error) : 'ok'])).toEqual([
      ['c', 'ok'],
      ['b', 'Error: busy'],
      ['a', 'ok'],
    ]);
  });

  it('a second unwind at the same time (a signal during cleanup) waits for the same single unwind', async () => {
    let count = 0;
    const stack = new CleanupStack();
    stack.push('x', async () => {
      await new Promise((r) => setTimeout(r, 10));
      count++;
    });
    const first = stack.unwind();
    const second = stack.unwind();
    // The second caller (the signal handler) must not go on to exit before the first unwind has finished.
    const reports = await second;
    expect(count).toBe(1);
    expect(reports.map((r) => r.description)).toEqual(['x']);
    expect(await first).toBe(reports);
  });

  it('drops an entry whose resource went away by itself', async () => {
    let ran = false;
    const stack = new CleanupStack();
    const release = stack.push('process', () => (ran = true));
    release();
    await stack.unwind();
    expect(ran).toBe(false);
  });

  it('withCleanup unwinds after an error and rethrows that error, not a cleanup one', async () => {
    const done: string[] = [];
    const err = await withCleanup(async (stack) => {
      stack.push('a', () => done.push('a'));
      throw new Error('lesson failed');
    }).catch((e: unknown) => e);
    expect(String(err)).toBe('Error: lesson failed');
    expect(done).toEqual(['a']);
  });
});
