/**
 * Control groups: how the kernel limits what a group of processes may use.
 *
 * A cgroup is a directory in a special filesystem under /sys/fs/cgroup. Making the directory makes the group;
 * writing a number into one of its files sets a limit (`echo 20 > pids.max`); writing a PID into its
 * `cgroup.procs` moves that process (and every child it forks afterwards) into the group; reading its files
 * tells what the group used and how often the kernel said no (`memory.events`, `cpu.stat`). Removing the
 * directory (once no process is left in it) removes the group. There is no other API: docker, systemd and
 * this workshop all do exactly that.
 *
 * The files come in two layouts. cgroup **v1** (older hosts, and this project's CI machine) mounts one tree per
 * controller — /sys/fs/cgroup/memory, /sys/fs/cgroup/pids, /sys/fs/cgroup/cpu — so a container has one
 * directory in each tree and its PID is written into each. cgroup **v2** (Ubuntu 24.04, the workshop VM) has a
 * single tree where a parent hands controllers down to its children through `cgroup.subtree_control`, and
 * only leaves hold processes. A *hybrid* host mounts both; each controller is used where it is mounted.
 *
 * This module gives one interface over both: detect the layout, plan the directory and file writes for some
 * limits (so a lesson can show them before they happen), create, add a process, read stats, remove. The v1
 * and v2 specifics live in v1.ts and v2.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import type { HostOp } from '../hostops.ts';
import type { Runner } from '../runner.ts';
import { UserError } from '../errors.ts';
import { CGROUP_PARENT } from '../names.ts';
import { parseProcCgroup } from '../proc.ts';
import { quoteArg } from '../quote.ts';
import { readPids, type LimitValue, type Limits } from './limits.ts';
import { createV1Driver } from './v1.ts';
import { createV2Driver } from './v2.ts';

export * from './limits.ts';

/** The controllers the workshop limits. */
export const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type Controller = (typeof CONTROLLERS)[number];

export const CGROUP_ROOT = '/sys/fs/cgroup';

// --- Where the controllers are mounted -----------------------------------------------------------------

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

const KNOWN_V1_CONTROLLERS = new Set([
  'blkio',
  'cpu',
  'cpuacct',
  'cpuset',
  'devices',
  'freezer',
  'hugetlb',
  'memory',
  'misc',
  'net_cls',
  'net_prio',
  'perf_event',
  'pids',
  'rdma',
]);

/** Mounts of type cgroup/cgroup2 from /proc/self/mountinfo text, with v1 controllers from the super options. */
export function parseCgroupMounts(mountinfo: string): { v1: V1Mount[]; v2MountPoints: string[] } {
  const v1: V1Mount[] = [];
  const v2MountPoints: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = (left.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType === 'cgroup2') v2MountPoints.push(mountPoint);
    if (fsType !== 'cgroup') continue;
    const controllers = superOptions.split(',').filter((o) => KNOWN_V1_CONTROLLERS.has(o));
    // The same tree can be mounted twice (a bind mount); the first mount point is enough.
    const key = controllers.join(',');
    if (controllers.length > 0 && !v1.some((m) => m.controllers.join(',') === key)) {
      v1.push({ mountPoint, controllers });
    }
  }
  return { v1, v2MountPoints };
}

/** What this host has: which v1 trees, and which controllers its v2 tree offers. */
export function detectLayout(cgfs: CgroupFs = hostFs, mountinfo?: string): CgroupLayout {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      text = ''; // not Linux: no cgroups at all
    }
  }
  const { v1, v2MountPoints } = parseCgroupMounts(text);
  const layout: CgroupLayout = { v1 };
  // Prefer the v2 tree at /sys/fs/cgroup itself (pure v2), else e.g. systemd's /sys/fs/cgroup/unified.
  const v2 = v2MountPoints.find((m) => m === CGROUP_ROOT) ?? v2MountPoints[0];
  if (v2 !== undefined) {
    let available: string[] = [];
    try {
      available = cgfs.read(path.join(v2, 'cgroup.controllers')).trim().split(/\s+/).filter(Boolean);
    } catch {
      available = [];
    }
    layout.v2 = { mountPoint: v2, available };
  }
  return layout;
}

