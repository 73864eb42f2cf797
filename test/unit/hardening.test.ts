/**
 * Lesson 11's pieces that need no root: the hardening transforms, what a step shows for a hardened container and
 * for an exec, how the attack kit's answers and the host's /proc are read, and doctor's security findings.
 */
import { describe, expect, it } from 'vitest';
import { DOCKER_DEFAULT_CAPABILITIES, ociCapabilities } from '../../lib/capabilities.ts';
import { execArgvFor } from '../../lib/container/launch.ts';
import { addedSyscalls, containerCommands, execCommands, launchOf, tsInitPaths } from '../../lib/container/shown.ts';
import { initPlan } from '../../lib/init/plan.ts';
import { renderSyscalls } from '../../lib/init/render-syscalls.ts';
import {
  build,
  isolatedSpec,
  withCapabilities,
  withDeviceRules,
  withMaskedPaths,
  withNoNetwork,
  withNoNewPrivileges,
  withOverlay,
  withReadOnlyRoot,
  withSeccomp,
  withSecurity,
  withUser,
} from '../../lib/kit.ts';
import { securityFindings } from '../../lib/preflight.ts';
import {
  canBuildBreakout,
  deviceToOpen,
  firstExisting,
  hostRootDevice,
  kitLayerArgvs,
  parseAnswers,
  parsePrivileges,
} from '../../lib/security/breakout.ts';
import { describeMasks, MASKED_PATHS, mountState } from '../../lib/security/paths.ts';

const ROOTFS = '/var/lib/scratch/rootfs/busybox';
const base = (id: string) =>
  build(
    isolatedSpec({ id, rootfs: `/c/${id}/rootfs`, args: ['sleep', '3600'] }),
    withNoNetwork,
    withOverlay(`/c/${id}/rootfs`, {
      type: 'overlay',
      lower: ['/k', ROOTFS],
      upper: `/c/${id}/upper`,
      work: `/c/${id}/work`,
    }),
  );
const docker14 = [...DOCKER_DEFAULT_CAPABILITIES].sort();

describe('the hardening transforms', () => {
  it('withCapabilities gives root the sets as computed, and another user the bounding set only (as docker does)', () => {
    const caps = ociCapabilities();
    const root = build(base('11aa01o'), withCapabilities(caps));
    expect(root.process.capabilities).toEqual(caps);
    const nobody = build(base('11aa01o'), withUser({ uid: 65534, gid: 65534 }), withCapabilities(caps));
    expect(nobody.process.capabilities).toEqual({
      bounding: caps.bounding,
      effective: [],
      inheritable: [],
      permitted: [],
      ambient: [],
    });
  });

  it('withUser after withSecurity (ctr run --user) drops effective and permitted, whatever the order', () => {
    const after = build(base('11aa02o'), withSecurity(), withUser({ uid: 1000, gid: 1000 }));
    expect(after.process.capabilities?.effective).toEqual([]);
    expect(after.process.capabilities?.permitted).toEqual([]);
    expect([...(after.process.capabilities?.bounding ?? [])].sort()).toEqual(docker14);
    const asRoot = build(base('11aa02o'), withSecurity(), withUser({ uid: 0, gid: 0 }));
    expect([...(asRoot.process.capabilities?.effective ?? [])].sort()).toEqual(docker14);
  });

  it('withSecurity is the pieces together: capabilities, no_new_privs off, masked paths, filter, device rules', () => {
    const whole = build(base('11aa03o'), withSecurity({ cpus: [0] }));
    const pieces = build(
      base('11aa03o'),
      withCapabilities(ociCapabilities()),
      withMaskedPaths([0]),
      withSeccomp('default'),
      withDeviceRules(),
    );
    expect(whole.process.noNewPrivileges).toBe(false);
    expect(whole.process.capabilities).toEqual(pieces.process.capabilities);
    expect(whole.linux).toEqual(pieces.linux);
    expect(build(base('11aa03o'), withSecurity({ seccomp: 'unconfined' })).linux.seccomp).toBeUndefined();
    expect(build(base('11aa03o'), withNoNewPrivileges).process.noNewPrivileges).toBe(true);
  });

  it('withNoNetwork gives the container a network namespace of its own, once', () => {
    const spec = build(base('11aa04o'), withNoNetwork);
    expect(spec.linux.namespaces.filter((n) => n.type === 'network')).toEqual([{ type: 'network' }]);
  });
});

