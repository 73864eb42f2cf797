/**
 * Loading a device program into the kernel and attaching it to a cgroup: the bpf(2) system call.
 *
 * bpf(2) is one system call with a command number and a union of argument structs. BPF_PROG_LOAD hands the kernel
 * the instructions (lib/bpf/device-program.ts builds them); its verifier checks them and the call returns a file
 * descriptor for the program. BPF_PROG_ATTACH then ties that program to a cgroup, given a file descriptor of the
 * cgroup's directory, for one hook — here BPF_CGROUP_DEVICE, run before every open and mknod of a device node by a
 * process in that cgroup or below it. The cgroup keeps the program alive: once attached, both descriptors can be
 * closed, and the program goes when the cgroup is removed. BPF_PROG_QUERY asks a cgroup which programs are
 * attached, and BPF_OBJ_GET_INFO_BY_FD reads a program's instructions back, so the host can show what guards a
 * container. All of it needs root (CAP_SYS_ADMIN, or CAP_BPF with CAP_NET_ADMIN).
 *
 * Node has no bpf(2), so the call goes through koffi, the FFI the TypeScript init uses for seccomp and pivot_root.
 * koffi is loaded on first use, so importing this module costs nothing where no program is ever loaded (macOS,
 * cgroup v1 hosts, unit tests).
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { errnoName, SyscallError } from '../init/syscalls.ts';

type Koffi = typeof import('koffi');
type Syscall = (nr: number, ...args: unknown[]) => number | bigint;

const BPF_SYSCALL: Partial<Record<NodeJS.Architecture, number>> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Several programs may be attached to one cgroup, and to its parents: every one of them must allow. */
const BPF_F_ALLOW_MULTI = 2;
/** Big enough for the fields used here; the kernel takes a shorter union than its own as long as it is zeroed. */
const ATTR_SIZE = 128;

interface Bpf {
  koffi: Koffi;
  call: (cmd: number, attr: Buffer, what: string) => number;
}

let bpf: Bpf | undefined;

function load(): Bpf {
  if (bpf) return bpf;
  const nr = BPF_SYSCALL[process.arch];
  if (process.platform !== 'linux' || nr === undefined) {
    throw new Error(`bpf(2) is called here on Linux x86_64 and arm64 only, not ${process.platform} ${process.arch}`);
  }
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const syscall = koffi.load('libc.so.6').func('long syscall(long nr, ...)') as Syscall;
  const call = (cmd: number, attr: Buffer, what: string) => {
    const r = Number(syscall(nr, 'int', cmd, 'uint8_t *', attr, 'unsigned int', attr.length));
    if (r < 0) throw new SyscallError(what, koffi.errno());
    return r;
  };
  bpf = { koffi, call };
  return bpf;
}

const address = (koffi: Koffi, b: Buffer) => BigInt(koffi.address(b));

/**
 * BPF_PROG_LOAD a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its file descriptor. When the verifier refuses it,
 * the call is made again with its log on, and the error carries the verifier's reason.
 */
export function loadDeviceProgram(program: Uint8Array): number {
  const { koffi, call } = load();
  const insns = Buffer.from(program);
  const license = Buffer.from('MIT\0');
  const attempt = (log?: Buffer) => {
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
    attr.writeUInt32LE(program.length / 8, 4);
    attr.writeBigUInt64LE(address(koffi, insns), 8);
    attr.writeBigUInt64LE(address(koffi, license), 16);
    if (log) {
      attr.writeUInt32LE(1, 24); // log_level
      attr.writeUInt32LE(log.length, 28);
      attr.writeBigUInt64LE(address(koffi, log), 32);
    }
    attr.write('scr_devices', 48); // prog_name: shown by bpftool
    return call(BPF_PROG_LOAD, attr, 'bpf(BPF_PROG_LOAD, cgroup_device)');
  };
  try {
    return attempt();
  } catch (error) {
    if (!(error instanceof SyscallError) || !['EACCES', 'EINVAL'].includes(errnoName(error.errno))) throw error;
    const log = Buffer.alloc(64 * 1024);
    try {
      return attempt(log);
    } catch {
      const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim();
      throw new Error(`the kernel's verifier refused the device program: ${text || error.message}`, { cause: error });
    }
  }
}

/** Open a cgroup's directory for bpf(2); the caller closes it. */
function openCgroup(dir: string): number {
  return fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

/** BPF_PROG_ATTACH the program to the cgroup at `dir` as its device hook. */
export function attachDeviceProgram(dir: string, programFd: number): void {
  const { call } = load();
  const cgroupFd = openCgroup(dir);
  try {
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(cgroupFd, 0);
    attr.writeUInt32LE(programFd, 4);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attr.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
    call(BPF_PROG_ATTACH, attr, `bpf(BPF_PROG_ATTACH, ${dir}, BPF_CGROUP_DEVICE)`);
  } finally {
    fs.closeSync(cgroupFd);
  }
}

/** Load the program and attach it to the cgroup at `dir`; the cgroup holds it from then on. */
export function attachDeviceFilter(dir: string, program: Uint8Array): void {
  const fd = loadDeviceProgram(program);
  try {
    attachDeviceProgram(dir, fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The ids of the device programs attached to the cgroup at `dir` itself (not those of its parents). */
export function attachedDeviceProgramIds(dir: string): number[] {
  const { koffi, call } = load();
  const cgroupFd = openCgroup(dir);
  try {
    const ids = Buffer.alloc(64 * 4);
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(cgroupFd, 0);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
    attr.writeBigUInt64LE(address(koffi, ids), 16);
    attr.writeUInt32LE(64, 24);
    call(BPF_PROG_QUERY, attr, `bpf(BPF_PROG_QUERY, ${dir})`);
    return Array.from({ length: attr.readUInt32LE(24) }, (_, i) => ids.readUInt32LE(i * 4));
  } finally {
    fs.closeSync(cgroupFd);
  }
}

/** A loaded program's instructions, as the kernel holds them after its verifier (`bpftool prog dump xlated`). */
export function programInstructions(id: number): Uint8Array {
  const { koffi, call } = load();
  const byId = Buffer.alloc(ATTR_SIZE);
  byId.writeUInt32LE(id, 0);
  const fd = call(BPF_PROG_GET_FD_BY_ID, byId, `bpf(BPF_PROG_GET_FD_BY_ID, ${id})`);
  try {
    const infoOf = (insns?: Buffer) => {
      // struct bpf_prog_info: xlated_prog_len at 20, xlated_prog_insns at 32.
      const info = Buffer.alloc(256);
      if (insns) {
        info.writeUInt32LE(insns.length, 20);
        info.writeBigUInt64LE(address(koffi, insns), 32);
      }
      const attr = Buffer.alloc(ATTR_SIZE);
      attr.writeUInt32LE(fd, 0);
      attr.writeUInt32LE(info.length, 4);
      attr.writeBigUInt64LE(address(koffi, info), 8);
      call(BPF_OBJ_GET_INFO_BY_FD, attr, `bpf(BPF_OBJ_GET_INFO_BY_FD, program ${id})`);
      return info;
    };
    const length = infoOf().readUInt32LE(20);
    const insns = Buffer.alloc(length);
    infoOf(insns);
    return new Uint8Array(insns);
  } finally {
    fs.closeSync(fd);
  }
}
