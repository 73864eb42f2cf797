/**
 * How cost grows with the number of containers: with 1, 10 and 50 detached containers running (`ctr run -d … sleep`,
 * each with its own cgroup, overlay root, network namespace, address on the bridge and waiter), how long the next
 * `ctr run -d` takes, and what each container costs in memory:
 *   - its waiter (`ctr __shim`, a node process): private memory (what it alone holds: USS), and resident memory,
 *     most of which is node's own code shared with every other node process;
 *   - its cgroup's memory use (the sleeping command, its page tables, what the kernel charges to it);
 *   - the machine's MemAvailable, before the first and with all of them, per container: everything included
 *     (kernel objects, the overlay, the veth) — and anything else the machine did meanwhile, so a rough figure.
 */
import fs from 'node:fs';
import { readState } from '../../lib/container/state.ts';
import { fleet } from '../helpers/fleet.ts';
import { median, sideBySide, type Row } from './measure.ts';

const kib = (file: string, field: RegExp): number => {
  let total = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = field.exec(line);
    if (m) total += Number(line.split(/\s+/)[1]);
  }
  return total;
};

const memAvailable = () => kib('/proc/meminfo', /^MemAvailable:/);

function cgroupMemory(dirs: readonly string[]): number {
  for (const d of dirs) {
    for (const f of ['memory.usage_in_bytes', 'memory.current']) {
      try {
        return Number(fs.readFileSync(`${d}/${f}`, 'utf8')) / 1024;
      } catch {
        // not this one
      }
    }
  }
  return NaN;
}

export async function scaleBenchmarks(opts: { runs: number; work: string; log: (l: string) => void }): Promise<Row[]> {
  const f = fleet(undefined);
  const rows: Row[] = [];
  const before = memAvailable();
  try {
    for (const n of [1, 10, 50]) {
      await f.start(n - f.ids.length, { concurrency: 4 });
      opts.log(`  ${n} running`);
      const extra: string[] = [];
      const s = await sideBySide(
        {
          next: async () => {
            const t = performance.now();
            const [id] = await f.start(1, { concurrency: 1 });
            const ms = performance.now() - t;
            if (id) extra.push(id);
            return ms;
          },
        },
        Math.min(opts.runs, 11),
        0,
      );
      // The extra ones go again before memory is read: n containers, exactly.
      await Promise.all(extra.map((id) => f.ctr(['rm', '-f', id])));
      f.ids.splice(0, f.ids.length, ...f.ids.filter((id) => !extra.includes(id)));
      const states = f.ids.map((id) => readState(id)).filter((x) => x !== undefined);
      const uss = states.map((st) => kib(`/proc/${st.shimPid}/smaps_rollup`, /^Private_(Clean|Dirty):/) / 1024);
      const rss = states.map((st) => kib(`/proc/${st.shimPid}/smaps_rollup`, /^Rss:/) / 1024);
      const cg = states.map((st) => cgroupMemory(st.cgroupDirs) / 1024);
      rows.push(
        {
          group: 'scale',
          what: `with ${n} running: ctr run -d of the next one (to its id printed)`,
          value: median(s.next ?? []),
          unit: 'ms',
          samples: s.next,
        },
        {
          group: 'scale',
          what: `with ${n} running: each waiter's private memory (USS)`,
          value: median(uss),
          unit: 'MiB',
        },
        {
          group: 'scale',
          what: `with ${n} running: each waiter's resident memory (RSS, mostly shared)`,
          value: median(rss),
          unit: 'MiB',
        },
        { group: 'scale', what: `with ${n} running: each container's cgroup memory`, value: median(cg), unit: 'MiB' },
        {
          group: 'scale',
          what: `with ${n} running: MemAvailable used, per container (rough: the whole machine)`,
          value: (before - memAvailable()) / 1024 / n,
          unit: 'MiB',
        },
      );
    }
  } finally {
    await f.removeAll(8);
  }
  return rows;
}
