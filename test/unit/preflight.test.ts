import { describe, expect, it } from 'vitest';
import { detectLayout, type CgroupFs } from '../../lib/cgroups/index.ts';
import {
  describeCgroupHost,
  evaluate,
  gatherFacts,
  kernelAtLeast,
  TOOLS,
  requireRoot,
  requireLinux,
  usernsBlocker,
  APPARMOR_FIX,
  type HostFacts,
} from '../../lib/preflight.ts';
import { findOnPath, toolPath } from '../../lib/runner.ts';
import { UserError } from '../../lib/errors.ts';

const V1 = `30 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids`;

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    platform: 'linux',
    uid: 0,
    sudo: false,
    lessonPath: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
    pathAdded: ['/usr/local/sbin', '/usr/sbin', '/sbin'],
    kernelRelease: '6.8.0-45-generic',
    tools: Object.fromEntries(Object.keys(TOOLS).map((t) => [t, true])),
    cgroups: { v1: [], v2: { mountPoint: '/sys/fs/cgroup', available: ['cpu', 'memory', 'pids', 'io'] } },
    filesystems: 'nodev\tproc\nnodev\toverlay\n',
    maxUserNamespaces: 15000,
    unprivilegedUsernsClone: undefined,
    apparmorRestrictsUserns: 0,
    rootfs: '/var/lib/scratch/rootfs/busybox',
    rootfsReady: true,
    ...over,
  };
}