/**
 * The layout of the workshop VM (Ubuntu 24.04, pure v2), used to *show* a lesson's commands where no
 * cgroups are mounted at all (`--explain` on macOS).
 */
export const WORKSHOP_VM_LAYOUT: CgroupLayout = {
  v1: [],
  v2: { mountPoint: CGROUP_ROOT, available: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'] },
};

export function hasAnyCgroups(layout: CgroupLayout): boolean {
  return layout.v1.length > 0 || (layout.v2?.available.length ?? 0) > 0;
}

/** This host's layout, or the workshop VM's where there are no cgroups to show (explain mode off Linux). */
export function layoutToShow(): CgroupLayout {
  const layout = detectLayout();
  return hasAnyCgroups(layout) ? layout : WORKSHOP_VM_LAYOUT;
}

/** v1, v2 or hybrid, as far as the workshop's controllers are concerned. */
export function layoutVersion(layout: CgroupLayout): CgroupVersion {
  const onV1 = CONTROLLERS.some((c) => layout.v1.some((m) => m.controllers.includes(c)));
  const onV2 = CONTROLLERS.some((c) => layout.v2?.available.includes(c));
  if (onV1 && onV2) return 'hybrid';
  return onV1 ? 'v1' : 'v2';
}

// --- Files, and what is done to them --------------------------------------------------------------------

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
}

export const hostFs: CgroupFs = {
  exists: (p) => fs.existsSync(p),
  read: (p) => fs.readFileSync(p, 'utf8'),
  // One write(2) per value: the kernel parses each write on its own, so a value must not be split.
  write: (p, value) => fs.writeFileSync(p, value),
  mkdir: (p) => fs.mkdirSync(p),
  rmdir: (p) => fs.rmdirSync(p),
  listDirs: (p) =>
    fs
      .readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
};

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
    };

/** A planned step as the host effect it is (lib/hostops.ts): what a lesson shows and the runner records. */
export function hostOpOf(op: CgroupOp): HostOp {
  if (op.kind === 'mkdir') return { kind: 'mkdir', path: op.path, parents: !op.leaf || !!op.parents };
  return { kind: 'write', path: op.path, value: op.value, ...(op.optional ? { note: op.optional.shown } : {}) };
}

export function showOp(op: CgroupOp): string {
  if (op.kind === 'mkdir')
    return op.leaf && !op.parents ? `mkdir ${quoteArg(op.path)}` : `mkdir -p ${quoteArg(op.path)}`;
  const line = `echo ${quoteArg(op.value)} > ${quoteArg(op.path)}`;
  return op.optional ? `${line}   # ${op.optional.shown}` : line;
}

// --- What a driver is -----------------------------------------------------------------------------------

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
}

// --- Planning ---------------------------------------------------------------------------------------------

export interface CgroupPlan {
  id: string;
  version: CgroupVersion;
  limits: Limits;
  drivers: CgroupDriver[];
  ops: CgroupOp[];
  /** Controllers that exist nowhere on this host but were not asked to limit anything: just not used. */
  skipped: Controller[];
}

export interface PlanOptions {
  layout?: CgroupLayout;
  fs?: CgroupFs;
  /** Every mkdir, write and rmdir also goes through this runner's `apply`: echoed, recorded, skipped in dry-run. */
  runner?: Runner;
  limitWrites?: LimitWriters;
  /** Controllers to use even without a limit, to read their stats (default: all three where available). */
  controllers?: Controller[];
}

const LIMIT_OF: Record<Controller, (l: Limits) => boolean> = {
  memory: (l) => l.memory !== undefined,
  pids: (l) => l.pids !== undefined,
  cpu: (l) => l.cpu !== undefined,
};

