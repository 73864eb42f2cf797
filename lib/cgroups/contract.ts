/**
 * What a cgroup is to the rest of lib/cgroups, in types: where the controllers are mounted, the few file
 * operations a cgroup needs, the steps that make one, what the kernel's counters say, and what a driver (v1 or
 * v2) must do. The contract lives here, apart from the modules that implement it, so none of them imports another
 * in a circle.
 */
import type { HostOp } from '../hostops.ts';
import type { DeviceRule } from './device-rules.ts';
import type { LimitValue, Limits } from './limits.ts';

/** The controllers the workshop limits. */
export const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type Controller = (typeof CONTROLLERS)[number];

export const CGROUP_ROOT = '/sys/fs/cgroup';

export interface V1Mount {
  mountPoint: string;
  /** The controllers bound to this tree: `['memory']`, or `['cpu', 'cpuacct']` when they share one. */
  controllers: string[];
}

export interface CgroupLayout {
  /** One entry per v1 tree with at least one controller (a named tree like `name=systemd` has none). */
  v1: V1Mount[];
  /** The v2 tree, if one is mounted, and the controllers it offers (those not taken by a v1 tree). */
  v2?: { mountPoint: string; available: string[] };
}

export type CgroupVersion = 'v1' | 'v2' | 'hybrid';

/**
 * The few file operations a cgroup needs. The real one works on /sys/fs/cgroup; unit tests pass one that works
 * on a temporary directory, so the order of writes can be checked without root.
 */
export interface CgroupFs {
  exists(p: string): boolean;
  read(p: string): string;
  write(p: string, value: string): void;
  /** Create one directory; throws EEXIST if it is there (like mkdir(2)). */
  mkdir(p: string): void;
  /** Remove one cgroup directory; the kernel removes its interface files with it. */
  rmdir(p: string): void;
  /** Names of the subdirectories (child cgroups). */
  listDirs(p: string): string[];
  /** cgroup v2's device rules: load this BPF program and attach it to the cgroup directory (lib/bpf/load.ts). */
  attachDeviceProgram?(dir: string, program: Uint8Array): void;
}

/** One step of making a cgroup, shown to the learner as a shell line and then done with the same values. */
export type CgroupOp =
  | {
      kind: 'mkdir';
      path: string;
      /** The run's own directory: it must not exist yet. Otherwise an existing directory is fine. */
      leaf: boolean;
      /** Create the missing parent first (`mkdir -p`). */
      parents?: boolean;
    }
  | {
      kind: 'write';
      path: string;
      value: string;
      /** Skip when the file is absent (swap accounting is a kernel option) and tell the learner so. */
      optional?: { shown: string; note: string };
    }
  | {
      /** cgroup v2: a device program built from these rules (already folded), attached to the cgroup at `path`. */
      kind: 'attachDevices';
      path: string;
      rules: DeviceRule[];
    };

export interface MemoryStats {
  currentBytes: number;
  maxBytes: LimitValue;
  /** The most the group ever used, where the kernel keeps it. */
  peakBytes?: number;
  /** Memory + swap on v1, swap alone on v2; absent when the kernel does not account swap. */
  swapMaxBytes?: LimitValue;
  /** Processes the OOM killer killed in this group. */
  oomKills: number;
  /** Times usage hit the limit (v1 `memory.failcnt`, v2 `memory.events` max). */
  limitHits: number;
}

export interface PidsStats {
  current: number;
  max: LimitValue;
  peak?: number;
  /** Forks refused because the group was at its limit (`pids.events` max). */
  forkFailures: number;
}

export interface CpuStats {
  /** CPU time used by the group, in µs (absent on v1 without the cpuacct controller). */
  usageUsec?: number;
  periods: number;
  /** Periods in which the group used up its quota and was stopped until the next one. */
  throttledPeriods: number;
  throttledUsec: number;
  quotaUs: LimitValue;
  periodUs: number;
}

export interface CgroupStats {
  memory?: MemoryStats;
  pids?: PidsStats;
  cpu?: CpuStats;
}

/** The part of a cgroup that lives in one kind of hierarchy (v1 trees, or the v2 tree). */
export interface CgroupDriver {
  readonly version: 'v1' | 'v2';
  readonly controllers: readonly Controller[];
  /** The run's own directories, one per tree it uses (several on v1, one on v2). */
  readonly dirs: readonly string[];
  /** The `cgroup.procs` file of each directory: write a PID into all of them to put a process in the group. */
  readonly procsFiles: readonly string[];
  /** The shared parents (`…/scratch`), removed when the last run's directory is gone. */
  readonly parents: readonly string[];
  /** Directories (and, on v2, subtree_control writes) that make the group, in the order they must happen. */
  createOps(): CgroupOp[];
  /** Writes that set limits, on a new group or a running one (docker update). */
  limitOps(limits: Limits): CgroupOp[];
  /** What applies the group's device rules (none when it was planned without any). */
  deviceOps(): CgroupOp[];
  /** How every process still in the group is killed, as a host effect (killAll does it). */
  killOp(): HostOp;
  /** Kill every process still in the group (they are this run's: nothing else is put there). */
  killAll(): void;
  stats(): CgroupStats;
  /** The host files that show a controller's limit, usage and counters (only those that exist, by default). */
  evidenceFiles(controller: Controller, existingOnly?: boolean): string[];
}

/** The functions that turn limits into file writes (lib's by default; the learner's with `--mine`). */
export interface LimitWriters {
  v1?: (dirs: { memory?: string; pids?: string; cpu?: string }, limits: Limits) => CgroupOp[];
  v2?: (leaf: string, limits: Limits) => CgroupOp[];
}

export interface DriverOptions {
  id: string;
  controllers: Controller[];
  fs: CgroupFs;
  limitWrites?: LimitWriters;
  /** Device rules this driver enforces (lib/cgroups/devices.ts): on v1 the group gets a devices directory too. */
  devices?: readonly DeviceRule[];
}