describe('what a hardening step shows', () => {
  it('a container one step further shows only the system calls that step adds, not its own paths and hostname', () => {
    const open = base('11aa05o');
    const caps = build(base('11aa05c'), withCapabilities(ociCapabilities()));
    const added = addedSyscalls(open, caps);
    expect(added.split('\n').filter((l) => l.startsWith('//'))).toEqual([
      '// capabilities: the bounding set first',
      '// capabilities: effective, permitted, inheritable, ambient',
    ]);
    expect(added).not.toContain('11aa05c');
    const readOnly = build(caps, withMaskedPaths(), withReadOnlyRoot);
    const more = addedSyscalls(caps, readOnly);
    expect(more).toContain('MS_REMOUNT|MS_BIND|MS_RDONLY, NULL)');
    expect(more).not.toContain('PR_CAPBSET_DROP');
    expect(containerCommands(caps, { executor: 'ts', background: true, since: open, pidVar: 'CAPS' })).toMatchObject({
      init: { shell: `# the TypeScript init makes the system calls shown before, and now also:\n${added}` },
      pid: { shell: 'LAUNCHER=$!; sleep 0.5; CAPS=$(pgrep -P $LAUNCHER)' },
    });
  });

  it('an exec is shown as the command it runs (a comment: it travels over the socket) and the init it starts', () => {
    const spec = build(base('11aa06s'), withSecurity());
    const shown = execCommands(withUser({ uid: 65534, gid: 65534 })(spec), '$S', ['breakout', 'whoami'], 'in $S');
    expect(shown.what).toEqual({ shell: '# in $S (as uid 65534): breakout whoami' });
    expect(shown.exec).toEqual(execArgvFor(spec, '$S', tsInitPaths()));
  });

  it('a launcher goes in front of the whole start command, shown and run alike', () => {
    const spec = base('11aa07l');
    const leak = ['sh', '-c', 'exec 7</ && exec "$@"', 'leak'];
    const argv = launchOf(spec, { executor: 'ts', launcher: leak }).argv;
    expect(argv.slice(0, 4)).toEqual(leak);
    expect(argv.slice(4)).toEqual(launchOf(spec, { executor: 'ts' }).argv);
  });

  it('a long mount option string is shown as C literals that concatenate to exactly that string', () => {
    const text = renderSyscalls(initPlan(base('11aa08o'), { mode: 'run', executor: 'ts' }));
    // The call and the lines of C string pieces that continue it, up to its closing parenthesis.
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('mount("overlay"'));
    const end = lines.findIndex((l, i) => i >= at && l.endsWith(')'));
    const line = lines.slice(at, end + 1).join(' ');
    const literals = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).slice(3);
    expect(literals.join('')).toBe(
      'lowerdir=/k:/var/lib/scratch/rootfs/busybox,upperdir=/c/11aa08o/upper,workdir=/c/11aa08o/work,' +
        'redirect_dir=off,metacopy=off',
    );
    // What matters on a projector: every line of the call fits 80 columns.
    expect(Math.max(...lines.slice(at, end + 1).map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(end).toBeGreaterThan(at);
  });
});