/**
 * Decide where each controller lives and what to write. Throws a UserError, before anything is created, when
 * a limit cannot be enforced on this host.
 */
export function planCgroup(id: string, limits: Limits, opts: PlanOptions = {}): CgroupPlan {
  const cgfs = opts.fs ?? hostFs;
  const layout = opts.layout ?? detectLayout(cgfs);
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || id.startsWith('.')) throw new Error(`not a usable cgroup name: ${id}`);
  const wanted = opts.controllers ?? [...CONTROLLERS];
  const v1: Controller[] = [];
  const v2: Controller[] = [];
  const skipped: Controller[] = [];
  for (const c of CONTROLLERS) {
    const limited = LIMIT_OF[c](limits);
    if (!limited && !wanted.includes(c)) continue;
    if (layout.v1.some((m) => m.controllers.includes(c))) v1.push(c);
    else if (layout.v2?.available.includes(c)) v2.push(c);
    else if (limited) throw notEnforceable(c, layout);
    else skipped.push(c);
  }
  const drivers: CgroupDriver[] = [];
  const limitWrites = opts.limitWrites;
  if (v1.length > 0) drivers.push(createV1Driver(layout.v1, { id, controllers: v1, fs: cgfs, limitWrites }));
  if (v2.length > 0 && layout.v2) {
    drivers.push(createV2Driver(layout.v2.mountPoint, { id, controllers: v2, fs: cgfs, limitWrites }));
  }
  const version: CgroupVersion = v1.length > 0 && v2.length > 0 ? 'hybrid' : v1.length > 0 ? 'v1' : 'v2';
  const ops = [...drivers.flatMap((d) => d.createOps()), ...drivers.flatMap((d) => d.limitOps(limits))];
  return { id, version, limits, drivers, ops, skipped };
}

function notEnforceable(c: Controller, layout: CgroupLayout): UserError {
  const what = { memory: 'a memory limit', pids: 'a pids limit', cpu: 'a CPU limit' }[c];
  if (!layout.v2 && layout.v1.length === 0) {
    return new UserError(`${what} cannot be enforced: no cgroup filesystem is mounted on this host`, 'npm run doctor');
  }
  const where = [
    layout.v1.length > 0 ? `no v1 tree has it (${layout.v1.map((m) => m.mountPoint).join(', ')})` : '',
    layout.v2 ? `it is not in ${path.join(layout.v2.mountPoint, 'cgroup.controllers')}` : '',
  ].filter(Boolean);
  return new UserError(
    `${what} cannot be enforced: the ${c} controller is not available — ${where.join(' and ')}; ` +
      'the kernel lacks it, or it was not delegated to this cgroup tree',
    'run the lesson in the workshop VM (cd vagrant && vagrant up)',
  );
}

/** The files that show a controller's limit, usage and counters; all of them when planning, before they exist. */
export function evidenceFiles(plan: CgroupPlan, controller: Controller, existingOnly = true): string[] {
  return plan.drivers.find((d) => d.controllers.includes(controller))?.evidenceFiles(controller, existingOnly) ?? [];
}

/** `grep -H . FILE…`: each line of each file after the file's name, a compact way to show cgroup files. */
export function showFilesArgv(files: readonly string[]): string[] {
  return ['grep', '-H', '.', ...files];
}

/** Drop the run's directories from paths in `text`, so `…/scratch/05ab12/pids.max:20` reads `pids.max:20`. */
export function withoutDirs(text: string, dirs: readonly string[]): string {
  return dirs.reduce((t, d) => t.replaceAll(`${d}/`, ''), text);
}

// --- A cgroup ---------------------------------------------------------------------------------------------

