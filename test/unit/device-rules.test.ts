import { describe, expect, it } from 'vitest';
import {
  deviceAccessAllowed,
  devicesListLines,
  foldDeviceRules,
  stateRules,
  type DeviceRequest,
} from '../../lib/cgroups/device-emulator.ts';
import {
  DOCKER_DEVICE_RULES,
  formatDeviceRule,
  parseDeviceRule,
  type DeviceRule,
} from '../../lib/cgroups/device-rules.ts';
import { parseFlags } from '../../lib/ctr/flags.ts';
import { runRequest, RUN_FLAGS } from '../../lib/ctr/run-spec.ts';
import { UserError } from '../../lib/errors.ts';
import { build, isolatedSpec, withCgroup, withDeviceRules } from '../../lib/kit.ts';
import { toOciConfig } from '../../lib/oci.ts';

const docker = foldDeviceRules(DOCKER_DEVICE_RULES);
const req = (type: 'c' | 'b', major: number, minor: number, access: string): DeviceRequest => ({
  type,
  major,
  minor,
  access,
});

describe('docker’s device rules', () => {
  it('deny every device, then allow mknod of any node and opening only the harmless ones', () => {
    expect(docker.defaultAllow).toBe(false);
    expect(devicesListLines(docker)).toEqual([
      'c *:* m',
      'b *:* m',
      'c 1:3 rwm',
      'c 1:8 rwm',
      'c 1:7 rwm',
      'c 5:0 rwm',
      'c 1:5 rwm',
      'c 1:9 rwm',
      'c 136:* rwm',
      'c 5:2 rwm',
      'c 10:200 rwm',
      'c 5:1 rwm',
    ]);
  });

  it('a disk node can be made but not opened; /dev/null, the pseudo-terminals and urandom open', () => {
    expect(deviceAccessAllowed(docker, req('b', 8, 0, 'm'))).toBe(true);
    expect(deviceAccessAllowed(docker, req('b', 8, 0, 'r'))).toBe(false);
    expect(deviceAccessAllowed(docker, req('b', 8, 0, 'rw'))).toBe(false);
    expect(deviceAccessAllowed(docker, req('c', 1, 3, 'rw'))).toBe(true);
    expect(deviceAccessAllowed(docker, req('c', 136, 7, 'rw'))).toBe(true);
    expect(deviceAccessAllowed(docker, req('c', 1, 9, 'r'))).toBe(true);
    // /dev/mem (1:1) and /dev/kmsg (1:11) are character devices too: made, never opened.
    expect(deviceAccessAllowed(docker, req('c', 1, 1, 'r'))).toBe(false);
    expect(deviceAccessAllowed(docker, req('c', 1, 11, 'm'))).toBe(true);
  });

  it('a request needs one exception granting every letter: c *:* m plus c 1:1 r does not allow mknod+read', () => {
    const s = foldDeviceRules([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', access: 'm' },
      { allow: true, type: 'c', major: 1, minor: 1, access: 'r' },
    ]);
    expect(deviceAccessAllowed(s, req('c', 1, 1, 'r'))).toBe(true);
    expect(deviceAccessAllowed(s, req('c', 1, 1, 'rm'))).toBe(false);
  });
});

