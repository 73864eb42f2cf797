/**
 * cgroup v1: one tree per controller.
 *
 * On a v1 host each controller is its own filesystem: /sys/fs/cgroup/memory, /sys/fs/cgroup/pids,
 * /sys/fs/cgroup/cpu (sometimes shared as `cpu,cpuacct`). A process sits at some place in *each* tree,
 * independently — /proc/<pid>/cgroup has one line per tree — so a container gets a directory `scratch/<id>` in
 * every tree it needs, and its PID is written into the `cgroup.procs` of each. There is no
 * `subtree_control`: in v1 every controller of a tree is active in every directory of it.
 *
 * The file names are older and wordier than v2's: `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`
 * (memory *plus* swap, present only with swap accounting on), `memory.failcnt` (times the limit was hit),
 * `memory.oom_control` (`oom_kill N`), `cpu.cfs_quota_us` and `cpu.cfs_period_us`, `cpu.stat` with
 * `throttled_time` in nanoseconds, and the CPU time used in the separate cpuacct controller (`cpuacct.usage`).
 */
import path from 'node:path';
import { CGROUP_PARENT } from '../names.ts';
import { v1DeviceWrites } from './devices.ts';
import type { CgroupDriver, CgroupOp, CgroupStats, Controller, DriverOptions, V1Mount } from './contract.ts';
import {
  killPids,
  onlyFor,
  parseKeyedFile,
  parseLimitValue,
  readPids,
  type LimitValue,
  type Limits,
} from './limits.ts';

/** v1 says "no limit" with a huge number (memory) or -1 (CPU quota); both are `max` here. */
function v1Limit(text: string | undefined): LimitValue {
  if (text === undefined) return 'max';
  const v = parseLimitValue(text);
  return v === 'max' || v < 0 || v >= 2 ** 60 ? 'max' : v;
}

/**
 * The writes that set limits on v1 cgroups (the lesson-05 exercise): each limit in its own controller's tree —
 * memory.limit_in_bytes, then memory.memsw.limit_in_bytes (memory *plus* swap, which may never be below the
 * memory limit, hence second; only with swap accounting), pids.max, and the CPU quota as cfs_period_us then
 * cfs_quota_us.
 */
export function v1LimitWrites(dirs: { memory?: string; pids?: string; cpu?: string }, limits: Limits): CgroupOp[] {
  const ops: CgroupOp[] = [];
  if (limits.memory && dirs.memory) {
    const { maxBytes, swapBytes } = limits.memory;
    ops.push({ kind: 'write', path: path.join(dirs.memory, 'memory.limit_in_bytes'), value: String(maxBytes) });
    ops.push({
      kind: 'write',
      path: path.join(dirs.memory, 'memory.memsw.limit_in_bytes'),
      value: String(maxBytes + swapBytes),
      optional: {
        shown: 'if present',
        note: 'swap is not limited: swap accounting is off (no memory.memsw.limit_in_bytes; boot with swapaccount=1)',
      },
    });
  }
  if (limits.pids !== undefined && dirs.pids) {
    ops.push({ kind: 'write', path: path.join(dirs.pids, 'pids.max'), value: String(limits.pids) });
  }
  if (limits.cpu && dirs.cpu) {
    ops.push({ kind: 'write', path: path.join(dirs.cpu, 'cpu.cfs_period_us'), value: String(limits.cpu.periodUs) });
    ops.push({ kind: 'write', path: path.join(dirs.cpu, 'cpu.cfs_quota_us'), value: String(limits.cpu.quotaUs) });
  }
  return ops;
}

