/**
 * From a profile to the BPF program the kernel runs on every system call.
 *
 * The program has three parts. First it checks the architecture tag: the same process can enter the kernel
 * through other conventions with other numbers (on x86_64, `int 0x80` uses the i386 table, where 165 is not
 * mount), so a number means nothing until the tag says which table it belongs to; any tag but the native one
 * kills the process. On x86_64 it then refuses numbers with bit 30 set, the x32 ABI, which gives every call a
 * second number (mount is also 0x400000a5): a deny list keyed on the first would let the second through.
 * Last, one block per system call the profile names: compare the number, test the arguments rule by rule,
 * return the first matching rule's action, or the default action when none matches. A call the profile does
 * not name falls off the end into the default action.
 *
 * Arguments are 64-bit registers and BPF words are 32 bits, so each test looks at the two halves (the low half
 * first in memory on these little-endian machines), exactly as libseccomp does, so a profile means the same
 * here as under runc.
 */
import { UserError } from '../errors.ts';
import {
  and,
  assemble,
  encodeProgram,
  instructionCount,
  ja,
  jeq,
  jge,
  jgt,
  jset,
  label,
  ld,
  ret,
  to,
  type AsmItem,
  type BpfInstruction,
} from './bpf.ts';
import {
  BPF_MAXINSNS,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRAP,
  X32_SYSCALL_BIT,
  argOffset,
} from './constants.ts';
import type { ArgCondition, SeccompAction, SeccompProfile, SeccompRule } from './profile.ts';
import { ARCHES, syscallNumber, type SeccompArch } from './syscalls.ts';

/** The kernel caps an errno a filter may return at MAX_ERRNO. */
const MAX_ERRNO = 4095;
const U64_MAX = (1n << 64n) - 1n;

/** The 32-bit value a filter returns for an action. */
export function actionValue(action: SeccompAction): number {
  switch (action.type) {
    case 'allow':
      return SECCOMP_RET_ALLOW;
    case 'errno':
      if (!Number.isInteger(action.errno) || action.errno < 0 || action.errno > MAX_ERRNO) {
        throw new UserError(`seccomp errno ${action.errno} is not 0–${MAX_ERRNO}`, 'use an errno such as 1 (EPERM)');
      }
      return (SECCOMP_RET_ERRNO | (action.errno & SECCOMP_RET_DATA)) >>> 0;
    case 'kill-process':
      return SECCOMP_RET_KILL_PROCESS;
    case 'kill-thread':
      return SECCOMP_RET_KILL_THREAD;
    case 'trap':
      return SECCOMP_RET_TRAP;
    case 'log':
      return SECCOMP_RET_LOG;
  }
}

const high = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const low = (v: bigint): number => Number(v & 0xffffffffn);
const isSingleBit = (v: number): boolean => v !== 0 && (v & (v - 1)) === 0;

function checkCondition(c: ArgCondition): void {
  if (!Number.isInteger(c.index) || c.index < 0 || c.index > 5) {
    throw new UserError(`seccomp rule tests argument ${c.index}; system calls have arguments 0–5`, 'use index 0–5');
  }
  for (const v of [c.value, c.mask ?? 0n]) {
    if (v < 0n || v > U64_MAX) throw new UserError(`seccomp rule value ${v} is not a 64-bit unsigned number`);
  }
  if (c.op === 'masked-eq' && c.mask === undefined) throw new Error('masked-eq needs a mask');
}

/**
 * Code for one argument test: falls through when it holds, jumps to `fail` when not. `id` makes the local
 * label unique.
 */
export function conditionCode(c: ArgCondition, fail: string, id: string): AsmItem[] {
  checkCondition(c);
  const hi = argOffset(c.index, 'high');
  const lo = argOffset(c.index, 'low');
  const [vhi, vlo] = [high(c.value), low(c.value)];
  const pass = `${id}.pass`;
  switch (c.op) {
    case 'eq':
      return [ld(hi), jeq(vhi, 0, to(fail)), ld(lo), jeq(vlo, 0, to(fail))];
    case 'ne':
      return [ld(hi), jeq(vhi, 0, to(pass)), ld(lo), jeq(vlo, to(fail), 0), label(pass)];
    case 'gt':
      return [ld(hi), jgt(vhi, to(pass), 0), jeq(vhi, 0, to(fail)), ld(lo), jgt(vlo, 0, to(fail)), label(pass)];
    case 'ge':
      return [ld(hi), jgt(vhi, to(pass), 0), jeq(vhi, 0, to(fail)), ld(lo), jge(vlo, 0, to(fail)), label(pass)];
    case 'lt':
      return [ld(hi), jge(vhi, 0, to(pass)), jgt(vhi, to(fail), 0), ld(lo), jge(vlo, to(fail), 0), label(pass)];
    case 'le':
      return [ld(hi), jge(vhi, 0, to(pass)), jgt(vhi, to(fail), 0), ld(lo), jgt(vlo, to(fail), 0), label(pass)];
    case 'masked-eq':
      return maskedEqCode(c.mask ?? 0n, c.value, hi, lo, fail);
  }
}

