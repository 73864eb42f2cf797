/**
 * Lesson 12's exercise and oracle, the parts that are plain data: ctr run's flags as RunOptions, specFromOptions
 * as the one path from them to a spec (ctr's own runRequest goes through it), the probe's facts compared, and
 * export-bundle's flags and argument checks — all without root.
 */
import { describe, expect, it } from 'vitest';
import { compareFacts, PROBE_SCRIPT, probeFacts } from '../../lib/container/probe.ts';
import { atMost } from '../../lib/ctr/command.ts';
import { exportBundleCommand } from '../../lib/ctr/commands/export-bundle.ts';
import { parseFlags } from '../../lib/ctr/flags.ts';
import { RUN_FLAGS, runOptions, runRequest, specFromOptions, type RunOptions } from '../../lib/ctr/run-spec.ts';
import { envValue } from '../../lib/spec.ts';

const ROOTFS = { kind: 'rootfs' as const, image: 'busybox-dir', path: '/var/lib/scratch/rootfs/busybox' };
const OPTS = { id: '0123456789', hostEnv: { FROM_HOST: 'yes' }, cpus: [0, 1], pureCgroupV2: false };
const flagsOf = (argv: string[]) => parseFlags(argv, RUN_FLAGS, 'run').flags;
const LESSON_FLAGS = [
  '--hostname',
  'web',
  '-m',
  '48m',
  '--pids-limit',
  '30',
  '--read-only',
  '--tmpfs',
  '/tmp',
  '--cap-drop',
  'NET_RAW',
  '-e',
  'GREETING=hi',
  '-e',
  'FROM_HOST',
  '-w',
  '/tmp',
  '--security-opt',
  'no-new-privileges',
  '--name',
  'web',
];

describe('RunOptions: docker run’s flags as plain data', () => {
  it('keeps only what was given, with -e NAME copied from ctr’s environment, and survives JSON (a worker can take it)', () => {
    const o = runOptions(flagsOf(['-m', '64m', '-e', 'FROM_HOST', '-e', 'NOPE']), ROOTFS, ['sh'], OPTS);
    expect(o).toEqual({
      id: '0123456789',
      rootfs: ROOTFS.path,
      args: ['sh'],
      env: ['FROM_HOST=yes'],
      memory: '64m',
      hostCpus: [0, 1],
    });
    expect(JSON.parse(JSON.stringify(o))).toEqual(o);
  });

  it('a bad value is one line before any spec is built: a relative -w, a relative --tmpfs, a -u that is not numbers', () => {
    expect(() => runOptions(flagsOf(['-w', 'tmp']), ROOTFS, ['sh'], OPTS)).toThrow(
      'the working directory must be absolute',
    );
    expect(() => runOptions(flagsOf(['--tmpfs', 'tmp']), ROOTFS, ['sh'], OPTS)).toThrow(
      '--tmpfs tmp: the path must be absolute',
    );
    expect(() => runOptions(flagsOf(['-u', 'learner']), ROOTFS, ['sh'], OPTS)).toThrow('give numbers');
  });
});

