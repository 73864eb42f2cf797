/**
 * Lesson 04 — the mount namespace and pivot_root.
 *
 * Lesson 03 gave the container a mount namespace only so its /proc would not land on the host. This lesson
 * finishes the job. First, mount propagation: a new mount namespace is a *copy* of the host's tree, and shared
 * mounts stay wired to the original — we show a mount leaking out, then the `mount --make-rprivate /` that
 * stops it. Then pivot_root replaces chroot: the rootfs becomes the root of the container's mount tree and the
 * host's root is detached from it, so the escapes of lesson 01 have nowhere to go. The container also gets the
 * filesystems a program expects: /proc, /sys read-only, and a /dev with only harmless devices in it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { containerCommands, interactiveShell, launchOf } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import { isolatedSpec } from '../lib/kit.ts';
import { defineLesson, step, writeFile, type LessonContext } from '../lib/lesson.ts';
import { listOf } from '../lib/exercise.ts';
import { pivotRootOps, rootMountOps } from '../lib/init/plan.ts';
import { renderSh, scriptArgs } from '../lib/init/render-sh.ts';
import { readMountinfo } from '../lib/mountinfo.ts';
import { makeSharedArgv, pushUnmount, tmpfsMountArgv } from '../lib/mounts.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { stateDir } from '../lib/names.ts';
import { unshareArgv } from '../lib/namespaces.ts';
import { chrootArgv } from '../lib/chroot.ts';
import { createStateDir } from '../lib/state.ts';

interface State {
  container?: Container;
  hostPid?: number;
  /** Propagation demo: whether each inner mount showed up in the host's mount table. */
  leakedToHost?: boolean;
  privateLeaked?: boolean;
  /** What the host's mount table had at the private half's mount point: nothing, unless the plan let it leak. */
  privateLeaks?: string[];
  containerMounts?: string[];
  rootEntries?: string[];
  /** What the rootfs directory held before and after: pivot_root(".", ".") needs no directory in it. */
  rootfsBefore?: string[];
  rootfsAfter?: string[];
  devEntries?: string[];
  devNullWorks?: boolean;
  sysWrite?: ContainerResult;
  secret?: string;
  chrootEscape?: ContainerResult;
  procRootEscape?: ContainerResult;
  procRootListing?: string[];
  dotDotListing?: string[];
  nestedChrootEscape?: ContainerResult;
  /** Why the nested-chroot demo did not run (it needs busybox's nsenter in the rootfs), if it did not. */
  nestedChrootSkipped?: string;
  insideMountSeenInside?: boolean;
  insideMountOnHost?: boolean;
  exit7?: ContainerResult;
  missing?: ContainerResult;
}

function containerSpec(ctx: { id: string; rootfs: string }, args = ['sleep', '3600']): ContainerSpec {
  return isolatedSpec({ id: ctx.id, rootfs: ctx.rootfs, args });
}

/** How this lesson starts its containers: the sh init, with (the learner's) pivot_root part of the plan. */
const launch = (ctx: { use: LessonContext<unknown>['use'] }) => ({
  executor: 'sh' as const,
  parts: { rootMountOps: ctx.use(rootMountOps), pivotRootOps: ctx.use(pivotRootOps) },
});

function running(state: State): Container {
  if (!state.container) throw new Error('the container of step 2 is not running');
  return state.container;
}

/** A command run inside the running container (`$PID` until it runs). */
const inside = (ctx: { id: string; rootfs: string; state: State }, argv: readonly string[]) =>
  nsenterExecArgv(containerSpec(ctx), ctx.state.hostPid ?? '$PID', argv);

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** Paths of the propagation demo, all under this run's state directory. */
function demoPaths(id: string) {
  const shared = path.join(stateDir(id), 'shared');
  return { shared, leaked: path.join(shared, 'leaked'), kept: path.join(shared, 'private') };
}

const MARKER = 'host-only.txt';
const marker = (id: string) => path.join(stateDir(id), MARKER);

/**
 * The chroot-within-chroot escape: busybox's `nsenter --root=DIR` chroots into DIR *without* moving the current
 * directory along, which is left outside the new root. From there `..` is never the root, so it climbs to the
 * real `/` of the mount tree, and a relative path reads whatever is there.
 */
const nestedChroot = (target: string) => [
  'nsenter',
  '-r/bin',
  '/busybox',
  'sh',
  '-c',
  'cd ../../../../../../../.. && /busybox cat "$1"',
  'escape',
  `.${target}`,
];