/** How long removal waits for killed processes to leave the group (they must exit before rmdir works). */
const DRAIN_TIMEOUT_MS = 15_000;
const POLL_MS = 25;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export class Cgroup {
  /** Things the lesson should tell the learner (a swap limit the kernel could not take). */
  readonly notes: string[] = [];
  /** The leaf directories this object made (removal touches nothing else). */
  private readonly created = new Set<string>();

  constructor(
    readonly plan: CgroupPlan,
    private readonly fs: CgroupFs = hostFs,
    private readonly runner?: Runner,
  ) {}

  /** Do a host effect through the runner when there is one (so it is shown and recorded), else directly. */
  private effect(op: HostOp, perform: () => void): void {
    if (this.runner) this.runner.apply(op, perform);
    else perform();
  }

  get id(): string {
    return this.plan.id;
  }
  get version(): CgroupVersion {
    return this.plan.version;
  }
  /** The run's directories on the host, one per tree. */
  get dirs(): string[] {
    return this.plan.drivers.flatMap((d) => d.dirs);
  }
  /** What lib/container.ts needs: every `cgroup.procs` the container's first process writes its PID into. */
  get procsFiles(): string[] {
    return this.plan.drivers.flatMap((d) => d.procsFiles);
  }
  /** The group's path inside its tree(s), as /proc/<pid>/cgroup shows it on the host: `/scratch/<id>`. */
  get path(): string {
    return `/${CGROUP_PARENT}/${this.id}`;
  }

  /**
   * Take over a group another process made (a detached container's, which `ctr rm` removes): its directories
   * become this object's to remove.
   */
  adopt(): this {
    for (const d of this.dirs) if (this.fs.exists(d)) this.created.add(d);
    return this;
  }

  /** Make the directories and write the limits, in the planned order. */
  create(): void {
    // A concurrent run removing an empty `scratch` parent between our mkdir -p and our mkdir of the leaf makes
    // the latter fail with ENOENT; doing the (idempotent) steps again is then correct.
    for (let attempt = 1; ; attempt++) {
      try {
        for (const op of this.plan.ops) this.effect(hostOpOf(op), () => this.apply(op));
        return;
      } catch (e) {
        if (errorCode(e) !== 'ENOENT' || attempt >= 3) throw e;
      }
    }
  }

  private apply(op: CgroupOp): void {
    if (op.kind === 'mkdir') {
      if (op.parents) this.apply({ kind: 'mkdir', path: path.dirname(op.path), leaf: false });
      try {
        this.fs.mkdir(op.path);
      } catch (e) {
        if (errorCode(e) !== 'EEXIST') throw e;
        if (op.leaf && !this.created.has(op.path)) {
          throw new UserError(`cgroup ${op.path} already exists (left by an earlier run)`, 'npm run clean');
        }
      }
      if (op.leaf) this.created.add(op.path);
      return;
    }
    if (op.optional && !this.fs.exists(op.path)) {
      if (!this.notes.includes(op.optional.note)) this.notes.push(op.optional.note);
      return;
    }
    try {
      this.fs.write(op.path, op.value);
    } catch (e) {
      throw writeError(op, e);
    }
  }

  /**
   * The writes that change limits on the existing group (docker update): only the limits given. Throws a
   * UserError, before writing anything, for a limit whose controller the group does not have.
   */
  updateOps(limits: Limits): CgroupOp[] {
    for (const c of CONTROLLERS) {
      if (LIMIT_OF[c](limits) && !this.plan.drivers.some((d) => d.controllers.includes(c))) {
        throw new UserError(
          `cannot limit ${c} on cgroup ${this.path}: it was made without the ${c} controller (not available here)`,
          'npm run doctor',
        );
      }
    }
    return this.plan.drivers.flatMap((d) => d.limitOps(limits));
  }

  /** Change limits while processes run in the group: the kernel applies a new value at once. */
  update(limits: Limits): CgroupOp[] {
    const ops = this.updateOps(limits);
    for (const op of ops) this.effect(hostOpOf(op), () => this.apply(op));
    return ops;
  }

  /** Move a running process (and its future children) into the group. */
  addProcess(pid: number): void {
    for (const f of this.procsFiles) this.fs.write(f, String(pid));
  }

  /** The PIDs in the group (in any of its trees). */
  processes(): number[] {
    const pids = new Set<number>();
    for (const dir of this.dirs) {
      for (const pid of readPids((p) => this.fs.read(p), path.join(dir, 'cgroup.procs'))) pids.add(pid);
    }
    return [...pids];
  }

  stats(): CgroupStats {
    return Object.assign({}, ...this.plan.drivers.map((d) => d.stats())) as CgroupStats;
  }

  /** The host files that show a controller's limit, usage and counters. */
  evidenceFiles(controller: Controller, existingOnly = true): string[] {
    return evidenceFiles(this.plan, controller, existingOnly);
  }

  /** The directory holding a controller's files. */
  dirOf(controller: Controller): string | undefined {
    const files = this.evidenceFiles(controller);
    return files[0] ? path.dirname(files[0]) : undefined;
  }

  /** How it is taken down, as the host effects `remove` makes (a lesson shows them). */
  removeOps(): HostOp[] {
    const parents = [...new Set(this.plan.drivers.flatMap((d) => d.parents))];
    return [
      ...this.plan.drivers.map((d) => d.killOp()),
      ...this.dirs.map((path): HostOp => ({ kind: 'rmdir', path })),
      ...parents.map((path): HostOp => ({ kind: 'rmdir', path, ifEmpty: true })),
    ];
  }

  /**
   * Take the group down: kill what is left in it, wait until it is empty (rmdir fails while a process is
   * inside), remove the run's directories, then the `scratch` parents if nothing else is in them.
   */
  async remove(): Promise<void> {
    // Only directories this object made: a same-named leftover it refused to reuse is not its to remove.
    const leaves = this.dirs.filter((d) => this.created.has(d) && this.fs.exists(d));
    const procsFiles = leaves.map((d) => path.join(d, 'cgroup.procs'));
    const live = () => procsFiles.some((f) => readPids((p) => this.fs.read(p), f).length > 0);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (live()) {
      for (const d of this.plan.drivers) this.effect(d.killOp(), () => d.killAll());
      if (Date.now() > deadline) throw new Error(`processes are still in cgroup ${this.path}: ${this.processes()}`);
      await sleep(POLL_MS);
    }
    for (const dir of leaves) {
      // A just-emptied cgroup can still be busy for a moment while its last processes finish exiting.
      for (;;) {
        try {
          this.effect({ kind: 'rmdir', path: dir }, () => this.fs.rmdir(dir));
          break;
        } catch (e) {
          const code = errorCode(e);
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw e;
          await sleep(POLL_MS);
        }
      }
    }
    for (const parent of new Set(this.plan.drivers.flatMap((d) => d.parents))) {
      this.effect({ kind: 'rmdir', path: parent, ifEmpty: true }, () => {
        try {
          if (this.fs.exists(parent) && this.fs.listDirs(parent).length === 0) this.fs.rmdir(parent);
        } catch (e) {
          // Another run made a child meanwhile (ENOTEMPTY/EBUSY), or removed the parent itself (ENOENT): both fine.
          if (!['ENOTEMPTY', 'EBUSY', 'ENOENT'].includes(errorCode(e) ?? '')) throw e;
        }
      });
    }
  }
}

