/**
 * Capabilities: root's power, cut into pieces that can be handed out one by one.
 *
 * The kernel does not ask "is this process root?" before a privileged operation; it asks whether the process
 * holds the one *capability* that operation needs: CAP_SYS_ADMIN to mount, CAP_MKNOD to make a device node,
 * CAP_SYS_TIME to set the clock, CAP_SYS_MODULE to load a module, CAP_NET_ADMIN to change the network — 41 of
 * them on current kernels, each a bit number. Every process (strictly, every thread) carries five sets of them:
 *
 * - **effective**: what the kernel checks right now;
 * - **permitted**: what the process may put into its effective set (it can only ever shrink it);
 * - **inheritable**: what may pass through execve, but only into a program whose file is marked to accept it;
 * - **ambient**: what passes through execve into any program that is not setuid and has no file capabilities;
 * - **bounding**: the ceiling. Nothing the process does — not even executing a setuid-root binary — can gain a
 *   capability outside it, and a capability dropped from it is gone for good, for the process and all its
 *   children.
 *
 * Root in a container is still uid 0, so without further steps it would hold all 41. A container runtime
 * therefore cuts the sets down to a small list — docker's default is 14 — before it starts the command. The
 * order matters: the bounding set is dropped first, because `prctl(PR_CAPBSET_DROP)` itself needs CAP_SETPCAP in
 * the effective set, and a change to a non-zero uid clears the permitted and effective sets, after which the
 * process could no longer drop anything — and a bounding set left full would let a setuid-root binary in the
 * image win every capability back. Then capset(2) sets effective, permitted and inheritable in one call, the
 * ambient set is cleared, and execve carries the result into the command.
 *
 * The kernel shows the sets in `/proc/<pid>/status` as 16 hex digits, bit n standing for capability n:
 * `CapEff: 00000000a80425fb` is docker's 14, `000001ffffffffff` is all 41. This module holds the names, the
 * numbers, docker's default set and its `--cap-add`/`--cap-drop` rules, and the conversions between the forms
 * the OCI runtime spec, capset(2) and /proc use. It makes no system calls: the container's init does.
 */
import fs from 'node:fs';
import { UserError } from './errors.ts';

/** Capability names in kernel order: the index is the bit number (include/uapi/linux/capability.h). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** The highest capability number this module knows (CAP_CHECKPOINT_RESTORE, Linux 5.9). */
export const KNOWN_LAST_CAP = CAPABILITY_NAMES.length - 1;

/** Where the running kernel says which capability number is its last. */
export const CAP_LAST_CAP_FILE = '/proc/sys/kernel/cap_last_cap';

/**
 * Docker's default set (moby `daemon/pkg/oci/caps/defaults.go`): enough for a typical image's root to chown
 * files, bind port 80, switch to its service user and make device nodes, and nothing that reaches past the
 * container — no mounts, no modules, no clock, no raw I/O, no network configuration, no ptrace.
 */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** `struct __user_cap_header_struct.version` for 64-bit capability sets, the one capset(2) wants today. */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** prctl(2) options the init uses for the sets capset(2) does not cover. */
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

const NUMBER_BY_NAME: ReadonlyMap<string, number> = new Map(CAPABILITY_NAMES.map((name, i) => [name, i]));

/** The bit number of a capability: `CAP_SYS_ADMIN` → 21. */
export function capabilityNumber(name: CapabilityName): number {
  const n = NUMBER_BY_NAME.get(name);
  if (n === undefined) throw new Error(`not a capability name: ${name}`);
  return n;
}

/** The name of a capability number; a number newer than this table is shown as `CAP_<n>`. */
export function capabilityName(n: number): string {
  return CAPABILITY_NAMES[n] ?? `CAP_${n}`;
}

/**
 * The running kernel's last capability number. Older kernels know fewer (5.4 stops at 37); asking for one
 * they lack would fail in capset(2), so "all" means all up to this number. Without the file (not Linux, or an
 * old kernel), the table's own last is assumed.
 */
export function readCapLastCap(file = CAP_LAST_CAP_FILE): number {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n : KNOWN_LAST_CAP;
  } catch {
    return KNOWN_LAST_CAP;
  }
}

/** Every capability this kernel has that this module can name, in number order. */
export function allCapabilities(lastCap = KNOWN_LAST_CAP): CapabilityName[] {
  return CAPABILITY_NAMES.slice(0, Math.min(lastCap, KNOWN_LAST_CAP) + 1);
}

/** `--cap-add`/`--cap-drop` as docker reads them. */
export interface CapabilityChanges {
  add?: readonly string[];
  drop?: readonly string[];
}

