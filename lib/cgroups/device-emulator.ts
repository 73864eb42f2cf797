/**
 * What a list of device rules amounts to: a default (allow or deny every device) and a set of exceptions.
 *
 * The kernel's cgroup v1 device controller never keeps the list it was given; it keeps a *state*. Writing `a` to
 * devices.deny makes the default "deny" and forgets every exception; writing `c 1:3 rwm` to devices.allow then adds
 * an exception (merged with one for the same device, if any); writing a rule to devices.deny while the default is
 * "deny" removes access from the exception for that same device. The default "allow" works the other way round.
 * So later rules override earlier ones: the last `a` rule sets the default, and the rules after it carve exceptions.
 *
 * cgroup v2 has no such files — a runtime attaches a BPF program instead (lib/bpf/device-program.ts) — and runc
 * keeps the two alike by folding the rules the v1 way first (its `devices.Emulator`) and compiling the state. This
 * module is that fold, and `deviceAccessAllowed` the question the kernel asks on every open and mknod of a node.
 *
 * One case is refused rather than followed: taking access away from one device while a wildcard exception grants
 * it (allow `c *:* m`, then deny `c 1:3 m`). v1 silently ignores such a deny, since it removes only exceptions that
 * match exactly; a runtime that passed it on would leave the user believing the device is denied. runc refuses it
 * too ("cannot punch hole in existing wildcard rule").
 */
import { checkDeviceRule, formatDeviceRule, type DeviceRule } from './device-rules.ts';

/** A device, or every device of a type (`major`/`minor` undefined: `*`). */
export interface DeviceException {
  type: 'c' | 'b';
  major?: number;
  minor?: number;
  /** Sorted `rwm` letters. */
  access: string;
}

export interface DeviceState {
  /** true: every device is allowed but the exceptions (a deny list); false: only the exceptions are (docker's). */
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

/** An open or mknod the kernel asks about. */
export interface DeviceRequest {
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** One or more of r, w, m: an open for reading and writing asks for `rw`. */
  access: string;
}

const ORDER = 'rwm';
const sortAccess = (letters: Iterable<string>) =>
  [...new Set(letters)].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).join('');
const union = (a: string, b: string) => sortAccess([...a, ...b]);
const minus = (a: string, b: string) => sortAccess([...a].filter((c) => !b.includes(c)));
const overlap = (a: string, b: string) => [...a].some((c) => b.includes(c));

const sameDevice = (e: { type?: string; major?: number; minor?: number }, r: DeviceRule) =>
  e.type === r.type && e.major === r.major && e.minor === r.minor;

/** Fold rules in order into the state the kernel would hold after writing them one by one. */
export function foldDeviceRules(
  rules: readonly DeviceRule[],
  start: DeviceState = { defaultAllow: true, exceptions: [] },
): DeviceState {
  let state: DeviceState = { defaultAllow: start.defaultAllow, exceptions: start.exceptions.map((e) => ({ ...e })) };
  for (const rule of rules) {
    checkDeviceRule(rule);
    const type = rule.type ?? 'a';
    if (type === 'a') {
      // A rule for every device starts over, whatever its access letters say (as in the kernel).
      state = { defaultAllow: rule.allow, exceptions: [] };
      continue;
    }
    // An allow rule under a deny default (or a deny under an allow default) adds an exception; otherwise it removes one.
    if (rule.allow !== state.defaultAllow) {
      const hit = state.exceptions.find((e) => sameDevice(e, rule));
      if (hit) hit.access = union(hit.access, rule.access);
      else state.exceptions.push({ type, ...numbers(rule), access: sortAccess(rule.access) });
      continue;
    }
    refuseHolePunch(state, rule);
    state.exceptions = state.exceptions.flatMap((e) => {
      if (!sameDevice(e, rule)) return [e];
      const access = minus(e.access, rule.access);
      return access ? [{ ...e, access }] : [];
    });
  }
  return state;
}

function numbers(rule: DeviceRule): { major?: number; minor?: number } {
  return {
    ...(rule.major === undefined ? {} : { major: rule.major }),
    ...(rule.minor === undefined ? {} : { minor: rule.minor }),
  };
}

/** A rule that would remove access from part of a wildcard exception: refused (see the top of this file). */
function refuseHolePunch(state: DeviceState, rule: DeviceRule): void {
  const wider = state.exceptions.find(
    (e) =>
      e.type === rule.type &&
      !sameDevice(e, rule) &&
      (e.major === undefined || e.major === rule.major) &&
      (e.minor === undefined || e.minor === rule.minor) &&
      overlap(e.access, rule.access),
  );
  if (wider) {
    throw new Error(
      `device rule ${formatDeviceRule(rule)} cannot take access away from part of the wider rule ` +
        `${formatDeviceRule({ allow: !rule.allow, ...wider })}: cgroup v1 would ignore it`,
    );
  }
}

/** Whether an exception covers this device (its numbers equal, or `*`). */
export function exceptionMatches(e: DeviceException, req: DeviceRequest): boolean {
  return (
    e.type === req.type &&
    (e.major === undefined || e.major === req.major) &&
    (e.minor === undefined || e.minor === req.minor)
  );
}

/**
 * The kernel's answer. Under a deny default, one exception must grant every letter asked for; under an allow
 * default, any exception that names one of them refuses (v1's "partial match" for deny lists).
 */
export function deviceAccessAllowed(state: DeviceState, req: DeviceRequest): boolean {
  const hits = state.exceptions.filter((e) => exceptionMatches(e, req));
  if (!state.defaultAllow) return hits.some((e) => [...req.access].every((c) => e.access.includes(c)));
  return !hits.some((e) => overlap(e.access, req.access));
}

/** The state as the rules that make it, shortest form: the `a` rule, then one rule per exception. */
export function stateRules(state: DeviceState): DeviceRule[] {
  return [
    { allow: state.defaultAllow, access: 'rwm' },
    ...state.exceptions.map((e) => ({
      allow: !state.defaultAllow,
      type: e.type,
      ...numbers(e as DeviceRule),
      access: e.access,
    })),
  ];
}

/**
 * The state as cgroup v1's devices.list prints it: `a *:* rwm` alone under an allow default (the file cannot show
 * what a deny list denies), the allowed exceptions under a deny default.
 */
export function devicesListLines(state: DeviceState): string[] {
  if (state.defaultAllow) return ['a *:* rwm'];
  return state.exceptions.map((e) => formatDeviceRule({ allow: true, ...e }));
}
