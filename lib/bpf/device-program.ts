/**
 * The device cgroup on cgroup v2: a BPF program the kernel runs on every open and mknod of a device node.
 *
 * cgroup v2 dropped v1's devices.allow and devices.deny files. Instead a program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE is attached to the cgroup (lib/bpf/load.ts), and before a process inside opens or
 * makes a device node the kernel runs it with a three-word input, `struct bpf_cgroup_dev_ctx`: `access_type`
 * (the device type in its low 16 bits — 1 block, 2 character — and the access asked for in its high 16 — 1 mknod,
 * 2 read, 4 write), `major` and `minor`. The program returns 1 to allow and 0 to refuse (the caller gets EPERM).
 *
 * The program is built from the rules' final state (lib/cgroups/device-emulator.ts folds the list the way
 * cgroup v1 would, as runc does), so a container gets the same answers on both versions. It reads the input into
 * r2–r5 once, then tests one exception after another: a block that jumps to the next one on the first field that
 * does not match, and returns the exception's answer when all do; after the last, the default. Under docker's
 * deny default an exception matches when it grants *every* letter asked for; under an allow default, when it names
 * *any* of them — the two rules v1 itself applies.
 */
import type { DeviceException, DeviceRequest, DeviceState } from '../cgroups/device-emulator.ts';
import {
  decodeEbpf,
  encodeEbpf,
  exit,
  andImm,
  formatEbpf,
  jeqImm,
  jneImm,
  jneReg,
  loadWord,
  movImm,
  movReg,
  rshImm,
  BPF_EXIT,
  BPF_JMP,
  type EbpfInstruction,
} from './ebpf.ts';

/** `struct bpf_cgroup_dev_ctx`'s type values (BPF_DEVCG_DEV_*). */
export const DEVCG_DEV = { b: 1, c: 2 } as const;
/** Its access bits (BPF_DEVCG_ACC_*). */
export const DEVCG_ACC = { m: 1, r: 2, w: 4 } as const;

const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;

/** The access letters as the kernel's bit mask. */
export function accessMask(access: string): number {
  return [...access].reduce((m, c) => m | (DEVCG_ACC[c as keyof typeof DEVCG_ACC] ?? 0), 0);
}

/** Read the input once: r2 = type, r3 = access, r4 = major, r5 = minor (r1 is free afterwards). */
const PROLOGUE: readonly EbpfInstruction[] = [
  loadWord(R_TYPE, 1, 0),
  andImm(R_TYPE, 0xffff),
  loadWord(R_ACCESS, 1, 0),
  rshImm(R_ACCESS, 16),
  loadWord(R_MAJOR, 1, 4),
  loadWord(R_MINOR, 1, 8),
];

/** One exception: its tests, each jumping past the block when its field differs, then the exception's answer. */
function exceptionBlock(e: DeviceException, defaultAllow: boolean): EbpfInstruction[] {
  const NEXT = 0; // a jump's offset, filled in below once the block's length is known
  const tests: EbpfInstruction[] = [jneImm(R_TYPE, DEVCG_DEV[e.type], NEXT)];
  const mask = accessMask(e.access);
  if (mask !== 0b111) {
    tests.push(movReg(1, R_ACCESS), andImm(1, mask));
    // Deny default: every letter asked for must be granted, (access & mask) == access. Allow default: any letter
    // named refuses, (access & mask) != 0.
    tests.push(defaultAllow ? jeqImm(1, 0, NEXT) : jneReg(1, R_ACCESS, NEXT));
  }
  if (e.major !== undefined) tests.push(jneImm(R_MAJOR, e.major, NEXT));
  if (e.minor !== undefined) tests.push(jneImm(R_MINOR, e.minor, NEXT));
  const block = [...tests, movImm(0, defaultAllow ? 0 : 1), exit()];
  return block.map((i, n) => (isJump(i) ? { ...i, off: block.length - n - 1 } : i));
}

const isJump = (i: EbpfInstruction) => (i.code & 0x07) === BPF_JMP && i.code !== (BPF_JMP | BPF_EXIT);

/** The program for a device state, as instructions. */
export function deviceProgramInstructions(state: DeviceState): EbpfInstruction[] {
  return [
    ...PROLOGUE,
    ...state.exceptions.flatMap((e) => exceptionBlock(e, state.defaultAllow)),
    movImm(0, state.defaultAllow ? 1 : 0),
    exit(),
  ];
}

/** The program for a device state, as the bytes bpf(BPF_PROG_LOAD) takes. */
export function deviceProgram(state: DeviceState): Uint8Array {
  return encodeEbpf(deviceProgramInstructions(state));
}

/** The program as text, one instruction a line, numbered: what a lesson shows. */
export function describeDeviceProgram(bytes: Uint8Array): string[] {
  return decodeEbpf(bytes).map((i, n) => `${String(n).padStart(3)}: ${formatEbpf(i)}`);
}

/**
 * Read a program this module built back into the state it enforces — the check that generator and decoder agree,
 * and a way to show what a program attached to a cgroup allows. Throws on anything it did not build.
 */
export function decodeDeviceProgram(bytes: Uint8Array): DeviceState {
  const insns = decodeEbpf(bytes);
  const same = (a: EbpfInstruction | undefined, b: EbpfInstruction) =>
    !!a && a.code === b.code && a.dst === b.dst && a.src === b.src && a.off === b.off && a.imm === b.imm;
  if (!PROLOGUE.every((p, n) => same(insns[n], p))) throw new Error('not a device program: unknown prologue');
  const last = insns.at(-2);
  if (!last || !same(insns.at(-1), exit()) || last.dst !== 0) throw new Error('not a device program: no default');
  const defaultAllow = last.imm === 1;
  const exceptions: DeviceException[] = [];
  let pc = PROLOGUE.length;
  while (pc < insns.length - 2) {
    const e: Partial<DeviceException> & { access: string } = { access: 'rwm' };
    for (;;) {
      const i = insns[pc];
      if (!i) throw new Error(`not a device program: ends inside a block at ${pc}`);
      if (same(i, movImm(0, defaultAllow ? 0 : 1)) && same(insns[pc + 1], exit())) {
        pc += 2;
        break;
      }
      if (i.dst === R_TYPE) e.type = i.imm === DEVCG_DEV.b ? 'b' : 'c';
      else if (i.dst === R_MAJOR) e.major = i.imm;
      else if (i.dst === R_MINOR) e.minor = i.imm;
      else if (same(i, movReg(1, R_ACCESS))) {
        const mask = insns[pc + 1]?.imm ?? 0;
        e.access = (['r', 'w', 'm'] as const).filter((c) => mask & DEVCG_ACC[c]).join('');
        pc += 2;
      } else throw new Error(`not a device program: unexpected ${formatEbpf(i)} at ${pc}`);
      pc += 1;
    }
    if (!e.type) throw new Error('not a device program: a block without a type test');
    exceptions.push({
      type: e.type,
      ...(e.major === undefined ? {} : { major: e.major }),
      ...(e.minor === undefined ? {} : { minor: e.minor }),
      access: e.access,
    });
  }
  return { defaultAllow, exceptions };
}

/** `struct bpf_cgroup_dev_ctx` for a request, as the kernel fills it in: 12 bytes. */
export function deviceContext(req: DeviceRequest): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, ((accessMask(req.access) << 16) | DEVCG_DEV[req.type]) >>> 0, true);
  view.setUint32(4, req.major, true);
  view.setUint32(8, req.minor, true);
  return bytes;
}