type ParsedCapability = CapabilityName | 'ALL';

/**
 * One `--cap-add`/`--cap-drop` value, as docker accepts it: any case, with or without the `CAP_` prefix, or
 * `ALL`. An unknown name is one line with the fix; a capability this kernel lacks is refused too.
 */
export function parseCapability(input: string, lastCap = KNOWN_LAST_CAP): ParsedCapability {
  const upper = input.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  const n = NUMBER_BY_NAME.get(name);
  if (n === undefined) {
    throw new UserError(
      `unknown capability: ${JSON.stringify(input)}`,
      `use one of the names in capabilities(7) (e.g. NET_ADMIN or CAP_NET_ADMIN), or ALL`,
    );
  }
  if (n > lastCap) {
    throw new UserError(
      `capability ${name} is not supported by this kernel (its last capability is ${capabilityName(lastCap)})`,
      `leave ${name} out, or use a kernel that has it`,
    );
  }
  return name as CapabilityName;
}

/**
 * The capability list docker computes from its default and the user's changes (moby's TweakCapabilities):
 * `--cap-add ALL` gives every capability except those dropped; `--cap-drop ALL` starts from nothing and keeps
 * only what is added; otherwise the drops come off the default and the adds go on. Returned in number order.
 */
export function resolveCapabilities(
  changes: CapabilityChanges = {},
  base: readonly CapabilityName[] = DOCKER_DEFAULT_CAPABILITIES,
  lastCap = KNOWN_LAST_CAP,
): CapabilityName[] {
  const add = (changes.add ?? []).map((c) => parseCapability(c, lastCap));
  const drop = (changes.drop ?? []).map((c) => parseCapability(c, lastCap));
  const named = (list: ParsedCapability[]) => list.filter((c): c is CapabilityName => c !== 'ALL');
  let result: Set<CapabilityName>;
  if (add.includes('ALL')) {
    result = new Set(allCapabilities(lastCap).filter((c) => !drop.includes(c)));
  } else if (drop.includes('ALL')) {
    result = new Set(named(add));
  } else {
    result = new Set([...base.filter((c) => !drop.includes(c)), ...named(add)]);
  }
  return sortCapabilities([...result]);
}

/** Capabilities in kernel number order, without duplicates. */
export function sortCapabilities(caps: Iterable<CapabilityName>): CapabilityName[] {
  return [...new Set(caps)].sort((a, b) => capabilityNumber(a) - capabilityNumber(b));
}

/** The OCI runtime spec's `process.capabilities`. */
export interface OciCapabilities {
  bounding: CapabilityName[];
  effective: CapabilityName[];
  inheritable: CapabilityName[];
  permitted: CapabilityName[];
  ambient: CapabilityName[];
}

/**
 * `process.capabilities` for a container, as docker builds it: the resolved list in the bounding, permitted
 * and effective sets; inheritable and ambient empty. Inheritable is empty on purpose (CVE-2022-24769): the
 * kernel itself never fills it, and a non-empty one let a non-root user in the container gain capabilities
 * through a program with inheritable file capabilities. For root it changes nothing, since execve gives root
 * its whole bounding set as permitted anyway.
 */
export function ociCapabilities(changes: CapabilityChanges = {}, lastCap = KNOWN_LAST_CAP): OciCapabilities {
  const caps = resolveCapabilities(changes, DOCKER_DEFAULT_CAPABILITIES, lastCap);
  return { bounding: [...caps], effective: [...caps], inheritable: [], permitted: [...caps], ambient: [] };
}

/** A set of capabilities as a 64-bit mask (bit n = capability n). */
export function capabilityMask(caps: Iterable<CapabilityName>): bigint {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(capabilityNumber(c));
  return mask;
}

/**
 * The two 32-bit words capset(2) takes for one set with `_LINUX_CAPABILITY_VERSION_3`: `data[0]` holds
 * capabilities 0–31, `data[1]` 32–63.
 */
export function capsetWords(caps: Iterable<CapabilityName>): [number, number] {
  const mask = capabilityMask(caps);
  return [Number(mask & 0xffffffffn), Number(mask >> 32n)];
}

/** What capset(2) needs: the header and the two `__user_cap_data_struct`s, as little-endian bytes. */
export interface CapsetArgs {
  /** `{ u32 version; int pid }` — pid 0 means the calling thread. */
  header: Uint8Array;
  /** `{ u32 effective, permitted, inheritable }[2]`. */
  data: Uint8Array;
}