describe('specFromOptions: the one way from the options to a spec', () => {
  it('ctr run’s own spec is specFromOptions of runOptions, for the flags lesson 12 uses', () => {
    const flags = flagsOf(LESSON_FLAGS);
    const viaRun = runRequest(flags, ROOTFS, ['sleep', '3600'], OPTS).spec;
    const direct = specFromOptions(runOptions(flags, ROOTFS, ['sleep', '3600'], OPTS));
    expect(direct).toEqual({ ...viaRun, process: { ...viaRun.process, terminal: direct.process.terminal } });
  });

  it('each flag lands on its field: hostname, limits, read-only root, tmpfs, capabilities, env, cwd, no_new_privs, name', () => {
    const s = specFromOptions(runOptions(flagsOf(LESSON_FLAGS), ROOTFS, ['sleep', '3600'], OPTS));
    expect(s.hostname).toBe('web');
    expect(s.name).toBe('web');
    expect(s.linux.resources?.memory?.limit).toBe(48 * 1024 * 1024);
    expect(s.linux.resources?.pids?.limit).toBe(30);
    expect(s.mounts.find((m) => m.destination === '/tmp')?.type).toBe('tmpfs');
    expect(s.process.capabilities?.bounding).not.toContain('CAP_NET_RAW');
    expect(s.process.capabilities?.bounding).toHaveLength(13);
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.cwd).toBe('/tmp');
    expect(envValue(s.process.env, 'GREETING')).toBe('hi');
    expect(envValue(s.process.env, 'FROM_HOST')).toBe('yes');
    expect(s.linux.seccomp).toEqual({ profile: 'default' });
  });

  it('with no flags: the id is the hostname, no name, docker’s 14 capabilities, seccomp on', () => {
    const s = specFromOptions({ id: 'abcdef0123', rootfs: '/r', args: ['true'] });
    expect(s.hostname).toBe('abcdef0123');
    expect(s.name).toBeUndefined();
    expect(s.process.capabilities?.bounding).toHaveLength(14);
    expect(s.linux.namespaces.map((n) => n.type)).toEqual(['uts', 'ipc', 'pid', 'mount', 'cgroup']);
  });

  it('an image’s Env loses to -e, and its user and cwd are the image’s', () => {
    const o: RunOptions = {
      id: 'abcdef0123',
      rootfs: '/layer',
      args: ['httpd'],
      env: ['MODE=flag'],
      image: {
        process: { args: ['httpd'], env: ['MODE=image', 'PATH=/bin'], cwd: '/srv' },
        user: { uid: 1000, gid: 1000, additionalGids: [], home: '/home/learner' },
      },
    };
    const s = specFromOptions(o);
    expect(envValue(s.process.env, 'MODE')).toBe('flag');
    expect(s.process.user).toMatchObject({ uid: 1000, gid: 1000 });
    expect(s.process.cwd).toBe('/srv');
  });

  it('a limit docker refuses is a UserError from specFromOptions too (a learner’s options may come from anywhere)', () => {
    expect(() => specFromOptions({ id: 'abcdef0123', rootfs: '/r', args: ['true'], memory: '12q' })).toThrow(/12q/);
  });
});

describe('the probe lesson 12 runs under ctr and under runc', () => {
  it('reads `name: value` lines, tabs included, and leaves others out', () => {
    expect(probeFacts('CapEff:\t00000000a80425fb\nhostname: probe\nnoise\nmount /proc: proc\n')).toEqual([
      ['CapEff', '00000000a80425fb'],
      ['hostname', 'probe'],
      ['mount /proc', 'proc'],
    ]);
  });

  it('compares fact by fact: a different value and a fact only one side has are both differences', () => {
    const rows = compareFacts(
      [
        ['Seccomp', '2'],
        ['uid:gid', '0:0'],
      ],
      [
        ['Seccomp', '2'],
        ['uid:gid', '1000:1000'],
        ['mount /x', 'tmpfs'],
      ],
    );
    expect(rows.map((r) => [r.name, r.same])).toEqual([
      ['Seccomp', true],
      ['uid:gid', false],
      ['mount /x', false],
    ]);
  });

  it('its script uses double quotes only, so it can be shown inside one single-quoted sh -c', () => {
    expect(PROBE_SCRIPT).not.toContain("'");
    for (const line of PROBE_SCRIPT.split('\n')) expect(line.length).toBeLessThanOrEqual(76);
  });
});

describe('ctr export-bundle’s command line', () => {
  const parse = (argv: string[]) => parseFlags(argv, exportBundleCommand.flags, 'export-bundle');

  it('takes ctr run’s flags that shape the container, before the image; what follows is the command', () => {
    expect(parse(['-u', '0', '--hostname', 'probe', 'scratch/layers', '/tmp/b', 'sh', '-c', 'id'])).toEqual({
      flags: { user: '0', hostname: 'probe' },
      rest: ['scratch/layers', '/tmp/b', 'sh', '-c', 'id'],
    });
  });

  it('refuses the flags a bundle cannot carry (ctr’s network, a name, -d): one line naming the help', () => {
    for (const flag of ['--network', '-p', '--name', '-d', '--rm', '--userns']) {
      expect(() => parse([flag, 'x', 'scratch/layers', '/tmp/b'])).toThrow(/^unknown flag: /);
    }
  });
});

describe('a stray argument is a mistake to say, not to ignore', () => {
  it('names the command, how many it takes and what was left over', () => {
    expect(() => atMost(['web'], 0, 'ps', 'ctr ps -a')).toThrow('ctr ps takes no arguments; left over: web');
    expect(() => atMost(['a', 'b', 'c'], 1, 'logs', 'ctr logs a')).toThrow(
      'ctr logs takes one argument; left over: b c',
    );
    expect(() => atMost(['a'], 1, 'logs', 'ctr logs a')).not.toThrow();
  });
});