describe('folding rules as cgroup v1 does (later rules override earlier ones)', () => {
  it('starts as "allow everything", as a new v1 cgroup does', () => {
    expect(foldDeviceRules([])).toEqual({ defaultAllow: true, exceptions: [] });
    expect(devicesListLines(foldDeviceRules([]))).toEqual(['a *:* rwm']);
  });

  it('a rule for every device starts over: the last one decides the default, earlier exceptions are gone', () => {
    const s = foldDeviceRules([...DOCKER_DEVICE_RULES, { allow: true, access: 'rwm' }]);
    expect(s).toEqual({ defaultAllow: true, exceptions: [] });
    expect(deviceAccessAllowed(s, req('b', 8, 0, 'rw'))).toBe(true);
  });

  it('rules for the same device merge, and a later deny takes letters back from that exception', () => {
    const s = foldDeviceRules([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
    ]);
    expect(devicesListLines(s)).toEqual(['c 1:3 rw']);
    const taken = foldDeviceRules([{ allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], s);
    expect(devicesListLines(taken)).toEqual(['c 1:3 r']);
    expect(deviceAccessAllowed(taken, req('c', 1, 3, 'w'))).toBe(false);
    expect(foldDeviceRules([{ allow: false, type: 'c', major: 1, minor: 3, access: 'r' }], taken).exceptions).toEqual(
      [],
    );
  });

  it('under an allow default, deny rules are the exceptions, and any letter they name refuses', () => {
    const s = foldDeviceRules([
      { allow: true, access: 'rwm' },
      { allow: false, type: 'b', major: 8, access: 'rw' },
    ]);
    expect(deviceAccessAllowed(s, req('b', 8, 16, 'r'))).toBe(false);
    expect(deviceAccessAllowed(s, req('b', 8, 16, 'rm'))).toBe(false);
    expect(deviceAccessAllowed(s, req('b', 8, 16, 'm'))).toBe(true);
    expect(deviceAccessAllowed(s, req('b', 9, 0, 'r'))).toBe(true);
    expect(
      deviceAccessAllowed(
        foldDeviceRules([{ allow: true, type: 'b', major: 8, access: 'rw' }], s),
        req('b', 8, 1, 'r'),
      ),
    ).toBe(true);
  });

  it('refuses to take access from part of a wildcard exception, which v1 would silently ignore', () => {
    expect(() =>
      foldDeviceRules([...DOCKER_DEVICE_RULES, { allow: false, type: 'c', major: 1, minor: 1, access: 'm' }]),
    ).toThrow(/cannot take access away from part of the wider rule c \*:\* m/);
    // A deny that touches none of the wider rule's letters is fine.
    expect(() =>
      foldDeviceRules([...DOCKER_DEVICE_RULES, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }]),
    ).not.toThrow();
  });

  it('the shortest rules for a state give the same state back', () => {
    expect(foldDeviceRules(stateRules(docker))).toEqual(docker);
  });

  it('refuses access letters that are not r, w and m', () => {
    expect(() => foldDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rx' }])).toThrow(/access/);
    expect(() => foldDeviceRules([{ allow: true, type: 'c', major: -1, access: 'r' }])).toThrow(/device number/);
  });
});

describe('--device-cgroup-rule', () => {
  it('reads the kernel’s syntax as an allow rule, and writes it back the same', () => {
    const cases: Array<[string, DeviceRule]> = [
      ['c 42:* rmw', { allow: true, type: 'c', major: 42, access: 'rmw' }],
      ['b 8:0 r', { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }],
      ['c *:* m', { allow: true, type: 'c', access: 'm' }],
      ['a *:* rwm', { allow: true, type: 'a', access: 'rwm' }],
    ];
    for (const [text, rule] of cases) {
      expect(parseDeviceRule(text)).toEqual(rule);
      expect(formatDeviceRule(rule)).toBe(text);
    }
  });

  it('says what is wrong with a rule that is not one, and how to write it', () => {
    for (const bad of ['c 1:3', 'x 1:3 r', 'c 1:3 rx', 'c 1:3 rr', 'c 99999999999:1 r']) {
      expect(() => parseDeviceRule(bad)).toThrow(UserError);
    }
  });
});

describe('ctr run and the OCI export carry the rules', () => {
  const ROOTFS = { kind: 'rootfs' as const, image: 'busybox-dir', path: '/var/lib/scratch/rootfs/busybox' };
  const run = (argv: string[]) =>
    runRequest(parseFlags(argv, RUN_FLAGS, 'run').flags, ROOTFS, ['sh'], { id: '0123456789', hostEnv: {}, cpus: [0] });

  it('every container gets docker’s rules; --device-cgroup-rule adds allow rules after them', () => {
    expect(run([]).spec.linux.resources?.devices).toEqual(DOCKER_DEVICE_RULES);
    const spec = run(['--device-cgroup-rule', 'c 42:* rmw', '--device-cgroup-rule', 'b 8:0 r']).spec;
    expect(spec.linux.resources?.devices?.slice(DOCKER_DEVICE_RULES.length)).toEqual([
      { allow: true, type: 'c', major: 42, access: 'rmw' },
      { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
    ]);
    const state = foldDeviceRules(spec.linux.resources?.devices ?? []);
    expect(deviceAccessAllowed(state, req('c', 42, 7, 'rw'))).toBe(true);
    expect(deviceAccessAllowed(state, req('b', 8, 0, 'r'))).toBe(true);
    expect(deviceAccessAllowed(state, req('b', 8, 0, 'w'))).toBe(false);
    expect(() => run(['--device-cgroup-rule', 'c 42 rw'])).toThrow(UserError);
  });

  it('config.json’s linux.resources.devices holds the same rules, so runc enforces what ctr does', () => {
    const config = toOciConfig(run([]).spec, { callerCapabilities: [] });
    expect(config.linux.resources.devices).toEqual(DOCKER_DEVICE_RULES);
  });

  it('withDeviceRules gives a container without a cgroup one, and keeps the limits of one that has', () => {
    const spec = isolatedSpec({ id: '11dd', rootfs: '/r', args: ['sh'] });
    expect(build(spec, withDeviceRules()).linux.cgroupsPath).toBe('/scratch/11dd');
    const limited = build(spec, withCgroup({ pids: { limit: 5 } }), withDeviceRules());
    expect(limited.linux.resources).toEqual({ pids: { limit: 5 }, devices: DOCKER_DEVICE_RULES });
  });
});
