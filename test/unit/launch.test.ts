/**
 * The command lines that start a container and enter one, for each lesson's spec: pure, checked without root.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_PROLOGUE,
  execArgvFor,
  joinArgv,
  nsenterExecArgv,
  runArgv,
  unshareArgvFor,
} from '../../lib/container/launch.ts';
import { containerCommands, launchOf, pidLine } from '../../lib/container/shown.ts';
import { stderrWithoutLauncherLine, toContainerResult } from '../../lib/container/start.ts';
import { initPlan } from '../../lib/init/plan.ts';
import { INIT_NAME, renderSh } from '../../lib/init/render-sh.ts';
import { build, chrootSpec, isolatedSpec, withCgroup, withPid, withUtsIpc } from '../../lib/kit.ts';
import type { ContainerSpec } from '../../lib/spec.ts';

const ROOTFS = '/var/lib/scratch/rootfs/busybox';
const lesson02 = build(chrootSpec({ id: '02ab12', rootfs: ROOTFS, args: ['sleep', '300'] }), withUtsIpc('box'));
const lesson03 = build(lesson02, withPid);
const lesson04 = isolatedSpec({ id: '04ab12', rootfs: ROOTFS, args: ['sh', '-c', 'exit 7'], hostname: 'box' });
const lesson05 = build(lesson04, withCgroup());
const PROCS = ['/sys/fs/cgroup/memory/scratch/05ab12/cgroup.procs', '/sys/fs/cgroup/pids/scratch/05ab12/cgroup.procs'];
const sh = (spec: ContainerSpec, procs: string[] = []) => launchOf(spec, { executor: 'sh', procsFiles: procs });

describe('the argv that starts a container', () => {
  it('lesson 02: a clean environment, unshare --ipc --uts without fork, the script, its parameters, the command', () => {
    const { argv, script } = sh(lesson02);
    expect(argv.slice(0, 2)).toEqual(['env', '-i']);
    expect(argv).toContain('HOSTNAME=box');
    const u = argv.indexOf('unshare');
    expect(argv.slice(u, u + 4)).toEqual(['unshare', '--ipc', '--uts', '--']);
    expect(argv.slice(u + 4, u + 6)).toEqual(['sh', '-c']);
    expect(argv[u + 6]).toBe(script?.text);
    expect(argv.slice(u + 7)).toEqual([INIT_NAME, ROOTFS, 'box', 'sleep', '300']);
  });

  it('lesson 03: a PID namespace, so unshare forks and its child dies with it; a mount namespace for /proc', () => {
    expect(unshareArgvFor(lesson03, 'sh')).toEqual([
      'unshare',
      '--ipc',
      '--uts',
      '--pid',
      '--mount',
      '--fork',
      '--kill-child',
      '--',
    ]);
  });

  it('lesson 05: the sh init joins every cgroup before unshare, through a prologue taking the paths as parameters', () => {
    const { argv } = sh(lesson05, PROCS);
    const at = argv.indexOf(CGROUP_PROLOGUE);
    expect(argv.slice(at - 2, at + 4)).toEqual(['sh', '-c', CGROUP_PROLOGUE, 'scr-cgroup', ...PROCS]);
    expect(argv[at + 4]).toBe('--');
    expect(argv.indexOf('unshare')).toBeGreaterThan(at);
    expect(unshareArgvFor(lesson05, 'sh')).toContain('--cgroup');
  });

  it('the TypeScript init makes the cgroup namespace itself after the sync point, so unshare does not', () => {
    expect(unshareArgvFor(lesson05, 'ts')).not.toContain('--cgroup');
    const argv = runArgv(lesson05, { executor: 'ts', init: { node: '/usr/bin/node', bundle: '/x/dist/init.cjs' } });
    expect(argv).toEqual([
      'env',
      '-i',
      'unshare',
      '--ipc',
      '--uts',
      '--pid',
      '--mount',
      '--fork',
      '--kill-child',
      '--',
      '/usr/bin/node',
      '/x/dist/init.cjs',
    ]);
  });

  it('joins a namespace given by path with nsenter before unshare makes the rest', () => {
    const spec: ContainerSpec = {
      ...lesson04,
      linux: {
        ...lesson04.linux,
        namespaces: [...lesson04.linux.namespaces, { type: 'network', path: '/run/netns/scr04' }],
      },
    };
    expect(joinArgv(spec)).toEqual(['nsenter', '--net=/run/netns/scr04', '--']);
    const argv = launchOf(spec, { executor: 'ts' }).argv;
    expect(argv.indexOf('nsenter')).toBeLessThan(argv.indexOf('unshare'));
    expect(unshareArgvFor(spec, 'ts')).not.toContain('--net');
  });

  it('never pastes a user’s value into the script: a hostile rootfs path, hostname or command stays a parameter', () => {
    const evil = "/tmp/x'; rm -rf / #";
    const spec = isolatedSpec({ id: '04ev', rootfs: evil, args: ['echo', '$(reboot)'], hostname: "h'; reboot #" });
    const { text } = renderSh(initPlan(spec, { mode: 'run', executor: 'sh' }));
    expect(text).not.toContain('rm -rf');
    expect(text).not.toContain('reboot');
  });

  it('every lesson’s init script is valid sh', () => {
    for (const spec of [lesson02, lesson03, lesson04, lesson05]) {
      const { text } = renderSh(initPlan(spec, { mode: 'run', executor: 'sh' }));
      expect(() => execFileSync('sh', ['-n', '-c', text])).not.toThrow();
    }
  });
});

describe('entering a running container', () => {
  it('plain nsenter: exactly the spec’s namespaces, its root and working directory, its environment', () => {
    expect(nsenterExecArgv(lesson04, 4711, ['ps'])).toEqual([
      'env',
      '-i',
      ...lesson04.process.env,
      'nsenter',
      '--target',
      '4711',
      '--ipc',
      '--uts',
      '--pid',
      '--mount',
      '--root',
      '--wd',
      '--',
      'ps',
    ]);
  });

  it('joins the cgroup first when given its cgroup.procs files', () => {
    const argv = nsenterExecArgv(lesson05, '$PID', ['cat', '/proc/self/cgroup'], PROCS);
    expect(argv.indexOf(CGROUP_PROLOGUE)).toBeLessThan(argv.indexOf('nsenter'));
  });

  it('exec through the init keeps the host’s root for node, then the init chroots into the container’s', () => {
    const argv = execArgvFor(lesson05, 4711, { node: '/usr/bin/node', bundle: '/x/dist/init.cjs' });
    expect(argv.slice(argv.indexOf('nsenter'))).toEqual([
      'nsenter',
      '--target',
      '4711',
      '--cgroup',
      '--ipc',
      '--uts',
      '--pid',
      '--mount',
      '--root=/',
      '--wd=/',
      '--',
      '/usr/bin/node',
      '/x/dist/init.cjs',
    ]);
  });
});

describe('what a lesson shows', () => {
  it('init.sh once as a heredoc, the start command, and the line that finds its PID', () => {
    const shown = containerCommands(lesson03, { executor: 'sh', background: true });
    expect(Object.keys(shown)).toEqual(['init', 'start', 'pid']);
    expect((shown.init as { shell: string }).shell).toMatch(/^cat > init\.sh <<'EOF'\n# stop at the first error/);
    expect((shown.start as { bg: string[] }).bg).toEqual(sh(lesson03).argv);
    expect(pidLine(lesson03)).toBe('LAUNCHER=$!; sleep 0.5; PID=$(pgrep -P $LAUNCHER)');
    expect(pidLine(lesson02)).toBe('PID=$!');
  });
});

describe('exit status', () => {
  it("puts back the SIGKILL util-linux 2.38's unshare loses (exit 1 and a sigprocmask complaint), keeping what it said", () => {
    const r = toContainerResult({
      exitCode: 1,
      signal: undefined,
      stdout: '',
      stderr: 'unshare: sigprocmask unblock failed: Invalid argument\n',
    });
    expect(r).toMatchObject({ exitCode: 137, signal: 'SIGKILL', stderr: '' });
    expect(r.rewritten?.launcherSaid).toBe('unshare: sigprocmask unblock failed: Invalid argument');
    expect(toContainerResult({ exitCode: 1, signal: undefined, stdout: '', stderr: 'other\n' }).exitCode).toBe(1);
  });

  it('stderr passed on to the terminal loses that line however unshare splits its writes, and nothing else', () => {
    const through = (pieces: string[]) => {
      let out = '';
      const f = stderrWithoutLauncherLine((t) => (out += t));
      for (const p of pieces) f.push(p);
      f.end();
      return out;
    };
    const line = 'unshare: sigprocmask unblock failed: Invalid argument\n';
    expect(through(['err\n', 'unshare', ': ', 'sigprocmask unblock failed', ': Invalid argument', '\n'])).toBe('err\n');
    expect(through([`a${line}b`])).toBe('ab');
    expect(through(['un', 'usual ', 'unshare: other\n'])).toBe('unusual unshare: other\n');
    expect(through(['prompt> '])).toBe('prompt> ');
    expect(through(['unsh'])).toBe('unsh');
    expect(through([...`x${line}y`])).toBe('xy');
  });
});
