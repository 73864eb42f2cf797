/**
 * Lesson 09 — the user namespace: a rootless container.
 *
 * Every container so far was started by root, and its root was the host's root, held back only by what the
 * namespaces hide. A user namespace changes who the process *is*: uid 0 inside is an ordinary uid outside,
 * written in /proc/<pid>/uid_map. This lesson drops from root to an unprivileged user — the one who ran sudo,
 * or `nobody` — and has that user start the same busybox container: root inside, an ordinary user to the host.
 * We write the maps by hand first (and see why setgroups must be denied), then let the runtime write them while
 * the container waits; we see what root inside may do (its own hostname) and may not (the host's /etc/shadow, a
 * module, the clock, a root-owned file bound in); why it gets no cgroup, and how its network works without root;
 * then 65,536 ids from /etc/subuid through newuidmap, and what an overlay's copy-up needs of them.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { initBundle } from '../lib/bundle.ts';
import { hostDirsOf, layoutToShow } from '../lib/cgroups/index.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { containerCommands, interactiveShell, mapIdsWith } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import { build, isolatedSpec, withBind, withOverlay, withRootless } from '../lib/kit.ts';
import { UserError } from '../lib/errors.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { containerDir, stateDir } from '../lib/names.ts';
import { kernelAtLeast, usernsBlocker } from '../lib/preflight.ts';
import { readNamespaces, readStatusField } from '../lib/proc.ts';
import { findOnPath, toolPath, type RunResult } from '../lib/runner.ts';
import type { ContainerSpec, IdMapping } from '../lib/spec.ts';
import type { HostOp } from '../lib/hostops.ts';
import { createStateDir } from '../lib/state.ts';
import {
  asUser,
  freeIdBlock,
  GRANT_BASE,
  grantArgv,
  grantNote,
  grantSubids,
  idMapSteps,
  mappedCount,
  parseMapLines,
  parseProcMap,
  readPasswd,
  readSubids,
  rootlessUser,
  SUBGID_FILE,
  SUBID_COUNT,
  SUBID_GRANT_FILE,
  SUBUID_FILE,
  subidRangeOf,
  uidMapLines,
  type HostUser,
  type MapWriter,
  type SubidRange,
} from '../lib/userns.ts';

/** What a process reports about itself: who it is, its map, its capabilities. */
const PROBE = 'id; cat /proc/self/uid_map; grep CapEff /proc/self/status';
/** A world-writable file an image's uid 1000 owns: anyone may write it, only a copy-up must keep its owner. */
const NOTES = '/home/app/notes.txt';
/** slirp4netns's fixed addresses: the container is 10.0.2.100, and 10.0.2.2 is the host's own loopback. */
const SLIRP_HOST = '10.0.2.2';

type Maps = { uidMappings: IdMapping[]; gidMappings: IdMapping[] };

interface Plan {
  user: HostUser;
  /** The user's range in /etc/subuid and /etc/subgid, or the one the lesson lends them while it runs. */
  range: SubidRange;
  lend: boolean;
  /** Where the rootless user's cgroup would be made (under the cgroup this lesson runs in). */
  cgroupDir: string | undefined;
  slirp: boolean;
  port: number;
}

interface State {
  plan?: Plan;
  bare?: { noMap: string; mapped: string };
  byHand?: { early: RunResult; pid: number; uidMap: string; gidMap: string; setgroups: string; id: string };
  a?: Container;
  aInside?: string;
  aHostUid?: string;
  hostname?: { inside: string; host: string; hostBefore: string };
  cannot?: { shadow: ContainerResult; module: ContainerResult; clock: ContainerResult; owned: ContainerResult };
  ownedAfter?: string;
  cgroup?: { lines: string; ownCgroup: boolean; mkdir?: RunResult };
  network?: { addr: string; got: string; slirpUser: string } | { skipped: string };
  b?: Container;
  bMap?: IdMapping[];
  bGidMap?: IdMapping[];
  owners?: { inside: string; host: string; upperUids: number[] };
  copyUp?: { narrow: ContainerResult; wide: ContainerResult; upperOwner?: number };
}

/** Who runs the rootless part, their range (lent if they have none), and what this host offers: fixed once. */
function planOf(ctx: LessonContext<State>): Plan {
  if (ctx.state.plan) return ctx.state.plan;
  const user = rootlessUser(process.env, readPasswd());
  const uids = readSubids(SUBUID_FILE);
  const gids = readSubids(SUBGID_FILE);
  const own = (entries: typeof uids) => subidRangeOf(entries, { name: user.name, id: user.uid });
  const [u, g] = [own(uids), own(gids)];
  const has = !!u && !!g && u.start === g.start && u.count >= SUBID_COUNT && g.count >= SUBID_COUNT;
  const range = has && u ? { start: u.start, count: SUBID_COUNT } : { start: 0, count: SUBID_COUNT };
  if (!has) range.start = freeIdBlock([...uids, ...gids], GRANT_BASE);
  const self = hostDirsOf(fs.readFileSync('/proc/self/cgroup', 'utf8'), layoutToShow());
  const pids = self.find((d) => /(^|[:,])pids([:,]|$)/.test(d.line)) ?? self.find((d) => d.line.startsWith('0::'));
  ctx.state.plan = {
    user,
    range,
    lend: !has,
    cgroupDir: pids ? path.join(pids.dir, `scr${ctx.id}`) : undefined,
    slirp: ['/usr/bin/slirp4netns', '/bin/slirp4netns', '/usr/local/bin/slirp4netns'].some((p) => fs.existsSync(p)),
    port: 0,
  };
  return ctx.state.plan;
}

const userOf = (ctx: LessonContext<State>) => planOf(ctx).user;
const writer = (ctx: LessonContext<State>): MapWriter => ({ as: 'user', ...userOf(ctx) });

