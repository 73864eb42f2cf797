/**
 * Applying device rules to a container's cgroup, on either cgroup version.
 *
 * cgroup **v1** has a `devices` controller with three files in every cgroup: writing a rule to `devices.deny` or
 * `devices.allow` changes the group's state (lib/cgroups/device-emulator.ts says how), and `devices.list` shows it.
 * A new group starts as "allow everything", so docker's rules become: `a` into devices.deny (deny every device,
 * forget every exception), then one write to devices.allow per device it may use. One rule per write(2): the kernel
 * parses each write as one rule.
 *
 * cgroup **v2** has no devices controller and no such files. The same decisions are made by a BPF program the
 * runtime attaches to the cgroup (lib/bpf/device-program.ts builds it from the same folded state, lib/bpf/load.ts
 * attaches it). There is nothing to read back but the program: the host asks the kernel which programs are
 * attached and reads their instructions.
 *
 * A hybrid host (v1 trees and a v2 tree side by side) uses the v1 devices controller when it is mounted, as runc
 * does; a v2 program attached there would apply only to processes placed in the v2 tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeDeviceProgram } from '../bpf/device-program.ts';
import { attachedDeviceProgramIds, programInstructions } from '../bpf/load.ts';
import { UserError } from '../errors.ts';
import type { CgroupLayout, CgroupOp } from './contract.ts';
import { devicesListLines, foldDeviceRules, stateRules } from './device-emulator.ts';
import type { DeviceRule } from './device-rules.ts';
import { formatDeviceRule } from './device-rules.ts';

/** Which mechanism enforces device rules on a host, and in which tree. */
export type DeviceEnforcement = { version: 'v1'; mountPoint: string } | { version: 'v2'; mountPoint: string };

/** The v1 devices tree when one is mounted, else the v2 tree; undefined where neither is. */
export function deviceEnforcement(layout: CgroupLayout): DeviceEnforcement | undefined {
  const tree = layout.v1.find((m) => m.controllers.includes('devices'));
  if (tree) return { version: 'v1', mountPoint: tree.mountPoint };
  return layout.v2 ? { version: 'v2', mountPoint: layout.v2.mountPoint } : undefined;
}

/** Where rules cannot be enforced, one line and the fix, before anything is made. */
export function devicesNotEnforceable(): UserError {
  return new UserError(
    'device rules cannot be enforced: neither a v1 devices controller nor a v2 cgroup tree is mounted here',
    'npm run doctor',
  );
}

/**
 * The writes that apply rules on v1, in the group's directory of the devices tree: the folded state's default
 * (`a` to devices.deny or devices.allow), then each exception to the other file.
 */
export function v1DeviceWrites(dir: string, rules: readonly DeviceRule[]): CgroupOp[] {
  const [first, ...exceptions] = stateRules(foldDeviceRules(rules));
  const file = (allow: boolean) => path.join(dir, allow ? 'devices.allow' : 'devices.deny');
  return [
    { kind: 'write', path: file(first?.allow ?? false), value: 'a' },
    ...exceptions.map((r): CgroupOp => ({ kind: 'write', path: file(r.allow), value: formatDeviceRule(r) })),
  ];
}

/** On v2: one step, a device program built from the rules and attached to the group's directory. */
export function v2DeviceOps(leaf: string, rules: readonly DeviceRule[]): CgroupOp[] {
  return [{ kind: 'attachDevices', path: leaf, rules: stateRules(foldDeviceRules(rules)) }];
}

/** For `npm run doctor`: how this host would apply a container's device rules. */
export function describeDeviceEnforcement(layout: CgroupLayout): string | undefined {
  const e = deviceEnforcement(layout);
  if (!e) return undefined;
  return e.version === 'v1'
    ? `cgroup v1 devices controller (${e.mountPoint}): rules written to devices.deny and devices.allow`
    : `cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to each container's cgroup in ${e.mountPoint}`;
}

/** A cgroup's device rules as the host reads them back from the kernel. */
export interface AttachedDeviceRules {
  version: 'v1' | 'v2';
  /** Where they were read: the devices.list file, or the cgroup directory the program is attached to. */
  source: string;
  /** As devices.list prints them. */
  lines: string[];
  /** v2: the attached programs' ids, and the instructions of the first, as the kernel holds them. */
  programIds?: number[];
  program?: Uint8Array;
}

/** Read the rules a cgroup enforces: devices.list in its v1 devices directory, or its attached v2 program. */
export function readDeviceRules(dirs: readonly string[], layout: CgroupLayout): AttachedDeviceRules {
  const e = deviceEnforcement(layout);
  if (!e) throw devicesNotEnforceable();
  const dir = dirs.find((d) => d.startsWith(`${e.mountPoint}/`));
  if (!dir) throw new Error(`none of ${dirs.join(', ')} is in ${e.mountPoint}`);
  if (e.version === 'v1') {
    const source = path.join(dir, 'devices.list');
    return { version: 'v1', source, lines: fs.readFileSync(source, 'utf8').trim().split('\n').filter(Boolean) };
  }
  const programIds = attachedDeviceProgramIds(dir);
  const first = programIds[0];
  if (first === undefined) return { version: 'v2', source: dir, lines: ['a *:* rwm'], programIds };
  const program = programInstructions(first);
  return { version: 'v2', source: dir, lines: devicesListLines(decodeDeviceProgram(program)), programIds, program };
}
