/**
 * Resource limits as a person writes them, and the numbers the kernel wants.
 *
 * `docker run --memory 64m --cpus 0.5 --pids-limit 20` speaks in human units; cgroup files speak in bytes, in
 * microseconds of CPU time per period, and in plain counts. A CPU limit is not a number of cores the kernel
 * hands out: it is a *quota* — this group may run for 50 000 µs in every 100 000 µs period, across all CPUs —
 * and once the quota is spent the group's processes are throttled (not scheduled) until the next period.
 *
 * Everything here is parsed and checked before anything is created on the host, so a typo never leaves a
 * half-made cgroup behind. The same module reads the kernel's answer back: the flat `key value` files
 * (`memory.events`, `cpu.stat`) and the single-value files (`memory.max` is a number or the word `max`).
 */
import { UserError } from '../errors.ts';

/** The CFS period the workshop uses, as docker does: 100 ms. */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses a quota below 1 ms per period. */
export const CPU_MIN_QUOTA_US = 1_000;

export interface CpuLimit {
  /** As the user wrote it: 0.5 = half of one CPU. */
  cpus: number;
  /** Microseconds of CPU time the group may use in each period. */
  quotaUs: number;
  periodUs: number;
}

/** Limits ready to be written to cgroup files. Missing = not limited. */
export interface Limits {
  memory?: {
    maxBytes: number;
    /** Swap allowed on top of `maxBytes`: 0 means the memory limit really is the limit. */
    swapBytes: number;
  };
  pids?: number;
  cpu?: CpuLimit;
}

/** Limits as written on a command line or in a lesson: `{ memory: '64m', cpus: '0.5', pids: '20' }`. */
export interface LimitsInput {
  memory?: string;
  /** Memory plus swap, docker's `--memory-swap`; default: equal to `memory` (no swap). */
  memorySwap?: string;
  cpus?: string;
  pids?: string | number;
}

const MEMORY_FORMS = 'a number of bytes, or a number with k, m or g (512k, 64m, 1g)';
const CPUS_FORMS = 'a positive decimal number of CPUs (0.5, 1.5, 2)';
const PIDS_FORMS = 'a whole number of processes, 1 or more (20)';

const UNIT: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `64m` → 67108864. Accepts plain bytes and k/m/g (any case, optional trailing b: `64MB`). */
export function parseMemory(text: string, what = 'memory limit'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(text.trim());
  const unit = UNIT[(m?.[2] ?? '').toLowerCase()];
  const bytes = m?.[1] !== undefined && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  // A fraction of a byte means a missing unit (`1.5` where `1.5g` was meant), not a tiny limit.
  const fractionalBytes = unit === 1 && m?.[1]?.includes('.');
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || fractionalBytes) {
    throw new UserError(`${what} ${JSON.stringify(text)} is not valid: use ${MEMORY_FORMS}`, `--memory 64m`);
  }
  return bytes;
}

/** `0.5` → half a CPU: a quota of 50 000 µs per 100 000 µs period. */
export function parseCpus(text: string): CpuLimit {
  const m = /^(\d+(?:\.\d+)?|\.\d+)$/.exec(text.trim());
  const cpus = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw new UserError(`cpu limit ${JSON.stringify(text)} is not valid: use ${CPUS_FORMS}`, '--cpus 0.5');
  }
  const quotaUs = Math.round(cpus * CPU_PERIOD_US);
  if (quotaUs < CPU_MIN_QUOTA_US) {
    throw new UserError(
      `cpu limit ${JSON.stringify(text)} is too small: the kernel needs at least ${CPU_MIN_QUOTA_US / CPU_PERIOD_US} CPUs`,
      '--cpus 0.01',
    );
  }
  return { cpus, quotaUs, periodUs: CPU_PERIOD_US };
}

/** `20` → at most 20 processes (threads count too) in the group at once. */
export function parsePids(text: string | number): number {
  const s = String(text).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UserError(
      `pids limit ${JSON.stringify(String(text))} is not valid: use ${PIDS_FORMS}`,
      '--pids-limit 20',
    );
  }
  return n;
}