/** The maps, from the lesson's key step (`uidMapLines`: the learner's with --mine): own id only, or the range too. */
function mapsOf(ctx: LessonContext<State>, wide: boolean): Maps {
  const { user, range } = planOf(ctx);
  const lines = ctx.use(uidMapLines);
  return {
    uidMappings: parseMapLines(lines(user.uid, wide ? range : undefined)),
    gidMappings: parseMapLines(lines(user.gid, wide ? range : undefined)),
  };
}

/** The run's own directories: an image copy the user owns, and per container an upper, a work dir and a root. */
function dirs(id: string) {
  const dir = containerDir(id);
  const box = (name: string) => ({
    dir: `${dir}/${name}`,
    root: `${dir}/${name}/rootfs`,
    upper: `${dir}/${name}/upper`,
    work: `${dir}/${name}/work`,
  });
  return { dir, image: `${dir}/image`, app: `${dir}/app`, owned: `${dir}/owned-by-root.txt`, www: `${dir}/www`, box };
}

/** A rootless container: the user's copy of the rootfs (plus more layers on top) under an overlay of its own. */
function rootlessSpec(ctx: LessonContext<State>, name: string, maps: Maps, args: string[], lower: string[] = []) {
  const d = dirs(ctx.id);
  const b = d.box(name);
  return build(
    isolatedSpec({ id: ctx.id, rootfs: d.image, args, hostname: 'rootless' }),
    withOverlay(b.root, { type: 'overlay', lower: [...lower, d.image], upper: b.upper, work: b.work }),
    withRootless(maps),
  );
}

/** Container A: the user's own id only, and two host files bound in to try: /etc/shadow, and a root-owned file. */
function specA(ctx: LessonContext<State>): ContainerSpec {
  const d = dirs(ctx.id);
  return build(
    rootlessSpec(ctx, 'a', mapsOf(ctx, false), ['sleep', '3600']),
    withBind('/etc/shadow', '/mnt/host/shadow'),
    withBind(d.owned, '/mnt/host/owned.txt'),
  );
}

const specB = (ctx: LessonContext<State>) => rootlessSpec(ctx, 'b', mapsOf(ctx, true), ['sleep', '3600']);

const MAKE_FILES = ['sh', '-c', 'touch /tmp/root /tmp/u1000; chown 1000:1000 /tmp/u1000; ls -ln /tmp'];
const WRITE_NOTES = ['sh', '-c', `ls -ln ${NOTES}; echo "written inside" >> ${NOTES} && echo written`];
const specC = (ctx: LessonContext<State>) =>
  rootlessSpec(ctx, 'c', mapsOf(ctx, false), WRITE_NOTES, [dirs(ctx.id).app]);
const specD = (ctx: LessonContext<State>) => rootlessSpec(ctx, 'd', mapsOf(ctx, true), WRITE_NOTES, [dirs(ctx.id).app]);

/** A command run inside a container by the user who owns it (`$PID` until it runs). */
function inside(ctx: LessonContext<State>, spec: ContainerSpec, pid: number | undefined, argv: readonly string[]) {
  return nsenterExecArgv(spec, pid ?? '$PID', argv, [], userOf(ctx));
}

/** Directories the user owns: made by root, handed over. */
function userDirs(ctx: LessonContext<State>, paths: string[]): Shown[] {
  const { uid, gid } = userOf(ctx);
  return paths.flatMap((p): Shown[] => [
    { op: { kind: 'mkdir', path: p, parents: true } },
    { op: { kind: 'chown', path: p, uid, gid } },
  ]);
}

/** Run every shown command or host effect, in order (the steps that only prepare files). */
async function doAll(ctx: LessonContext<State>, shown: Shown[]): Promise<void> {
  for (const s of shown) {
    if (Array.isArray(s)) await ctx.runner.run(s as string[]);
    else if ('op' in s) ctx.runner.apply(s.op);
  }
}

