import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import {
  CGROUP_PROLOGUE,
  INIT_NAME,
  baseContainerSpec,
  containerArgv,
  containerExecArgv,
  initScript,
  initScriptPieces,
  runContainer,
  startContainer,
  toContainerResult,
  type ContainerSpec,
} from '../../lib/container.ts';
import { CommandError, UserError } from '../../lib/errors.ts';
import { PROC_MOUNT, mountLines } from '../../lib/mounts.ts';
import { RecordingRunner } from '../../lib/runner.ts';

const ROOTFS = '/var/lib/scratch/rootfs/busybox';

/** The containers lessons 02, 03 and 04 build, and what later lessons add to the last one. */
const lesson02: ContainerSpec = {
  id: '02ab12',
  root: { path: ROOTFS },
  process: { args: ['sleep', '300'] },
  hostname: 'box',
  namespaces: ['uts', 'ipc'],
  rootSwitch: 'chroot',
};
const lesson03: ContainerSpec = {
  ...lesson02,
  namespaces: ['uts', 'ipc', 'pid', 'mount'],
  mounts: [PROC_MOUNT],
};
const lesson04 = baseContainerSpec({ id: '04ab12', rootfs: ROOTFS, args: ['sh', '-c', 'exit 7'], hostname: 'box' });

/** Split an argv into its parts: env and the cgroup prologue, unshare, the init script and what follows it. */
function parts(argv: string[]) {
  const unshare = argv.indexOf('unshare');
  const dash = argv.indexOf('--', unshare);
  const script = argv[dash + 3] ?? '';
  return {
    beforeUnshare: argv.slice(0, unshare),
    unshare: argv.slice(unshare, dash + 1),
    sh: argv.slice(dash + 1, dash + 3),
    script,
    after: argv.slice(dash + 4),
  };
}

/** The script's lines without comments. */
const codeLines = (spec: ContainerSpec) =>
  initScript(spec)
    .split('\n')
    .filter((l) => !l.startsWith('#'));

/** `sh -n` parses a script without running any of it. */
function parsesAsSh(script: string): boolean {
  execFileSync('sh', ['-n', '-c', script]);
  return true;
}

describe('the argv that starts a container', () => {
  it('lesson 02: a clean environment, unshare --ipc --uts without fork, then the init script', () => {
    const argv = containerArgv(lesson02);
    const p = parts(argv);
    expect(argv.slice(0, 2)).toEqual(['env', '-i']);
    expect(p.beforeUnshare).toContain('HOSTNAME=box');
    expect(p.beforeUnshare.some((a) => a.startsWith('PATH='))).toBe(true);
    expect(p.unshare).toEqual(['unshare', '--ipc', '--uts', '--']);
    expect(p.sh).toEqual(['sh', '-c']);
    expect(p.after).toEqual([INIT_NAME, ROOTFS, 'box', 'sleep', '300']);
  });

  it('lesson 03: adds a PID namespace (so it forks) and a mount namespace; propagation is left to the script', () => {
    expect(parts(containerArgv(lesson03)).unshare).toEqual([
      'unshare',
      '--ipc',
      '--uts',
      '--pid',
      '--mount',
      '--fork',
      '--kill-child',
      '--propagation',
      'unchanged',
      '--',
    ]);
  });

  it('lesson 04: the same namespaces; the command comes last, after the script parameters', () => {
    const p = parts(containerArgv(lesson04));
    expect(p.unshare).toEqual(parts(containerArgv(lesson03)).unshare);
    expect(p.after).toEqual([INIT_NAME, ROOTFS, 'box', 'sh', '-c', 'exit 7']);
  });

  it('lesson 05: the cgroup prologue joins every cgroup before unshare, paths as parameters', () => {
    const files = [
      '/sys/fs/cgroup/memory/scratch/05ab12/cgroup.procs',
      '/sys/fs/cgroup/pids/scratch/05ab12/cgroup.procs',
    ];
    const argv = containerArgv({ ...lesson04, cgroup: { procsFiles: files } });
    const sh = argv.indexOf('sh');
    expect(argv.slice(sh, sh + 6)).toEqual(['sh', '-c', CGROUP_PROLOGUE, 'scr-cgroup', ...files]);
    expect(argv[sh + 6]).toBe('--');
    expect(argv[sh + 7]).toBe('unshare');
    expect(CGROUP_PROLOGUE).not.toContain('cgroup.procs');
    expect(parsesAsSh(CGROUP_PROLOGUE)).toBe(true);
  });

  it('adds no prologue for an empty list of cgroups', () => {
    expect(containerArgv({ ...lesson04, cgroup: { procsFiles: [] } })).toEqual(containerArgv(lesson04));
  });

  it('uses the environment the spec gives, adding only the PATH the init script needs', () => {
    const argv = containerArgv({
      ...lesson02,
      hostname: undefined,
      namespaces: ['ipc'],
      process: { args: ['true'], env: ['A=1'] },
    });
    expect(argv.slice(0, 4)).toEqual(['env', '-i', 'A=1', expect.stringMatching(/^PATH=/)]);
    expect(argv[4]).toBe('unshare');
  });
});

