/**
 * A readable listing of a seccomp BPF program, for lessons and `--explain`: one line per instruction, jumps
 * shown as the line they lead to, and a note on what each constant means (the architecture, the system call,
 * the argument, the action) — the program the kernel will run, not the profile it came from.
 */
import {
  BPF_ALU_AND_K,
  BPF_JMP_JA,
  BPF_JMP_JEQ_K,
  BPF_JMP_JGE_K,
  BPF_JMP_JGT_K,
  BPF_JMP_JSET_K,
  BPF_LD_W_ABS,
  BPF_RET_K,
  decodeProgram,
  type BpfInstruction,
} from './bpf.ts';
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  ENOSYS,
  EPERM,
  SECCOMP_DATA,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  X32_SYSCALL_BIT,
} from './constants.ts';
import { syscallName, type SeccompArch } from './syscalls.ts';

const ARCH_NAMES: ReadonlyMap<number, string> = new Map([
  [AUDIT_ARCH_X86_64, 'x86_64'],
  [AUDIT_ARCH_AARCH64, 'aarch64'],
  [AUDIT_ARCH_I386, 'i386'],
  [AUDIT_ARCH_ARM, 'arm'],
]);

const ACTION_NAMES: ReadonlyMap<number, string> = new Map([
  [SECCOMP_RET_KILL_PROCESS, 'KILL_PROCESS'],
  [SECCOMP_RET_KILL_THREAD, 'KILL_THREAD'],
  [SECCOMP_RET_TRAP, 'TRAP'],
  [SECCOMP_RET_ERRNO, 'ERRNO'],
  [SECCOMP_RET_USER_NOTIF, 'USER_NOTIF'],
  [SECCOMP_RET_TRACE, 'TRACE'],
  [SECCOMP_RET_LOG, 'LOG'],
  [SECCOMP_RET_ALLOW, 'ALLOW'],
]);

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, 'EPERM'],
  [ENOSYS, 'ENOSYS'],
]);

/** A seccomp return value in words: `ALLOW`, `KILL_PROCESS`, `ERRNO(EPERM)`. */
export function describeAction(value: number): string {
  const action = (value & SECCOMP_RET_ACTION_FULL) >>> 0;
  const name = ACTION_NAMES.get(action) ?? `0x${action.toString(16)}`;
  if (action !== SECCOMP_RET_ERRNO) return name;
  const errno = value & SECCOMP_RET_DATA;
  return `ERRNO(${ERRNO_NAMES.get(errno) ?? errno})`;
}

/** What a seccomp_data offset holds, in words. */
export function describeField(offset: number): string {
  if (offset === SECCOMP_DATA.nr) return 'syscall number';
  if (offset === SECCOMP_DATA.arch) return 'arch';
  if (offset === SECCOMP_DATA.instructionPointer) return 'instruction pointer (low)';
  if (offset === SECCOMP_DATA.instructionPointer + 4) return 'instruction pointer (high)';
  const arg = Math.floor((offset - SECCOMP_DATA.args) / 8);
  if (arg >= 0 && arg <= 5) return `args[${arg}] ${offset % 8 === 0 ? 'low' : 'high'} 32 bits`;
  return `offset ${offset}`;
}

const hex = (k: number) => `0x${k.toString(16)}`;
const pad = (n: number) => String(n).padStart(4, '0');

/** What is known about the machine at an instruction: which field A holds, which system call is being looked at. */
interface Known {
  field: number | undefined;
  nr: number | undefined;
}

/**
 * What is known at each instruction, when every path there agrees. Jumps only go forward, so one pass in
 * order sees every predecessor of an instruction before the instruction itself.
 */
function knownStates(insns: readonly BpfInstruction[]): Known[] {
  const incoming: Map<string, Known>[] = insns.map(() => new Map());
  const add = (at: number, k: Known) => incoming[at]?.set(`${k.field}/${k.nr}`, k);
  add(0, { field: undefined, nr: undefined });
  const agreed = (states: Known[], key: keyof Known) =>
    new Set(states.map((s) => s[key])).size === 1 ? states[0]?.[key] : undefined;
  return insns.map((i, n) => {
    const states = [...(incoming[n]?.values() ?? [])];
    const here: Known = { field: agreed(states, 'field'), nr: agreed(states, 'nr') };
    for (const s of states) {
      const after = i.code === BPF_LD_W_ABS ? { ...s, field: i.k } : s;
      if (i.code === BPF_RET_K) continue;
      if (i.code === BPF_JMP_JA) add(n + 1 + i.k, after);
      else if (i.code === BPF_LD_W_ABS || i.code === BPF_ALU_AND_K) add(n + 1, after);
      else {
        const matched = i.code === BPF_JMP_JEQ_K && s.field === SECCOMP_DATA.nr ? { ...s, nr: i.k } : s;
        add(n + 1 + i.jt, matched);
        add(n + 1 + i.jf, s);
      }
    }
    return here;
  });
}

