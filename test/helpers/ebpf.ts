/**
 * A tiny eBPF interpreter for tests: runs a program from lib/bpf on a made-up input, as the kernel would run it
 * on `struct bpf_cgroup_dev_ctx`, without loading anything. Only the instructions lib/bpf emits are accepted, and
 * it checks what the kernel's verifier would refuse: jumps out of the program, reads outside the input, falling
 * off the end, a backward jump (a loop).
 */
import {
  BPF_ALU64,
  BPF_AND,
  BPF_EXIT,
  BPF_JEQ,
  BPF_JMP,
  BPF_JNE,
  BPF_K,
  BPF_LDX,
  BPF_MEM,
  BPF_MOV,
  BPF_RSH,
  BPF_W,
  BPF_X,
  decodeEbpf,
} from '../../lib/bpf/ebpf.ts';

const MASK64 = (1n << 64n) - 1n;
const signExtend = (imm: number) => BigInt(imm) & MASK64;

/** Run `program` with r1 pointing at `input`; returns r0. */
export function runEbpf(program: Uint8Array, input: Uint8Array): bigint {
  const insns = decodeEbpf(program);
  const r = new Array<bigint>(11).fill(0n);
  const CTX = 0x1000n; // r1: a pointer to the input
  r[1] = CTX;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let steps = 0;
  for (let pc = 0; ; pc++) {
    const i = insns[pc];
    if (!i) throw new Error(`fell off the end of the program at ${pc}`);
    if (++steps > 4096) throw new Error('too many steps');
    const reg = (n: number) => r[n] ?? 0n;
    const operand = (i.code & BPF_X) === BPF_X ? reg(i.src) : signExtend(i.imm);
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        const at = Number(reg(i.src) - CTX) + i.off;
        if (reg(i.src) !== CTX || at < 0 || at + 4 > input.byteLength)
          throw new Error(`read outside the input at ${pc}`);
        r[i.dst] = BigInt(view.getUint32(at, true));
        continue;
      }
      case BPF_ALU64 | BPF_AND | BPF_K:
        r[i.dst] = reg(i.dst) & operand;
        continue;
      case BPF_ALU64 | BPF_RSH | BPF_K:
        r[i.dst] = reg(i.dst) >> BigInt(i.imm);
        continue;
      case BPF_ALU64 | BPF_MOV | BPF_K:
      case BPF_ALU64 | BPF_MOV | BPF_X:
        r[i.dst] = operand;
        continue;
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_X:
      case BPF_JMP | BPF_JEQ | BPF_K: {
        if (i.off < 0) throw new Error(`backward jump at ${pc}`);
        if (pc + 1 + i.off >= insns.length) throw new Error(`jump out of the program at ${pc}`);
        const equal = reg(i.dst) === operand;
        if ((i.code & 0xf0) === BPF_JEQ ? equal : !equal) pc += i.off;
        continue;
      }
      case BPF_JMP | BPF_EXIT:
        return reg(0);
      default:
        throw new Error(`instruction ${i.code.toString(16)} at ${pc} is not one lib/bpf emits`);
    }
  }
}
