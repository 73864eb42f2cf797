import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import { AARCH64_SYSCALLS } from '../../lib/seccomp/syscalls-aarch64.ts';
import { X86_64_SYSCALLS } from '../../lib/seccomp/syscalls-x86_64.ts';
import { hostSeccompArch, isKnownSyscall, syscallName, syscallNumber } from '../../lib/seccomp/syscalls.ts';

// The installed UAPI headers (Debian: linux-libc-dev) are an independent copy of the kernel's tables. They may be
// older than the tables here; every call they define must have the same number here.
const X86_HEADER = ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'].find((f) =>
  fs.existsSync(f),
);
const GENERIC_HEADER = '/usr/include/asm-generic/unistd.h';
const mustCheck = process.env.CI === 'true';

/** `#define __NR_name 123`, and arm64's `#define __NR_name __NR3264_name` indirections. */
function headerNumbers(text: string): Map<string, number> {
  const direct = new Map<string, number>();
  const via3264 = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+__NR3264_(\w+)\s+(\d+)\s*$/gm)) via3264.set(m[1] ?? '', Number(m[2]));
  for (const m of text.matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\s*$/gm)) direct.set(m[1] ?? '', Number(m[2]));
  for (const m of text.matchAll(/^#define\s+__NR_(\w+)\s+__NR3264_(\w+)\s*$/gm)) {
    const n = via3264.get(m[2] ?? '');
    if (n !== undefined && !direct.has(m[1] ?? '')) direct.set(m[1] ?? '', n);
  }
  direct.delete('syscalls');
  return direct;
}

describe('system call tables', () => {
  it.skipIf(!X86_HEADER && !mustCheck)('x86_64: every call in asm/unistd_64.h has the same number here', () => {
    const header = headerNumbers(fs.readFileSync(X86_HEADER ?? '', 'utf8'));
    expect(header.size).toBeGreaterThan(330);
    for (const [name, n] of header) expect([name, X86_64_SYSCALLS[name]]).toEqual([name, n]);
  });

  it.skipIf(!fs.existsSync(GENERIC_HEADER) && !mustCheck)(
    'aarch64: every call here has the number asm-generic/unistd.h gives it (or is newer than the header)',
    () => {
      const header = headerNumbers(fs.readFileSync(GENERIC_HEADER, 'utf8'));
      const newest = Math.max(...header.values());
      for (const [name, n] of Object.entries(AARCH64_SYSCALLS)) {
        if (n > newest) continue;
        expect([name, header.get(name)]).toEqual([name, n]);
      }
    },
  );

  it('give the numbers the kernel uses for the calls the lesson talks about', () => {
    expect(syscallNumber('x86_64', 'mount')).toBe(165);
    expect(syscallNumber('aarch64', 'mount')).toBe(40);
    expect(syscallNumber('x86_64', 'clone3')).toBe(435);
    expect(syscallNumber('aarch64', 'clone3')).toBe(435);
    expect(syscallNumber('x86_64', 'seccomp')).toBe(317);
    expect(syscallNumber('aarch64', 'seccomp')).toBe(277);
    expect(syscallNumber('x86_64', 'file_setattr')).toBe(469);
  });

  it('have no call twice and no number twice', () => {
    for (const table of [X86_64_SYSCALLS, AARCH64_SYSCALLS]) {
      const numbers = Object.values(table);
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  });

  it('know which calls an architecture lacks', () => {
    expect(syscallNumber('aarch64', 'open')).toBeUndefined();
    expect(syscallNumber('aarch64', 'iopl')).toBeUndefined();
    expect(syscallNumber('x86_64', 'toString')).toBeUndefined();
    expect(isKnownSyscall('iopl')).toBe(true);
    expect(isKnownSyscall('mountt')).toBe(false);
  });

  it('name a number back', () => {
    expect(syscallName('x86_64', 165)).toBe('mount');
    expect(syscallName('aarch64', 220)).toBe('clone');
    expect(syscallName('x86_64', 9999)).toBeUndefined();
  });
});

describe("the host's architecture for a filter", () => {
  it('is the kernel name of what Node calls the CPU', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(hostSeccompArch('arm64')).toBe('aarch64');
  });

  it('is refused, with the way out, on any other CPU', () => {
    expect(() => hostSeccompArch('riscv64')).toThrow(UserError);
    expect(() => hostSeccompArch('ia32')).toThrow(/x86_64 and aarch64 only; this machine is ia32/);
  });
});
