/**
 * Reading a running cgroup's counters over time: waiting for one to move (a fork refused), and how much CPU the
 * group used in a window on the host's clock.
 */
import type { Cgroup } from './cgroup.ts';
import type { CgroupStats } from './contract.ts';

const POLL_MS = 25;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