export function createV1Driver(mounts: readonly V1Mount[], opts: DriverOptions): CgroupDriver {
  const { fs: cgfs } = opts;
  const controllers = [...opts.controllers];
  const treeOf = (c: string) => mounts.find((m) => m.controllers.includes(c));
  // CPU time used is counted by cpuacct, a separate controller that is often mounted with cpu, sometimes not.
  const wantedTrees = [
    ...controllers.flatMap((c) => (c === 'cpu' ? ['cpu', 'cpuacct'] : [c])),
    ...(opts.devices ? ['devices'] : []),
  ];
  const trees: V1Mount[] = [];
  for (const c of wantedTrees) {
    const t = treeOf(c);
    if (t && !trees.includes(t)) trees.push(t);
  }
  const leafOf = (c: string): string | undefined => {
    const t = treeOf(c);
    return t ? path.join(t.mountPoint, CGROUP_PARENT, opts.id) : undefined;
  };
  const dirs = trees.map((t) => path.join(t.mountPoint, CGROUP_PARENT, opts.id));
  const parents = trees.map((t) => path.join(t.mountPoint, CGROUP_PARENT));
  const fileOf = (c: string, name: string) => path.join(leafOf(c) ?? '/nonexistent', name);

  const read = (c: string, name: string): string | undefined => {
    try {
      return cgfs.read(fileOf(c, name));
    } catch {
      return undefined;
    }
  };

  const evidence: Record<Controller, [string, string][]> = {
    memory: [
      ['memory', 'memory.limit_in_bytes'],
      ['memory', 'memory.memsw.limit_in_bytes'],
      ['memory', 'memory.usage_in_bytes'],
      ['memory', 'memory.max_usage_in_bytes'],
      ['memory', 'memory.failcnt'],
      ['memory', 'memory.memsw.failcnt'],
      ['memory', 'memory.oom_control'],
    ],
    pids: [
      ['pids', 'pids.max'],
      ['pids', 'pids.current'],
      ['pids', 'pids.peak'],
      ['pids', 'pids.events'],
    ],
    cpu: [
      ['cpu', 'cpu.cfs_quota_us'],
      ['cpu', 'cpu.cfs_period_us'],
      ['cpu', 'cpu.stat'],
      ['cpuacct', 'cpuacct.usage'],
    ],
  };

  return {
    version: 'v1',
    controllers,
    dirs,
    procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
    parents,

    createOps() {
      return dirs.map((d) => ({ kind: 'mkdir', path: d, leaf: true, parents: true }));
    },

    limitOps(limits) {
      const dirs = { memory: leafOf('memory'), pids: leafOf('pids'), cpu: leafOf('cpu') };
      return (opts.limitWrites?.v1 ?? v1LimitWrites)(dirs, onlyFor(limits, controllers));
    },

    deviceOps() {
      const dir = leafOf('devices');
      return opts.devices && dir ? v1DeviceWrites(dir, opts.devices) : [];
    },

    killOp() {
      // v1 has no cgroup.kill: every PID still inside gets SIGKILL.
      return { kind: 'killGroup', procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')) };
    },

    killAll() {
      const pids = new Set(dirs.flatMap((d) => readPids((p) => cgfs.read(p), path.join(d, 'cgroup.procs'))));
      killPids(pids);
    },

    stats() {
      const out: CgroupStats = {};
      if (controllers.includes('memory')) {
        const peak = read('memory', 'memory.max_usage_in_bytes');
        const memsw = read('memory', 'memory.memsw.limit_in_bytes');
        out.memory = {
          currentBytes: Number(read('memory', 'memory.usage_in_bytes') ?? 0),
          maxBytes: v1Limit(read('memory', 'memory.limit_in_bytes')),
          ...(peak !== undefined ? { peakBytes: Number(peak) } : {}),
          ...(memsw !== undefined ? { swapMaxBytes: v1Limit(memsw) } : {}),
          oomKills: parseKeyedFile(read('memory', 'memory.oom_control') ?? '').oom_kill ?? 0,
          // With swap limited too, the memory+swap counter is usually the one that hits its limit first.
          limitHits: Math.max(
            Number(read('memory', 'memory.failcnt') ?? 0),
            Number(read('memory', 'memory.memsw.failcnt') ?? 0),
          ),
        };
      }
      if (controllers.includes('pids')) {
        const peak = read('pids', 'pids.peak');
        out.pids = {
          current: Number(read('pids', 'pids.current') ?? 0),
          max: v1Limit(read('pids', 'pids.max')),
          ...(peak !== undefined ? { peak: Number(peak) } : {}),
          forkFailures: parseKeyedFile(read('pids', 'pids.events') ?? '').max ?? 0,
        };
      }
      if (controllers.includes('cpu')) {
        const stat = parseKeyedFile(read('cpu', 'cpu.stat') ?? '');
        const usageNs = read('cpuacct', 'cpuacct.usage');
        out.cpu = {
          ...(usageNs !== undefined ? { usageUsec: Math.round(Number(usageNs) / 1000) } : {}),
          periods: stat.nr_periods ?? 0,
          throttledPeriods: stat.nr_throttled ?? 0,
          throttledUsec: Math.round((stat.throttled_time ?? 0) / 1000),
          quotaUs: v1Limit(read('cpu', 'cpu.cfs_quota_us')),
          periodUs: Number(read('cpu', 'cpu.cfs_period_us') ?? 0),
        };
      }
      return out;
    },

    evidenceFiles(controller, existingOnly = true) {
      if (!controllers.includes(controller)) return [];
      return evidence[controller]
        .filter(([c]) => treeOf(c))
        .map(([c, name]) => fileOf(c, name))
        .filter((f) => !existingOnly || cgfs.exists(f));
    },
  };
}
