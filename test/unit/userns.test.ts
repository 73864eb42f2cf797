/**
 * User namespaces without root: the maps, /etc/subuid, who writes what at the sync point, the spec rules, the
 * init plan in a user namespace, the launcher that starts it as the mapped uid, and the handshake that waits for
 * the maps before the init starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { upperMountPoints } from '../../lib/container/root.ts';
import { DEFAULT_MOUNTS } from '../../lib/mounts.ts';
import { describe, expect, it } from 'vitest';
import { execArgvFor, nsenterExecArgv, runArgv, USERNS_WAIT } from '../../lib/container/launch.ts';
import { containerCommands } from '../../lib/container/shown.ts';
import { handshake } from '../../lib/container/start.ts';
import { planOps } from '../../lib/init/ops.ts';
import { initPlan, type Executor } from '../../lib/init/plan.ts';
import { parseInitLine } from '../../lib/init/protocol.ts';
import { renderSyscalls } from '../../lib/init/render-syscalls.ts';
import { build, isolatedSpec, withCgroup, withOverlay, withUserns } from '../../lib/kit.ts';
import { showCommand } from '../../lib/lesson.ts';
import type { BackgroundProcess, RunResult } from '../../lib/runner.ts';
import { mappedRoot, validateSpec, type ContainerSpec } from '../../lib/spec.ts';
import {
  freeIdBlock,
  grantArgv,
  idMapSteps,
  mappedCount,
  mapText,
  parseMapLines,
  parsePasswd,
  parseProcMap,
  parseSubids,
  remappedIds,
  revokeArgv,
  rootlessUser,
  subidRangeOf,
  uidMapLines,
} from '../../lib/userns.ts';

const ROOTFS = '/var/lib/scratch/rootfs/busybox';
const base = isolatedSpec({ id: '09ab12', rootfs: ROOTFS, args: ['id'] });
const selfMaps = { uidMappings: parseMapLines(uidMapLines(1000)), gidMappings: parseMapLines(uidMapLines(1000)) };
const rootless = build(base, withUserns(selfMaps));
const remapped = build(base, withCgroup(), withUserns(remappedIds(1_000_000)));
const init = { node: '/usr/bin/node', bundle: '/repo/dist/init.cjs' };

describe('uid_map lines', () => {
  it('a rootless container: root inside is the user; with a subordinate range, ids 1 and up are that range', () => {
    expect(uidMapLines(1000)).toEqual(['0 1000 1']);
    expect(uidMapLines(1000, { start: 100000, count: 65536 })).toEqual(['0 1000 1', '1 100000 65536']);
    const maps = parseMapLines(uidMapLines(1000, { start: 100000, count: 65536 }));
    expect(mappedCount(maps)).toBe(65537);
    expect(mapText(maps)).toBe('0 1000 1\n1 100000 65536');
  });

  it('reads the kernel’s padded columns back, and refuses a line that is not three numbers', () => {
    expect(parseProcMap('         0       1000          1\n         1     100000      65536\n')).toEqual([
      { containerID: 0, hostID: 1000, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ]);
    expect(() => parseMapLines(['0 1000'])).toThrow(/not a map line/);
    expect(() => parseMapLines(['0 -1 1'])).toThrow(/not a map line/);
  });
});

describe('/etc/subuid and the ranges handed out', () => {
  const text = '# comment\nvagrant:100000:65536\n1001:165536:65536\nbroken line\n';

  it('finds a user’s range by name or by uid', () => {
    const entries = parseSubids(text);
    expect(entries).toHaveLength(2);
    expect(subidRangeOf(entries, { name: 'vagrant', id: 1000 })).toEqual({ start: 100000, count: 65536 });
    expect(subidRangeOf(entries, { name: 'alice', id: 1001 })).toEqual({ start: 165536, count: 65536 });
    expect(subidRangeOf(entries, { name: 'nobody', id: 65534 })).toBeUndefined();
  });

  it('ctr --userns and a lent range take ids no entry grants anyone', () => {
    expect(freeIdBlock([], 1_000_000)).toBe(1_000_000);
    expect(freeIdBlock(parseSubids('a:1000000:65536\nb:1065536:10\n'), 1_000_000)).toBe(1_065_546);
    expect(freeIdBlock(parseSubids(text), 100000)).toBe(231072);
  });

  it('a range lent for a run is added and taken back exactly, in both files', () => {
    const g = { user: 'nobody', range: { start: 2_000_000, count: 65536 } };
    expect(grantArgv(g)).toEqual([
      'usermod',
      '--add-subuids',
      '2000000-2065535',
      '--add-subgids',
      '2000000-2065535',
      'nobody',
    ]);
    // usermod --del-subuids refuses while the user runs a process (their shell): the line itself goes.
    expect(revokeArgv(g)).toEqual(['sed', '-i', '/^nobody:2000000:65536$/d', '/etc/subuid', '/etc/subgid']);
    expect(revokeArgv({ user: 'a.b', range: g.range })[2]).toBe('/^a\\.b:2000000:65536$/d');
  });

  it('the rootless user is whoever ran sudo, else nobody', () => {
    const passwd = parsePasswd('root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n');
    expect(rootlessUser({ SUDO_USER: 'vagrant', SUDO_UID: '1000', SUDO_GID: '1000' }, passwd)).toEqual({
      name: 'vagrant',
      uid: 1000,
      gid: 1000,
    });
    expect(rootlessUser({}, passwd)).toEqual({ name: 'nobody', uid: 65534, gid: 65534 });
    expect(rootlessUser({ SUDO_USER: 'root', SUDO_UID: '0', SUDO_GID: '0' }, passwd).name).toBe('nobody');
  });
});

describe('who writes the maps at the sync point', () => {
  it('root writes both files itself, and leaves setgroups alone', () => {
    const steps = idMapSteps(4711, remappedIds(1_000_000), { as: 'root' });
    expect(steps.map((s) => showCommand(s))).toEqual([
      "echo '0 1000000 65536' > /proc/4711/uid_map",
      "echo '0 1000000 65536' > /proc/4711/gid_map",
    ]);
  });

  it('the user writes a map of their own id, and denies setgroups before the gid map', () => {
    const steps = idMapSteps('$PID', selfMaps, { as: 'user', uid: 1000, gid: 1000 });
    const shown = steps.map((s) => showCommand(s));
    expect(shown).toEqual([
      `setpriv --reuid=1000 --regid=1000 --clear-groups -- bash -c 'echo "$2" > "$1"' scr-map "/proc/$PID/uid_map" '0 1000 1'`,
      `setpriv --reuid=1000 --regid=1000 --clear-groups -- bash -c 'echo "$2" > "$1"' scr-map "/proc/$PID/setgroups" deny`,
      `setpriv --reuid=1000 --regid=1000 --clear-groups -- bash -c 'echo "$2" > "$1"' scr-map "/proc/$PID/gid_map" '0 1000 1'`,
    ]);
  });

  it('anything wider goes through newuidmap and newgidmap, run as the user, with the lines as numbers', () => {
    const sub = { start: 100000, count: 65536 };
    const maps = {
      uidMappings: parseMapLines(uidMapLines(1000, sub)),
      gidMappings: parseMapLines(uidMapLines(1000, sub)),
    };
    const steps = idMapSteps(4711, maps, { as: 'user', uid: 1000, gid: 1000 });
    expect(steps).toEqual([
      [
        'setpriv',
        '--reuid=1000',
        '--regid=1000',
        '--clear-groups',
        '--',
        'newuidmap',
        '4711',
        '0',
        '1000',
        '1',
        '1',
        '100000',
        '65536',
      ],
      [
        'setpriv',
        '--reuid=1000',
        '--regid=1000',
        '--clear-groups',
        '--',
        'newgidmap',
        '4711',
        '0',
        '1000',
        '1',
        '1',
        '100000',
        '65536',
      ],
    ]);
  });
});

describe('a spec with a user namespace', () => {
  it('needs both maps, each mapping the root, without overlaps; maps without the namespace are refused', () => {
    expect(() => validateSpec(rootless)).not.toThrow();
    const without = (change: Partial<ContainerSpec['linux']>): ContainerSpec => ({
      ...rootless,
      linux: { ...rootless.linux, ...change },
    });
    expect(() => validateSpec(without({ gidMappings: undefined }))).toThrow(/needs linux.gidMappings/);
    expect(() => validateSpec(without({ uidMappings: [{ containerID: 1, hostID: 5, size: 1 }] }))).toThrow(
      /must map container id 0/,
    );
    expect(() =>
      validateSpec(
        without({
          uidMappings: [
            { containerID: 0, hostID: 1000, size: 10 },
            { containerID: 5, hostID: 2000, size: 1 },
          ],
        }),
      ),
    ).toThrow(/overlapping/);
    expect(() => validateSpec({ ...base, linux: { ...base.linux, uidMappings: selfMaps.uidMappings } })).toThrow(
      /need a user namespace/,
    );
    expect(mappedRoot(remapped)).toEqual({ uid: 1_000_000, gid: 1_000_000 });
    expect(mappedRoot(base)).toBeUndefined();
  });

  it('binds /sys from the host, read-only all the way down, instead of a sysfs it may not mount', () => {
    const sys = rootless.mounts.find((m) => m.destination === '/sys');
    expect(sys).toMatchObject({ type: 'bind', source: '/sys' });
    const ops = planOps(initPlan(rootless, { mode: 'run', executor: 'ts' }));
    expect(ops).toContainEqual({ op: 'readonlyTree', path: `${ROOTFS}/sys` });
    expect(renderSyscalls(initPlan(rootless, { mode: 'run', executor: 'ts' }))).toContain(
      `mount_setattr(AT_FDCWD, "${ROOTFS}/sys", AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY})`,
    );
  });

  it('binds each device from the host’s /dev (mknod is refused in a user namespace)', () => {
    const ops = planOps(initPlan(rootless, { mode: 'run', executor: 'ts' }));
    expect(ops.some((o) => o.op === 'mknod')).toBe(false);
    expect(ops).toContainEqual({ op: 'mkpath', path: `${ROOTFS}/dev/null`, like: '/dev/null' });
    expect(ops).toContainEqual({
      op: 'mount',
      source: '/dev/null',
      target: `${ROOTFS}/dev/null`,
      fstype: null,
      flags: ['MS_BIND'],
      data: '',
    });
    // Without one, nothing changes: devices are made, as before.
    expect(planOps(initPlan(base, { mode: 'run', executor: 'ts' })).some((o) => o.op === 'mknod')).toBe(true);
  });

  it('an overlay mounted inside keeps its bookkeeping in user.* xattrs (userxattr)', () => {
    const layers = { type: 'overlay' as const, lower: [ROOTFS], upper: '/c/upper', work: '/c/work' };
    const withLayers = (s: ContainerSpec) => build(s, withOverlay('/c/rootfs', layers));
    const mountData = (s: ContainerSpec) =>
      planOps(initPlan(s, { mode: 'run', executor: 'ts' })).find((o) => o.op === 'mount' && o.fstype === 'overlay');
    expect(mountData(withLayers(rootless))).toMatchObject({ data: expect.stringMatching(/,userxattr$/) });
    expect(mountData(withLayers(base))).toMatchObject({ data: expect.not.stringContaining('userxattr') });
  });
});

describe('mount points for a remapped root (ctr run --userns)', () => {
  it('are made in its upper dir where the rootfs lacks them, given to it; none inside another mount', () => {
    const lower = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-lower-'));
    try {
      for (const d of ['etc', 'dev', 'proc', 'sys']) fs.mkdirSync(path.join(lower, d), { mode: 0o755 });
      fs.writeFileSync(path.join(lower, 'etc', 'hosts'), '');
      const mounts = [
        ...DEFAULT_MOUNTS,
        { destination: '/etc/hosts', type: 'bind', source: '/etc/hosts', options: ['bind'] },
        { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/hosts', options: ['bind'] },
        { destination: '/data/cache', type: 'tmpfs', source: 'tmpfs' },
      ];
      const overlay = { rootfs: { type: 'overlay' as const, lower: [lower], upper: '/c/upper', work: '/c/work' } };
      const ops = upperMountPoints(overlay, mounts, { uid: 1_000_000, gid: 1_000_000 });
      expect(ops.map((o) => `${o.kind} ${'path' in o ? o.path : ''}`)).toEqual([
        'mkdir /c/upper/etc',
        'chown /c/upper/etc',
        'write /c/upper/etc/resolv.conf',
        'chown /c/upper/etc/resolv.conf',
        'mkdir /c/upper/data',
        'chown /c/upper/data',
        'mkdir /c/upper/data/cache',
        'chown /c/upper/data/cache',
      ]);
      expect(ops[0]).toMatchObject({ mode: 0o755 });
      expect(ops[1]).toMatchObject({ uid: 1_000_000, gid: 1_000_000 });
    } finally {
      fs.rmSync(lower, { recursive: true, force: true });
    }
  });
});

describe('the launcher of a container with a user namespace', () => {
  it('runs unshare as the mapped root, after root joined its network, and waits for the maps before the init', () => {
    const joined: ContainerSpec = {
      ...remapped,
      linux: {
        ...remapped.linux,
        namespaces: [...remapped.linux.namespaces, { type: 'network', path: '/run/netns/scr1' }],
      },
    };
    const argv = runArgv(joined, { executor: 'ts', init });
    const at = (word: string) => argv.indexOf(word);
    expect(argv.slice(at('nsenter'), at('nsenter') + 2)).toEqual(['nsenter', '--net=/run/netns/scr1']);
    expect(argv.slice(at('setpriv'), at('setpriv') + 5)).toEqual([
      'setpriv',
      '--reuid=1000000',
      '--regid=1000000',
      '--clear-groups',
      '--',
    ]);
    expect(at('nsenter')).toBeLessThan(at('setpriv'));
    expect(at('setpriv')).toBeLessThan(at('unshare'));
    expect(argv[at('unshare') + 1]).toBe('--user');
    expect(argv.slice(at(USERNS_WAIT) - 2, at(USERNS_WAIT) + 2)).toEqual(['sh', '-c', USERNS_WAIT, 'scr-userns']);
    expect(argv.slice(-2)).toEqual([init.node, init.bundle]);
    // The waiter says where it is and goes on only at "mapped"; the protocol reads that line.
    expect(parseInitLine('userns')).toEqual({ kind: 'userns', pid: undefined });
  });

  it('is refused for the sh init, which would mknod', () => {
    expect(() => runArgv(rootless, { executor: 'sh', script: { text: '', params: [] } })).toThrow(/user namespace/);
  });

  it('is shown with its maps, written for $PID while it waits', () => {
    const cmds = containerCommands(rootless, {
      executor: 'ts' as Executor,
      mapWriter: { as: 'user', uid: 1000, gid: 1000 },
    });
    expect(Object.keys(cmds)).toEqual(['init', 'start', 'pid', 'map0', 'map1', 'map2']);
    expect(showCommand(cmds.map1!)).toContain('"/proc/$PID/setgroups" deny');
  });

  it('an exec by the user keeps its uid (root inside already); one by root becomes root inside', () => {
    const mine = nsenterExecArgv(rootless, 4711, ['id'], [], { uid: 1000, gid: 1000 });
    expect(mine.slice(mine.indexOf('setpriv'), mine.indexOf('setpriv') + 2)).toEqual(['setpriv', '--reuid=1000']);
    expect(mine).toContain('--preserve-credentials');
    expect(mine.indexOf('--user')).toBeGreaterThan(mine.indexOf('nsenter'));
    const roots = nsenterExecArgv(rootless, 4711, ['id']);
    expect(roots).not.toContain('setpriv');
    expect(roots).not.toContain('--preserve-credentials');
    expect(execArgvFor(remapped, 4711, init)).toContain('--user');
  });
});

/** A fake started process whose fd 3 is a pair of streams: what the host writes, and what the "init" says. */
function fakeProcess() {
  const toInit = new PassThrough();
  const fromInit = new PassThrough();
  const sync = Duplex.from({ readable: fromInit, writable: toInit });
  let exit: (r: RunResult) => void = () => {};
  const done = new Promise<RunResult>((r) => (exit = r));
  const proc: BackgroundProcess = { argv: ['x'], pid: 1, wait: () => done, kill: () => {}, sync };
  const written: string[] = [];
  toInit.setEncoding('utf8');
  toInit.on('data', (c: string) => written.push(c));
  return { proc, say: (line: string) => fromInit.write(`${line}\n`), written, exit };
}