/** The bytes of a capset(2) call that sets effective, permitted and inheritable for the calling thread. */
export function encodeCapset(sets: Pick<OciCapabilities, 'effective' | 'permitted' | 'inheritable'>): CapsetArgs {
  const header = new DataView(new ArrayBuffer(8));
  header.setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  header.setInt32(4, 0, true);
  const data = new DataView(new ArrayBuffer(24));
  const effective = capsetWords(sets.effective);
  const permitted = capsetWords(sets.permitted);
  const inheritable = capsetWords(sets.inheritable);
  for (const word of [0, 1] as const) {
    data.setUint32(word * 12 + 0, effective[word], true);
    data.setUint32(word * 12 + 4, permitted[word], true);
    data.setUint32(word * 12 + 8, inheritable[word], true);
  }
  return { header: new Uint8Array(header.buffer), data: new Uint8Array(data.buffer) };
}

/**
 * The capabilities to drop from the bounding set, one `prctl(PR_CAPBSET_DROP, n)` each: every number up to the
 * kernel's last that is not kept — including numbers newer than this module, which it cannot name but must not
 * leave behind.
 */
export function boundingSetDrops(keep: Iterable<CapabilityName>, lastCap = KNOWN_LAST_CAP): number[] {
  const kept = new Set([...keep].map(capabilityNumber));
  const drops: number[] = [];
  for (let n = 0; n <= lastCap; n++) if (!kept.has(n)) drops.push(n);
  return drops;
}

/** A set in the form `/proc/<pid>/status` shows it: 16 lowercase hex digits. */
export function capabilitiesToHex(caps: Iterable<CapabilityName>): string {
  return capabilityMask(caps).toString(16).padStart(16, '0');
}

/** The bit numbers set in a status hex value (`CapEff: 00000000a80425fb`), lowest first. */
export function capabilityNumbersFromHex(hex: string): number[] {
  const text = hex.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(text)) throw new Error(`not a capability mask: ${JSON.stringify(hex)}`);
  const mask = BigInt(`0x${text}`);
  const out: number[] = [];
  for (let n = 0; n < 64; n++) if ((mask >> BigInt(n)) & 1n) out.push(n);
  return out;
}

/** The names in a status hex value; bits newer than this module come back as `CAP_<n>`. */
export function capabilitiesFromHex(hex: string): string[] {
  return capabilityNumbersFromHex(hex).map(capabilityName);
}

/**
 * A status hex value in words, for lesson evidence: `none`, `all 41`, `all except CAP_SYS_RESOURCE` when most
 * are present, or the list of names. `lastCap` says how many "all" is on this kernel.
 */
export function describeCapabilityHex(hex: string, lastCap = KNOWN_LAST_CAP): string {
  const present = new Set(capabilityNumbersFromHex(hex));
  if (present.size === 0) return 'none';
  const all = Array.from({ length: lastCap + 1 }, (_, n) => n);
  const missing = all.filter((n) => !present.has(n));
  const extra = [...present].filter((n) => n > lastCap);
  if (missing.length === 0 && extra.length === 0) return `all ${all.length}`;
  if (missing.length <= 3 && extra.length === 0) return `all except ${missing.map(capabilityName).join(', ')}`;
  return [...present].map(capabilityName).join(', ');
}

/** The capabilities in `before` that `after` no longer has (what a lesson shows as "dropped"). */
export function droppedCapabilities(beforeHex: string, afterHex: string): string[] {
  const after = new Set(capabilityNumbersFromHex(afterHex));
  return capabilityNumbersFromHex(beforeHex)
    .filter((n) => !after.has(n))
    .map(capabilityName);
}

/** This process's bounding set as /proc/self/status shows it (`CapBnd:`); all bits set when it cannot be read. */
export function readOwnBoundingSet(statusFile = '/proc/self/status'): string {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/im.exec(fs.readFileSync(statusFile, 'utf8'));
    if (m?.[1]) return m[1];
  } catch {
    // not Linux: nothing to compare with, so nothing is refused here
  }
  return 'ffffffffffffffff';
}

/**
 * The capabilities in `wanted` that a process with this bounding set (`CapBnd` hex) cannot hand on: no process
 * gains a capability outside its own bounding set, so a runtime gives a container at most what it holds. On an
 * ordinary host root holds them all and this is empty; where the runtime itself runs in a container that dropped
 * some, asking for one of those would otherwise end in a bare EPERM from capset(2) inside the new container.
 */
export function capabilitiesNotHeld(wanted: Iterable<string>, boundingHex: string): string[] {
  const held = new Set(capabilityNumbersFromHex(boundingHex));
  return [...wanted].filter((c) => {
    const n = NUMBER_BY_NAME.get(c);
    return n === undefined || !held.has(n);
  });
}
