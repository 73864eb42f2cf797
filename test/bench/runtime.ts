/**
 * How long a container takes to start and exit, measured side by side (median of N after a warm-up):
 *   - the floor: a bare `unshare … chroot ROOTFS /bin/true`, no mounts, no pivot_root;
 *   - the sh init (lessons 02–06) and the TypeScript init (ctr, lesson 07 on) starting the same lesson-04
 *     container (uts, ipc, pid, mount namespaces, pivot_root, /proc, /sys, /dev) running /bin/true;
 *   - `ctr run --rm ROOTFS /bin/true` as a whole process (cgroup, overlay root, state, the TS init).
 * Run as root: node --import tsx test/bench/runtime.ts [runs]   (npm run bench includes it).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { initBundle } from '../../lib/bundle.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { runContainer } from '../../lib/container/start.ts';
import { isolatedSpec } from '../../lib/kit.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { createRunner } from '../../lib/runner.ts';

const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 15);
const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');

export interface RuntimeFigures {
  floorMs: number;
  shInitMs: number;
  tsInitMs: number;
  ctrRunRmMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function timed(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function measure(fn: () => unknown | Promise<unknown>, runs = RUNS): Promise<number> {
  await fn(); // warm-up: caches, the bundle
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(fn));
  return median(times);
}

export async function measureRuntime(runs = RUNS): Promise<RuntimeFigures> {
  const runner = createRunner();
  const init = await initBundle();
  let n = 0;
  const container = (executor: 'sh' | 'ts') => async () => {
    const cleanup = new CleanupStack();
    const spec = isolatedSpec({
      id: `98b${(n++).toString(16).padStart(4, '0')}`,
      rootfs: DEFAULT_ROOTFS,
      args: ['/bin/true'],
    });
    const r = await runContainer(runner, cleanup, spec, { executor, init });
    await cleanup.unwind();
    if (r.exitCode !== 0) throw new Error(`${executor} init: exit ${r.exitCode} ${r.stderr}`);
  };
  const floorMs = await measure(
    () =>
      execFileSync('unshare', ['--uts', '--ipc', '--pid', '--mount', '--fork', 'chroot', DEFAULT_ROOTFS, '/bin/true']),
    runs,
  );
  const shInitMs = await measure(container('sh'), runs);
  const tsInitMs = await measure(container('ts'), runs);
  const ctrRunRmMs = await measure(
    () => execFileSync(process.execPath, [CTR, 'run', '--rm', DEFAULT_ROOTFS, '/bin/true']),
    runs,
  );
  return { floorMs, shInitMs, tsInitMs, ctrRunRmMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await measureRuntime();
  const row = (what: string, ms: number) => console.log(`  ${what.padEnd(58)} ${ms.toFixed(0).padStart(5)} ms`);
  console.log(`container start to exit of /bin/true, median of ${RUNS} after a warm-up:`);
  row('floor: unshare … chroot ROOTFS /bin/true', f.floorMs);
  row('lesson-04 container, sh init (pivot_root, /proc, /sys, /dev)', f.shInitMs);
  row('the same container, TypeScript init', f.tsInitMs);
  row('ctr run --rm ROOTFS /bin/true (whole process)', f.ctrRunRmMs);
}
