/**
 * Seccomp: a filter the kernel runs on every system call a process makes.
 *
 * Capabilities decide what a process may do *with* a system call; seccomp decides which system calls it may
 * make at all, and with which arguments. A container's attack surface is the kernel itself — every process in
 * every container talks to the same kernel — and most of its 460-odd system calls are never needed by an
 * ordinary program. A filter shuts the rarely-needed, dangerous ones (mounts, namespaces, kernel modules,
 * keyrings, bpf, userfaultfd, io_uring), so a kernel bug behind one of them is out of reach.
 *
 * The filter is a small program in classic BPF (bpf.ts). On every system call the kernel runs it with a
 * `struct seccomp_data` as input — `nr` (the call's number), `arch` (which calling convention it came in by),
 * `instruction_pointer`, and the six raw argument registers `args[0..5]` — and the program returns an action:
 * ALLOW, ERRNO(n) (the call fails with that errno without running), KILL_PROCESS, and a few more. Two things
 * make it subtle. Numbers mean nothing without `arch`: a 64-bit process can still enter the kernel through the
 * 32-bit convention, with a different table, so the program checks `arch` first and kills anything foreign.
 * And on x86_64 the x32 ABI gives every call a second number (bit 30 set), so the program refuses those too.
 *
 * A filter is installed with seccomp(2) after prctl(PR_SET_NO_NEW_PRIVS, 1) — without that, only a process with
 * CAP_SYS_ADMIN may install one, since a filter could otherwise trick a setuid program — and then it can never
 * be removed or loosened, by the process or any child; execve keeps it. `/proc/<pid>/status` shows `Seccomp: 2`.
 * The container's init installs it last, right before execve, so its own work (mounting, pivot_root,
 * sethostname) is done first.
 *
 * Modules: constants.ts (kernel numbers), syscalls.ts (per-architecture tables), bpf.ts (assembler),
 * profile.ts (profiles and the default one), compile.ts (profile → BPF), describe.ts (BPF → a listing),
 * oci.ts (the OCI `linux.seccomp` object).
 */
export * from './constants.ts';
export { assemble, decodeProgram, encodeProgram, type BpfInstruction } from './bpf.ts';
export { hostSeccompArch, syscallName, syscallNumber, SECCOMP_ARCHES, type SeccompArch } from './syscalls.ts';
export {
  ALLOW,
  ALLOWED_ON_PURPOSE,
  KILL_PROCESS,
  defaultSeccompProfile,
  errnoAction,
  type ArgCondition,
  type ArgOp,
  type DefaultProfileOptions,
  type SeccompAction,
  type SeccompProfile,
  type SeccompRule,
} from './profile.ts';
export { actionValue, buildSeccompProgram, compileSeccompProfile } from './compile.ts';
export { describeAction, describeProgram } from './describe.ts';
export {
  fromOciSeccomp,
  ociArches,
  parseSeccompOption,
  toOciSeccomp,
  type OciSeccomp,
  type OciSeccompSyscall,
  type SeccompOption,
} from './oci.ts';