describe('reading the attack kit and /proc', () => {
  it('the kit’s report becomes a map of attempt → answer, whatever the width of the attempt', () => {
    expect(
      parseAnswers(
        'mount(tmpfs, /mnt)       EPERM\nwrite /proc/sys/kernel/hostname  EROFS\nls /: bin dev\nuid          65534\n',
      ),
    ).toEqual({ 'mount(tmpfs, /mnt)': 'EPERM', 'write /proc/sys/kernel/hostname': 'EROFS', uid: '65534' });
  });

  it('the privilege lines of /proc/<pid>/status, and nothing else', () => {
    expect(
      parsePrivileges('Name:\tsleep\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n'),
    ).toEqual({ CapEff: '00000000a80425fb', NoNewPrivs: '1', Seccomp: '2' });
  });

  it('the host’s disk by its device number, with 8:0 standing in when / is on no block device', () => {
    expect(hostRootDevice(() => (254 << 8) | 0)).toBe('254:0');
    expect(hostRootDevice(() => (8 << 8) | 1)).toBe('8:1');
    expect(hostRootDevice(() => (259 << 8) | 2)).toBe('259:2');
    expect(hostRootDevice(() => 0x2e)).toBe('8:0');
    expect(
      hostRootDevice(() => {
        throw new Error('no /');
      }),
    ).toBe('8:0');
  });

  it('the device step opens the host’s disk where the host’s root may, else the first loop device', () => {
    expect(deviceToOpen('254:0', () => true)).toBe('254:0');
    expect(deviceToOpen('254:0', () => false)).toBe('7:0');
  });

  it('the kit’s layer: the binary, and a setuid-root copy of it', () => {
    expect(kitLayerArgvs('/d/breakout', '/l')).toEqual([
      ['install', '-D', '-m', '0755', '/d/breakout', '/l/usr/bin/breakout'],
      ['install', '-D', '-m', '4755', '/d/breakout', '/l/usr/bin/breakout-suid'],
    ]);
  });

  it('a masked file to read is the first of the list this kernel has', () => {
    expect(firstExisting(['/proc/kcore', '/proc/timer_list'], (p) => p === '/proc/timer_list')).toBe(
      '/proc/timer_list',
    );
    expect(MASKED_PATHS).toContain('/proc/timer_list');
  });
});

describe('a container’s masks, as the host reads them in its mountinfo', () => {
  const MOUNTINFO = [
    '580 570 0:45 / / rw,relatime - overlay overlay rw,lowerdir=/k:/r,upperdir=/u,workdir=/w',
    '581 580 0:46 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=1777',
    '599 580 0:45 / / ro,relatime - overlay overlay rw,lowerdir=/k:/r,upperdir=/u,workdir=/w',
    '600 590 0:50 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=64k,mode=755',
    '601 590 0:51 / /sys/firmware ro,relatime - tmpfs tmpfs ro',
    '602 590 0:22 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
    '603 590 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  ].join('\n');

  it('says what covers each path: /dev/null over a file, an empty tmpfs over a directory, itself read-only', () => {
    expect(describeMasks(MOUNTINFO)).toEqual([
      '/proc/kcore          /dev/null bound over it',
      '/sys/firmware        an empty tmpfs, read-only',
      '/proc/sys            itself, read-only',
    ]);
  });

  it('reads the mount on top at a point: the root remounted read-only, the tmpfs writable', () => {
    expect(mountState(MOUNTINFO, '/')).toBe('overlay ro');
    expect(mountState(MOUNTINFO, '/tmp')).toBe('tmpfs rw');
    expect(mountState(MOUNTINFO, '/nowhere')).toBeUndefined();
  });
});

describe('doctor, for lesson 11', () => {
  const ok = { seccompInStatus: true, seccompActions: ['kill_process', 'errno', 'allow'], breakoutBuilt: false };
  it('seccomp is there when /proc says so and its filters can kill and refuse', () => {
    expect(securityFindings({ ...ok, breakoutBuildable: true })[0]?.ok).toBe(true);
    const old = securityFindings({ ...ok, seccompActions: ['allow', 'errno'], breakoutBuildable: true })[0];
    expect(old?.ok).toBe(false);
    expect(old?.detail).toContain('kill_process');
    expect(securityFindings({ ...ok, seccompInStatus: false, breakoutBuildable: true })[0]?.ok).toBe(false);
  });

  it('the attack kit is fine built, or buildable; otherwise the fix installs gcc and the static libc', () => {
    expect(securityFindings({ ...ok, breakoutBuildable: true })[1]?.ok).toBe(true);
    const missing = securityFindings({ ...ok, breakoutBuildable: false })[1];
    expect(missing?.ok).toBe(false);
    expect(missing?.fix).toContain('gcc libc6-dev');
    expect(canBuildBreakout('/usr/bin', (p) => p === '/usr/bin/gcc')).toBe(false);
    expect(canBuildBreakout('/usr/bin', (p) => ['/usr/bin/gcc', '/usr/lib/x86_64-linux-gnu/libc.a'].includes(p))).toBe(
      true,
    );
  });
});
