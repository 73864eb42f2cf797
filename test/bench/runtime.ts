/**
 * Lesson 04's container (uts, ipc, pid, mount namespaces, pivot_root, /proc, /sys, /dev) running /bin/true, started
 * in this process with the sh init (lessons 02–06) or the TypeScript init (ctr, lesson 07 on): what start.ts
 * measures next to the floor, ctr, runc and podman (`npm run bench`, group `start`).
 */
import { initBundle } from '../../lib/bundle.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { runContainer } from '../../lib/container/start.ts';
import type { Executor } from '../../lib/init/plan.ts';
import { isolatedSpec } from '../../lib/kit.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { createRunner } from '../../lib/runner.ts';

/** A function that runs one such container to its end (a fresh id each time) and fails if /bin/true did. */
export async function lessonContainer(executor: Executor, rootfs = DEFAULT_ROOTFS): Promise<() => Promise<void>> {
  const runner = createRunner();
  const init = await initBundle();
  let n = 0;
  const tag = executor === 'sh' ? 'a' : 'b';
  return async () => {
    const cleanup = new CleanupStack();
    const id = `98${tag}${(n++ % 0x1000).toString(16).padStart(3, '0')}`;
    const spec = isolatedSpec({ id, rootfs, args: ['/bin/true'] });
    try {
      const r = await runContainer(runner, cleanup, spec, { executor, init });
      if (r.exitCode !== 0) throw new Error(`${executor} init: exit ${r.exitCode} ${r.stderr}`);
    } finally {
      await cleanup.unwind();
    }
  };
}
