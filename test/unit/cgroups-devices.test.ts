import { describe, expect, it } from 'vitest';
import { decodeDeviceProgram } from '../../lib/bpf/device-program.ts';
import { CleanupStack } from '../../lib/cleanup.ts';
import {
  createCgroup,
  DOCKER_DEVICE_RULES,
  describeDeviceEnforcement,
  foldDeviceRules,
  planCgroup,
  showOp,
  WORKSHOP_VM_LAYOUT,
  type CgroupFs,
  type CgroupLayout,
} from '../../lib/cgroups/index.ts';
import { UserError } from '../../lib/errors.ts';
import { RecordingRunner } from '../../lib/runner.ts';

const V1: CgroupLayout = {
  v1: [
    { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
    { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
    { mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices'] },
  ],
  v2: { mountPoint: '/sys/fs/cgroup/unified', available: [] },
};

/** A cgroup file system that only remembers what was done to it. */
class RecordingFs implements CgroupFs {
  readonly dirs = new Set<string>();
  readonly writes: Array<[string, string]> = [];
  readonly programs: Array<[string, Uint8Array]> = [];
  exists = (p: string) => this.dirs.has(p);
  read = () => '';
  write = (p: string, v: string) => void this.writes.push([p, v]);
  mkdir = (p: string) => void this.dirs.add(p);
  rmdir = (p: string) => void this.dirs.delete(p);
  listDirs = () => [];
  attachDeviceProgram = (dir: string, program: Uint8Array) => void this.programs.push([dir, program]);
}

describe('device rules in a cgroup plan', () => {
  it('on v1: a directory in the devices tree, `a` to devices.deny, then one allow per device, before limits', () => {
    const plan = planCgroup('11ab', { pids: 20 }, { layout: V1, devices: DOCKER_DEVICE_RULES });
    const dir = '/sys/fs/cgroup/devices/scratch/11ab';
    expect(plan.drivers.flatMap((d) => d.procsFiles)).toContain(`${dir}/cgroup.procs`);
    const shown = plan.ops.map(showOp);
    const first = shown.indexOf(`echo a > ${dir}/devices.deny`);
    expect(first).toBeGreaterThan(shown.indexOf(`mkdir -p ${dir}`));
    expect(shown.slice(first + 1, first + 4)).toEqual([
      `echo 'c *:* m' > ${dir}/devices.allow`,
      `echo 'b *:* m' > ${dir}/devices.allow`,
      `echo 'c 1:3 rwm' > ${dir}/devices.allow`,
    ]);
    expect(shown.indexOf(`echo 20 > /sys/fs/cgroup/pids/scratch/11ab/pids.max`)).toBeGreaterThan(first);
  });

  it('on v2: no file to write; a device program attached to the leaf, after it is made', () => {
    const plan = planCgroup('11ab', {}, { layout: WORKSHOP_VM_LAYOUT, devices: DOCKER_DEVICE_RULES });
    const attach = plan.ops.filter((o) => o.kind === 'attachDevices');
    expect(attach).toEqual([{ kind: 'attachDevices', path: '/sys/fs/cgroup/scratch/11ab', rules: expect.any(Array) }]);
    const at = plan.ops.indexOf(attach[0]!);
    expect(plan.ops.findIndex((o) => o.kind === 'mkdir' && o.path === '/sys/fs/cgroup/scratch/11ab')).toBeLessThan(at);
    expect(showOp(attach[0]!).split('\n')).toEqual([
      expect.stringMatching(/^# bpf\(BPF_PROG_LOAD\) a \d+-instruction device program, then$/),
      '# bpf(BPF_PROG_ATTACH) it to /sys/fs/cgroup/scratch/11ab',
    ]);
  });

  it('without rules, nothing changes: no devices directory, no program (lesson 05’s cgroups)', () => {
    const v1 = planCgroup('11ab', {}, { layout: V1 });
    expect(v1.drivers.flatMap((d) => d.dirs).some((d) => d.includes('/devices/'))).toBe(false);
    const v2 = planCgroup('11ab', {}, { layout: WORKSHOP_VM_LAYOUT });
    expect(v2.ops.some((o) => o.kind === 'attachDevices')).toBe(false);
  });

  it('with no devices controller and no v2 tree, rules are refused before anything is made', () => {
    const bare: CgroupLayout = { v1: [{ mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] }] };
    expect(() => planCgroup('11ab', {}, { layout: bare, devices: DOCKER_DEVICE_RULES })).toThrow(UserError);
  });

  it('creating the group attaches the program built from the folded rules, recorded as a host effect', () => {
    const fs = new RecordingFs();
    const runner = new RecordingRunner();
    createCgroup(
      new CleanupStack(),
      '11ab',
      {},
      { layout: WORKSHOP_VM_LAYOUT, fs, runner, devices: DOCKER_DEVICE_RULES },
    );
    expect(fs.programs.map(([dir]) => dir)).toEqual(['/sys/fs/cgroup/scratch/11ab']);
    expect(decodeDeviceProgram(fs.programs[0]![1])).toEqual(foldDeviceRules(DOCKER_DEVICE_RULES));
    expect(runner.calls.some((c) => c.op?.kind === 'attachDevices')).toBe(true);
  });

  it('doctor can say how this host applies them', () => {
    expect(describeDeviceEnforcement(V1)).toMatch(/v1 devices controller/);
    expect(describeDeviceEnforcement(WORKSHOP_VM_LAYOUT)).toMatch(/BPF_PROG_TYPE_CGROUP_DEVICE/);
    expect(describeDeviceEnforcement({ v1: [] })).toBeUndefined();
  });
});
