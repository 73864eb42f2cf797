/**
 * A tiny assembler for classic BPF, the language seccomp filters are written in.
 *
 * Classic BPF is a very small machine: one 32-bit accumulator A, a read-only input (for seccomp,
 * `struct seccomp_data`), and instructions that load a word of the input into A, mask it, compare it with a
 * constant and jump *forward* on the result, or return a value. There are no backward jumps, so every program
 * ends, and the kernel checks that before it accepts one. Each instruction is 8 bytes, `struct sock_filter`:
 * `{ u16 code; u8 jt; u8 jf; u32 k }` — the operation, how many instructions to skip when a comparison is true
 * (jt) or false (jf), and the constant. Conditional jumps can skip at most 255 instructions; `ja` (jump always)
 * takes its distance from the 32-bit k instead.
 *
 * Only the handful of instructions a seccomp filter needs are here, each with a name, and jumps may name a
 * label instead of counting instructions by hand; `assemble` resolves the labels into distances.
 */

/** One `struct sock_filter`. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Opcodes: class | size | mode (loads), class | operation | source (ALU and jumps). */
export const BPF_LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k
export const BPF_ALU_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K: A &= k
export const BPF_JMP_JA = 0x05; // BPF_JMP | BPF_JA: skip k instructions
export const BPF_JMP_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K: A == k ?
export const BPF_JMP_JGT_K = 0x25; // BPF_JMP | BPF_JGT | BPF_K: A > k ? (unsigned)
export const BPF_JMP_JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K: A >= k ? (unsigned)
export const BPF_JMP_JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K: (A & k) != 0 ?
export const BPF_RET_K = 0x06; // BPF_RET | BPF_K: return k

/** Where a jump goes: a number of instructions to skip, or a label. */
export type JumpTarget = number | { label: string };

/** One line of an assembly listing: an instruction whose jumps may still name labels, or a label. */
export type AsmItem =
  { kind: 'label'; name: string } | { kind: 'insn'; code: number; k: number; jt: JumpTarget; jf: JumpTarget };

const insn = (code: number, k: number, jt: JumpTarget = 0, jf: JumpTarget = 0): AsmItem => ({
  kind: 'insn',
  code,
  k: k >>> 0,
  jt,
  jf,
});

/** `ld [offset]`: load the 32-bit word at `offset` of seccomp_data into A. */
export const ld = (offset: number): AsmItem => insn(BPF_LD_W_ABS, offset);
/** `and #k`: A &= k. */
export const and = (k: number): AsmItem => insn(BPF_ALU_AND_K, k);
/** `jeq #k, jt, jf`. */
export const jeq = (k: number, jt: JumpTarget, jf: JumpTarget): AsmItem => insn(BPF_JMP_JEQ_K, k, jt, jf);
/** `jgt #k, jt, jf` (unsigned). */
export const jgt = (k: number, jt: JumpTarget, jf: JumpTarget): AsmItem => insn(BPF_JMP_JGT_K, k, jt, jf);
/** `jge #k, jt, jf` (unsigned). */
export const jge = (k: number, jt: JumpTarget, jf: JumpTarget): AsmItem => insn(BPF_JMP_JGE_K, k, jt, jf);
/** `jset #k, jt, jf`: true when A has any bit of k. */
export const jset = (k: number, jt: JumpTarget, jf: JumpTarget): AsmItem => insn(BPF_JMP_JSET_K, k, jt, jf);
/** `ja target`: jump always (its distance may exceed 255). */
export const ja = (target: JumpTarget): AsmItem => ({ kind: 'insn', code: BPF_JMP_JA, k: 0, jt: target, jf: 0 });
/** `ret #k`: end the program with this seccomp action. */
export const ret = (k: number): AsmItem => insn(BPF_RET_K, k);
/** A place jumps can name. */
export const label = (name: string): AsmItem => ({ kind: 'label', name });
/** A jump target naming a label. */
export const to = (name: string): JumpTarget => ({ label: name });

/** How many real instructions a listing holds (labels take no space). */
export function instructionCount(items: readonly AsmItem[]): number {
  return items.filter((i) => i.kind === 'insn').length;
}

/** Resolve labels into forward distances. Throws on a missing or backward label, or a jump too far for jt/jf. */
export function assemble(items: readonly AsmItem[]): BpfInstruction[] {
  const labels = new Map<string, number>();
  let index = 0;
  for (const item of items) {
    if (item.kind === 'label') {
      if (labels.has(item.name)) throw new Error(`BPF label ${item.name} defined twice`);
      labels.set(item.name, index);
    } else {
      index++;
    }
  }
  const out: BpfInstruction[] = [];
  for (const item of items) {
    if (item.kind === 'label') continue;
    const here = out.length;
    const distance = (target: JumpTarget): number => {
      if (typeof target === 'number') return target;
      const at = labels.get(target.label);
      if (at === undefined) throw new Error(`BPF label ${target.label} is not defined`);
      return at - (here + 1);
    };
    if (item.code === BPF_JMP_JA) {
      const k = distance(item.jt);
      if (k < 0) throw new Error(`BPF jump at ${here} goes backwards`);
      out.push({ code: item.code, jt: 0, jf: 0, k });
      continue;
    }
    const jt = distance(item.jt);
    const jf = distance(item.jf);
    for (const d of [jt, jf]) {
      if (d < 0 || d > 255) throw new Error(`BPF conditional jump at ${here} spans ${d} instructions (0–255 allowed)`);
    }
    out.push({ code: item.code, jt, jf, k: item.k });
  }
  return out;
}

/** The bytes the kernel reads: 8 per instruction, little-endian (both architectures here are). */
export function encodeProgram(program: readonly BpfInstruction[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(program.length * 8));
  program.forEach((i, n) => {
    view.setUint16(n * 8, i.code, true);
    view.setUint8(n * 8 + 2, i.jt);
    view.setUint8(n * 8 + 3, i.jf);
    view.setUint32(n * 8 + 4, i.k >>> 0, true);
  });
  return new Uint8Array(view.buffer);
}

/** The instructions in a program's bytes. */
export function decodeProgram(bytes: Uint8Array): BpfInstruction[] {
  if (bytes.length % 8 !== 0) throw new Error(`a BPF program is a multiple of 8 bytes, not ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInstruction[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}
