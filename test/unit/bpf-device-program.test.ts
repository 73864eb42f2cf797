import { describe, expect, it } from 'vitest';
import {
  deviceAccessAllowed,
  foldDeviceRules,
  type DeviceRequest,
  type DeviceState,
} from '../../lib/cgroups/device-emulator.ts';
import { DOCKER_DEVICE_RULES, type DeviceRule } from '../../lib/cgroups/device-rules.ts';
import {
  decodeDeviceProgram,
  describeDeviceProgram,
  deviceContext,
  deviceProgram,
} from '../../lib/bpf/device-program.ts';
import { runEbpf } from '../helpers/ebpf.ts';

/** What the kernel would answer with the program attached: 1 allows, 0 refuses. */
const programAllows = (program: Uint8Array, r: DeviceRequest) => runEbpf(program, deviceContext(r)) === 1n;

const TYPES = ['c', 'b'] as const;
const ACCESSES = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'];
const NUMBERS = [0, 1, 2, 3, 5, 7, 8, 9, 10, 136, 200, 4095];

/** Every (type, major, minor, access) of a small grid: wildcards, exact numbers and near misses. */
function* requests(): Generator<DeviceRequest> {
  for (const type of TYPES)
    for (const major of NUMBERS)
      for (const minor of NUMBERS) for (const access of ACCESSES) yield { type, major, minor, access };
}

function expectSameAnswers(state: DeviceState): void {
  const program = deviceProgram(state);
  const wrong = [...requests()].filter((r) => programAllows(program, r) !== deviceAccessAllowed(state, r));
  expect(wrong).toEqual([]);
}

const RULE_SETS: Record<string, DeviceRule[]> = {
  'docker’s defaults': [...DOCKER_DEVICE_RULES],
  'allow everything': [],
  'deny everything': [{ allow: false, access: 'rwm' }],
  'a deny list with wildcards': [
    { allow: true, access: 'rwm' },
    { allow: false, type: 'b', access: 'rw' },
    { allow: false, type: 'c', major: 1, access: 'r' },
    { allow: false, type: 'c', minor: 3, access: 'w' },
  ],
  'later rules override earlier ones': [
    { allow: true, access: 'rwm' },
    { allow: false, type: 'b', major: 8, access: 'rwm' }, // gone with the next rule for every device
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'm' }, // merged into the exception above
    { allow: true, type: 'b', major: 8, minor: 0, access: 'rwm' },
    { allow: false, type: 'b', major: 8, minor: 0, access: 'w' }, // takes w back
    { allow: true, type: 'c', minor: 9, access: 'r' }, // any major, minor 9
  ],
};

describe('the cgroup v2 device program', () => {
  for (const [name, rules] of Object.entries(RULE_SETS)) {
    it(`answers every request as the v1 rules do: ${name}`, () => {
      expectSameAnswers(foldDeviceRules(rules));
    });
  }

  it('decodes back to the state it was built from', () => {
    for (const rules of Object.values(RULE_SETS)) {
      const state = foldDeviceRules(rules);
      expect(decodeDeviceProgram(deviceProgram(state))).toEqual(state);
    }
  });

  it('refuses opening a made disk node and allows /dev/null under docker’s rules', () => {
    const program = deviceProgram(foldDeviceRules(DOCKER_DEVICE_RULES));
    expect(programAllows(program, { type: 'b', major: 8, minor: 0, access: 'm' })).toBe(true);
    expect(programAllows(program, { type: 'b', major: 8, minor: 0, access: 'r' })).toBe(false);
    expect(programAllows(program, { type: 'c', major: 1, minor: 3, access: 'rw' })).toBe(true);
    expect(programAllows(program, { type: 'c', major: 136, minor: 42, access: 'rw' })).toBe(true);
  });

  it('reads its input as the kernel lays it out: type low, access high in the first word, then major, minor', () => {
    const ctx = new DataView(deviceContext({ type: 'b', major: 8, minor: 16, access: 'rw' }).buffer);
    expect(ctx.getUint32(0, true)).toBe((6 << 16) | 1);
    expect(ctx.getUint32(4, true)).toBe(8);
    expect(ctx.getUint32(8, true)).toBe(16);
  });

  it('reads as a short listing: the input once, one block per exception, the default last', () => {
    const lines = describeDeviceProgram(deviceProgram(foldDeviceRules(DOCKER_DEVICE_RULES)));
    expect(lines.slice(0, 6).map((l) => l.replace(/^ *\d+: /, ''))).toEqual([
      'r2 = *(u32 *)(r1 + 0)',
      'r2 &= 0xffff',
      'r3 = *(u32 *)(r1 + 0)',
      'r3 >>= 16',
      'r4 = *(u32 *)(r1 + 4)',
      'r5 = *(u32 *)(r1 + 8)',
    ]);
    expect(lines.slice(-2).map((l) => l.replace(/^ *\d+: /, ''))).toEqual(['r0 = 0', 'exit']);
    expect(lines.some((l) => /if r4 != 0x88 goto/.test(l))).toBe(true); // major 136, the pseudo-terminals
  });
});
