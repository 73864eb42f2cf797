/**
 * 200 run/rm cycles in one process, as one long-lived runner would do them: each cycle is what `ctr run --rm`
 * does (state dir, cgroup, overlay root, network namespace, the TypeScript init, /bin/true, and everything undone),
 * through one runner. Anything a cycle leaves behind — a cgroup, a mount, a lease, an fd, a listener, memory —
 * shows as later cycles getting slower or the process growing: the last 50 are compared with the first 50, and
 * the process's memory and open fds with what they were after the first cycle. `--network none` by default (the
 * bridge's own cost would drown the runtime's; BENCH_CYCLES_NETWORK=bridge measures it with the bridge).
 */
import fs from 'node:fs';
import { initBundle } from '../../lib/bundle.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import { createContainer, markExited, markRunning } from '../../lib/container/lifecycle.ts';
import { startContainer } from '../../lib/container/start.ts';
import { runRequest } from '../../lib/ctr/run-spec.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { createRunner } from '../../lib/runner.ts';
import { median, type Row } from './measure.ts';

const mib = (bytes: number) => bytes / 2 ** 20;
/** Memory after a full collection when node was started with --expose-gc (bench.ts does), else as it is. */
const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
};
const openFds = () => fs.readdirSync('/proc/self/fd').length;

export async function cycleBenchmarks(opts: { cycles: number; log: (l: string) => void }): Promise<Row[]> {
  const network = process.env.BENCH_CYCLES_NETWORK === 'bridge' ? 'bridge' : 'none';
  const runner = createRunner();
  const init = await initBundle();
  const ids: string[] = [];
  const times: number[] = [];
  let after1 = { rss: 0, heap: 0, fds: 0 };
  const cycle = async () => {
    const req = runRequest({ rm: true, network }, { kind: 'rootfs', image: DEFAULT_ROOTFS, path: DEFAULT_ROOTFS }, [
      '/bin/true',
    ]);
    ids.push(req.spec.id);
    const cleanup = new CleanupStack();
    try {
      const created = await createContainer(runner, cleanup, { ...req, detached: false });
      const c = await startContainer(runner, cleanup, created.state.spec, {
        executor: 'ts',
        init,
        procsFiles: created.cgroup.procsFiles,
      });
      markRunning(created.state, c.hostPid);
      const r = await c.wait();
      markExited(req.spec.id, r.exitCode);
      if (r.exitCode !== 0) throw new Error(`cycle ${times.length + 1}: exit ${r.exitCode}: ${r.stderr}`);
    } finally {
      await cleanup.unwind();
    }
  };
  for (let i = 0; i < opts.cycles; i++) {
    const t = performance.now();
    await cycle();
    times.push(performance.now() - t);
    if (i === 0) after1 = { rss: memory().rss, heap: memory().heapUsed, fds: openFds() };
    if ((i + 1) % 50 === 0) opts.log(`  ${i + 1} cycles, the last took ${times[i]?.toFixed(0)} ms`);
  }
  const end = { rss: memory().rss, heap: memory().heapUsed, fds: openFds() };
  const left = await leftoversOf(...ids);
  const first = times.slice(0, 50);
  const last = times.slice(-50);
  const rows: Row[] = [
    {
      group: 'cycles',
      what: `run/rm cycle (--network ${network}), median of the first 50`,
      value: median(first),
      unit: 'ms',
      samples: first,
    },
    { group: 'cycles', what: 'run/rm cycle, median of the last 50', value: median(last), unit: 'ms', samples: last },
    {
      group: 'cycles',
      what: `the last 50 ÷ the first 50 (of ${opts.cycles} cycles)`,
      value: median(last) / median(first),
      unit: '×',
      goal: { op: '<=', value: 1.1 },
    },
    {
      group: 'cycles',
      what: 'the runner process: resident memory after the first cycle',
      value: mib(after1.rss),
      unit: 'MiB',
    },
    { group: 'cycles', what: `… and after cycle ${opts.cycles}`, value: mib(end.rss), unit: 'MiB' },
    {
      group: 'cycles',
      what: `… JavaScript heap in use: growth from cycle 1 to ${opts.cycles}`,
      value: mib(end.heap - after1.heap),
      unit: 'MiB',
    },
    {
      group: 'cycles',
      what: '… open fds: growth from cycle 1',
      value: end.fds - after1.fds,
      unit: '',
      goal: { op: '<=', value: 0 },
    },
    {
      group: 'cycles',
      what: 'leftovers of all cycles afterwards',
      value: left.length,
      unit: '',
      goal: { op: '<=', value: 0 },
    },
  ];
  if (left.length > 0) opts.log(`  left behind: ${left.join(', ')}`);
  return rows;
}
