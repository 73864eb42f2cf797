/**
 * The numbers a seccomp filter is made of: the layout of the data the kernel hands the filter, the values the
 * filter may return, the architecture tags, and the prctl/seccomp options that install it — each from the
 * kernel's UAPI headers (linux/seccomp.h, linux/audit.h, linux/elf-em.h, linux/prctl.h, linux/sched.h).
 */

/**
 * `struct seccomp_data`, the input of every filter run, in bytes. All fields are in the machine's byte order;
 * both architectures here are little-endian, so the low half of a 64-bit argument comes first.
 */
export const SECCOMP_DATA = {
  /** int nr: the system call number. */
  nr: 0,
  /** u32 arch: an AUDIT_ARCH_* value naming the calling convention the call came in with. */
  arch: 4,
  /** u64 instruction_pointer: where the call was made from. */
  instructionPointer: 8,
  /** u64 args[6]: the raw argument registers. */
  args: 16,
  size: 64,
} as const;

/** Offset of the low (`half = 'low'`) or high 32 bits of argument `index` in seccomp_data. */
export function argOffset(index: number, half: 'low' | 'high'): number {
  if (!Number.isInteger(index) || index < 0 || index > 5) throw new Error(`system call argument ${index} is not 0–5`);
  return SECCOMP_DATA.args + index * 8 + (half === 'low' ? 0 : 4);
}

/**
 * What a filter returns: an action in the top 16 bits, data (the errno for ERRNO) in the low 16. When several
 * filters are stacked, the kernel takes the most severe answer, in this order from KILL_PROCESS down to ALLOW.
 */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** Installing a filter: prctl(PR_SET_NO_NEW_PRIVS, 1) first, then seccomp(2) or prctl(PR_SET_SECCOMP). */
export const PR_SET_SECCOMP = 22;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_SET_NO_NEW_PRIVS = 38;
export const SECCOMP_MODE_FILTER = 2;
export const SECCOMP_SET_MODE_FILTER = 1;
/** seccomp(2) flag: apply the filter to every thread of the process, not just the caller. */
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
/** The kernel refuses programs longer than this (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** The AUDIT_ARCH_* tags: ELF machine number | 64-bit flag | little-endian flag. */
const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;
export const AUDIT_ARCH_X86_64 = (62 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0; // EM_X86_64
export const AUDIT_ARCH_AARCH64 = (183 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0; // EM_AARCH64
export const AUDIT_ARCH_I386 = (3 | AUDIT_ARCH_LE) >>> 0; // EM_386: int 0x80 from a 64-bit process
export const AUDIT_ARCH_ARM = (40 | AUDIT_ARCH_LE) >>> 0; // EM_ARM: 32-bit code on arm64

/** On x86_64, this bit in the number marks a call made with the x32 ABI (`__X32_SYSCALL_BIT`). */
export const X32_SYSCALL_BIT = 0x40000000;

/** errno values (the same on x86_64 and aarch64, asm-generic/errno-base.h and errno.h). */
export const EPERM = 1;
export const ENOSYS = 38;

/** The namespace flags of clone(2), unshare(2) and setns(2) (linux/sched.h). */
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
/** Thread-creation flags libc passes to clone(2) for pthread_create; none of them makes a namespace. */
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_THREAD = 0x00010000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_PARENT_SETTID = 0x00100000;
export const CLONE_CHILD_CLEARTID = 0x00200000;
export const CLONE_CHILD_SETTID = 0x01000000;
export const SIGCHLD = 17;

/** Address families docker's profile refuses in socket(2) (linux/socket.h). */
export const AF_ALG = 38;
export const AF_VSOCK = 40;
