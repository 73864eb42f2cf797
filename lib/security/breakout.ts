/**
 * Lesson 11's attack kit, seen from the host: where it goes in a container, and how its answers are read.
 *
 * To show what a hardening step stops, lesson 11 attacks its own containers from inside with `breakout`
 * (rootfs-scripts/breakout.c): a static program that makes one system call per attempt — chroot, mount, mknod,
 * settimeofday, init_module, unshare, keyctl, … — and prints the kernel's answer, `ok` or the errno's name
 * (EPERM: "operation not permitted"). It reaches a container the way any program does, in an image layer: a
 * directory holding `usr/bin/breakout`, and a setuid-root copy, `breakout-suid`, standing for the su, ping
 * or passwd a real image carries. The overlay puts that layer on top of the rootfs, read-only, so every container
 * of the lesson has the kit and the rootfs stays untouched.
 *
 * The host reads a container's privileges where the kernel shows them, /proc/<pid>/status: the five capability
 * sets (CapInh, CapPrm, CapEff, CapBnd, CapAmb), NoNewPrivs, and Seccomp (0: no filter, 2: a filter).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BreakoutPaths {
  /** rootfs-scripts/breakout.c in this checkout. */
  source: string;
  /** Where rootfs-scripts/breakout.ts builds it: dist/, next to the init bundle. */
  binary: string;
  /** The hash of the source it was built from. */
  stamp: string;
}

/**
 * The kit's files in this checkout. A function, not constants: the init bundle takes this module in (through
 * lib/preflight.ts) and has no `import.meta` to find the checkout with, so nothing here may ask at load time.
 */
export function breakoutPaths(): BreakoutPaths {
  // Up to the checkout's package.json: this module is lib/security/breakout.ts, or a chunk in dist/ when compiled.
  let root = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root) root = path.dirname(root);
  const binary = path.join(root, 'dist', 'breakout');
  return { source: path.join(root, 'rootfs-scripts', 'breakout.c'), binary, stamp: `${binary}.sha256` };
}

/** The fix when gcc or its static C library is missing. */
export const BREAKOUT_FIX = 'apt-get install -y gcc libc6-dev   (or: npm run setup)';

export function breakoutSourceHash(): string {
  return crypto.createHash('sha256').update(fs.readFileSync(breakoutPaths().source)).digest('hex');
}

/** Whether dist/breakout exists and was built from the breakout.c in this checkout. */
export function breakoutIsFresh(): boolean {
  const { binary, stamp } = breakoutPaths();
  try {
    return fs.existsSync(binary) && fs.readFileSync(stamp, 'utf8').trim() === breakoutSourceHash();
  } catch {
    return false;
  }
}

/** The static C libraries gcc links against, by architecture (Debian's libc6-dev). */
const STATIC_LIBC = ['/usr/lib/x86_64-linux-gnu/libc.a', '/usr/lib/aarch64-linux-gnu/libc.a', '/usr/lib/libc.a'];

/** Whether this machine can build it: gcc on `searchPath` and a static C library. */
export function canBuildBreakout(searchPath: string, exists: (p: string) => boolean = fs.existsSync): boolean {
  const gcc = searchPath.split(':').some((d) => d !== '' && exists(path.join(d, 'gcc')));
  return gcc && STATIC_LIBC.some((f) => exists(f));
}

/** Where the kit is inside a container: on every PATH, a login shell's included, where images keep su and ping. */
export const KIT_BIN_DIR = '/usr/bin';
export const BREAKOUT = 'breakout';
export const BREAKOUT_SUID = 'breakout-suid';

/** The commands that make the kit's image layer in `layer` from the built binary: one plain, one setuid root. */
export function kitLayerArgvs(binary: string, layer: string): string[][] {
  const bin = path.join(layer, KIT_BIN_DIR);
  return [
    ['install', '-D', '-m', '0755', binary, path.join(bin, BREAKOUT)],
    ['install', '-D', '-m', '4755', binary, path.join(bin, BREAKOUT_SUID)],
  ];
}

/**
 * breakout's report as data: each line is what it tried, padded, then the answer (`ok`, `EPERM`, …).
 * `mount(tmpfs, /mnt)       EPERM` → { 'mount(tmpfs, /mnt)': 'EPERM' }.
 */
export function parseAnswers(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(.*?\S)\s{2,}(\S.*)$/.exec(line) ?? /^(\S+)\s+(\S+)$/.exec(line);
    if (m?.[1] && m[2]) out[m[1]] = m[2].trim();
  }
  return out;
}

/** The fields of /proc/<pid>/status that say what a process may do. */
export const PRIVILEGE_FIELDS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'] as const;
export type PrivilegeField = (typeof PRIVILEGE_FIELDS)[number];

/** The grep a learner types for them. */
export function privilegesArgv(statusFile: string): string[] {
  return ['grep', '-E', '^(Cap|NoNewPrivs|Seccomp)', statusFile];
}

/** Those fields out of status text (or that grep's output). */
export function parsePrivileges(text: string): Partial<Record<PrivilegeField, string>> {
  const out: Partial<Record<PrivilegeField, string>> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(\S+)/.exec(line);
    if (m?.[1] && m[2] && (PRIVILEGE_FIELDS as readonly string[]).includes(m[1])) out[m[1] as PrivilegeField] = m[2];
  }
  return out;
}

/** Read them for a process, from the host. */
export function readPrivileges(pid: number): Partial<Record<PrivilegeField, string>> {
  try {
    return parsePrivileges(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * The device number of the disk the host's root is on, `MAJOR:MINOR` (`254:0`, `8:1`): the block device an
 * attacker would make a node for. When `/` is not on a block device (an overlay, a network file system), the
 * first SCSI disk's number, 8:0, stands in.
 */
export function hostRootDevice(statDev: () => number = () => fs.statSync('/').dev): string {
  let dev: number;
  try {
    dev = statDev();
  } catch {
    return '8:0';
  }
  // glibc's gnu_dev_major/minor for the 32-bit values the kernel hands out for block devices.
  const major = ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return major === 0 ? '8:0' : `${major}:${minor}`;
}

/**
 * The block device lesson 11's device step makes a node for: the host's root disk when root on the host may open
 * it (the point: a container reads the host's disk), else the first loop device, 7:0 — some sandboxes refuse even
 * the host's root its own disk, and the step must show the container's refusal, not the host's.
 */
export function deviceToOpen(
  disk: string = hostRootDevice(),
  canOpen: (majorMinor: string) => boolean = hostCanOpenBlock,
): string {
  return canOpen(disk) ? disk : '7:0';
}

/** Whether this process may open the block device MAJOR:MINOR for reading (through its /dev/block link). */
function hostCanOpenBlock(majorMinor: string): boolean {
  try {
    fs.closeSync(fs.openSync(`/dev/block/${majorMinor}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** The first of `candidates` that exists on this host (a masked path to read: /proc/kcore is not everywhere). */
export function firstExisting(candidates: readonly string[], exists: (p: string) => boolean = fs.existsSync): string {
  return candidates.find((c) => exists(c)) ?? candidates[0] ?? '';
}
