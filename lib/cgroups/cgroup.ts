/**
 * A cgroup on the host: made in the planned order, limits changed while it runs, processes added and listed,
 * counters read, and taken down — processes first, then its directories, then the shared parents if empty.
 * Every mkdir, write, kill and rmdir goes through the runner when there is one, so lessons show it and tests
 * record it.
 */
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import type { HostOp } from '../hostops.ts';
import type { Runner } from '../runner.ts';
import { UserError } from '../errors.ts';
import { CGROUP_PARENT } from '../names.ts';
import {
  CONTROLLERS,
  type CgroupFs,
  type CgroupOp,
  type CgroupStats,
  type CgroupVersion,
  type Controller,
} from './contract.ts';
import { deviceProgram } from '../bpf/device-program.ts';
import { foldDeviceRules } from './device-emulator.ts';
import { hostFs } from './files.ts';
import { readPids, type Limits } from './limits.ts';
import { hostOpOf } from './ops.ts';
import { evidenceFiles, LIMIT_OF, planCgroup, type CgroupPlan, type PlanOptions } from './plan.ts';

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
    if (op.kind === 'attachDevices') {
      if (!this.fs.attachDeviceProgram) throw new Error(`cannot attach a device program to ${op.path} here`);
      this.fs.attachDeviceProgram(op.path, deviceProgram(foldDeviceRules(op.rules)));
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

/** Plan, register the removal on the cleanup stack, then create. */
export function createCgroup(cleanup: CleanupStack, id: string, limits: Limits, opts: PlanOptions = {}): Cgroup {
  const cg = new Cgroup(planCgroup(id, limits, opts), opts.fs ?? hostFs, opts.runner);
  // Pushed before the first mkdir: a failure half-way still removes whatever was made.
  cleanup.push(`remove cgroup ${cg.path}`, () => cg.remove());
  cg.create();
  return cg;
}