describe('the init script', () => {
  it('lesson 02: set the hostname, then exec chroot: nothing is mounted', () => {
    expect(codeLines(lesson02)).toEqual([
      'set -eu',
      'root=$1 hostname=$2',
      'shift 2',
      'hostname "$hostname"',
      'exec chroot "$root" "$@"',
    ]);
  });

  it('lesson 03: makes propagation private before mounting /proc inside the rootfs, still chroot', () => {
    const lines = codeLines(lesson03);
    const priv = lines.indexOf('mount --make-rprivate /');
    const proc = lines.indexOf('mount -t proc -o nosuid,noexec,nodev proc "$root"/proc');
    expect(priv).toBeGreaterThan(0);
    expect(proc).toBeGreaterThan(priv);
    expect(lines.at(-1)).toBe('exec chroot "$root" "$@"');
    expect(lines.join('\n')).not.toContain('pivot_root');
  });

  it('lesson 04: bind, mounts, devices, pivot_root, old root detached and removed, then exec', () => {
    const lines = codeLines(lesson04);
    const at = (l: string) => {
      const i = lines.indexOf(l);
      expect(i, l).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      at('hostname "$hostname"'),
      at('mount --make-rprivate /'),
      at('mount --bind "$root" "$root"'),
      at('mount -t sysfs -o ro,nosuid,noexec,nodev sysfs "$root"/sys'),
      at('mount -t tmpfs -o nosuid,strictatime,mode=755,size=64k tmpfs "$root"/dev'),
      at('mount -t devpts -o nosuid,noexec,newinstance,ptmxmode=0666,mode=0620 devpts "$root"/dev/pts'),
      at('mknod -m 666 "$root"/dev/null c 1 3'),
      at('ln -s pts/ptmx "$root"/dev/ptmx'),
      at('pivot_root . .oldroot'),
      at('umount -l /.oldroot'),
      at('rmdir /.oldroot'),
      at('exec "$@"'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const dev of ['zero', 'full', 'random', 'urandom', 'tty']) {
      expect(lines.some((l) => l.startsWith(`mknod -m 666 "$root"/dev/${dev} c `))).toBe(true);
    }
  });

  it('every piece is labelled with the feature that needs it, so lessons can print the delta', () => {
    const before = initScriptPieces(lesson03).map((p) => p.feature);
    const after = initScriptPieces(lesson04).map((p) => p.feature);
    expect(after.filter((f) => !before.includes(f))).toEqual([
      'pivot_root needs the new root to be a mount point',
      'mounts inside the rootfs: /proc, /sys, /dev, /dev/pts, /dev/shm',
      'devices: only the harmless ones',
      'pivot_root: the rootfs becomes /, the host root is detached',
    ]);
    expect(
      initScript(lesson04)
        .split('\n')
        .filter((l) => l.startsWith('# ')).length,
    ).toBe(after.length);
  });

  it('changes to the working directory after pivot_root', () => {
    const lines = codeLines({ ...lesson04, process: { args: ['pwd'], cwd: '/tmp' } });
    expect(lines[1]).toBe('root=$1 hostname=$2 cwd=$3');
    expect(lines.indexOf('cd "$cwd"')).toBeGreaterThan(lines.indexOf('rmdir /.oldroot'));
    expect(containerArgv({ ...lesson04, process: { args: ['pwd'], cwd: '/tmp' } }).slice(-3)).toEqual([
      'box',
      '/tmp',
      'pwd',
    ]);
  });

  it('without a hostname, takes only the root as a parameter', () => {
    const spec = { ...lesson04, hostname: undefined };
    expect(codeLines(spec).slice(0, 3)).toEqual(['set -eu', 'root=$1', 'shift 1']);
    expect(initScript(spec)).not.toContain('hostname');
  });

  it('never contains the values it is given: a hostile rootfs path or hostname stays a parameter', () => {
    const evil = { ...lesson04, root: { path: "/tmp/x'; reboot; '" }, hostname: '$(reboot)' };
    expect(initScript(evil)).not.toContain('reboot');
    expect(containerArgv(evil)).toContain('$(reboot)');
  });

  it('is valid sh for every lesson', () => {
    for (const spec of [lesson02, lesson03, lesson04]) expect(parsesAsSh(initScript(spec))).toBe(true);
  });

  it('refuses specs that would touch the host: mounts or pivot_root without a mount namespace, a hostname without UTS', () => {
    expect(() => initScript({ ...lesson04, namespaces: ['uts', 'pid'] })).toThrow(/mount namespace/);
    expect(() => initScript({ ...lesson02, namespaces: ['ipc'] })).toThrow(/UTS namespace/);
    expect(() => initScript({ ...lesson04, mounts: [PROC_MOUNT] })).toThrow(/tmpfs mounted on \/dev/);
    expect(() => initScript({ ...lesson02, process: { args: [] } })).toThrow(/no command/);
  });
});

describe('docker exec: joining a running container', () => {
  it('enters exactly the namespaces of the spec, plus its root and working directory', () => {
    const argv = containerExecArgv(lesson04, 4711, ['ps']);
    const n = argv.indexOf('nsenter');
    expect(argv.slice(0, 2)).toEqual(['env', '-i']);
    expect(argv.slice(n)).toEqual([
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

  it('joins the cgroups too, before nsenter', () => {
    const argv = containerExecArgv({ ...lesson04, cgroup: { procsFiles: ['/c/cgroup.procs'] } }, 9, ['ps']);
    expect(argv.indexOf('/c/cgroup.procs')).toBeLessThan(argv.indexOf('nsenter'));
  });
});

describe('exit status', () => {
  it("puts back the SIGKILL util-linux 2.38's unshare loses (exit 1 and a sigprocmask complaint)", () => {
    const lost = {
      exitCode: 1,
      signal: undefined,
      stdout: '',
      stderr: 'unshare: sigprocmask unblock failed: Invalid argument\n',
    };
    // …and keeps what unshare itself returned and said, so a lesson can tell the learner (a shell shows 1).
    expect(toContainerResult(lost)).toEqual({
      exitCode: 137,
      signal: 'SIGKILL',
      stdout: '',
      stderr: '',
      rewritten: { launcherExitCode: 1, launcherSaid: 'unshare: sigprocmask unblock failed: Invalid argument' },
    });
    const plain = { exitCode: 1, signal: undefined, stdout: 'x', stderr: 'sh: false' };
    expect(toContainerResult(plain)).toEqual(plain);
  });
});

describe('running with a recording runner', () => {
  const fakeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-unit-rootfs-'));
  fs.mkdirSync(path.join(fakeRoot, 'bin'));
  fs.symlinkSync('busybox', path.join(fakeRoot, 'bin', 'sh'));
  afterAll(() => fs.rmSync(fakeRoot, { recursive: true, force: true }));
  const spec = { ...lesson02, root: { path: fakeRoot } };

  it('runs the container argv and hands back its exit code unchanged; nothing is left on the stack', async () => {
    const runner = new RecordingRunner().respond(() => ({ exitCode: 7, stdout: 'out' }));
    const cleanup = new CleanupStack();
    const r = await runContainer(runner, cleanup, spec);
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out' });
    expect(runner.calls.map((c) => c.argv)).toEqual([containerArgv(spec)]);
    expect(cleanup.size).toBe(0);
  });

  it('refuses a rootfs that does not exist, naming it and the command that builds one', async () => {
    const runner = new RecordingRunner();
    const bad = { ...spec, root: { path: '/nonexistent/rootfs' } };
    await expect(runContainer(runner, new CleanupStack(), bad)).rejects.toThrow(UserError);
    await expect(runContainer(runner, new CleanupStack(), bad)).rejects.toThrow(/\/nonexistent\/rootfs does not exist/);
    expect(runner.calls).toEqual([]);
  });

  it('starting one registers its stop, and exec goes through nsenter to its first process', async () => {
    const runner = new RecordingRunner();
    const cleanup = new CleanupStack();
    const c = await startContainer(runner, cleanup, spec);
    expect(c.hostPid).toBe(4242);
    expect(cleanup.pending).toEqual(['stop container 02ab12 (PID 4242)']);
    await c.exec(['hostname']);
    expect(runner.lines.at(-1)).toMatch(/nsenter --target 4242 --ipc --uts --root --wd -- hostname$/);
  });

  it('a container that fails before its command runs is an error carrying its stderr', async () => {
    const runner = new RecordingRunner().respond(() => ({ exitCode: 32, stderr: 'mount: permission denied' }));
    await expect(startContainer(runner, new CleanupStack(), spec)).rejects.toThrow(CommandError);
  });
});

describe('mount lines', () => {
  it('quote a destination with a space, and keep "$root" a parameter', () => {
    expect(mountLines({ destination: '/my data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })).toEqual([
      `mkdir -p "$root"'/my data'`,
      `mount -t tmpfs -o size=1m tmpfs "$root"'/my data'`,
    ]);
    expect(mountLines({ destination: '/srv', type: 'bind', source: '/host/dir' })).toEqual([
      'mkdir -p "$root"/srv',
      'mount --bind /host/dir "$root"/srv',
    ]);
  });
});

describe('container readiness', () => {
  it('counts env, unshare, the cgroup prologue and the init script as launcher stages, and nothing else', async () => {
    const { isLauncherStage, CGROUP_PROLOGUE } = await import('../../lib/container.ts');
    const script = 'set -eu\nexec "$@"';
    expect(isLauncherStage(['env', '-i', 'PATH=/bin', 'unshare'], script)).toBe(true);
    expect(isLauncherStage(['unshare', '--pid', '--fork'], script)).toBe(true);
    expect(isLauncherStage(['sh', '-c', CGROUP_PROLOGUE, 'scr-cgroup'], script)).toBe(true);
    expect(isLauncherStage(['sh', '-c', script, 'scr-init', '/r', 'h', 'sleep', '1'], script)).toBe(true);
    expect(isLauncherStage(['sleep', '3600'], script)).toBe(false);
    // The command may itself be sh -c, or exec something else at once: both mean the container is running.
    expect(isLauncherStage(['sh', '-c', 'exec sleep 9'], script)).toBe(false);
    expect(isLauncherStage(['busybox', 'sleep', '9'], script)).toBe(false);
  });
});
