/**
 * Exercise 05 — cgroup limits, on cgroup v1 and v2.
 *
 * Given the container's cgroup directories and its limits, return the file writes that set them. Lesson 05 makes
 * the cgroup, performs your writes (`npm run lesson 05 -- --mine`), then misbehaves on purpose inside it, and
 * checks from the host: the memory hog OOM-killed, the fork bomb stopped at 20 processes, the busy loop throttled
 * to about 0.2 CPU. Only the function for this host's version runs (v1 here and on older hosts, v2 in the
 * workshop VM; hybrid hosts may use both): write both, and `npm run test:cgroup2` or the VM grades the other.
 *
 * What you need to know:
 * - A write is `{ kind: 'write', path, value }`; a file that only some kernels have is marked
 *   `optional: { shown: 'if present', note: '…what it means when it is absent…' }` and skipped when absent.
 * - limits: `memory?: { maxBytes, swapBytes }` (swap allowed on top of memory), `pids?: number`,
 *   `cpu?: { quotaUs, periodUs }` (a quota of CPU time per period, in microseconds).
 * - v2 — one directory, `leaf`: memory.max (bytes), memory.swap.max (bytes of swap, optional: swap accounting),
 *   pids.max, cpu.max (`"QUOTA PERIOD"`, e.g. `"20000 100000"`).
 * - v1 — one directory per controller, `dirs.memory`, `dirs.pids`, `dirs.cpu` (each may be missing):
 *   memory.limit_in_bytes, then memory.memsw.limit_in_bytes = memory + swap (never below the memory limit, so
 *   written second; optional: swap accounting), pids.max, cpu.cfs_period_us then cpu.cfs_quota_us.
 */
import type { CgroupOp } from '../../lib/cgroups/index.ts';
import type { Limits } from '../../lib/cgroups/limits.ts';

export function v2LimitWrites(leaf: string, limits: Limits): CgroupOp[] {
  // TODO: one write per limit given, in the leaf directory.
  throw new Error(`TODO: write v2LimitWrites (for ${leaf}, ${Object.keys(limits).join(', ')})`);
}

export function v1LimitWrites(dirs: { memory?: string; pids?: string; cpu?: string }, limits: Limits): CgroupOp[] {
  // TODO: each limit in its own controller's directory.
  throw new Error(`TODO: write v1LimitWrites (for ${Object.keys(dirs).join(', ')}; ${Object.keys(limits).join(', ')})`);
}