const MOUNT_INSIDE = ['mount', '-t', 'tmpfs', 'scr-inside', '/mnt'];

/**
 * The first lines of the container's init (rootMountOps: the learner's with --mine) as a script of its own, for
 * `dir`: the propagation demo runs exactly them, then one more mount. unshare(1) makes a new mount namespace
 * private by itself (`--propagation private` is its default), which would hide a plan that forgets to; the demo's
 * namespace is made with `--propagation unchanged`, so only the plan's own lines can keep its mounts in.
 */
const PROPAGATION_FILE = 'propagation.sh';
function propagationScript(ctx: { id: string; use: LessonContext<unknown>['use'] }, dir: string) {
  const ops = ctx.use(rootMountOps)(dir);
  const script = renderSh({ mode: 'run', id: ctx.id, root: dir, steps: [{ feature: 'rootMountOps(root)', ops }] });
  return { text: `${script.text}\nexec "$@"`, args: scriptArgs(script) };
}

export default defineLesson<State>({
  number: '04',
  title: 'Mount namespace and pivot_root: a filesystem of its own',
  summary:
    'Private mount propagation, then pivot_root instead of chroot: the rootfs becomes the root of the ' +
    "container's own mount tree and the host's root is detached from it. The container gets /proc, a " +
    'read-only /sys and a minimal /dev, and the escapes of lesson 01 stop working.',
  docker: 'docker run -d busybox sleep 3600   (every container gets this; there is no flag to turn it off)',
  needsRoot: true,
  needsRootfs: true,
  // What its containers run, and what the init script runs after pivot_root (from the rootfs, by then).
  rootfsCommands: ['sh', 'sleep', 'ls', 'cat', 'touch', 'head', 'wc', 'mount', 'umount'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'Mount propagation: what leaks when the tree is not private',
      explain:
        "A new mount namespace starts as a copy of its parent's mount tree, and a mount point marked *shared* " +
        'keeps its copies wired together: mount something below it in one, and it appears in all. Many hosts ' +
        '(systemd) mark `/` shared. We make a small shared tmpfs on the host to stand for it, then mount ' +
        'below it from a new mount namespace: the mount appears on the host. The second time, the namespace ' +
        'first runs the first lines of our init script — `mount --make-rprivate /`, then the bind that ' +
        'pivot_root will need (propagation.sh) — and nothing leaks. Both namespaces are made with ' +
        '`--propagation unchanged`: by default unshare(1) makes them private itself, which would hide the ' +
        'difference (and a plan that forgot it).',
      docker: 'docker run -v /data:/data:rshared ...   (docker makes mounts private unless asked otherwise)',
      commands: (ctx) => {
        const p = demoPaths(ctx.id);
        const inNewMountNs = unshareArgv(['mount'], { propagation: 'unchanged' });
        const plan = propagationScript(ctx, p.kept);
        return {
          mkdir: ['mkdir', '-p', p.shared],
          mount: tmpfsMountArgv(`scr${ctx.id}-shared`, p.shared),
          share: makeSharedArgv(p.shared),
          dirs: ['mkdir', p.leaked, p.kept],
          leak: [...inNewMountNs, ...tmpfsMountArgv(`scr${ctx.id}-leaked`, p.leaked)],
          script: writeFile(PROPAGATION_FILE, plan.text),
          kept: [
            ...inNewMountNs,
            'sh',
            '-c',
            plan.text,
            'propagation',
            ...plan.args,
            ...tmpfsMountArgv(`scr${ctx.id}-private`, p.kept),
          ],
          look: ['grep', `scr${ctx.id}`, '/proc/self/mountinfo'],
        };
      },
      hint: 2,
      async run(ctx, cmd) {
        const p = demoPaths(ctx.id);
        createStateDir(ctx.cleanup, ctx.id);
        await ctx.runner.run(cmd.mkdir);
        pushUnmount(ctx.runner, ctx.cleanup, p.shared);
        await ctx.runner.run(cmd.mount);
        await ctx.runner.run(cmd.share);
        await ctx.runner.run(cmd.dirs);
        // Registered before running: if the mount leaks, it is a mount on the host that must go. (pushUnmount
        // unmounts every mount stacked there: a plan without private propagation leaks its bind and the tmpfs.)
        pushUnmount(ctx.runner, ctx.cleanup, p.leaked);
        await ctx.runner.run(cmd.leak);
        pushUnmount(ctx.runner, ctx.cleanup, p.kept);
        await ctx.runner.run(cmd.kept);

        const host = readMountinfo();
        ctx.state.leakedToHost = host.some((m) => m.mountPoint === p.leaked);
        const leaks = host.filter((m) => m.mountPoint === p.kept);
        ctx.state.privateLeaked = leaks.length > 0;
        ctx.state.privateLeaks = leaks.map((m) => `${m.fsType} ${m.source}`);
        const look = await ctx.runner.run(cmd.look, { reject: false });
        const show = (m: { mountPoint: string; fsType: string; source: string; optional: string }) =>
          `${m.mountPoint.replace(`${stateDir(ctx.id)}/`, '')}  ${m.source}  ${m.optional || 'private'}`;
        ctx.out.evidence(
          `the host's mount table (${stateDir(ctx.id)}/…): the shared tmpfs, and what leaked into it`,
          host
            .filter((m) => m.mountPoint.startsWith(p.shared))
            .map(show)
            .join('\n') || look.stdout,
        );
        ctx.out.check(`mounted in a new namespace without make-rprivate → on the host`, ctx.state.leakedToHost);
        ctx.out.check(
          `mounted after the init's first lines (propagation.sh) → not on the host`,
          !ctx.state.privateLeaked,
        );
      },
    }),
    step({
      title: 'pivot_root: the rootfs becomes /',
      explain:
        'The new pieces of the init script: the rootfs is bind-mounted onto itself (pivot_root wants a mount ' +
        'point), /sys, a tmpfs /dev with a handful of device nodes, /dev/pts and /dev/shm are mounted inside ' +
        'it; then, from inside the rootfs, `pivot_root . .` makes it the root of this mount namespace and ' +
        'stacks the host’s old root on top of it, right here at `.`, where `umount -l .` detaches it (-l: ' +
        'lazily, the script’s own shell still runs from there). No directory is made for the old root, so ' +
        'any number of containers can start from one rootfs at once. After that no path in the container ' +
        'leads to the host’s files. Only then is the command exec’d. Its mount table is a handful of lines.',
      docker: 'docker run -d busybox sleep 3600',
      commands: (ctx) => ({
        ...containerCommands(containerSpec(ctx), { ...launch(ctx), background: true }),
        mounts: inside(ctx, ['cat', '/proc/self/mounts']),
        ls: inside(ctx, ['ls', '-a', '/']),
      }),
      hint: 2,
      async run(ctx) {
        ctx.state.rootfsBefore = fs.readdirSync(ctx.rootfs).sort();
        const c = await startContainer(ctx.runner, ctx.cleanup, containerSpec(ctx), launch(ctx));
        ctx.state.container = c;
        ctx.state.hostPid = c.hostPid;
        const mounts = await c.exec(['cat', '/proc/self/mounts']);
        ctx.state.containerMounts = lines(mounts.stdout).map((l) => l.split(' ')[1] ?? '');
        const ls = await c.exec(['ls', '-a', '/']);
        ctx.state.rootEntries = lines(ls.stdout);
        ctx.state.rootfsAfter = fs.readdirSync(ctx.rootfs).sort();
        ctx.out.compare(
          'mount points',
          `${readMountinfo().length} on the host`,
          lines(mounts.stdout)
            .map((l) => l.split(' ').slice(0, 3).join(' '))
            .join('\n'),
        );
      },
    }),
    step({
      title: 'A minimal /dev and a read-only /sys',
      explain:
        "The host's /dev holds every disk and device of the machine; a container must not open them. Its /dev " +
        'is a tiny tmpfs with six device nodes made by mknod (null, zero, full, random, urandom, tty), the usual ' +
        'links, a private /dev/pts and /dev/shm. /sys shows the kernel’s settings; it is mounted read-only, so ' +
        'writing there fails.',
      docker: 'docker run --rm busybox ls /dev',
      commands: (ctx) => ({
        dev: inside(ctx, ['ls', '/dev']),
        null: inside(ctx, ['sh', '-c', 'echo gone > /dev/null && head -c 16 /dev/urandom | wc -c']),
        sys: inside(ctx, ['touch', '/sys/kernel/scr-test']),
      }),
      async run(ctx) {
        const c = running(ctx.state);
        const dev = await c.exec(['ls', '/dev']);
        ctx.state.devEntries = lines(dev.stdout);
        const use = await c.exec(['sh', '-c', 'echo gone > /dev/null && head -c 16 /dev/urandom | wc -c']);
        ctx.state.devNullWorks = use.exitCode === 0 && use.stdout.trim() === '16';
        ctx.state.sysWrite = await c.exec(['touch', '/sys/kernel/scr-test']);
        ctx.out.compare('ls /dev', `${fs.readdirSync('/dev').length} entries on the host`, dev.stdout);
        ctx.out.evidence('writing to /sys inside:', ctx.state.sysWrite.stderr || `exit ${ctx.state.sysWrite.exitCode}`);
      },
    }),
    step({
      title: 'The escapes of lesson 01 now fail',
      explain:
        'We put a file on the host, outside the rootfs, and try three ways to read it from inside. Against a ' +
        "plain chroot (shown first, for contrast) a nested chroot escapes: busybox's `nsenter --root=/bin` " +
        'chroots without moving the working directory, which is left outside the new root, so `..` climbs to ' +
        'the real `/`. In the container, the same trick, `..` from `/`, and /proc/1/root all end at the ' +
        "container's own root: /proc/1 is the container's PID 1, and the host's root is not in its mount tree.",
      docker: '(docker containers are made this way: there is no host path to escape to)',
      commands: (ctx) => {
        const m = marker(ctx.id);
        return {
          chroot: chrootArgv(ctx.rootfs, nestedChroot(m)),
          nested: inside(ctx, nestedChroot(m)),
          procRoot: inside(ctx, ['cat', `/proc/1/root${m}`]),
          procRootLs: inside(ctx, ['ls', '-a', '/proc/1/root/']),
          dotDot: inside(ctx, ['ls', '-a', '/../../..']),
        };
      },
      async run(ctx, cmd) {
        const c = running(ctx.state);
        const m = marker(ctx.id);
        ctx.state.secret = `host-only ${crypto.randomBytes(6).toString('hex')}`;
        fs.writeFileSync(m, `${ctx.state.secret}\n`);
        ctx.out.evidence(`on the host: ${m} contains`, ctx.state.secret);

        const said = (r: ContainerResult) => (r.stdout || r.stderr).trim();
        if (fs.existsSync(path.join(ctx.rootfs, 'bin', 'busybox'))) {
          const chroot = await ctx.runner.run(cmd.chroot, { reject: false });
          ctx.state.chrootEscape = {
            exitCode: chroot.exitCode,
            signal: chroot.signal,
            stdout: chroot.stdout,
            stderr: chroot.stderr,
          };
          ctx.state.nestedChrootEscape = await c.exec(nestedChroot(m));
          ctx.out.compare(
            'the nested-chroot escape: plain chroot (host side) vs the pivot_root container',
            said(ctx.state.chrootEscape),
            said(ctx.state.nestedChrootEscape),
          );
        } else {
          // A Debian (or other) rootfs has no /bin/busybox for the trick; the other two escapes still run.
          ctx.state.nestedChrootSkipped = `${ctx.rootfs} has no /bin/busybox`;
          ctx.out.note(
            `The nested-chroot demo needs busybox in the rootfs; skipped (${ctx.state.nestedChrootSkipped}).`,
          );
        }
        ctx.state.procRootEscape = await c.exec(['cat', `/proc/1/root${m}`]);
        ctx.state.procRootListing = lines((await c.exec(['ls', '-a', '/proc/1/root/'])).stdout);
        ctx.state.dotDotListing = lines((await c.exec(['ls', '-a', '/../../..'])).stdout);
        ctx.out.evidence(`inside: cat /proc/1/root${m}`, said(ctx.state.procRootEscape));
        ctx.out.evidence('inside: ls -a /proc/1/root/  (the container’s own /)', ctx.state.procRootListing.join(' '));
        ctx.out.evidence('inside: ls -a /../../..  (`..` of / is / itself)', ctx.state.dotDotListing.join(' '));
      },
    }),
    step({
      title: 'A mount made inside stays inside',
      explain:
        'With a private mount tree, a filesystem mounted in the container exists only in its mount namespace: ' +
        "the host's /proc/self/mounts has no trace of it, and it disappears with the container.",
      docker: 'docker run --rm --privileged busybox mount -t tmpfs x /mnt   (invisible on the host)',
      commands: (ctx) => ({
        mount: inside(ctx, MOUNT_INSIDE),
        inside: inside(ctx, ['cat', '/proc/self/mounts']),
        host: ['cat', '/proc/self/mounts'],
      }),
      async run(ctx, cmd) {
        const c = running(ctx.state);
        await c.exec(MOUNT_INSIDE);
        // cat, not grep: every rootfs has cat. The lines about scr-inside are picked out here.
        const about = (text: string) =>
          lines(text)
            .filter((l) => l.startsWith('scr-inside '))
            .join('\n');
        const inside = about((await c.exec(['cat', '/proc/self/mounts'])).stdout);
        const host = about((await ctx.runner.run(cmd.host)).stdout);
        ctx.state.insideMountSeenInside = inside !== '';
        ctx.state.insideMountOnHost = readMountinfo().some((m) => m.source === 'scr-inside');
        ctx.out.compare('the lines of /proc/self/mounts about scr-inside', host || '(nothing)', inside);
      },
    }),
    step({
      title: "The container's exit code is its command's",
      explain:
        'The init script ends with `exec`, so the command replaces it and nothing stands between the command ' +
        "and unshare: the container's exit code is the command's, unchanged. A command that does not exist in " +
        'the rootfs fails as a shell says it: exit 127, with its name.',
      docker: "docker run --rm busybox sh -c 'exit 7'; echo $?",
      commands: (ctx) => ({
        exit7: launchOf(containerSpec(ctx, ['sh', '-c', 'exit 7']), launch(ctx)).argv,
        missing: launchOf(containerSpec(ctx, ['no-such-command']), launch(ctx)).argv,
        status: { shell: 'echo $?   # after each' },
      }),
      async run(ctx) {
        const sh = launch(ctx);
        ctx.state.exit7 = await runContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, ['sh', '-c', 'exit 7']), sh);
        ctx.state.missing = await runContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, ['no-such-command']), sh);
        ctx.out.evidence("sh -c 'exit 7':", `exit ${ctx.state.exit7.exitCode}`);
        ctx.out.evidence('no-such-command:', `exit ${ctx.state.missing.exitCode}: ${ctx.state.missing.stderr.trim()}`);
      },
    }),
  ],

  shell: (ctx) =>
    interactiveShell(
      containerSpec(ctx),
      'A busybox shell in the full container: its own hostname, IPC, PIDs and mount tree, pivot_root into the ' +
        'rootfs. Try `cat /proc/self/mounts`, `ls /dev`, `ls /proc/1/root/`, `cd /../..; ls`, ' +
        '`touch /sys/x`, and on the busybox rootfs lesson 03’s second chroot, ' +
        "`nsenter -r/bin /busybox sh -c 'cd ../../../../../../../..; /busybox ls'`: it stays inside. Type `exit` to leave.",
      { ...launch(ctx), runner: ctx.runner, cleanup: ctx.cleanup },
    ),

  checks: (s) => [
    {
      claim: 'without make-rprivate, a mount made in a new namespace leaked to the host',
      ok: s.leakedToHost === true,
      expected: 'the first demo mount (…/shared/leaked) in the host’s mount table',
      seen: s.leakedToHost === false ? 'not there' : 'the demo did not run',
    },
    {
      claim: 'after the init’s first lines (mount --make-rprivate /, then the bind), it did not',
      ok: s.privateLeaked === false,
      expected: 'no mount of the private half (…/shared/private) in the host’s mount table',
      seen:
        s.privateLeaked === undefined
          ? 'the demo did not run'
          : `${s.privateLeaks?.length ?? 0} mounts there (${s.privateLeaks?.join(', ')}): they propagated out to the host`,
      hint: 2,
    },
    {
      claim: "the container's mount table is only its own: /, /proc, /sys, /dev, /dev/pts, /dev/shm",
      ok: ['/', '/proc', '/sys', '/dev', '/dev/pts', '/dev/shm'].every((m) => s.containerMounts?.includes(m)),
      detail: `${s.containerMounts?.length ?? 0} mounts`,
      expected: 'cat /proc/self/mounts inside: /, /proc, /sys, /dev, /dev/pts, /dev/shm',
      seen: `${s.containerMounts?.length ?? 0} mounts: ${s.containerMounts?.slice(0, 8).join(' ') ?? 'none'}${
        (s.containerMounts?.length ?? 0) > 8 ? ' …' : ''
      }`,
      hint: 3,
    },
    {
      claim: 'the old root was detached, and no directory was made for it in the rootfs',
      ok: !!s.rootEntries && !!s.rootfsBefore && s.rootfsAfter?.join() === s.rootfsBefore.join(),
      expected: `the rootfs directory unchanged: ${s.rootfsBefore?.join(' ') ?? '?'}`,
      seen: `${s.rootfsAfter?.join(' ') ?? 'the container did not start'}`,
      hint: 3,
    },
    {
      claim: '/dev holds only the few devices made for it, and they work',
      ok:
        s.devNullWorks === true &&
        ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm'].every((d) => s.devEntries?.includes(d)) &&
        (s.devEntries?.length ?? 99) < 20,
      detail: s.devEntries?.join(' '),
    },
    {
      claim: '/sys is read-only',
      ok: !!s.sysWrite && s.sysWrite.exitCode !== 0 && /read-only/i.test(s.sysWrite.stderr),
    },
    ...(s.nestedChrootSkipped
      ? []
      : [
          {
            claim: 'the nested-chroot escape works against plain chroot…',
            ok: !!s.secret && s.chrootEscape?.stdout.trim() === s.secret,
          },
        ]),
    {
      claim: s.nestedChrootSkipped
        ? '/proc/1/root and `..` from / stay inside the pivot_root container'
        : '…and fails in the pivot_root container, as do /proc/1/root and `..` from /',
      ok:
        !!s.secret &&
        (!!s.nestedChrootSkipped ||
          (s.nestedChrootEscape?.exitCode !== 0 && !s.nestedChrootEscape?.stdout.includes(s.secret))) &&
        s.procRootEscape?.exitCode !== 0 &&
        !s.procRootEscape?.stdout.includes(s.secret) &&
        !!s.rootEntries &&
        s.procRootListing?.join() === s.rootEntries.join() &&
        s.dotDotListing?.join() === s.rootEntries.join(),
      expected: `no escape reads "${s.secret ?? 'the host-only file'}"; /proc/1/root/ and /../../.. list the container’s /`,
      seen: `cat /proc/1/root…: ${(s.procRootEscape?.stdout || s.procRootEscape?.stderr || '?').trim()}; ls -a /proc/1/root/: ${
        s.procRootListing?.join(' ') ?? '?'
      }`,
      hint: 3,
    },
    {
      claim: "a mount made inside is in the container's mount table and not in the host's",
      ok: s.insideMountSeenInside === true && s.insideMountOnHost === false,
      expected: 'scr-inside in the container’s /proc/self/mounts, not in the host’s',
      seen: `inside: ${s.insideMountSeenInside ? 'there' : 'not there'}; on the host: ${s.insideMountOnHost ? 'there' : 'not there'}`,
      hint: 2,
    },
    { claim: "sh -c 'exit 7' in the container exits 7", ok: s.exit7?.exitCode === 7 },
    {
      claim: 'a missing command exits 127, naming it',
      ok: s.missing?.exitCode === 127 && !!s.missing.stderr.includes('no-such-command'),
    },
  ],

  exercise: {
    file: '04-mount-pivot-root.ts',
    functions: { rootMountOps, pivotRootOps },
    solutionIn: ['lib/init/plan.ts'],
    contract:
      'write the pivot_root part of the init plan: rootMountOps(root) (private propagation, the rootfs bound onto ' +
      'itself) and pivotRootOps(root) (into it, pivot_root(".", "."), detach the old root, cd /).',
    hints: [
      'Each function returns a short list of operations; lib/init/ops.ts lists them all with the system call each makes.',
      'rootMountOps: [{ op: "makePrivate" }, a mount of root onto root with flags ["MS_BIND", "MS_REC"]] — in that order, or the bind itself would propagate.',
      'pivotRootOps: [{ op: "chdir", path: root }, { op: "pivotRoot" }, { op: "detachOldRoot" }, { op: "chdir", path: "/" }].',
    ],
    minutes: 15,
    shape: {
      rootMountOps: listOf('rootMountOps', 'op', 'init plan operations ({ op: … })'),
      pivotRootOps: listOf('pivotRootOps', 'op', 'init plan operations ({ op: … })'),
    },
  },

  recap: {
    saw: [
      'A new mount namespace is a copy of the host’s tree; shared mounts leak until it is made private.',
      'pivot_root(".", ".") makes the rootfs the root of the container’s mount tree; the old root is detached.',
      'With the host’s root gone from the tree, /proc/1/root, `..` and a nested chroot all stay in the rootfs.',
      'The container gets its own /proc, a read-only /sys and a minimal /dev; its mounts stay inside.',
      'exec keeps the exit code: the container exits with its command’s status.',
    ],
    next:
      'Lesson 05 limits what the container may use: a cgroup with a memory limit (and an OOM kill), a PID limit ' +
      'that stops a fork bomb, and a CPU quota.',
  },
});