describe('preflight', () => {
  it('names the cgroup version from where the controllers are, and a missing controller with its fix', () => {
    const cg = (over: Partial<HostFacts>) => evaluate(facts(over)).find((x) => x.name === 'cgroups');
    const noFiles: CgroupFs = {
      exists: () => false,
      read: () => '',
      write: () => {},
      mkdir: () => {},
      rmdir: () => {},
      listDirs: () => [],
    };
    expect(cg({ cgroups: detectLayout(noFiles, V1) })?.ok).toBe(false); // v1 here lacks cpu
    expect(
      cg({ cgroups: detectLayout(noFiles, `${V1}\n34 30 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu`) })
        ?.detail,
    ).toMatch(/^cgroup v1/);
    expect(cg({})?.detail).toMatch(/^cgroup v2/);
    const missingPids = cg({ cgroups: { v1: [], v2: { mountPoint: '/sys/fs/cgroup', available: ['cpu', 'memory'] } } });
    expect(missingPids).toMatchObject({ ok: false, fix: 'echo +pids > /sys/fs/cgroup/cgroup.subtree_control' });
    expect(missingPids?.detail).toContain('no pids controller');
  });

  it('compares kernel releases by major and minor', () => {
    expect(kernelAtLeast('6.8.0-45-generic')).toBe(true);
    expect(kernelAtLeast('4.18.0-477.el8.x86_64')).toBe(true);
    expect(kernelAtLeast('4.9.0')).toBe(false);
    expect(kernelAtLeast('3.10.0')).toBe(false);
    expect(kernelAtLeast('garbage')).toBe(false);
  });

  it('passes a complete Ubuntu 24.04-like machine', () => {
    const bad = evaluate(facts()).filter((f) => !f.ok);
    expect(bad).toEqual([]);
  });

  it('names the missing tool and the package that fixes it', () => {
    const found = evaluate(facts({ tools: { ...facts().tools, unshare: false } })).find((f) => f.name === 'unshare');
    expect(found).toMatchObject({ ok: false, required: true, fix: 'apt-get install -y util-linux' });
  });

  it('explains Ubuntu 24.04 AppArmor blocking unprivileged user namespaces, with the profile that allows unshare', () => {
    const f = evaluate(facts({ apparmorRestrictsUserns: 1 })).find((x) => x.name === 'AppArmor userns');
    expect(f).toMatchObject({ ok: false, required: false });
    expect(f?.detail).toContain('kernel.apparmor_restrict_unprivileged_userns=1');
    expect(f?.fix).toBe(APPARMOR_FIX);
    // With the workshop's profile loaded the restriction stays on for everything else, and lesson 09 works.
    const allowed = evaluate(facts({ apparmorRestrictsUserns: 1, apparmorUnshareProfile: true }));
    expect(allowed.find((x) => x.name === 'AppArmor userns')?.ok).toBe(true);
    expect(usernsBlocker(facts({ apparmorRestrictsUserns: 1 }))?.fix).toBe(APPARMOR_FIX);
    expect(usernsBlocker(facts({ apparmorRestrictsUserns: 1, apparmorUnshareProfile: true }))).toBeUndefined();
  });

  it('each setting that stops a user namespace is one line naming it, with the command that changes it', () => {
    const off = (over: Partial<HostFacts>) => {
      const e = usernsBlocker(facts(over));
      return e && `${e.message} — fix: ${e.fix}`;
    };
    expect(off({ maxUserNamespaces: 0 })).toBe(
      'user.max_user_namespaces=0: no user namespace can be made ("No space left on device") — fix: ' +
        'sysctl -w user.max_user_namespaces=15000',
    );
    expect(off({ unprivilegedUsernsClone: 0 })).toMatch(
      /^kernel\.unprivileged_userns_clone=0 .* — fix: sysctl -w kernel\.unprivileged_userns_clone=1$/,
    );
    expect(off({})).toBeUndefined();
    // Debian 12 has no unprivileged_userns_clone switch at all: no line about it.
    expect(evaluate(facts()).some((x) => x.name === 'userns_clone')).toBe(false);
  });

  it('newuidmap missing and no subordinate range: each one line with its fix, lesson 09 only', () => {
    const tools = { ...facts().tools, newuidmap: false };
    expect(evaluate(facts({ tools })).find((x) => x.name === 'newuidmap')).toMatchObject({
      ok: false,
      required: false,
      fix: 'apt-get install -y uidmap',
    });
    const none = evaluate(facts({ subids: { user: 'vagrant', uid: 1000, free: 100000 } })).find(
      (x) => x.name === 'subuid range',
    );
    expect(none).toMatchObject({ ok: false, required: false });
    expect(none?.fix).toBe('usermod --add-subuids 100000-165535 --add-subgids 100000-165535 vagrant');
    const has = { start: 100000, count: 65536 };
    const ok = evaluate(facts({ subids: { user: 'vagrant', uid: 1000, uids: has, gids: has, free: 165536 } }));
    expect(ok.find((x) => x.name === 'subuid range')?.ok).toBe(true);
  });

  it('off Linux, says so once and points at the VM', () => {
    const out = evaluate(facts({ platform: 'darwin' }));
    expect(out).toHaveLength(1);
    expect(out[0]?.fix).toContain('vagrant up');
  });

  it('a normal user is fine when sudo is there (lessons re-run themselves with it), not without', () => {
    expect(evaluate(facts({ uid: 1000, sudo: true })).find((x) => x.name === 'root')?.ok).toBe(true);
    expect(evaluate(facts({ uid: 1000, sudo: false })).find((x) => x.name === 'root')?.ok).toBe(false);
  });

  it('flags an old kernel, a non-root user and a missing overlay', () => {
    const out = evaluate(facts({ kernelRelease: '4.4.0', uid: 1000, filesystems: 'nodev\tproc\n' }));
    const bad = out.filter((f) => !f.ok).map((f) => f.name);
    expect(bad).toEqual(['root', 'kernel version', 'overlayfs']);
  });

  it('lessons 06–07: an upper directory on overlayfs (docker inside docker without a volume) is named, with a fix', () => {
    const upper = (upperFs: string) => evaluate(facts({ upperFs })).find((x) => x.name === 'upper dirs');
    expect(upper('ext4')).toMatchObject({ ok: true, required: false });
    expect(upper('overlay')).toMatchObject({ ok: false, required: false });
    expect(upper('overlay')?.detail).toContain('cannot be the upper layer of another overlay');
    expect(upper('overlay')?.fix).toContain('mount -t tmpfs');
    expect(
      evaluate(facts({ tools: { ...facts().tools, skopeo: false } })).find((x) => x.name === 'skopeo'),
    ).toMatchObject({ ok: false, required: false, fix: 'apt-get install -y skopeo' });
  });

  it('requireRoot and requireLinux throw one-line user errors with a fix', () => {
    expect(() => requireRoot('lesson 01', 1000)).toThrow(UserError);
    expect(() => requireRoot('lesson 01', 0)).not.toThrow();
    expect(() => requireLinux('darwin')).toThrow(/Linux kernel feature/);
  });

  it('judges each tool on the PATH the lessons will have, so doctor says ✔ exactly where a lesson finds it', () => {
    for (const PATH of ['/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games', '/nonexistent']) {
      const f = gatherFacts(undefined, { PATH });
      expect(f.lessonPath).toBe(toolPath(PATH));
      for (const tool of Object.keys(TOOLS)) {
        expect(f.tools[tool], `${tool} with PATH=${PATH}`).toBe(findOnPath(tool, toolPath(PATH)) !== undefined);
      }
    }
    expect(gatherFacts(undefined, { PATH: '/nonexistent' }).tools.unshare).toBe(true);
  });

  it('names a hybrid host hybrid, and says what each tree holds', () => {
    const hybrid = {
      v1: [
        { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
        { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
        { mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu'] },
      ],
      v2: { mountPoint: '/sys/fs/cgroup/unified', available: [] },
    };
    const text = describeCgroupHost(hybrid);
    expect(text).toMatch(/^hybrid: /);
    expect(text).toContain('memory at /sys/fs/cgroup/memory');
    expect(text).toContain('the v2 tree at /sys/fs/cgroup/unified holds none of them');
    expect(evaluate(facts({ cgroups: hybrid })).find((x) => x.name === 'cgroups')?.detail).toBe(text);
    expect(describeCgroupHost({ ...hybrid, v2: undefined })).toMatch(/^cgroup v1: /);
  });
});