function writeError(op: Extract<CgroupOp, { kind: 'write' }>, e: unknown): Error {
  const code = errorCode(e) ?? String(e);
  if (path.basename(op.path) === 'cgroup.subtree_control') {
    const why =
      code === 'EBUSY'
        ? 'that cgroup has processes of its own, and v2 lets only leaves hold processes (the no-internal-process rule)'
        : code === 'ENOENT' || code === 'EINVAL'
          ? 'its parent does not offer that controller'
          : `the kernel refused (${code}); the controller may not be delegated to this tree`;
    return new UserError(
      `cannot enable ${op.value} in ${op.path}: ${why}`,
      `cat ${path.join(path.dirname(op.path), 'cgroup.controllers')}`,
    );
  }
  return new Error(`writing ${op.value} to ${op.path} failed: ${code}`, { cause: e });
}

/**
 * Poll the group's counters until `until` holds (a fork was refused, the busy loop has started). Returns the
 * stats that satisfied it, or the last ones read when `timeoutMs` passed; the caller checks which.
 */
export async function waitForStats(
  cg: Cgroup,
  until: (s: CgroupStats) => boolean,
  timeoutMs = 20_000,
): Promise<{ stats: CgroupStats; met: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = cg.stats();
    if (until(stats)) return { stats, met: true };
    if (Date.now() > deadline) return { stats, met: false };
    await sleep(POLL_MS * 2);
  }
}

