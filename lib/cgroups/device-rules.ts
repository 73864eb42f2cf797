/**
 * Device rules: which device nodes a container may open, whatever nodes it manages to make.
 *
 * A device node is a file that names a driver by two numbers: its type (`c` for character devices such as a
 * terminal, `b` for block devices such as a disk) and its major:minor number (1:3 is /dev/null, 8:0 the first SCSI
 * disk). Anyone allowed to call mknod(2) — root in a container holds CAP_MKNOD, which images need to ship device
 * nodes — can make a node for any number, and opening it reaches the driver: `mknod /dev/sda b 8 0` and the
 * container reads the host's disk. A private /dev does not help against that; the *device cgroup* does. It holds a
 * list of rules, each "type major:minor access" with the access a mix of r (read), w (write) and m (mknod), and the
 * kernel checks every open and mknod of a device node against the list of the caller's cgroup.
 *
 * The rules are written as the OCI runtime spec's `linux.resources.devices[]` has them: `{allow, type, major,
 * minor, access}`, type `a` meaning every device and a missing number meaning any (`*`). They are read in order,
 * as the kernel's cgroup v1 files read them (runc's device emulator does the same on v2): a rule for every device
 * (`a`) starts over — deny everything, or allow everything — and each later rule adds an exception to that default
 * or takes one away. docker's default list starts with "deny everything", then allows making any node (m) but
 * opening only the harmless ones: null, zero, full, random, urandom, tty, the pseudo-terminals and /dev/net/tun.
 * lib/cgroups/device-emulator.ts folds a list into that final state; lib/cgroups/devices.ts applies it.
 */
import { UserError } from '../errors.ts';

/** One rule of OCI `linux.resources.devices[]`. An absent major or minor is `*`, any number. */
export interface DeviceRule {
  allow: boolean;
  /** `a`: every device (the default); `c`: character devices; `b`: block devices. */
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  /** Some of `r` (open for reading), `w` (open for writing), `m` (mknod). */
  access: string;
}

const allowAll = (type: 'c' | 'b', major: number, minor: number | undefined): DeviceRule => ({
  allow: true,
  type,
  major,
  ...(minor === undefined ? {} : { minor }),
  access: 'rwm',
});

/**
 * docker's default device rules: moby's "deny all" followed by the rules runc adds to every container
 * (libcontainer/specconv `AllowedDevices`): mknod of any character or block device, and read/write/mknod of the
 * few devices every program may use.
 */
export const DOCKER_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  allowAll('c', 1, 3), // /dev/null
  allowAll('c', 1, 8), // /dev/random
  allowAll('c', 1, 7), // /dev/full
  allowAll('c', 5, 0), // /dev/tty
  allowAll('c', 1, 5), // /dev/zero
  allowAll('c', 1, 9), // /dev/urandom
  allowAll('c', 136, undefined), // /dev/pts/*: the container's pseudo-terminals
  allowAll('c', 5, 2), // /dev/ptmx
  allowAll('c', 10, 200), // /dev/net/tun: removed in runc 1.2.0-rc1, put back for the images that relied on it
  allowAll('c', 5, 1), // /dev/console: runc binds a pseudo-terminal there, but older runc allowed 5:1 itself
];

/** A device number as the kernel's files show it: the number, or `*`. */
const num = (n: number | undefined) => (n === undefined ? '*' : String(n));

/** The rule as one line of devices.allow / devices.deny / devices.list: `c 1:3 rwm`, `a *:* rwm`. */
export function formatDeviceRule(rule: DeviceRule): string {
  const type = rule.type ?? 'a';
  return type === 'a' ? `a *:* ${rule.access}` : `${type} ${num(rule.major)}:${num(rule.minor)} ${rule.access}`;
}

/** The largest major or minor number a rule may name (the kernel's dev_t has 12 + 20 bits; BPF compares 32). */
const MAX_DEVICE_NUMBER = 0x7fffffff;

/** Throws when a rule is not one the kernel (or runc) would take: a plain error, since lib or a lesson made it. */
export function checkDeviceRule(rule: DeviceRule): void {
  if (!/^[rwm]{1,3}$/.test(rule.access) || new Set(rule.access).size !== rule.access.length) {
    throw new Error(`device rule ${formatDeviceRule(rule)}: access must be some of r, w and m`);
  }
  for (const n of [rule.major, rule.minor]) {
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > MAX_DEVICE_NUMBER)) {
      throw new Error(`device rule ${formatDeviceRule(rule)}: ${n} is not a device number`);
    }
  }
}

/**
 * docker's `--device-cgroup-rule 'c 42:* rmw'`: one allow rule in the kernel's devices.allow syntax (type a, b
 * or c; major and minor a number or *; access some of r, w, m).
 */
export function parseDeviceRule(text: string): DeviceRule {
  const m = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(text.trim());
  const fix = "--device-cgroup-rule 'c 42:* rmw'   (type a, b or c; MAJOR:MINOR, * for any; some of r, w, m)";
  if (!m) throw new UserError(`--device-cgroup-rule ${text}: not a device rule`, fix);
  const [, type = 'a', major = '*', minor = '*', access = ''] = m;
  const rule: DeviceRule = {
    allow: true,
    type: type as DeviceRule['type'],
    ...(major === '*' || type === 'a' ? {} : { major: Number(major) }),
    ...(minor === '*' || type === 'a' ? {} : { minor: Number(minor) }),
    access,
  };
  try {
    checkDeviceRule(rule);
  } catch (error) {
    throw new UserError(`--device-cgroup-rule ${text}: ${(error as Error).message}`, fix);
  }
  return rule;
}
