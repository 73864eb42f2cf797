/**
 * Planning a cgroup: where each controller lives on this host and which directories and file writes make the group
 * with its limits — decided before anything is created, so a limit this host cannot enforce is one line and nothing
 * is left behind.
 */
import path from 'node:path';
import { UserError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import {
  CONTROLLERS,
  type CgroupDriver,
  type CgroupFs,
  type CgroupLayout,
  type CgroupOp,
  type CgroupVersion,
  type Controller,
  type LimitWriters,
} from './contract.ts';
import { hostFs } from './files.ts';
import { detectLayout } from './layout.ts';
import type { DeviceRule } from './device-rules.ts';
import { deviceEnforcement, devicesNotEnforceable } from './devices.ts';
import type { Limits } from './limits.ts';
import { createV1Driver } from './v1.ts';
import { createV2Driver } from './v2.ts';

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
  /**
   * Device rules (OCI linux.resources.devices) the group enforces: v1's devices controller where it is mounted,
   * else a BPF program on v2 (lib/cgroups/devices.ts). Absent: devices are left as the parent has them.
   */
  devices?: readonly DeviceRule[];
}

export const LIMIT_OF: Record<Controller, (l: Limits) => boolean> = {
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
  const devices = opts.devices === undefined ? undefined : deviceEnforcement(layout);
  if (opts.devices !== undefined && !devices) throw devicesNotEnforceable();
  const devicesOn = (version: 'v1' | 'v2') => (devices?.version === version ? { devices: opts.devices } : {});
  const drivers: CgroupDriver[] = [];
  const limitWrites = opts.limitWrites;
  if (v1.length > 0 || devices?.version === 'v1') {
    drivers.push(createV1Driver(layout.v1, { id, controllers: v1, fs: cgfs, limitWrites, ...devicesOn('v1') }));
  }
  if ((v2.length > 0 || devices?.version === 'v2') && layout.v2) {
    const options = { id, controllers: v2, fs: cgfs, limitWrites, ...devicesOn('v2') };
    drivers.push(createV2Driver(layout.v2.mountPoint, options));
  }
  const version: CgroupVersion = v1.length > 0 && v2.length > 0 ? 'hybrid' : v1.length > 0 ? 'v1' : 'v2';
  // Device rules before limits, and all of it before any process joins: the first open is already checked.
  const ops = [
    ...drivers.flatMap((d) => d.createOps()),
    ...drivers.flatMap((d) => d.deviceOps()),
    ...drivers.flatMap((d) => d.limitOps(limits)),
  ];
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
