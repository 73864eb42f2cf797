/**
 * cgroup v2: one tree, and controllers handed down it.
 *
 * On a v2 host /sys/fs/cgroup is a single tree. Every directory lists in `cgroup.controllers` what its parent
 * offers it, and a parent passes a controller on to its children by writing `+memory` into its own
 * `cgroup.subtree_control`. So before /sys/fs/cgroup/scratch/<id> can have a `memory.max`, memory must be enabled
 * in /sys/fs/cgroup/cgroup.subtree_control (systemd usually did that already) and in
 * /sys/fs/cgroup/scratch/cgroup.subtree_control: every directory *up the path*, never the leaf itself.
 *
 * The no-internal-process rule is why: a cgroup that hands controllers to children may not hold processes of
 * its own (the root is the exception), because the kernel could not say whether those processes compete with
 * the children or not. So `scratch` only ever holds directories, and processes go into the leaf, `scratch/<id>`.
 *
 * The files are then simple: `memory.max`, `memory.swap.max`, `pids.max`, `cpu.max` (`quota period`), and the
 * counters `memory.current`, `memory.events`, `pids.current`, `pids.events`, `cpu.stat`. Removal: write 1 to
 * `cgroup.kill` (kernel 5.14+) or kill each PID in `cgroup.procs`, then rmdir.
 */
import path from 'node:path';
import { CGROUP_PARENT } from '../names.ts';
import { v2DeviceOps } from './devices.ts';
import type { CgroupDriver, CgroupOp, CgroupStats, Controller, DriverOptions } from './contract.ts';
import { killPids, onlyFor, parseCpuMax, parseKeyedFile, parseLimitValue, readPids, type Limits } from './limits.ts';

/** The files that show each controller's limit, usage and counters, in the order a learner reads them. */
const EVIDENCE: Record<Controller, string[]> = {
  memory: ['memory.max', 'memory.swap.max', 'memory.current', 'memory.peak', 'memory.events'],
  pids: ['pids.max', 'pids.current', 'pids.peak', 'pids.events'],
  cpu: ['cpu.max', 'cpu.stat'],
};

/**
 * The writes that set limits on a v2 cgroup (the lesson-05 exercise): one file per limit in the leaf —
 * memory.max and memory.swap.max in bytes (swap on top of memory; the latter only where the kernel accounts
 * swap), pids.max, and cpu.max as `QUOTA PERIOD` in microseconds.
 */
export function v2LimitWrites(leaf: string, limits: Limits): CgroupOp[] {
  const file = (name: string) => path.join(leaf, name);
  const ops: CgroupOp[] = [];
  if (limits.memory) {
    ops.push({ kind: 'write', path: file('memory.max'), value: String(limits.memory.maxBytes) });
    ops.push({
      kind: 'write',
      path: file('memory.swap.max'),
      value: String(limits.memory.swapBytes),
      optional: {
        shown: 'if present',
        note: 'swap is not limited: this kernel does not account swap (no memory.swap.max)',
      },
    });
  }
  if (limits.pids !== undefined) ops.push({ kind: 'write', path: file('pids.max'), value: String(limits.pids) });
  if (limits.cpu)
    ops.push({ kind: 'write', path: file('cpu.max'), value: `${limits.cpu.quotaUs} ${limits.cpu.periodUs}` });
  return ops;
}

