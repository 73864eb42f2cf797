/**
 * Masked and read-only paths: the parts of /proc and /sys a container must not read or write.
 *
 * A container gets its own /proc (for its PID namespace) and a /sys, but many files in them are not
 * namespaced at all: they show or change the *machine*. /proc/kcore is the host's physical memory as an ELF
 * core file; /proc/keys lists keys of the whole kernel keyring; /proc/timer_list and /proc/sched_debug show
 * every task on the host; /proc/sys and /proc/sysrq-trigger change kernel settings or reboot the machine;
 * /sys/firmware holds firmware tables; /sys/devices/virtual/powercap exposes energy counters precise enough to
 * leak secrets from other processes (docker advisory GHSA-jq35-85cj-fj4p). Dropping capabilities stops some of
 * this; covering the paths stops the rest, whatever the capabilities.
 *
 * runc does it in two ways, and so does the init plan built from these lists, in the container's new root,
 * after /proc and /sys are mounted and before the seccomp filter (which refuses mount(2)):
 *
 * - **masked**: a file gets the container's /dev/null bind-mounted over it (`mount --bind /dev/null PATH`), so
 *   it reads as empty and writes vanish; a directory gets an empty read-only tmpfs over it
 *   (`mount -t tmpfs -o ro tmpfs PATH`). runc tries the bind first and falls back to the tmpfs when the kernel
 *   answers ENOTDIR. Before binding, check that /dev/null really is the character device 1:3: runc's
 *   CVE-2025-31133 was a container replacing its /dev/null with a symlink so that the "mask" bound a host
 *   file of its choosing, writable, over the path.
 * - **read-only**: the path is bind-mounted onto itself, then that bind mount is remounted read-only
 *   (`mount --bind PATH PATH; mount -o remount,bind,ro PATH`) — keeping the flags it already had (nosuid,
 *   nodev, noexec), which the kernel refuses to clear on a remount in a user namespace.
 *
 * A path that does not exist on this kernel is skipped, as runc skips it (/proc/timer_stats was removed in
 * Linux 4.11; /proc/asound exists only with sound support).
 */

/** Paths docker masks (moby `daemon/pkg/oci/defaults.go`), file or directory alike. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  // Per-CPU interrupt counts, a side channel into other processes' activity (docker advisory GHSA-6fw5-f8r9-fgfm).
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths docker makes read-only: the kernel's settings, and the interfaces to devices and interrupts. */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/**
 * The masked paths for a machine with these CPU numbers: docker also masks each CPU's
 * /sys/devices/system/cpu/cpuN/thermal_throttle (same advisory as /proc/interrupts) where it exists. The list
 * of CPUs comes from /sys/devices/system/cpu/possible; a path missing on this machine is skipped anyway.
 */
export function maskedPathsFor(cpus: readonly number[] = []): string[] {
  return [...MASKED_PATHS, ...cpus.map((n) => `/sys/devices/system/cpu/cpu${n}/thermal_throttle`)];
}

/** The CPU numbers in a kernel CPU list such as /sys/devices/system/cpu/possible (`0-3,8`). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let n = first; n <= last; n++) out.push(n);
  }
  return out;
}

/** One line of a mountinfo file, the fields a mask is told by. */
interface MountLine {
  /** The directory of its file system that is mounted here (`/null` for a bind of a /dev tmpfs's null). */
  root: string;
  point: string;
  readOnly: boolean;
  fsType: string;
}

function mountLines(mountinfo: string): MountLine[] {
  return mountinfo
    .split('\n')
    .filter((l) => l.includes(' - '))
    .map((l) => {
      const f = l.split(' ');
      const fsType = l.split(' - ')[1]?.split(' ')[0] ?? '';
      return { root: f[3] ?? '', point: f[4] ?? '', readOnly: (f[5] ?? '').split(',').includes('ro'), fsType };
    });
}

/**
 * What covers each masked and read-only path in a container's mountinfo (read from the host, /proc/<pid>/mountinfo),
 * one line each: `/proc/kcore          /dev/null bound over it`, `/sys/firmware        an empty tmpfs, read-only`,
 * `/proc/sys            itself, read-only`. A path this kernel lacks has no line.
 */
export function describeMasks(
  mountinfo: string,
  paths: readonly string[] = [...MASKED_PATHS, ...READONLY_PATHS],
): string[] {
  const wanted = new Set(paths);
  return mountLines(mountinfo)
    .filter((m) => wanted.has(m.point))
    .map((m) => {
      const what =
        m.root === '/null'
          ? '/dev/null bound over it'
          : m.fsType === 'tmpfs'
            ? `an empty tmpfs${m.readOnly ? ', read-only' : ''}`
            : `itself, ${m.readOnly ? 'read-only' : 'writable'}`;
      return `${m.point.padEnd(20)} ${what}`;
    });
}

/** How the mount on top at `point` is mounted: its file system type and `ro` or `rw` (`overlay ro`). */
export function mountState(mountinfo: string, point: string): string | undefined {
  const top = mountLines(mountinfo)
    .filter((m) => m.point === point)
    .at(-1);
  return top && `${top.fsType} ${top.readOnly ? 'ro' : 'rw'}`;
}