/** The smallest memory limit a container can start under (docker's minimum too). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** Parse every limit given; throws a UserError on the first bad one, before anything is created. */
export function parseLimits(input: LimitsInput): Limits {
  const limits: Limits = {};
  if (input.memory !== undefined) {
    const maxBytes = parseMemory(input.memory);
    // Less than this and the container's first process is killed by the OOM killer before its command runs.
    if (maxBytes < MIN_MEMORY_BYTES) {
      throw new UserError(
        `memory limit ${JSON.stringify(input.memory)} is below the minimum of 6m: a container needs that much to start`,
        '--memory 6m',
      );
    }
    let swapBytes = 0;
    if (input.memorySwap !== undefined) {
      const total = parseMemory(input.memorySwap, 'memory+swap limit');
      if (total < maxBytes) {
        throw new UserError(
          `memory+swap limit ${JSON.stringify(input.memorySwap)} is smaller than the memory limit ${JSON.stringify(input.memory)}`,
          `--memory-swap ${input.memory}`,
        );
      }
      swapBytes = total - maxBytes;
    }
    limits.memory = { maxBytes, swapBytes };
  } else if (input.memorySwap !== undefined) {
    throw new UserError(
      'a memory+swap limit needs a memory limit too',
      `--memory 64m --memory-swap ${input.memorySwap}`,
    );
  }
  if (input.pids !== undefined) limits.pids = parsePids(input.pids);
  if (input.cpus !== undefined) limits.cpu = parseCpus(input.cpus);
  return limits;
}

/** 33554432 → `32 MiB`, for the learner's eyes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${shown} ${units[i]}`;
}

// --- Reading the kernel's answers -------------------------------------------------------------------------

/** A limit file's value: a number, or `max` (no limit). */
export type LimitValue = number | 'max';

/** Parse `max` or a number (`memory.max`, `pids.max`). v1's "no limit" is a huge number; it stays a number. */
export function parseLimitValue(text: string): LimitValue {
  const s = text.trim();
  if (s === 'max') return 'max';
  const n = Number(s);
  if (s === '' || !Number.isFinite(n)) throw new Error(`not a cgroup limit value: ${JSON.stringify(text)}`);
  return n;
}

/** Parse a flat keyed file (`memory.events`, `cpu.stat`, `memory.oom_control`): `key value` per line. */
export function parseKeyedFile(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** Parse v2's `cpu.max`: `20000 100000`, or `max 100000`. */
export function parseCpuMax(text: string): { quotaUs: LimitValue; periodUs: number } {
  const [quota = '', period = ''] = text.trim().split(/\s+/);
  return { quotaUs: parseLimitValue(quota), periodUs: Number(period) };
}

/** The PIDs listed in a `cgroup.procs` file (none if it is gone). */
export function readPids(read: (p: string) => string, procsFile: string): number[] {
  try {
    return read(procsFile)
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

/** SIGKILL each PID (the processes left in a cgroup being removed); one already gone is not an error. */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** The limits of an OCI `linux.resources` (lib/spec.ts): memory and memory+swap in bytes, pids, a CPU quota. */
export function limitsFromResources(
  r: {
    memory?: { limit: number; swap?: number };
    pids?: { limit: number };
    cpu?: { quota: number; period: number };
  } = {},
): Limits {
  const limits: Limits = {};
  if (r.memory)
    limits.memory = {
      maxBytes: r.memory.limit,
      swapBytes: Math.max(0, (r.memory.swap ?? r.memory.limit) - r.memory.limit),
    };
  if (r.pids) limits.pids = r.pids.limit;
  if (r.cpu) limits.cpu = { cpus: r.cpu.quota / r.cpu.period, quotaUs: r.cpu.quota, periodUs: r.cpu.period };
  return limits;
}

/** The other way: limits as an OCI `linux.resources`. */
export function resourcesFromLimits(l: Limits): {
  memory?: { limit: number; swap: number };
  pids?: { limit: number };
  cpu?: { quota: number; period: number };
} {
  return {
    ...(l.memory ? { memory: { limit: l.memory.maxBytes, swap: l.memory.maxBytes + l.memory.swapBytes } } : {}),
    ...(l.pids !== undefined ? { pids: { limit: l.pids } } : {}),
    ...(l.cpu ? { cpu: { quota: l.cpu.quotaUs, period: l.cpu.periodUs } } : {}),
  };
}

/** The limits of these controllers only (a driver writes the limits of the controllers it holds). */
export function onlyFor(limits: Limits, controllers: readonly string[]): Limits {
  return {
    ...(limits.memory && controllers.includes('memory') ? { memory: limits.memory } : {}),
    ...(limits.pids !== undefined && controllers.includes('pids') ? { pids: limits.pids } : {}),
    ...(limits.cpu && controllers.includes('cpu') ? { cpu: limits.cpu } : {}),
  };
}
