/**
 * A classic-BPF interpreter and checker for seccomp programs, written from the kernel's rules, so tests can run
 * a filter on made-up system calls without installing it. Only the instructions a seccomp filter may use are
 * accepted; anything else is an error, as it is for the kernel's checker.
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
  type BpfInstruction,
} from '../../lib/seccomp/bpf.ts';
import { BPF_MAXINSNS } from '../../lib/seccomp/constants.ts';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: readonly bigint[];
}

/** `struct seccomp_data` as the kernel lays it out on a little-endian machine. */
export function seccompDataBytes(d: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(64));
  view.setInt32(0, d.nr, true);
  view.setUint32(4, d.arch, true);
  view.setBigUint64(8, d.instructionPointer ?? 0n, true);
  for (let i = 0; i < 6; i++) view.setBigUint64(16 + i * 8, BigInt.asUintN(64, d.args?.[i] ?? 0n), true);
  return view;
}

/** The kernel's acceptance checks (seccomp_check_filter / bpf_check_classic), the ones that can matter here. */
export function checkSeccompProgram(program: readonly BpfInstruction[]): void {
  if (program.length === 0 || program.length > BPF_MAXINSNS) throw new Error(`bad length ${program.length}`);
  program.forEach((i, n) => {
    switch (i.code) {
      case BPF_LD_W_ABS:
        if (i.k % 4 !== 0 || i.k >= 64) throw new Error(`${n}: load from offset ${i.k} outside seccomp_data`);
        break;
      case BPF_ALU_AND_K:
      case BPF_RET_K:
        break;
      case BPF_JMP_JA:
        if (n + 1 + i.k >= program.length) throw new Error(`${n}: ja past the end`);
        break;
      case BPF_JMP_JEQ_K:
      case BPF_JMP_JGT_K:
      case BPF_JMP_JGE_K:
      case BPF_JMP_JSET_K:
        if (n + 1 + Math.max(i.jt, i.jf) >= program.length) throw new Error(`${n}: jump past the end`);
        break;
      default:
        throw new Error(`${n}: opcode 0x${i.code.toString(16)} is not allowed in a seccomp filter`);
    }
  });
  if (program[program.length - 1]?.code !== BPF_RET_K) throw new Error('the last instruction is not a return');
}

/** Run a program on one system call; returns the 32-bit seccomp action. */
export function runSeccompProgram(program: readonly BpfInstruction[], data: SeccompData): number {
  const input = seccompDataBytes(data);
  let a = 0;
  for (let pc = 0; pc < program.length;) {
    const i = program[pc];
    if (!i) break;
    pc++;
    switch (i.code) {
      case BPF_LD_W_ABS:
        a = input.getUint32(i.k, true);
        break;
      case BPF_ALU_AND_K:
        a = (a & i.k) >>> 0;
        break;
      case BPF_JMP_JA:
        pc += i.k;
        break;
      case BPF_JMP_JEQ_K:
        pc += a === i.k >>> 0 ? i.jt : i.jf;
        break;
      case BPF_JMP_JGT_K:
        pc += a > i.k >>> 0 ? i.jt : i.jf;
        break;
      case BPF_JMP_JGE_K:
        pc += a >= i.k >>> 0 ? i.jt : i.jf;
        break;
      case BPF_JMP_JSET_K:
        pc += (a & i.k) !== 0 ? i.jt : i.jf;
        break;
      case BPF_RET_K:
        return i.k >>> 0;
      default:
        throw new Error(`unknown opcode 0x${i.code.toString(16)}`);
    }
  }
  throw new Error('ran off the end of the program');
}
