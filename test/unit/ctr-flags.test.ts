/**
 * ctr's command line: docker's flag rules, and each flag landing on its field of the spec — checked without root.
 */
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../lib/ctr/flags.ts';
import { envFileLines, parseSecurityOpts, parseUser, runRequest, RUN_FLAGS } from '../../lib/ctr/run-spec.ts';
import { envValue } from '../../lib/spec.ts';
import { DOCKER_DEVICE_RULES } from '../../lib/cgroups/device-rules.ts';

const parse = (argv: string[]) => parseFlags(argv, RUN_FLAGS, 'run');
const ROOTFS = { kind: 'rootfs' as const, image: 'busybox-dir', path: '/var/lib/scratch/rootfs/busybox' };

describe('docker-style flags', () => {
  it('stop at the first positional: what follows is the container’s command, dashes included', () => {
    expect(parse(['-d', '--rm', 'img', 'ls', '-l', '--rm'])).toEqual({
      flags: { detach: true, rm: true },
      rest: ['img', 'ls', '-l', '--rm'],
    });
  });

  it('combine short flags, take values after a space or an =, and repeat -e', () => {
    const { flags } = parse(['-it', '-e', 'A=1', '-eB=2', '--name=web', '-m', '64m', 'img']);
    expect(flags).toEqual({ interactive: true, tty: true, env: ['A=1', 'B=2'], name: 'web', memory: '64m' });
  });

  it('an unknown flag, a missing value, a value given to a switch: one line each, naming the help', () => {
    expect(() => parse(['--bogus', 'img'])).toThrow('unknown flag: --bogus');
    expect(() => parse(['--name'])).toThrow('flag --name needs a value (NAME)');
    expect(() => parse(['--rm=yes', 'img'])).toThrow('flag --rm takes no value');
    expect(() => parse(['-iz', 'img'])).toThrow('unknown flag: -z (in -iz)');
  });
});

describe('ctr run flags → the container spec', () => {
  const req = (argv: string[], args = ['sh']) =>
    runRequest(parse(argv).flags, ROOTFS, args, { id: '0123456789', hostEnv: { FROM_HOST: 'yes' }, cpus: [0, 1] });

  it('the defaults: docker’s isolation and profile, its own cgroup, a bridge network, the id as hostname', () => {
    const r = req([]);
    expect(r.spec.hostname).toBe('0123456789');
    expect(r.spec.linux.namespaces.map((n) => n.type)).toEqual(['uts', 'ipc', 'pid', 'mount', 'cgroup']);
    expect(r.spec.linux.cgroupsPath).toBe('/scratch/0123456789');
    expect(r.spec.process.capabilities?.bounding).toHaveLength(14);
    expect(r.spec.linux.seccomp).toEqual({ profile: 'default' });
    expect(r.spec.process.noNewPrivileges).toBe(false);
    expect(r.network).toBe('bridge');
  });

  it('limits, user, workdir, env, read-only root and tmpfs, capabilities and security options', () => {
    const r = req([
      '-m',
      '64m',
      '--cpus',
      '0.5',
      '--pids-limit',
      '20',
      '-u',
      '1000:50',
      '-w',
      '/tmp',
      '-e',
      'A=1',
      '-e',
      'FROM_HOST',
      '--read-only',
      '--tmpfs',
      '/run',
      '--cap-drop',
      'ALL',
      '--cap-add',
      'NET_BIND_SERVICE',
      '--security-opt',
      'no-new-privileges',
      '--security-opt',
      'seccomp=unconfined',
      '--network',
      'none',
    ]);
    expect(r.spec.linux.resources).toEqual({
      memory: { limit: 67108864, swap: 67108864 },
      pids: { limit: 20 },
      cpu: { quota: 50000, period: 100000 },
      devices: DOCKER_DEVICE_RULES,
    });
    expect(r.spec.process.user).toEqual({ uid: 1000, gid: 50 });
    expect(r.spec.process.cwd).toBe('/tmp');
    expect(envValue(r.spec.process.env, 'A')).toBe('1');
    expect(envValue(r.spec.process.env, 'FROM_HOST')).toBe('yes');
    expect(r.spec.root.readonly).toBe(true);
    expect(r.spec.mounts.some((m) => m.destination === '/run' && m.type === 'tmpfs')).toBe(true);
    expect(r.spec.process.capabilities?.bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(r.spec.process.noNewPrivileges).toBe(true);
    expect(r.spec.linux.seccomp).toBeUndefined();
    expect(r.network).toBe('none');
  });

  it('bad values are one line before anything is made', () => {
    expect(() => req(['-m', '12q'])).toThrow(/memory limit "12q" is not valid/);
    expect(() => req(['-w', 'tmp'])).toThrow('the working directory must be absolute: tmp');
    expect(() => req(['--network', 'host'])).toThrow('--network host is not supported');
    expect(() => req(['--network', 'none', '-p', '8080:80'])).toThrow('-p needs a network to publish on');
    expect(() => req(['--name', '-bad'])).toThrow(/invalid container name/);
    expect(() => req([], [])).toThrow(/no command given/);
    expect(() => parseUser('alice')).toThrow(/give numbers/);
    expect(() => parseSecurityOpts(['apparmor=foo'])).toThrow('--security-opt apparmor=foo is not supported');
  });

  it('an env file: K=V lines, comments and blank lines skipped, values as written', () => {
    expect(envFileLines('# a comment\nA=1\n\nB="two words"\r\nC\n')).toEqual(['A=1', 'B="two words"', 'C']);
  });
});
