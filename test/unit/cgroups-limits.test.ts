import { describe, expect, it } from 'vitest';
import {
  CPU_PERIOD_US,
  formatBytes,
  parseCpuMax,
  parseCpus,
  parseKeyedFile,
  parseLimits,
  parseLimitValue,
  parseMemory,
  parsePids,
} from '../../lib/cgroups/limits.ts';
import { UserError } from '../../lib/errors.ts';

describe('memory limits as a user writes them', () => {
  it.each([
    ['64m', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['512k', 512 * 1024],
    ['4096', 4096],
    ['64M', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    [' 32m ', 32 * 1024 ** 2],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseMemory(text)).toBe(bytes);
  });

  it.each(['abc', '-1', '0', '10x', '', '1.5', 'm', '64 m b'])('%j is refused with the accepted forms', (text) => {
    const err = captureUserError(() => parseMemory(text));
    expect(err.message).toContain(JSON.stringify(text));
    expect(err.message).toContain('64m');
    expect(err.message).not.toContain('\n');
    expect(err.fix).toBeTruthy();
  });
});

describe('cpu limits become a quota per period', () => {
  it.each([
    ['0.5', 50_000],
    ['1.5', 150_000],
    ['2', 200_000],
    ['0.2', 20_000],
    ['.25', 25_000],
  ])('%s CPUs is %d µs per period', (text, quota) => {
    expect(parseCpus(text)).toEqual({ cpus: Number(text), quotaUs: quota, periodUs: CPU_PERIOD_US });
  });

  it.each(['abc', '-1', '0.0', '0', '10x', '1,5', ''])('%j is refused with the accepted forms', (text) => {
    const err = captureUserError(() => parseCpus(text));
    expect(err.message).toContain(JSON.stringify(text));
    expect(err.message).toContain('0.5');
  });

  it('refuses a quota below the kernel minimum of 1 ms per period', () => {
    expect(captureUserError(() => parseCpus('0.001')).message).toContain('too small');
  });
});

describe('pids limits', () => {
  it('takes a whole number, as text or number', () => {
    expect(parsePids('20')).toBe(20);
    expect(parsePids(1)).toBe(1);
  });

  it.each(['abc', '-1', '0', '10x', '2.5', ''])('%j is refused', (text) => {
    expect(captureUserError(() => parsePids(text)).message).toContain(JSON.stringify(text));
  });
});

describe('parseLimits', () => {
  it('parses every limit, with no swap unless asked', () => {
    expect(parseLimits({ memory: '32m', cpus: '0.2', pids: '20' })).toEqual({
      memory: { maxBytes: 32 * 1024 ** 2, swapBytes: 0 },
      cpu: { cpus: 0.2, quotaUs: 20_000, periodUs: CPU_PERIOD_US },
      pids: 20,
    });
  });

  it('turns docker-style memory+swap into swap on top of memory', () => {
    expect(parseLimits({ memory: '32m', memorySwap: '48m' }).memory).toEqual({
      maxBytes: 32 * 1024 ** 2,
      swapBytes: 16 * 1024 ** 2,
    });
  });

  it('refuses memory+swap below memory, and memory+swap alone', () => {
    expect(() => parseLimits({ memory: '32m', memorySwap: '16m' })).toThrow(UserError);
    expect(() => parseLimits({ memorySwap: '16m' })).toThrow(UserError);
  });

  it('refuses a memory limit too small for a container to start under (docker’s minimum, 6m)', () => {
    expect(captureUserError(() => parseLimits({ memory: '100k' })).message).toContain('below the minimum of 6m');
    expect(parseLimits({ memory: '6m' }).memory?.maxBytes).toBe(6 * 1024 * 1024);
  });

  it('stops at the first bad value', () => {
    expect(captureUserError(() => parseLimits({ memory: '64m', cpus: '0.0' })).message).toContain('"0.0"');
  });

  it('gives no limits for no input', () => {
    expect(parseLimits({})).toEqual({});
  });
});

describe('reading cgroup files', () => {
  it('parses keyed files such as memory.events and cpu.stat', () => {
    expect(parseKeyedFile('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n')).toEqual({
      low: 0,
      high: 0,
      max: 12,
      oom: 1,
      oom_kill: 1,
    });
    expect(parseKeyedFile('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n').oom_kill).toBe(2);
  });

  it('parses limit values and cpu.max', () => {
    expect(parseLimitValue('max\n')).toBe('max');
    expect(parseLimitValue('33554432\n')).toBe(33554432);
    expect(() => parseLimitValue('')).toThrow();
    expect(parseCpuMax('20000 100000\n')).toEqual({ quotaUs: 20000, periodUs: 100000 });
    expect(parseCpuMax('max 100000\n')).toEqual({ quotaUs: 'max', periodUs: 100000 });
  });

  it('formats bytes for people', () => {
    expect(formatBytes(32 * 1024 ** 2)).toBe('32 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12)).toBe('12 bytes');
  });
});

function captureUserError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError, nothing was thrown');
}