const said = (r: { stdout: string; stderr: string; exitCode: number }) =>
  (r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`).split('\n').slice(-2).join('\n');

/** Keep a container's start commands but not its init listing: shown once, in step 3. */
function startOnly(cmds: Record<string, Shown>): Record<string, Shown> {
  return Object.fromEntries(Object.entries(cmds).filter(([k]) => k !== 'init'));
}

/** A free TCP port on the host's loopback, for the little web server the container reaches through slirp4netns. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Until `pid`'s network namespace has a default route (slirp4netns has configured tap0), or 5 s. */
async function waitForRoute(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  const routed = () => {
    try {
      return /^tap0\s+00000000\s/m.test(fs.readFileSync(`/proc/${pid}/net/route`, 'utf8'));
    } catch {
      return false;
    }
  };
  while (!routed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** The user namespace of `pid` exists once its link differs from ours (unshare has made it). */
async function waitForUserns(pid: number): Promise<void> {
  const ours = readNamespaces('self').user;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const theirs = readNamespaces(pid).user;
    if (theirs !== undefined && theirs !== ours) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export default defineLesson<State>({
  number: '09',
  title: 'User namespace: a rootless container',
  summary:
    'An unprivileged user starts the busybox container: uid 0 inside, an ordinary uid to the host. The maps that ' +
    'say so, why setgroups must be denied first, what root inside may and may not do, no cgroup without ' +
    'delegation, a network without root, and 65,536 ids from /etc/subuid that an overlay needs.',
  docker: 'dockerd-rootless-setuptool.sh install; docker run --rm busybox id   (podman: podman run --rm busybox id)',
  needsRoot: true,
  needsRootfs: true,
  // What its containers run inside the rootfs (the TypeScript init needs nothing from it).
  rootfsCommands: ['sh', 'sleep', 'id', 'cat', 'ls', 'hostname', 'insmod', 'date', 'touch', 'chown', 'ip', 'wget'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'A user namespace, with and without a map',
      explain:
        'The lesson stops being root: every command below runs as an ordinary user (setpriv gives up root ' +
        'for it). First `unshare --user` alone: a new user namespace, but no line yet in its uid_map, so the ' +
        'shell inside is uid 65534 — the overflow id every unmapped id shows as — and it holds no capability: a ' +
        'program exec’d in a user namespace keeps capabilities only if its uid is root there. Then with ' +
        '`--map-root-user`, unshare writes the map `0 <uid> 1` before it execs: root inside, every capability ' +
        '— over what this namespace owns.',
      docker: 'podman unshare id   # rootless podman runs everything in such a namespace',
      commands: (ctx) => {
        const u = userOf(ctx);
        return {
          who: ['id', u.name],
          bare: asUser(u, ['unshare', '--user', 'sh', '-c', PROBE]),
          mapped: asUser(u, ['unshare', '--user', '--map-root-user', 'sh', '-c', PROBE]),
        };
      },
      async run(ctx, cmd) {
        // Before anything is made: a host that refuses user namespaces says so in one line, with its setting.
        const blocked = usernsBlocker();
        if (blocked) throw blocked;
        // Step 7 needs the setuid helpers that write a range for a user: say so now, not half way through.
        const helper = ['newuidmap', 'newgidmap'].find((t) => !findOnPath(t, toolPath(process.env.PATH)));
        if (helper)
          throw new UserError(
            `${helper} is not installed (lesson 09 maps 65,536 ids with it)`,
            'sudo apt-get install -y uidmap',
          );
        if (!kernelAtLeast(fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8'), [5, 11])) {
          throw new UserError('an overlay in a user namespace needs Linux 5.11 or newer', 'use the workshop VM');
        }
        const who = await ctx.runner.run(cmd.who as string[]);
        ctx.out.evidence('the user this lesson runs its rootless part as:', who.stdout);
        const bare = await ctx.runner.run(cmd.bare as string[], { reject: false });
        const mapped = await ctx.runner.run(cmd.mapped as string[], { reject: false });
        ctx.state.bare = { noMap: bare.stdout, mapped: mapped.stdout };
        ctx.out.compare('unshare --user: no map, then --map-root-user', bare.stdout || '(empty map)', mapped.stdout);
      },
    }),

    step({
      title: 'The maps, written by hand: setgroups first',
      hint: 1,
      explain:
        'A map is a file of the process, written once, from outside: /proc/<pid>/uid_map. An unprivileged user ' +
        'may write one line, mapping only their own uid; for gid_map the kernel also wants `deny` in ' +
        '/proc/<pid>/setgroups first. Why: root inside could otherwise drop a supplementary group with ' +
        'setgroups(2), and read a file whose *group* is denied (mode 0604: everyone but that group may read). ' +
        'So the first write of gid_map is refused, the same write after `deny` is taken.',
      docker: '(rootless docker and podman have newuidmap write wider maps; see step 7)',
      commands: (ctx) => {
        const u = userOf(ctx);
        const maps = mapsOf(ctx, false);
        const gidFirst = idMapSteps('$PID', maps, writer(ctx)).at(-1) as Shown;
        return {
          start: { bg: asUser(u, ['unshare', '--user', 'sleep', '60']) },
          pid: { shell: 'PID=$!' },
          early: gidFirst,
          ...Object.fromEntries(idMapSteps('$PID', maps, writer(ctx)).map((s, i) => [`map${i}`, s])),
          look: ['cat', '/proc/$PID/uid_map', '/proc/$PID/gid_map', '/proc/$PID/setgroups'],
          id: asUser(u, ['nsenter', '--target', '$PID', '--user', '--preserve-credentials', 'id']),
          stop: { op: { kind: 'kill', pid: ctx.state.byHand?.pid ?? '$PID', signal: 'SIGKILL' } },
        };
      },
      async run(ctx, cmd) {
        const proc = ctx.runner.start((cmd.start as { bg: string[] }).bg);
        ctx.cleanup.push(`stop the sleeping namespace (PID ${proc.pid})`, async () => {
          proc.kill('SIGKILL');
          await proc.wait();
        });
        await waitForUserns(proc.pid);
        const pid = proc.pid;
        const fill = (argv: string[]) => argv.map((a) => a.replaceAll('$PID', String(pid)));
        const early = await ctx.runner.run(fill(cmd.early as string[]), { reject: false });
        for (const s of idMapSteps(pid, mapsOf(ctx, false), writer(ctx))) await ctx.runner.run(s as string[]);
        const look = await ctx.runner.run(fill(cmd.look as string[]));
        const id = await ctx.runner.run(fill(cmd.id as string[]));
        const [uidMap = '', gidMap = '', setgroups = ''] = look.stdout.split('\n');
        ctx.state.byHand = { early, pid, uidMap, gidMap, setgroups, id: id.stdout };
        ctx.out.evidence('gid_map written before setgroups was denied:', said(early));
        ctx.out.compare('from the host: uid_map, gid_map, setgroups', look.stdout, id.stdout);
        ctx.runner.apply({ kind: 'kill', pid, signal: 'SIGKILL' });
        await proc.wait();
      },
    }),

    step({
      title: 'A rootless container: root inside, an ordinary user outside',
      hint: 1,
      explain:
        'Now the busybox container of lesson 05, started by the user. Its root is an overlay on the user’s own ' +
        'copy of the rootfs (rootless storage keeps images in the user’s name). The launcher runs as the user; ' +
        'after `unshare --user` a one-line sh says `userns` and waits, and the user writes the maps while it ' +
        'waits — after the init starts it would be too late: its capabilities would be gone. With its own ' +
        'user namespace the init may mount /proc, a tmpfs, the overlay; /sys and the devices are bound from the ' +
        'host instead (sysfs and mknod are refused). Inside, `id` says root; the host sees the user.',
      docker: 'docker run -d busybox sleep 3600   # under rootless docker: same command, no root',
      commands: (ctx) => {
        const d = dirs(ctx.id);
        const b = d.box('a');
        const u = userOf(ctx);
        return {
          mkdir: { op: { kind: 'mkdir', path: d.dir, parents: true, mode: 0o755 } },
          pass: { op: { kind: 'chmod', path: path.dirname(d.dir), mode: 0o711 } },
          // --one-file-system: a /proc some chroot left mounted in the rootfs is not part of it.
          copy: ['cp', '-a', '--one-file-system', ctx.rootfs, d.image],
          own: { op: { kind: 'chown', path: d.image, uid: u.uid, gid: u.gid, recursive: true } },
          owned: { op: { kind: 'write', path: d.owned, value: 'a file of the host’s root' } },
          ...Object.fromEntries(userDirs(ctx, [b.upper, b.work, b.root]).map((s, i) => [`dir${i}`, s])),
          ...containerCommands(specA(ctx), { executor: 'ts', background: true, mapWriter: writer(ctx) }),
          id: inside(ctx, specA(ctx), ctx.state.a?.hostPid, ['id']),
          host: ['ps', '-o', 'user,uid,pid,args', '-p', String(ctx.state.a?.hostPid ?? '$PID')],
        };
      },
      async run(ctx, cmd) {
        const d = dirs(ctx.id);
        createStateDir(ctx.cleanup, ctx.id);
        ctx.cleanup.push(`remove ${d.dir}`, () => ctx.runner.apply({ kind: 'remove', path: d.dir }));
        ctx.runner.apply((cmd.mkdir as { op: HostOp }).op);
        // The user must pass through /var/lib/scratch/containers (x, never r) to reach their own directories.
        ctx.runner.apply((cmd.pass as { op: HostOp }).op);
        await ctx.runner.run(cmd.copy as string[]);
        const prepare = Object.entries(cmd)
          .filter(([k]) => k === 'own' || k === 'owned' || /^dir\d+$/.test(k))
          .map(([, v]) => v);
        await doAll(ctx, prepare);
        const spec = specA(ctx);
        const a = await startContainer(ctx.runner, ctx.cleanup, spec, {
          executor: 'ts',
          init: await initBundle(),
          mapIds: mapIdsWith(ctx.runner, spec, writer(ctx)),
        });
        ctx.state.a = a;
        const id = await ctx.runner.run(inside(ctx, spec, a.hostPid, ['id']));
        const ps = await ctx.runner.run(['ps', '-o', 'user,uid,pid,args', '-p', String(a.hostPid)]);
        ctx.state.aInside = id.stdout;
        ctx.state.aHostUid = readStatusField(a.hostPid, 'Uid');
        ctx.out.compare('the container’s PID 1: the host’s view, and its own', ps.stdout, id.stdout);
        ctx.out.evidence(
          `/proc/${a.hostPid}/uid_map and gid_map: inside outside count`,
          `${fs.readFileSync(`/proc/${a.hostPid}/uid_map`, 'utf8')}${fs.readFileSync(`/proc/${a.hostPid}/gid_map`, 'utf8')}`,
        );
      },
    }),

    step({
      title: 'What root inside may do, and what it may not',
      explain:
        'Root’s capabilities in a user namespace count for what that namespace owns. Its UTS namespace is its ' +
        'own, so it may set its hostname, and the host’s stays as it was. The host’s /etc/shadow and a ' +
        'root-owned file of the host are bound in: their owner, the host’s root, is in no line of the map, so ' +
        'they show as 65534 and root inside is "others" to them — no read of shadow, no write to the file. ' +
        'Loading a module and setting the clock need their capability in the host’s own user namespace: refused.',
      docker: 'docker run --rm -v /etc/shadow:/s busybox cat /s   # rootless: Permission denied',
      commands: (ctx) => {
        const a = specA(ctx);
        const pid = ctx.state.a?.hostPid;
        return {
          hostname: inside(ctx, a, pid, ['sh', '-c', 'hostname renamed-inside && hostname']),
          host: ['hostname'],
          shadow: inside(ctx, a, pid, ['cat', '/mnt/host/shadow']),
          module: inside(ctx, a, pid, ['insmod', '/bin/busybox']),
          now: { shell: 'NOW=$(date +%s)   # the clock is set to what it says: nothing changes even if it worked' },
          clock: inside(ctx, a, pid, ['date', '-s', `@${ctx.state.a ? Math.floor(Date.now() / 1000) : '$NOW'}`]),
          owned: inside(ctx, a, pid, ['sh', '-c', 'ls -ln /mnt/host/owned.txt; echo changed >> /mnt/host/owned.txt']),
          file: ['cat', dirs(ctx.id).owned],
        };
      },
      async run(ctx, cmd) {
        const a = ctx.state.a!;
        // Only ever tried as the unprivileged user: the host's uid of the container must not be root.
        if (/^0\s/.test(readStatusField(a.hostPid, 'Uid') ?? '0')) throw new Error('the container runs as root');
        const hostBefore = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
        const renamed = await ctx.runner.run(cmd.hostname as string[]);
        const host = await ctx.runner.run(cmd.host as string[]);
        ctx.state.hostname = { inside: renamed.stdout.trim(), host: host.stdout.trim(), hostBefore };
        ctx.out.compare('hostname: the host’s, and the one root inside just set', host.stdout, renamed.stdout);
        const run = async (argv: string[]) => {
          const r = await ctx.runner.run(argv, { reject: false });
          // Never the content: whatever it says on stdout (a shadow file) is not printed, only how it ended.
          return { exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
        };
        const shadow = await run(cmd.shadow as string[]);
        const module = await run(cmd.module as string[]);
        const clock = await run(cmd.clock as string[]);
        const owned = await run(cmd.owned as string[]);
        ctx.state.cannot = { shadow, module, clock, owned };
        ctx.state.ownedAfter = (await ctx.runner.run(cmd.file as string[])).stdout;
        const noModules = !fs.existsSync('/proc/modules');
        ctx.out.evidence(
          'what root inside was refused',
          [
            `cat /mnt/host/shadow  → ${shadow.stderr.trim() || `exit ${shadow.exitCode}`}`,
            `insmod                → ${module.stderr.trim() || `exit ${module.exitCode}`}`,
            `date -s               → ${clock.stderr.trim() || `exit ${clock.exitCode}`}`,
            `echo >> owned.txt     → ${owned.stderr.trim() || `exit ${owned.exitCode}`}`,
          ].join('\n'),
        );
        ctx.out.evidence('the bound-in file, as root inside lists it:', owned.stdout);
        if (noModules) {
          ctx.out.note(
            'This kernel has no loadable modules at all (no /proc/modules), so insmod fails even for the host’s ' +
              'root; on one with them, root inside gets EPERM: init_module wants CAP_SYS_MODULE on the host.',
          );
        }
      },
    }),

    step({
      title: 'No cgroup of its own: limits need root, or delegation',
      explain:
        'The container has no limits: cgroups are files owned by root, and a user can make no cgroup, write no ' +
        'cgroup.procs, set no memory.max. It stays in the cgroup it was started from. Rootless docker and podman ' +
        'get limits only where systemd delegates a cgroup v2 subtree to the user (user@.service, ' +
        '`systemd-run --user -p Delegate=yes`): then the user owns those files. With cgroup v1, never.',
      docker: 'docker run --memory 64m ...   # rootless on cgroup v1: "Your kernel does not support cgroup" warnings',
      commands: (ctx) => {
        const dir = planOf(ctx).cgroupDir;
        return {
          cgroup: ['cat', `/proc/${ctx.state.a?.hostPid ?? '$PID'}/cgroup`],
          ...(dir ? { mkdir: asUser(userOf(ctx), ['mkdir', dir]) } : {}),
        };
      },
      async run(ctx, cmd) {
        const dir = planOf(ctx).cgroupDir;
        const lines = (await ctx.runner.run(cmd.cgroup as string[])).stdout;
        const self = fs.readFileSync('/proc/self/cgroup', 'utf8').trim();
        let mkdir: RunResult | undefined;
        if (dir && 'mkdir' in cmd) {
          // Registered first: were it ever to succeed, the directory goes again.
          ctx.cleanup.push(`remove ${dir} if it was made`, () => {
            if (fs.existsSync(dir)) fs.rmdirSync(dir);
          });
          mkdir = await ctx.runner.run(cmd.mkdir as string[], { reject: false });
        }
        ctx.state.cgroup = { lines, ownCgroup: !lines.includes('scratch'), mkdir };
        ctx.out.compare('/proc/<pid>/cgroup: this lesson’s process, and the container’s', self, lines.trim());
        if (mkdir) ctx.out.evidence(`the user making a cgroup in ${path.dirname(dir ?? '')}:`, said(mkdir));
      },
    }),

    step({
      title: 'A network without root: a user-mode stack',
      explain:
        'Lesson 08’s veth and bridge are made by root on the host. The rootless container has a network ' +
        'namespace of its own, owned by its user namespace, and only `lo` in it. slirp4netns, started by the ' +
        'user, joins that namespace, makes a tap device there, and plays router: each connection the container ' +
        'opens becomes an ordinary socket of the slirp4netns process on the host. 10.0.2.2 is the host’s own ' +
        'loopback, where a small web server listens (rootless docker turns that off: --disable-host-loopback).',
      docker: 'dockerd-rootless.sh --net=slirp4netns   # or pasta, podman’s default since 5.0',
      commands: (ctx): Record<string, Shown> => {
        const p = planOf(ctx);
        const a = specA(ctx);
        const pid = ctx.state.a?.hostPid;
        const u = userOf(ctx);
        if (!p.slirp) return { link: inside(ctx, a, pid, ['ip', 'link']) };
        const port = String(p.port || '$PORT');
        return {
          www: { op: { kind: 'mkdir', path: dirs(ctx.id).www } },
          page: { op: { kind: 'write', path: `${dirs(ctx.id).www}/index.html`, value: 'hello from the host' } },
          port: { shell: 'PORT=18080   # any port free on the host' },
          web: { bg: asUser(u, ['busybox', 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', dirs(ctx.id).www]) },
          slirp: { bg: asUser(u, ['slirp4netns', '--configure', '--mtu=65520', String(pid ?? '$PID'), 'tap0']) },
          addr: inside(ctx, a, pid, ['sh', '-c', 'ip -4 addr show tap0; ip route']),
          get: inside(ctx, a, pid, ['wget', '-qO-', `http://${SLIRP_HOST}:${port}/`]),
          who: ['ps', '-o', 'uid,user,pid,args', '-C', 'slirp4netns'],
        };
      },
      async run(ctx, cmd) {
        const p = planOf(ctx);
        const a = ctx.state.a!;
        if (!p.slirp) {
          const link = await ctx.runner.run(cmd.link as string[]);
          ctx.state.network = { skipped: 'slirp4netns is not installed' };
          ctx.out.evidence('inside: its own network namespace, with only lo', link.stdout);
          ctx.out.note(
            'No slirp4netns on this host (apt-get install slirp4netns): the container keeps only lo, as with ' +
              '--network none.',
          );
          return;
        }
        p.port = await freePort();
        const fill = (argv: readonly string[]) => argv.map((x) => x.replaceAll('$PORT', String(p.port)));
        ctx.runner.apply((cmd.www as { op: HostOp }).op);
        ctx.runner.apply((cmd.page as { op: HostOp }).op);
        const web = ctx.runner.start(fill((cmd.web as { bg: string[] }).bg));
        ctx.cleanup.push(`stop the web server (PID ${web.pid})`, async () => {
          web.kill('SIGKILL');
          await web.wait();
        });
        const slirp = ctx.runner.start(
          asUser(userOf(ctx), ['slirp4netns', '--configure', '--mtu=65520', String(a.hostPid), 'tap0']),
        );
        ctx.cleanup.push(`stop slirp4netns (PID ${slirp.pid})`, async () => {
          slirp.kill('SIGKILL');
          await slirp.wait();
        });
        await waitForRoute(a.hostPid);
        const addr = await ctx.runner.run(cmd.addr as string[], { reject: false });
        const get = await ctx.runner.run(fill(cmd.get as string[]), { reject: false });
        const who = await ctx.runner.run(cmd.who as string[], { reject: false });
        ctx.state.network = { addr: addr.stdout, got: get.stdout.trim(), slirpUser: who.stdout };
        ctx.out.evidence('inside: tap0, made by slirp4netns, and the route through it', addr.stdout || addr.stderr);
        ctx.out.compare(
          `wget http://${SLIRP_HOST}:${p.port}/ inside, and who carried it on the host`,
          who.stdout,
          get.stdout || get.stderr,
        );
      },
    }),

    step({
      title: '65,536 ids: /etc/subuid and newuidmap',
      hint: 2,
      explain:
        'One id is not enough for an image: its files belong to root, to uid 1000, to daemon users. Root grants ' +
        'a user ranges of ids in /etc/subuid and /etc/subgid (useradd does it for new users), and the setuid ' +
        'helpers newuidmap and newgidmap — package uidmap — write maps within them for the user: `0 <uid> 1` and ' +
        '`1 <start> 65536`. (Where the user has none, the lesson lends one while it runs.) Inside, root makes a ' +
        'file and gives another to uid 1000; the host sees them owned by the user and by start + 999.',
      docker: 'grep "$USER" /etc/subuid   # rootless docker and podman need exactly this',
      commands: (ctx) => {
        const p = planOf(ctx);
        const pid = ctx.state.b?.hostPid;
        const grant = { user: p.user.name, range: p.range };
        const note: HostOp = {
          kind: 'write',
          path: `${stateDir(ctx.id)}/${SUBID_GRANT_FILE}`,
          value: grantNote(grant),
        };
        return {
          ranges: ['grep', '-H', `^${p.user.name}:`, SUBUID_FILE, SUBGID_FILE],
          ...(p.lend ? { note: { op: note }, lend: grantArgv(grant) } : {}),
          ...Object.fromEntries(
            userDirs(ctx, [dirs(ctx.id).box('b').upper, dirs(ctx.id).box('b').work, dirs(ctx.id).box('b').root]).map(
              (s, i) => [`dir${i}`, s],
            ),
          ),
          ...startOnly(containerCommands(specB(ctx), { executor: 'ts', background: true, mapWriter: writer(ctx) })),
          maps: ['cat', `/proc/${pid ?? '$PID'}/uid_map`, `/proc/${pid ?? '$PID'}/gid_map`],
          make: inside(ctx, specB(ctx), pid, MAKE_FILES),
          host: ['ls', '-ln', `${dirs(ctx.id).box('b').upper}/tmp`],
        };
      },
      async run(ctx, cmd) {
        const p = planOf(ctx);
        const ranges = await ctx.runner.run(cmd.ranges as string[], { reject: false });
        ctx.out.evidence(`${p.user.name}'s ranges:`, ranges.stdout || `(none: ${p.user.name} has no range)`);
        if (p.lend) {
          await grantSubids(ctx.runner, ctx.cleanup, stateDir(ctx.id), { user: p.user.name, range: p.range });
          ctx.out.note(`Lent ${p.user.name} ids ${p.range.start}–${p.range.start + p.range.count - 1} until the end.`);
        }
        const b = dirs(ctx.id).box('b');
        await doAll(ctx, userDirs(ctx, [b.upper, b.work, b.root]));
        const spec = specB(ctx);
        const c = await startContainer(ctx.runner, ctx.cleanup, spec, {
          executor: 'ts',
          init: await initBundle(),
          mapIds: mapIdsWith(ctx.runner, spec, writer(ctx)),
        });
        ctx.state.b = c;
        const maps = await ctx.runner.run(['cat', `/proc/${c.hostPid}/uid_map`, `/proc/${c.hostPid}/gid_map`]);
        ctx.state.bMap = parseProcMap(fs.readFileSync(`/proc/${c.hostPid}/uid_map`, 'utf8'));
        ctx.state.bGidMap = parseProcMap(fs.readFileSync(`/proc/${c.hostPid}/gid_map`, 'utf8'));
        ctx.out.evidence(
          `uid_map and gid_map: ${mappedCount(ctx.state.bMap)} ids each (newuidmap, newgidmap)`,
          maps.stdout,
        );
        const made = await ctx.runner.run(inside(ctx, spec, c.hostPid, MAKE_FILES));
        const host = await ctx.runner.run(cmd.host as string[]);
        const upper = `${b.upper}/tmp`;
        ctx.state.owners = {
          inside: made.stdout,
          host: host.stdout,
          upperUids: ['root', 'u1000'].map((f) => fs.statSync(`${upper}/${f}`).uid),
        };
        ctx.out.compare('the same two files: on the host (the upper dir), and inside', host.stdout, made.stdout);
      },
    }),

    step({
      title: 'Overlay in a user namespace: a copy-up needs a mapped owner',
      hint: 2,
      explain:
        'Since Linux 5.11 root in a user namespace may mount overlay. Writing to a file of a lower layer copies ' +
        'it up first, and the copy must keep its owner. An app layer holds /home/app/notes.txt, owned by the ' +
        'image’s uid 1000 and writable by anyone. With only the user’s own id mapped, uid 1000 has no name in ' +
        'the namespace: the copy-up fails with EOVERFLOW ("Value too large"). With the 65,536 ids, it is ' +
        'start + 999, and the copy works — which is why rootless containers need /etc/subuid.',
      docker: 'docker run --rm IMAGE sh -c "echo x >> /file/owned/by/another/user"   # works only with the range',
      commands: (ctx) => {
        const d = dirs(ctx.id);
        const { range, user } = planOf(ctx);
        const owner = { uid: range.start + 999, gid: range.start + 999 };
        return {
          app: { op: { kind: 'mkdir', path: `${d.app}/home/app`, parents: true } },
          home: { op: { kind: 'chown', path: `${d.app}/home`, uid: user.uid, gid: user.gid } },
          notes: { op: { kind: 'write', path: `${d.app}${NOTES}`, value: 'an app file' } },
          mode: { op: { kind: 'chmod', path: `${d.app}${NOTES}`, mode: 0o666 } },
          owner: { op: { kind: 'chown', path: `${d.app}/home/app`, ...owner, recursive: true } },
          ...Object.fromEntries(
            ['c', 'd'].flatMap((n) => {
              const b = d.box(n);
              return userDirs(ctx, [b.upper, b.work, b.root]).map((s, i) => [`${n}dir${i}`, s]);
            }),
          ),
          ...Object.fromEntries(
            Object.entries(startOnly(containerCommands(specC(ctx), { executor: 'ts', mapWriter: writer(ctx) }))).map(
              ([k, v]) => [`narrow-${k}`, v],
            ),
          ),
          ...Object.fromEntries(
            Object.entries(startOnly(containerCommands(specD(ctx), { executor: 'ts', mapWriter: writer(ctx) }))).map(
              ([k, v]) => [`wide-${k}`, v],
            ),
          ),
          wait: { shell: 'wait   # each container runs its command and exits' },
          upper: ['ls', '-lnR', `${d.box('d').upper}/home`],
        };
      },
      async run(ctx, cmd) {
        const d = dirs(ctx.id);
        const prepare = Object.entries(cmd)
          .filter(([k]) => ['app', 'home', 'notes', 'mode', 'owner'].includes(k) || /^[cd]dir\d+$/.test(k))
          .map(([, v]) => v);
        await doAll(ctx, prepare);
        const init = await initBundle();
        const once = (spec: ContainerSpec) =>
          runContainer(ctx.runner, ctx.cleanup, spec, {
            executor: 'ts',
            init,
            mapIds: mapIdsWith(ctx.runner, spec, writer(ctx)),
          });
        const narrow = await once(specC(ctx));
        const wide = await once(specD(ctx));
        const upper = await ctx.runner.run(cmd.upper as string[], { reject: false });
        let upperOwner: number | undefined;
        try {
          upperOwner = fs.statSync(`${d.box('d').upper}${NOTES}`).uid;
        } catch {
          upperOwner = undefined;
        }
        ctx.state.copyUp = { narrow, wide, upperOwner };
        ctx.out.evidence('writing notes.txt with only the user’s own id mapped:', said(narrow));
        ctx.out.evidence('the same with 65,536 ids:', `${wide.stdout.trim()}${wide.stderr ? `\n${wide.stderr}` : ''}`);
        ctx.out.evidence('the copy in the wide container’s upper dir, on the host:', upper.stdout);
      },
    }),
  ],

  shell: (ctx) => {
    // A rootless shell with the 65,536 ids, in directories of its own; nothing is made when only shown.
    const d = dirs(ctx.id);
    const b = d.box('shell');
    if (ctx.mode !== 'explain' && !ctx.runner.dryRun) {
      const u = userOf(ctx);
      for (const p of [b.upper, b.work, b.root]) {
        fs.mkdirSync(p, { recursive: true });
        fs.chownSync(p, u.uid, u.gid);
      }
    }
    return interactiveShell(
      rootlessSpec(ctx, 'shell', mapsOf(ctx, true), ['sh']),
      `A rootless shell, started by ${userOf(ctx).name} with 65,536 ids (newuidmap and newgidmap write its ` +
        'maps as in step 7). Try `id`, ' +
        '`cat /proc/self/uid_map`, `ls -ln /`, `touch /x; chown 1000 /x` (then `ls -ln` its upper dir from the ' +
        'host), `hostname x`, `cat /etc/shadow`. Type `exit` to leave.',
      { executor: 'ts', runner: ctx.runner, cleanup: ctx.cleanup, mapWriter: writer(ctx) },
    );
  },

  checks: (s) => {
    const u = s.plan?.user;
    const net = s.network;
    const c = s.cannot;
    const refused = (r: ContainerResult | undefined) => !!r && (r.exitCode !== 0 || /not permitted/i.test(r.stderr));
    const range = s.plan?.range;
    return [
      {
        claim: 'with no map, the process in the new user namespace was nobody with no capability; with one, root',
        ok:
          !!s.bare &&
          /uid=65534/.test(s.bare.noMap) &&
          /CapEff:\s+0+\b/.test(s.bare.noMap) &&
          /uid=0\(root\)/.test(s.bare.mapped) &&
          !/CapEff:\s+0+\b/.test(s.bare.mapped),
      },
      {
        claim: 'gid_map was refused before setgroups said deny, and taken after it',
        ok:
          !!s.byHand &&
          s.byHand.early.exitCode !== 0 &&
          /deny/.test(s.byHand.setgroups) &&
          /^\s*0\s+\d+\s+1$/.test(s.byHand.gidMap) &&
          /uid=0\(root\)/.test(s.byHand.id),
        detail: s.byHand ? said(s.byHand.early) : undefined,
      },
      {
        hint: 1,
        expected: `uid 0 inside, Uid ${u?.uid ?? '?'} on the host`,
        seen: `${(s.aInside ?? 'nothing').trim().split(' ')[0]} inside, Uid: ${s.aHostUid ?? '?'} on the host`,
        claim: `the container's id said uid 0 inside; the host saw uid ${u?.uid ?? '?'} (${u?.name ?? '?'})`,
        ok:
          !!u &&
          /uid=0\(root\)/.test(s.aInside ?? '') &&
          (s.aHostUid ?? '').split(/\s+/).every((x) => x === String(u.uid)),
        detail: s.aHostUid ? `Uid: ${s.aHostUid}` : undefined,
      },
      {
        claim: 'root inside set the hostname of its own UTS namespace; the host’s did not change',
        ok:
          !!s.hostname &&
          s.hostname.inside === 'renamed-inside' &&
          s.hostname.host === s.hostname.hostBefore &&
          s.hostname.host !== 'renamed-inside',
      },
      {
        claim: 'it could not read the host’s /etc/shadow, load a module or set the clock',
        ok: !!c && refused(c.shadow) && c.shadow.stdout === '' && refused(c.module) && refused(c.clock),
      },
      {
        claim: 'it could not write the root-owned host file bound in, which is unchanged',
        ok: !!c && c.owned.exitCode !== 0 && s.ownedAfter === 'a file of the host’s root',
      },
      {
        claim: 'it got no cgroup of its own, and could make none',
        ok: !!s.cgroup && s.cgroup.ownCgroup && (!s.cgroup.mkdir || s.cgroup.mkdir.exitCode !== 0),
      },
      ...(net && 'skipped' in net
        ? []
        : [
            {
              claim: `through slirp4netns, run by ${u?.name ?? 'the user'}, it reached the host's loopback`,
              ok:
                !!net &&
                'got' in net &&
                net.got === 'hello from the host' &&
                /10\.0\.2\.100/.test(net.addr) &&
                !!u &&
                new RegExp(`^\\s*${u.uid}\\s`, 'm').test(net.slirpUser),
            },
          ]),
      {
        hint: 2,
        expected: `0 ${u?.uid ?? 'UID'} 1 and 1 ${range?.start ?? 'START'} ${SUBID_COUNT}`,
        seen: s.bMap ? s.bMap.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join(', ') : 'no map',
        claim: 'newuidmap and newgidmap mapped 65,537 ids: the user’s own, and 65,536 from the range',
        ok:
          !!s.bMap &&
          !!s.bGidMap &&
          !!range &&
          mappedCount(s.bMap) === SUBID_COUNT + 1 &&
          mappedCount(s.bGidMap) === SUBID_COUNT + 1 &&
          s.bMap.some((m) => m.hostID === range.start && m.containerID === 1),
      },
      {
        hint: 2,
        claim: 'files made inside by root and for uid 1000 belong to the user and to start + 999 on the host',
        ok: !!s.owners && !!u && !!range && s.owners.upperUids.join() === `${u.uid},${range.start + 999}`,
        detail: s.owners?.upperUids.join(', '),
      },
      {
        hint: 2,
        claim: 'copy-up of a file owned by an unmapped id failed (EOVERFLOW); with the range it worked',
        ok:
          !!s.copyUp &&
          !!range &&
          s.copyUp.narrow.exitCode !== 0 &&
          /too large/i.test(s.copyUp.narrow.stderr) &&
          s.copyUp.wide.exitCode === 0 &&
          s.copyUp.upperOwner === range.start + 999,
      },
    ];
  },

  exercise: {
    file: '09-user-namespace.ts',
    functions: { uidMapLines },
    solutionIn: ['lib/userns.ts'],
    contract:
      "write uidMapLines(hostId, sub?): the lines of a rootless container's uid_map — root inside is you " +
      'outside, and ids from 1 are your subordinate range.',
    hints: [
      'A line is three numbers, "inside outside count": "0 1000 1" makes container root host uid 1000.',
      'The range starts at container id 1 (root is taken): `1 ${sub.start} ${sub.count}`.',
      'return [`0 ${hostId} 1`, ...(sub ? [`1 ${sub.start} ${sub.count}`] : [])];',
    ],
    minutes: 8,
    shape: {
      uidMapLines: (v: unknown) =>
        Array.isArray(v) && v.every((l) => typeof l === 'string' && /^\s*\d+\s+\d+\s+\d+\s*$/.test(l))
          ? undefined
          : 'uidMapLines must return lines of three numbers, "inside outside count"',
    },
  },

  recap: {
    saw: [
      'uid_map and gid_map say who ids inside are outside; an unmapped id shows as 65534, and a process exec’d ' +
        'with no map for its uid has no capability.',
      'A user may map only their own id, and only after denying setgroups; wider maps come from /etc/subuid ' +
        'through newuidmap and newgidmap.',
      'Root inside has capabilities over what its user namespace owns — its hostname, its mounts — and none ' +
        'over the host’s files, modules or clock.',
      'Without root: no cgroup unless delegated, and a network through a user-mode stack such as slirp4netns.',
      'An overlay copy-up keeps the file’s owner, so every owner in the layers must be mapped.',
    ],
    next:
      'Lesson 10 goes into a running container from outside: nsenter joins its namespaces, and `ctr exec` ' +
      'also joins its cgroup and takes on its capabilities — the way docker exec does.',
  },
});