const NAMESPACE_FLAGS: ReadonlyMap<number, string> = new Map([
  [CLONE_NEWTIME, 'CLONE_NEWTIME'],
  [CLONE_NEWNS, 'CLONE_NEWNS'],
  [CLONE_NEWCGROUP, 'CLONE_NEWCGROUP'],
  [CLONE_NEWUTS, 'CLONE_NEWUTS'],
  [CLONE_NEWIPC, 'CLONE_NEWIPC'],
  [CLONE_NEWUSER, 'CLONE_NEWUSER'],
  [CLONE_NEWPID, 'CLONE_NEWPID'],
  [CLONE_NEWNET, 'CLONE_NEWNET'],
]);
const FLAG_ARGUMENT_CALLS = new Set(['clone', 'unshare', 'setns']);

/** What the constant of a comparison means, given what is known about A there. */
function constantNote(known: Known, i: BpfInstruction, arch: SeccompArch | undefined): string {
  const { field } = known;
  if (field === SECCOMP_DATA.arch) return ARCH_NAMES.get(i.k) ?? 'unknown architecture';
  if (field === SECCOMP_DATA.nr) {
    if (i.k === X32_SYSCALL_BIT) return 'x32 ABI bit';
    if (i.k === 0xffffffff) return 'no system call (-1)';
    return (arch && syscallName(arch, i.k)) ?? '';
  }
  const call = arch && known.nr !== undefined ? syscallName(arch, known.nr) : undefined;
  if (call && FLAG_ARGUMENT_CALLS.has(call) && field === SECCOMP_DATA.args && i.code === BPF_JMP_JSET_K) {
    return NAMESPACE_FLAGS.get(i.k) ?? '';
  }
  return '';
}

/** A comparison constant as a reader wants it: decimal for numbers and small values, hex for bit masks. */
function formatConstant(code: number, field: number | undefined, k: number): string {
  if (field === SECCOMP_DATA.nr && k < X32_SYSCALL_BIT) return String(k);
  if (code === BPF_JMP_JSET_K || k >= 0x10000) return hex(k);
  return String(k);
}

const COMPARISONS: Readonly<Record<number, string>> = {
  [BPF_JMP_JEQ_K]: 'jeq ',
  [BPF_JMP_JGT_K]: 'jgt ',
  [BPF_JMP_JGE_K]: 'jge ',
  [BPF_JMP_JSET_K]: 'jset',
};

/** One line per instruction; `arch` names the system calls in the comparisons. */
export function describeProgram(program: Uint8Array | readonly BpfInstruction[], arch?: SeccompArch): string[] {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const states = knownStates(insns);
  return insns.map((i, n) => {
    const target = (skip: number) => pad(n + 1 + skip);
    const known = states[n] ?? { field: undefined, nr: undefined };
    const field = known.field;
    let text: string;
    let note = '';
    const op = COMPARISONS[i.code];
    if (op) {
      text = `${op} #${formatConstant(i.code, field, i.k)}, ${target(i.jt)}, ${target(i.jf)}`;
      note = constantNote(known, i, arch);
    } else if (i.code === BPF_LD_W_ABS) {
      text = `ld   [${i.k}]`;
      note = `A = ${describeField(i.k)}`;
    } else if (i.code === BPF_ALU_AND_K) {
      text = `and  #${hex(i.k)}`;
    } else if (i.code === BPF_JMP_JA) {
      text = `ja   ${target(i.k)}`;
    } else if (i.code === BPF_RET_K) {
      text = `ret  ${describeAction(i.k)}`;
    } else {
      text = `.insn code=${hex(i.code)} jt=${i.jt} jf=${i.jf} k=${hex(i.k)}`;
    }
    return `${pad(n)}: ${note ? `${text.padEnd(34)} ${note}` : text}`;
  });
}
