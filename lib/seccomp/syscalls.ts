/**
 * System call numbers, per architecture.
 *
 * A seccomp filter sees a system call only as a number, and the numbers differ between architectures: mount(2)
 * is 165 on x86_64 and 40 on aarch64, and aarch64 has no open(2) at all. So a profile names calls, and the
 * filter is built for one architecture at a time, from that architecture's table. The filter built here is for
 * the machine it runs on, which Node reports as `process.arch`.
 */
import { UserError } from '../errors.ts';
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64 } from './constants.ts';
import { AARCH64_SYSCALLS } from './syscalls-aarch64.ts';
import { X86_64_SYSCALLS } from './syscalls-x86_64.ts';

/** The architectures a filter can be built for, by their kernel names. */
export type SeccompArch = 'x86_64' | 'aarch64';
export const SECCOMP_ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];

interface ArchInfo {
  /** The AUDIT_ARCH_* value the kernel puts in seccomp_data.arch for a native call. */
  auditArch: number;
  /** The OCI runtime spec's name for it (`linux.seccomp.architectures`). */
  oci: string;
  syscalls: Readonly<Record<string, number>>;
}

export const ARCHES: Readonly<Record<SeccompArch, ArchInfo>> = {
  x86_64: { auditArch: AUDIT_ARCH_X86_64, oci: 'SCMP_ARCH_X86_64', syscalls: X86_64_SYSCALLS },
  aarch64: { auditArch: AUDIT_ARCH_AARCH64, oci: 'SCMP_ARCH_AARCH64', syscalls: AARCH64_SYSCALLS },
};

/** Node's name for the CPU → the kernel's. */
const NODE_ARCH: Readonly<Record<string, SeccompArch>> = { x64: 'x86_64', arm64: 'aarch64' };

/** The architecture to build a filter for on this machine; anything but x86_64 and aarch64 is refused. */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch {
  const arch = NODE_ARCH[nodeArch];
  if (!arch) {
    throw new UserError(
      `seccomp filters are built for x86_64 and aarch64 only; this machine is ${nodeArch}`,
      'run the container without a filter: --security-opt seccomp=unconfined',
    );
  }
  return arch;
}

/** The number of a system call on an architecture, or undefined when that architecture has no such call. */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  const table = ARCHES[arch].syscalls;
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

const reverse = (table: Readonly<Record<string, number>>): ReadonlyMap<number, string> =>
  new Map(Object.entries(table).map(([name, n]) => [n, name]));
const NAMES_BY_NUMBER: Readonly<Record<SeccompArch, ReadonlyMap<number, string>>> = {
  x86_64: reverse(X86_64_SYSCALLS),
  aarch64: reverse(AARCH64_SYSCALLS),
};

/** The name of a system call number on an architecture (for listings), or undefined. */
export function syscallName(arch: SeccompArch, nr: number): string | undefined {
  return NAMES_BY_NUMBER[arch].get(nr);
}

/** True when at least one supported architecture has a system call of this name (catches typos in profiles). */
export function isKnownSyscall(name: string): boolean {
  return SECCOMP_ARCHES.some((arch) => syscallNumber(arch, name) !== undefined);
}
