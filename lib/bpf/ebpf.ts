/**
 * eBPF instructions as bytes: the little language the kernel runs for cgroup device checks.
 *
 * An eBPF program is an array of 8-byte instructions for a small virtual machine with eleven 64-bit registers
 * (r0 holds the answer, r1 points at the program's input when it starts, r10 at its stack). Each instruction is
 * an opcode byte (instruction class, operation, and whether the second operand is a register or the immediate),
 * a byte holding the destination and source register numbers, a signed 16-bit jump offset counted in
 * instructions from the next one, and a signed 32-bit immediate. The kernel's verifier checks a program before
 * it accepts it — every jump lands inside it, no loop, every read within its input — so a program built here
 * either runs as written or is refused at load time with the verifier's reason.
 *
 * Only what lib/bpf/device-program.ts needs is here: loads from the input, `and`, `>>`, `mov`, conditional
 * jumps on equality, and `exit`. (lib/seccomp has the older *classic* BPF, which seccomp filters still use.)
 */

export interface EbpfInstruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Instruction classes, sizes, modes, operations and sources, from the kernel's include/uapi/linux/bpf.h.
export const BPF_LDX = 0x01;
export const BPF_ALU64 = 0x07;
export const BPF_JMP = 0x05;
export const BPF_W = 0x00;
export const BPF_MEM = 0x60;
export const BPF_AND = 0x50;
export const BPF_RSH = 0x70;
export const BPF_MOV = 0xb0;
export const BPF_JEQ = 0x10;
export const BPF_JNE = 0x50;
export const BPF_EXIT = 0x90;
/** The second operand is the immediate (K) or the source register (X). */
export const BPF_K = 0x00;
export const BPF_X = 0x08;

const insn = (code: number, dst: number, src: number, off: number, imm: number): EbpfInstruction => ({
  code,
  dst,
  src,
  off,
  imm,
});

/** dst = *(u32 *)(src + off) */
export const loadWord = (dst: number, src: number, off: number) => insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
/** dst &= imm */
export const andImm = (dst: number, imm: number) => insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
/** dst >>= imm */
export const rshImm = (dst: number, imm: number) => insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
/** dst = imm */
export const movImm = (dst: number, imm: number) => insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
/** dst = src */
export const movReg = (dst: number, src: number) => insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
/** if dst != imm: skip `off` instructions */
export const jneImm = (dst: number, imm: number, off: number) => insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
/** if dst != src: skip `off` instructions */
export const jneReg = (dst: number, src: number, off: number) => insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0);
/** if dst == imm: skip `off` instructions */
export const jeqImm = (dst: number, imm: number, off: number) => insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm);
/** return r0 */
export const exit = () => insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

/** The program as the kernel takes it: 8 bytes per instruction, little-endian (as on x86_64 and arm64). */
export function encodeEbpf(program: readonly EbpfInstruction[]): Uint8Array {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((i, n) => {
    view.setUint8(n * 8, i.code);
    view.setUint8(n * 8 + 1, ((i.src & 0xf) << 4) | (i.dst & 0xf));
    view.setInt16(n * 8 + 2, i.off, true);
    view.setInt32(n * 8 + 4, i.imm, true);
  });
  return bytes;
}

export function decodeEbpf(bytes: Uint8Array): EbpfInstruction[] {
  if (bytes.length % 8 !== 0) throw new Error(`an eBPF program is 8 bytes per instruction, not ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, n) => {
    const regs = view.getUint8(n * 8 + 1);
    return insn(
      view.getUint8(n * 8),
      regs & 0xf,
      regs >> 4,
      view.getInt16(n * 8 + 2, true),
      view.getInt32(n * 8 + 4, true),
    );
  });
}

/** One instruction as the kernel's verifier log and `bpftool prog dump xlated` print it. */
export function formatEbpf(i: EbpfInstruction): string {
  const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
  switch (i.code) {
    case BPF_LDX | BPF_MEM | BPF_W:
      return `r${i.dst} = *(u32 *)(r${i.src} + ${i.off})`;
    case BPF_ALU64 | BPF_AND | BPF_K:
      return `r${i.dst} &= ${hex(i.imm)}`;
    case BPF_ALU64 | BPF_RSH | BPF_K:
      return `r${i.dst} >>= ${i.imm}`;
    case BPF_ALU64 | BPF_MOV | BPF_K:
      return `r${i.dst} = ${i.imm}`;
    case BPF_ALU64 | BPF_MOV | BPF_X:
      return `r${i.dst} = r${i.src}`;
    case BPF_JMP | BPF_JNE | BPF_K:
      return `if r${i.dst} != ${hex(i.imm)} goto +${i.off}`;
    case BPF_JMP | BPF_JNE | BPF_X:
      return `if r${i.dst} != r${i.src} goto +${i.off}`;
    case BPF_JMP | BPF_JEQ | BPF_K:
      return `if r${i.dst} == ${hex(i.imm)} goto +${i.off}`;
    case BPF_JMP | BPF_EXIT:
      return 'exit';
    default:
      return `(unknown opcode ${hex(i.code)})`;
  }
}
