import { describe, expect, it } from 'vitest';
import { build, isolatedSpec, withCgroup, withUserns } from '../../lib/kit.ts';
import { remappedIds } from '../../lib/userns.ts';
import { allCapabilities } from '../../lib/capabilities.ts';
import { toOciConfig } from '../../lib/oci.ts';

const ALL = allCapabilities(40);

const spec = build(
  isolatedSpec({ id: '12ab34cd56', rootfs: '/var/lib/scratch/rootfs/busybox', args: ['sh'], hostname: 'box' }),
  withCgroup({ memory: { limit: 67108864, swap: 67108864 }, pids: { limit: 20 } }),
);

describe('toOciConfig', () => {
  it('follows the OCI runtime spec: root relative to the bundle, namespaces, mounts, devices, resources', () => {
    const c = toOciConfig(spec, { callerCapabilities: ALL });
    expect(c.ociVersion).toBe('1.0.2');
    expect(c.root).toEqual({ path: 'rootfs', readonly: false });
    expect(c.hostname).toBe('box');
    expect(c.process).toMatchObject({ args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, noNewPrivileges: false });
    expect(c.linux.namespaces.map((n) => n.type)).toEqual(['uts', 'ipc', 'pid', 'mount', 'cgroup']);
    expect(c.mounts.map((m) => m.destination)).toEqual(['/proc', '/sys', '/dev', '/dev/pts', '/dev/shm']);
    expect(c.linux.cgroupsPath).toBe('/scratch/12ab34cd56');
    expect(c.linux.resources).toMatchObject({ memory: { limit: 67108864, swap: 67108864 }, pids: { limit: 20 } });
  });

  it('spells out what runc would otherwise take away: the caller’s capabilities, and a device rule for each device', () => {
    const c = toOciConfig(spec, { callerCapabilities: ALL });
    expect(c.process.capabilities.bounding).toHaveLength(41);
    expect(c.process.capabilities.effective).toContain('CAP_SYS_ADMIN');
    const rules = c.linux.resources.devices;
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    for (const d of c.linux.devices) {
      expect(rules).toContainEqual({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' });
    }
  });

  it('a user namespace (ctr run --userns) carries its maps, and /sys bound read-only: runc writes the maps', () => {
    const c = toOciConfig(build(spec, withUserns(remappedIds(1_000_000))), { callerCapabilities: ALL });
    expect(c.linux.namespaces.map((n) => n.type)).toContain('user');
    expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1_000_000, size: 65536 }]);
    expect(c.linux.gidMappings).toEqual([{ containerID: 0, hostID: 1_000_000, size: 65536 }]);
    expect(c.mounts.find((m) => m.destination === '/sys')).toMatchObject({ type: 'bind', source: '/sys' });
    expect(toOciConfig(spec, { callerCapabilities: ALL }).linux.uidMappings).toBeUndefined();
  });

  it('a seccomp profile becomes linux.seccomp; none means unconfined', () => {
    expect(toOciConfig(spec, { callerCapabilities: ALL }).linux.seccomp).toBeUndefined();
    const hardened = { ...spec, linux: { ...spec.linux, seccomp: { profile: 'default' } } };
    const oci = toOciConfig(hardened, { callerCapabilities: ALL }).linux.seccomp;
    expect(oci?.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(oci?.syscalls?.some((s) => s.names.includes('mount') && s.action === 'SCMP_ACT_ERRNO')).toBe(true);
  });
});
