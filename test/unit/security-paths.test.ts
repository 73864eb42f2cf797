import { describe, expect, it } from 'vitest';
import { MASKED_PATHS, READONLY_PATHS, maskedPathsFor, parseCpuList } from '../../lib/security/paths.ts';

describe('masked and read-only paths', () => {
  it('are the ones docker masks and makes read-only', () => {
    expect(MASKED_PATHS).toEqual(
      expect.arrayContaining([
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
        '/sys/devices/virtual/powercap',
        '/proc/interrupts',
      ]),
    );
    expect(MASKED_PATHS).toHaveLength(12);
    expect(READONLY_PATHS).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('never overlap, so no path is both hidden and merely read-only', () => {
    expect(MASKED_PATHS.filter((p) => READONLY_PATHS.includes(p))).toEqual([]);
  });

  it("add each CPU's thermal_throttle directory, as docker does", () => {
    expect(maskedPathsFor(parseCpuList('0-1,4\n')).slice(-3)).toEqual([
      '/sys/devices/system/cpu/cpu0/thermal_throttle',
      '/sys/devices/system/cpu/cpu1/thermal_throttle',
      '/sys/devices/system/cpu/cpu4/thermal_throttle',
    ]);
    expect(maskedPathsFor()).toEqual(MASKED_PATHS);
  });

  it('refuse a CPU list that is not one', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(() => parseCpuList('0-x')).toThrow(/not a CPU list/);
  });
});