export interface CpuMeasurement {
  /** CPU time the group used during the window, in µs. */
  usageUsec: number;
  /** Length of the window on the host's clock, in µs. */
  wallUsec: number;
  /** usage / wall: 0.2 means the group ran as much as a fifth of one CPU. */
  cpus: number;
  periods: number;
  throttledPeriods: number;
  throttledUsec: number;
}

/**
 * How much CPU the group uses while it runs: its counters read at both ends of a window of `windowMs` on the
 * host's clock. The window is a measuring interval, not an expectation: the answer is the ratio.
 */
export async function measureCpu(cg: Cgroup, windowMs: number): Promise<CpuMeasurement> {
  const read = () => ({ cpu: cg.stats().cpu, at: process.hrtime.bigint() });
  const a = read();
  await sleep(windowMs);
  const b = read();
  if (!a.cpu || !b.cpu) throw new Error(`cgroup ${cg.path} has no cpu controller`);
  const usageUsec = (b.cpu.usageUsec ?? 0) - (a.cpu.usageUsec ?? 0);
  const wallUsec = Number((b.at - a.at) / 1000n);
  return {
    usageUsec,
    wallUsec,
    cpus: wallUsec > 0 ? usageUsec / wallUsec : 0,
    periods: b.cpu.periods - a.cpu.periods,
    throttledPeriods: b.cpu.throttledPeriods - a.cpu.throttledPeriods,
    throttledUsec: b.cpu.throttledUsec - a.cpu.throttledUsec,
  };
}

/** Plan, register the removal on the cleanup stack, then create. */
export function createCgroup(cleanup: CleanupStack, id: string, limits: Limits, opts: PlanOptions = {}): Cgroup {
  const cg = new Cgroup(planCgroup(id, limits, opts), opts.fs ?? hostFs, opts.runner);
  // Pushed before the first mkdir: a failure half-way still removes whatever was made.
  cleanup.push(`remove cgroup ${cg.path}`, () => cg.remove());
  cg.create();
  return cg;
}

/**
 * Where a process's cgroups are on the host: each line of /proc/<pid>/cgroup joined to the tree it names.
 * Lines for trees not mounted here (a named v1 tree nobody mounted) are left out.
 */
export function hostDirsOf(procCgroupText: string, layout: CgroupLayout): { line: string; dir: string }[] {
  const out: { line: string; dir: string }[] = [];
  const join = (mountPoint: string, p: string) => path.join(mountPoint, p).replace(/(.)\/$/, '$1');
  for (const l of parseProcCgroup(procCgroupText)) {
    const line = `${l.hierarchy}:${l.controllers.join(',')}:${l.path}`;
    if (l.hierarchy === 0 && l.controllers.length === 0) {
      if (layout.v2) out.push({ line, dir: join(layout.v2.mountPoint, l.path) });
      continue;
    }
    const tree = layout.v1.find((m) => m.controllers.join(',') === l.controllers.join(','));
    if (tree) out.push({ line, dir: join(tree.mountPoint, l.path) });
  }
  return out;
}