export function createV2Driver(mountPoint: string, opts: DriverOptions): CgroupDriver {
  const { fs: cgfs } = opts;
  const controllers = [...opts.controllers];
  const parent = path.join(mountPoint, CGROUP_PARENT);
  const leaf = path.join(parent, opts.id);
  const file = (name: string) => path.join(leaf, name);
  const enable = controllers.map((c) => `+${c}`).join(' ');

  const read = (name: string): string | undefined => {
    try {
      return cgfs.read(file(name));
    } catch {
      return undefined;
    }
  };

  return {
    version: 'v2',
    controllers,
    dirs: [leaf],
    procsFiles: [file('cgroup.procs')],
    parents: [parent],

    createOps() {
      const ops: CgroupOp[] = [];
      // Up the path: the root first. Only what is not enabled there yet (systemd enables most at boot).
      let rootEnabled: string[] = [];
      try {
        rootEnabled = cgfs.read(path.join(mountPoint, 'cgroup.subtree_control')).trim().split(/\s+/);
      } catch {
        rootEnabled = [];
      }
      const missing = controllers.filter((c) => !rootEnabled.includes(c));
      if (missing.length > 0) {
        ops.push({
          kind: 'write',
          path: path.join(mountPoint, 'cgroup.subtree_control'),
          value: missing.map((c) => `+${c}`).join(' '),
        });
      }
      ops.push({ kind: 'mkdir', path: parent, leaf: false });
      if (controllers.length > 0) {
        ops.push({ kind: 'write', path: path.join(parent, 'cgroup.subtree_control'), value: enable });
      }
      ops.push({ kind: 'mkdir', path: leaf, leaf: true });
      return ops;
    },

    // Limits go in the leaf, which has the controllers' files once the parent hands them down.
    limitOps(limits) {
      return (opts.limitWrites?.v2 ?? v2LimitWrites)(leaf, onlyFor(limits, controllers));
    },

    deviceOps() {
      return opts.devices ? v2DeviceOps(leaf, opts.devices) : [];
    },

    killOp() {
      // cgroup.kill (kernel 5.14+) ends every process inside in one write; older kernels: each PID in turn.
      return cgfs.exists(file('cgroup.kill'))
        ? { kind: 'write', path: file('cgroup.kill'), value: '1', note: 'ends every process still inside' }
        : { kind: 'killGroup', procsFiles: [file('cgroup.procs')] };
    },

    killAll() {
      if (cgfs.exists(file('cgroup.kill'))) {
        cgfs.write(file('cgroup.kill'), '1');
        return;
      }
      killPids(readPids((p) => cgfs.read(p), file('cgroup.procs')));
    },

    stats() {
      const out: CgroupStats = {};
      if (controllers.includes('memory')) {
        const events = parseKeyedFile(read('memory.events') ?? '');
        const peak = read('memory.peak');
        const swap = read('memory.swap.max');
        out.memory = {
          currentBytes: Number(read('memory.current') ?? 0),
          maxBytes: parseLimitValue(read('memory.max') ?? 'max'),
          ...(peak !== undefined ? { peakBytes: Number(peak) } : {}),
          ...(swap !== undefined ? { swapMaxBytes: parseLimitValue(swap) } : {}),
          oomKills: events.oom_kill ?? 0,
          limitHits: events.max ?? 0,
        };
      }
      if (controllers.includes('pids')) {
        const peak = read('pids.peak');
        out.pids = {
          current: Number(read('pids.current') ?? 0),
          max: parseLimitValue(read('pids.max') ?? 'max'),
          ...(peak !== undefined ? { peak: Number(peak) } : {}),
          forkFailures: parseKeyedFile(read('pids.events') ?? '').max ?? 0,
        };
      }
      if (controllers.includes('cpu')) {
        const stat = parseKeyedFile(read('cpu.stat') ?? '');
        const max = parseCpuMax(read('cpu.max') ?? 'max 100000');
        out.cpu = {
          usageUsec: stat.usage_usec ?? 0,
          periods: stat.nr_periods ?? 0,
          throttledPeriods: stat.nr_throttled ?? 0,
          throttledUsec: stat.throttled_usec ?? 0,
          quotaUs: max.quotaUs,
          periodUs: max.periodUs,
        };
      }
      return out;
    },

    evidenceFiles(controller, existingOnly = true) {
      if (!controllers.includes(controller)) return [];
      return EVIDENCE[controller].map(file).filter((f) => !existingOnly || cgfs.exists(f));
    },
  };
}