/** `(arg & mask) == value`, with the short forms a reader recognises: one bit set, or no bit of the mask set. */
function maskedEqCode(mask: bigint, value: bigint, hi: number, lo: number, fail: string): AsmItem[] {
  if ((value & ~mask) !== 0n) return [ja(to(fail))]; // a bit outside the mask can never match
  const half = (offset: number, m: number, v: number): AsmItem[] => {
    if (m === 0) return []; // nothing of this half is tested
    if (v === 0) return [ld(offset), jset(m, to(fail), 0)]; // none of the mask's bits set
    if (v === m && isSingleBit(m)) return [ld(offset), jset(m, 0, to(fail))]; // this one bit set
    if (m === 0xffffffff) return [ld(offset), jeq(v, 0, to(fail))]; // the whole half: a plain comparison
    return [ld(offset), and(m), jeq(v, 0, to(fail))];
  };
  return [...half(hi, high(mask), high(value)), ...half(lo, low(mask), low(value))];
}

/** Rules of the profile that apply on this architecture, grouped by system call number, in profile order. */
export function rulesBySyscall(profile: SeccompProfile, arch: SeccompArch): Map<number, SeccompRule[]> {
  const groups = new Map<number, SeccompRule[]>();
  for (const rule of profile.rules) {
    for (const name of new Set(rule.names)) {
      const nr = syscallNumber(arch, name);
      if (nr === undefined) continue;
      const list = groups.get(nr) ?? [];
      list.push(rule);
      groups.set(nr, list);
    }
  }
  return new Map([...groups].sort(([a], [b]) => a - b));
}

/** The block for one system call: its rules in order, then the default action. */
function syscallBody(nr: number, rules: readonly SeccompRule[], defaultValue: number): AsmItem[] {
  const body: AsmItem[] = [];
  for (const [r, rule] of rules.entries()) {
    const fail = `nr${nr}.rule${r}.fail`;
    const conditions = rule.args ?? [];
    conditions.forEach((c, i) => body.push(...conditionCode(c, fail, `nr${nr}.rule${r}.arg${i}`)));
    body.push(ret(actionValue(rule.action)));
    if (conditions.length === 0) return body; // an unconditional rule ends the block: later rules are unreachable
    body.push(label(fail));
  }
  body.push(ret(defaultValue));
  return body;
}

/** The architecture gate at the top of every program. */
function archGate(arch: SeccompArch): AsmItem[] {
  const kill = SECCOMP_RET_KILL_PROCESS;
  const gate = [ld(SECCOMP_DATA.arch), jeq(ARCHES[arch].auditArch, 1, 0), ret(kill), ld(SECCOMP_DATA.nr)];
  if (arch !== 'x86_64') return gate;
  // x32 numbers carry bit 30. -1 is let through as libseccomp does: it is how "no system call" is spelled
  // (a tracer cancelling one), and the kernel answers it with ENOSYS.
  return [...gate, jge(X32_SYSCALL_BIT, 0, 2), jeq(0xffffffff, 1, 0), ret(kill)];
}

/** The program as instructions (for tests and listings); `buildSeccompProgram` gives the bytes. */
export function compileSeccompProfile(profile: SeccompProfile, arch: SeccompArch): BpfInstruction[] {
  const defaultValue = actionValue(profile.defaultAction);
  const items: AsmItem[] = [...archGate(arch)];
  for (const [nr, rules] of rulesBySyscall(profile, arch)) {
    const body = syscallBody(nr, rules, defaultValue);
    const next = `nr${nr}.next`;
    // A conditional jump skips at most 255 instructions; a longer block is stepped over with ja.
    if (instructionCount(body) <= 255) items.push(jeq(nr, 0, to(next)));
    else items.push(jeq(nr, 1, 0), ja(to(next)));
    items.push(...body, label(next));
  }
  items.push(ret(defaultValue));
  const program = assemble(items);
  if (program.length > BPF_MAXINSNS) {
    throw new UserError(
      `the seccomp profile compiles to ${program.length} instructions; the kernel accepts at most ${BPF_MAXINSNS}`,
      'name fewer system calls or argument tests in the profile',
    );
  }
  return program;
}

/** The filter bytes for `seccomp(SECCOMP_SET_MODE_FILTER, 0, &{len, filter})`: 8 bytes per instruction. */
export function buildSeccompProgram(profile: SeccompProfile, arch: SeccompArch): Uint8Array {
  return encodeProgram(compileSeccompProfile(profile, arch));
}