describe('the handshake with a user namespace', () => {
  const plan = initPlan(remapped, { mode: 'run', executor: 'ts' });

  it('writes the maps at "userns", then says mapped and only then sends the plan', async () => {
    const f = fakeProcess();
    const order: string[] = [];
    const started = handshake(
      f.proc,
      plan,
      true,
      async (pid) => void order.push(`cgroup ${pid}`),
      5000,
      async (pid) => void order.push(`maps ${pid}`),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(f.written.join('')).toBe(''); // nothing before the launcher is there: the plan would be read as "mapped"
    f.say('userns 4711');
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['maps 4711']);
    const sent = f.written.join('').split('\n');
    expect(sent[0]).toBe('mapped');
    expect(JSON.parse(sent[1] ?? '{}')).toMatchObject({ mode: 'run', id: '09ab12' });
    f.say('ready 4711');
    await new Promise((r) => setTimeout(r, 20));
    f.say('exec');
    await expect(started).resolves.toEqual({ pid: 4711 });
    expect(order).toEqual(['maps 4711', 'cgroup 4711']);
  });

  it('a map that cannot be written aborts the launcher: it never reaches the init', async () => {
    const f = fakeProcess();
    const started = handshake(
      f.proc,
      plan,
      true,
      async () => {},
      5000,
      async () => {
        throw new Error('newuidmap: uid range [1-65537) -> [100000-165536) not allowed');
      },
    );
    f.say('userns 4711');
    await expect(started).rejects.toThrow(/not allowed/);
    expect(f.written.join('')).toBe('abort\n');
  });
});

describe('a range lent by a run that was killed', () => {
  it('is a leftover npm run clean takes back by its line', async () => {
    const { removalArgv } = await import('../../lib/leftovers.ts');
    expect(removalArgv({ kind: 'subid', name: 'nobody:2000000:65536', via: '/run/scratch/09ab12' })).toEqual([
      'sed',
      '-i',
      '/^nobody:2000000:65536$/d',
      '/etc/subuid',
      '/etc/subgid',
    ]);
  });
});
