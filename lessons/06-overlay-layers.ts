/**
 * Lesson 06 — overlay layers.
 *
 * Until now every container wrote straight into the rootfs: run two of them and they trip over each other; run
 * one and the rootfs is changed for good. Docker never writes into an image. The container's root is an
 * *overlay*: read-only lower layers (here the busybox rootfs) with an upper directory of the container's own on
 * top, where every write lands. We watch that from the host: a new file, a whiteout for a deleted one, a whole
 * file copied up for one edited, the lower layer untouched, a second container that starts clean. Then layers
 * stack (what an image is), the upper directory read as `docker diff`, and — `docker commit` — the upper
 * directory frozen into a new read-only layer that a new container starts from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { overlayPaths, overlayRootOps, type OverlayRoot } from '../lib/container/root.ts';
import { containerCommands, interactiveShell, launchOf } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import type { HostOp } from '../lib/hostops.ts';
import { diffUpper, formatChanges } from '../lib/image/diff.ts';
import { overlayData } from '../lib/init/plan.ts';
import { build, isolatedSpec, withOverlay } from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { readMountinfo } from '../lib/mountinfo.ts';
import { stateDir } from '../lib/names.ts';
import { formatUpper, fsTypeOf, readUpper, type UpperEntry } from '../lib/overlay.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { createStateDir } from '../lib/state.ts';

interface State {
  /** The first container (steps 1–2), on an overlay of the rootfs alone. */
  first?: Container;
  firstMounts?: { inside?: string; hostOverlays: number };
  upperBefore?: string[];
  /** What the first container's upper directory held after its writes, read from the host. */
  upper?: UpperEntry[];
  written?: string;
  whiteout?: { isCharDevice: boolean; rdev: number; lowerStillThere: boolean };
  copyUp?: { lower: string; upper: string; lowerAfter: string };
  second?: ContainerResult;
  secondUpper?: string[];
  /** The stacked container (steps 4–5, 7). */
  stacked?: Container;
  stackedSees?: { motd: string; onlyInB: string; app: string[] };
  diff?: string[];
  opaqueDirs?: string[];
  where?: { lines: string[]; upperFs?: string };
  committed?: { fromLayer: ContainerResult; ownUpper: string[] };
}

/** Tools the containers run (and init.sh after pivot_root). */
const ROOTFS_COMMANDS = ['sh', 'cat', 'ls', 'rm', 'mkdir', 'tail', 'sleep', 'mount', 'umount'];

/** The five containers of the lesson: each its own id, so its own upper and work directories. */
const CONTAINERS = { first: 'a', second: 'b', stacked: 'c', committed: 'd', where: 'e', shell: 's' } as const;
type Which = keyof typeof CONTAINERS;

const idOf = (ctx: { id: string }, which: Which) => `${ctx.id}${CONTAINERS[which]}`;

/** The extra layers of step 4 and the layer made by commit in step 7, under this run's state directory. */
function layerPaths(id: string) {
  const dir = path.join(stateDir(id), 'layers');
  return { dir, a: path.join(dir, 'a'), b: path.join(dir, 'b'), committed: path.join(dir, 'committed') };
}

/** Each container's lower layers, top first. */
function lowersOf(ctx: { id: string; rootfs: string }, which: Which): string[] {
  const l = layerPaths(ctx.id);
  if (which === 'stacked') return [l.a, l.b, ctx.rootfs];
  if (which === 'committed') return [l.committed, l.a, l.b, ctx.rootfs];
  return [ctx.rootfs];
}

function rootOf(ctx: { id: string; rootfs: string }, which: Which): OverlayRoot {
  return overlayPaths(idOf(ctx, which), lowersOf(ctx, which));
}

/** Lesson 04's container, with its root an overlay: the lower layers, and upper and work of its own. */
function containerSpec(ctx: { id: string; rootfs: string }, which: Which, args = ['sleep', '3600']): ContainerSpec {
  const o = rootOf(ctx, which);
  return build(isolatedSpec({ id: idOf(ctx, which), rootfs: ctx.rootfs, args }), withOverlay(o.root, o.rootfs));
}

/** How this lesson starts containers: the sh init, with the overlay options from overlayData (the exercise). */
function launch(ctx: LessonContext<State>) {
  return { executor: 'sh' as const, parts: { overlayData: ctx.use(overlayData) } };
}

/** The directories of a container's overlay root, as shown host effects, then made. */
const dirOps = (ctx: { id: string; rootfs: string }, which: Which): Record<string, Shown> =>
  Object.fromEntries(overlayRootOps(rootOf(ctx, which)).map((op, i) => [`dir${i}`, { op }]));

/** Make them (their removal first), exactly as shown. */
function makeDirs(ctx: LessonContext<State>, which: Which): OverlayRoot {
  const o = rootOf(ctx, which);
  ctx.cleanup.push(`remove ${o.dir}`, () => ctx.runner.apply({ kind: 'remove', path: o.dir }));
  for (const op of overlayRootOps(o)) ctx.runner.apply(op);
  return o;
}

/** A command run inside a running container of this lesson (`$PID` until it runs). */
function inside(ctx: LessonContext<State>, which: Which, argv: readonly string[]): string[] {
  const c = which === 'first' ? ctx.state.first : ctx.state.stacked;
  return nsenterExecArgv(containerSpec(ctx, which), c?.hostPid ?? '$PID', argv);
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** Step 2: three changes made inside — a new file, a deleted lower file, an edited lower file. */
const WRITES = [
  'echo "written in the container" > /root/notes.txt',
  'rm /etc/os-release',
  'echo "# one line added in the container" >> /etc/profile',
].join('\n');

/** Step 3: what the second container looks at. */
const SECOND = 'cat /root/notes.txt; ls /etc/os-release; tail -n 1 /etc/profile';

/** Step 4's layers: what each holds (relative path → text). */
const LAYER_A = { 'etc/motd': 'motd from layer a\n' };
const LAYER_B = {
  'etc/motd': 'motd from layer b\n',
  'etc/b.txt': 'only layer b has this\n',
  'srv/app/one.txt': 'one, from layer b\n',
  'srv/app/two.txt': 'two, from layer b\n',
};

/** Step 4: what the stacked container looks at. */
const LOOK = 'cat /etc/motd /etc/b.txt; ls /srv/app';

/** Step 5: every kind of change, in the stacked container — and a directory deleted, then made again. */
const CHANGES = [
  'echo added > /added.txt',
  'echo "edited in the container" >> /etc/motd',
  'rm /etc/b.txt',
  'rm -r /srv/app && mkdir /srv/app',
  'echo new > /srv/app/new.txt',
].join('\n');

/** What `docker diff` must say about those changes. */
const EXPECTED_DIFF = [
  'A /added.txt',
  'C /etc',
  'D /etc/b.txt',
  'C /etc/motd',
  'C /srv',
  'C /srv/app',
  'D /srv/app/one.txt',
  'D /srv/app/two.txt',
  'A /srv/app/new.txt',
];

/**
 * Step 6, in a container whose own root is an overlay: an overlay with its upper dir on that root (overlayfs),
 * then with upper and work on two different tmpfs mounts (/dev/shm and /mnt/t), then both on /dev/shm.
 */
const WHERE = [
  'mkdir -p /tmp/up /tmp/wk /dev/shm/up /dev/shm/wk /mnt/t /mnt/o',
  'mount -t tmpfs t /mnt/t && mkdir /mnt/t/wk',
  'for pair in /tmp/up:/tmp/wk /dev/shm/up:/mnt/t/wk \\',
  '            /dev/shm/up:/dev/shm/wk; do',
  '  up=${pair%:*} wk=${pair#*:}',
  '  if mount -t overlay -o "lowerdir=/etc,upperdir=$up,workdir=$wk" x /mnt/o',
  '  then echo "upper $up, work $wk: mounted"; umount /mnt/o',
  '  else echo "upper $up, work $wk: refused"; fi',
  'done 2>/dev/null',
].join('\n');

/** Step 7: what the container from the committed layer looks at. */
const FROM_COMMIT = ['cat /added.txt /etc/motd; ls /srv/app', '[ -e /etc/b.txt ] || echo no /etc/b.txt'].join('\n');

/** The whole-file copy-up shown in step 2: the file edited inside, in the lower layer and in upper. */
const EDITED = 'etc/profile';
const DELETED = 'etc/os-release';

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function layerWriteOps(root: string, files: Record<string, string>): HostOp[] {
  const dirs = [...new Set(Object.keys(files).map((f) => path.join(root, path.dirname(f))))];
  return [
    ...dirs.map((d): HostOp => ({ kind: 'mkdir', path: d, parents: true })),
    ...Object.entries(files).map(([f, text]): HostOp => ({ kind: 'write', path: path.join(root, f), value: text })),
  ];
}

const withoutPrefix = (text: string, prefix: string) => text.split(`${prefix}/`).join('');

export default defineLesson<State>({
  number: '06',
  title: 'Overlay layers: read-only layers, one writable layer on top',
  summary:
    "The container's root becomes an overlay mount: read-only lower layers, and an upper directory of its own " +
    'where every write lands. From the host we watch writes, whiteouts and copy-ups arrive in the upper ' +
    'directory while the layers below never change; then layers stack, `docker diff` reads the upper ' +
    'directory, and `docker commit` freezes it into a new layer.',
  docker: 'docker run -d busybox sleep 3600; docker diff CONTAINER; docker commit CONTAINER NAME',
  needsRoot: true,
  needsRootfs: true,
  rootfsCommands: ROOTFS_COMMANDS,
  initialState: () => ({}),

  steps: [
    step({
      title: "The container's root: an overlay, with an upper directory of its own",
      explain:
        'Each container gets a directory of its own under /var/lib/scratch/containers: `upper` (its writes), ' +
        '`work` (overlayfs’s scratch space) and `rootfs` (where the overlay is mounted). init.sh now mounts ' +
        'the overlay there — lowerdir, the read-only rootfs; upperdir and workdir, the container’s own — ' +
        'instead of binding the rootfs onto itself, then pivot_roots into it as in lesson 04. The paths are ' +
        'parameters, so init.sh is the same for every container. The mount is made inside the container’s ' +
        'mount namespace: the container sees `/` as an overlay, the host’s mount table has no trace of it.',
      docker: 'docker run -d busybox sleep 3600   (docker inspect shows LowerDir, UpperDir, WorkDir)',
      commands: (ctx) => ({
        ...dirOps(ctx, 'first'),
        ...containerCommands(containerSpec(ctx, 'first'), { ...launch(ctx), background: true }),
        mounts: ['cat', `/proc/${ctx.state.first?.hostPid ?? '$PID'}/mounts`],
        host: ['findmnt', '--types', 'overlay'],
        upper: ['ls', '-A', rootOf(ctx, 'first').rootfs.upper],
      }),
      async run(ctx, cmd) {
        createStateDir(ctx.cleanup, ctx.id);
        const o = makeDirs(ctx, 'first');
        const c = await startContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, 'first'), launch(ctx));
        ctx.state.first = c;
        const mounts = await ctx.runner.run(['cat', `/proc/${c.hostPid}/mounts`]);
        const host = await ctx.runner.run(cmd.host as string[], { reject: false });
        const rootLine = lines(mounts.stdout).find((l) => l.split(' ')[1] === '/');
        ctx.state.firstMounts = {
          inside: rootLine,
          hostOverlays: readMountinfo().filter((m) => m.fsType === 'overlay' && m.mountPoint.startsWith(o.dir)).length,
        };
        ctx.state.upperBefore = fs.readdirSync(o.rootfs.upper);
        ctx.out.compare(
          'overlay mounts: the host’s (findmnt) vs the container’s /',
          host.stdout.trim() || '(none)',
          (rootLine ?? '(no line for /)').split(',').join(',\n'),
        );
        await ctx.runner.run(cmd.upper as string[]);
        ctx.out.evidence(`ls -A ${o.rootfs.upper}:`, ctx.state.upperBefore.join(' ') || '(empty)');
      },
    }),

    step({
      title: 'Writes land in upper: a new file, a whiteout, a copy-up',
      explain:
        'Inside, the container writes a new file, deletes a file of the rootfs, and appends a line to another. ' +
        'On the host, all three are in the upper directory and nowhere else. The new file is simply there. ' +
        'The deleted file cannot be deleted from the read-only layer, so overlayfs puts a *whiteout* in its ' +
        'place: a character device with device number 0, 0, which hides the lower file. The edited file was ' +
        'copied up whole before the line was added — every byte of it, not just the new line (docker calls ' +
        'this copy-on-write, and it is why writing to a big file from an image is slow the first time). The ' +
        'rootfs below still has both files, unchanged.',
      docker: 'docker exec CONTAINER sh -c "…"; then on the host: sudo ls -l UpperDir',
      commands: (ctx) => {
        const o = rootOf(ctx, 'first');
        return {
          write: inside(ctx, 'first', ['sh', '-c', WRITES]),
          find: ['find', o.rootfs.upper],
          whiteout: ['ls', '-l', path.join(o.rootfs.upper, DELETED)],
          size: ['wc', '-c', path.join(ctx.rootfs, EDITED), path.join(o.rootfs.upper, EDITED)],
          lower: ['ls', '-l', path.join(ctx.rootfs, DELETED)],
        };
      },
      async run(ctx, cmd) {
        const o = rootOf(ctx, 'first');
        const lowerBefore = readOr(path.join(ctx.rootfs, EDITED));
        const w = await ctx.state.first!.exec(['sh', '-c', WRITES]);
        if (w.exitCode !== 0) ctx.out.evidence('the writes inside failed:', w.stderr);
        const find = await ctx.runner.run(cmd.find as string[]);
        ctx.out.evidence(
          `find ${o.rootfs.upper}   (the upper directory, from the host)`,
          withoutPrefix(find.stdout, o.dir),
        );
        ctx.state.upper = readUpper(o.rootfs.upper);
        ctx.out.evidence('what each of those is:', formatUpper(ctx.state.upper).join('\n'));
        const white = await ctx.runner.run(cmd.whiteout as string[], { reject: false });
        ctx.out.evidence('the whiteout: a character device, major 0, minor 0', withoutPrefix(white.stdout, o.dir));
        const size = await ctx.runner.run(cmd.size as string[], { reject: false });
        ctx.out.evidence('the edited file: lower layer vs upper (copied up whole, plus one line)', size.stdout);
        const lower = await ctx.runner.run(cmd.lower as string[], { reject: false });
        ctx.out.evidence('the deleted file is still in the lower layer:', lower.stdout || lower.stderr);

        const st = fs.lstatSync(path.join(o.rootfs.upper, DELETED), { throwIfNoEntry: false });
        ctx.state.written = readOr(path.join(o.rootfs.upper, 'root', 'notes.txt'));
        ctx.state.whiteout = {
          isCharDevice: !!st?.isCharacterDevice(),
          rdev: st?.rdev ?? -1,
          lowerStillThere: !!fs.lstatSync(path.join(ctx.rootfs, DELETED), { throwIfNoEntry: false }),
        };
        ctx.state.copyUp = {
          lower: lowerBefore,
          upper: readOr(path.join(o.rootfs.upper, EDITED)),
          lowerAfter: readOr(path.join(ctx.rootfs, EDITED)),
        };
      },
    }),

    step({
      title: 'A second container from the same layer starts clean',
      explain:
        'A second container from the same rootfs gets an upper directory of its own, empty: it does not see the ' +
        'first one’s file, its /etc/os-release is there, its /etc/profile has no extra line. This is why a ' +
        'container "forgets": `docker run` makes a new container, with a new empty upper layer, every time; ' +
        'only `docker start` of the same container reuses its upper directory, and `docker rm` deletes it.',
      docker: "docker run --rm busybox sh -c 'cat /root/notes.txt; ls /etc/os-release; tail -n 1 /etc/profile'",
      commands: (ctx) => ({
        ...dirOps(ctx, 'second'),
        run: launchOf(containerSpec(ctx, 'second', ['sh', '-c', SECOND]), launch(ctx)).argv,
      }),
      async run(ctx) {
        const o = makeDirs(ctx, 'second');
        const r = await runContainer(
          ctx.runner,
          ctx.cleanup,
          containerSpec(ctx, 'second', ['sh', '-c', SECOND]),
          launch(ctx),
        );
        ctx.state.second = r;
        ctx.state.secondUpper = fs.readdirSync(o.rootfs.upper);
        ctx.out.evidence('the second container says:', [r.stderr, r.stdout].filter(Boolean).join('\n'));
        ctx.out.evidence('its own upper directory:', ctx.state.secondUpper.join(' ') || '(empty)');
      },
    }),

    step({
      title: 'Layers stack: the leftmost lower directory is on top',
      explain:
        'lowerdir takes a list. Two small layers are made on the host: layer a has /etc/motd, layer b has its ' +
        'own /etc/motd, an /etc/b.txt and a /srv/app directory. A container gets `lowerdir=a:b:rootfs`. A ' +
        'name is looked up from the left: /etc/motd comes from a, which hides b’s; /etc/b.txt only b has, ' +
        'so it shows through; everything else comes from the rootfs; directories of the same name merge. An ' +
        'image is exactly this: a stack of layers, each a directory of what it added, changed or deleted.',
      docker: 'docker image history IMAGE   (each line a layer; docker inspect: GraphDriver.Data.LowerDir)',
      commands: (ctx) => {
        const l = layerPaths(ctx.id);
        const ops = [...layerWriteOps(l.a, LAYER_A), ...layerWriteOps(l.b, LAYER_B)];
        return {
          ...Object.fromEntries(ops.map((op, i) => [`layer${i}`, { op }])),
          ...dirOps(ctx, 'stacked'),
          ...containerCommands(containerSpec(ctx, 'stacked'), { ...launch(ctx), background: true }),
          look: inside(ctx, 'stacked', ['sh', '-c', LOOK]),
        };
      },
      async run(ctx) {
        const l = layerPaths(ctx.id);
        for (const op of [...layerWriteOps(l.a, LAYER_A), ...layerWriteOps(l.b, LAYER_B)]) ctx.runner.apply(op);
        makeDirs(ctx, 'stacked');
        const c = await startContainer(ctx.runner, ctx.cleanup, containerSpec(ctx, 'stacked'), launch(ctx));
        ctx.state.stacked = c;
        const r = await c.exec(['sh', '-c', LOOK]);
        const [motd = '', onlyInB = '', ...app] = lines(r.stdout);
        ctx.state.stackedSees = { motd, onlyInB, app };
        ctx.out.compare(
          '/etc/motd, /etc/b.txt, ls /srv/app: in the layers (host) vs the container',
          [
            `a: ${LAYER_A['etc/motd'].trim()}`,
            `b: ${LAYER_B['etc/motd'].trim()}`,
            `b: ${LAYER_B['etc/b.txt'].trim()}`,
            'b: one.txt two.txt',
          ].join('\n'),
          [r.stdout, r.stderr].filter(Boolean).join('\n'),
        );
      },
    }),

    step({
      title: 'docker diff: the upper directory is the change set',
      explain:
        'The stacked container now adds a file, edits /etc/motd, deletes /etc/b.txt, and replaces /srv/app ' +
        'with a new directory holding one new file. `docker diff` is read straight from the upper directory: ' +
        'a name the layers below do not have was Added, one they have was Changed (a directory counts as ' +
        'changed when anything in it changed), a whiteout means Deleted. A directory deleted and made again ' +
        'is *opaque* in upper (the xattr trusted.overlay.opaque=y): nothing of the lower /srv/app shows ' +
        'through it, so everything the layers had in it was Deleted.',
      docker: 'docker diff CONTAINER',
      commands: (ctx) => ({
        change: inside(ctx, 'stacked', ['sh', '-c', CHANGES]),
        find: ['find', rootOf(ctx, 'stacked').rootfs.upper],
      }),
      async run(ctx, cmd) {
        const o = rootOf(ctx, 'stacked');
        const r = await ctx.state.stacked!.exec(['sh', '-c', CHANGES]);
        if (r.exitCode !== 0) ctx.out.evidence('the changes inside failed:', r.stderr);
        const find = await ctx.runner.run(cmd.find as string[]);
        const upper = readUpper(o.rootfs.upper);
        ctx.state.opaqueDirs = upper.filter((e) => e.opaque).map((e) => e.path);
        ctx.state.diff = formatChanges(diffUpper(o.rootfs.upper, o.rootfs.lower));
        ctx.out.evidence(`find ${o.rootfs.upper}:`, withoutPrefix(find.stdout, o.dir));
        ctx.out.evidence('read as docker diff (A added, C changed, D deleted):', ctx.state.diff.join('\n'));
        ctx.out.evidence('marked opaque (trusted.overlay.opaque=y):', ctx.state.opaqueDirs.join(' ') || '(none)');
      },
    }),

    step({
      title: 'Where upper and work may live',
      explain:
        'overlayfs prepares every copy-up in the work directory and then renames it into upper, so a crash ' +
        'never leaves half a file in upper; rename(2) works only within one filesystem, so work must be on ' +
        'upper’s. And upper must be a filesystem that can hold whiteouts and trusted xattrs — ext4, xfs, ' +
        'tmpfs — but not overlayfs itself. A container whose own root is an overlay tries three places: ' +
        'upper on its root (an overlay: refused), upper on the tmpfs /dev/shm and work on another tmpfs ' +
        '(two filesystems: refused), both on /dev/shm (mounted). The kernel log says why. This is why docker ' +
        'inside docker needs a volume for /var/lib/docker, and why /var/lib/scratch must be on a real disk.',
      docker: 'docker run --privileged -v /var/lib/docker docker:dind   (the volume: upper dirs on a real fs)',
      commands: (ctx) => ({
        ...dirOps(ctx, 'where'),
        run: launchOf(containerSpec(ctx, 'where', ['sh', '-c', WHERE]), launch(ctx)).argv,
        log: ['dmesg'],
      }),
      async run(ctx, cmd) {
        makeDirs(ctx, 'where');
        const r = await runContainer(
          ctx.runner,
          ctx.cleanup,
          containerSpec(ctx, 'where', ['sh', '-c', WHERE]),
          launch(ctx),
        );
        const upperFs = fsTypeOf(rootOf(ctx, 'where').rootfs.upper);
        ctx.state.where = { lines: lines(r.stdout), upperFs };
        ctx.out.evidence(
          'inside the container (its / is an overlay):',
          [r.stdout, r.stderr].filter(Boolean).join('\n'),
        );
        const log = await ctx.runner.run(cmd.log as string[], { reject: false });
        const why = lines(log.stdout)
          .filter((l) => /overlay/.test(l) && /upperdir|same mount/.test(l))
          .slice(-2);
        ctx.out.evidence(
          'the kernel log (dmesg), its last words about overlay upper dirs:',
          log.exitCode !== 0 ? `(not readable here: ${log.stderr.trim()})` : why.join('\n') || '(nothing)',
        );
        ctx.out.note(
          `The containers' own upper and work directories are on ${upperFs ?? 'an unknown filesystem'} ` +
            '(/var/lib/scratch), together, so every mount in this lesson could be made.',
        );
      },
    }),

    step({
      title: 'docker commit: the upper directory becomes a new layer',
      explain:
        'Freeze what the stacked container changed: stop it (docker commit pauses it, so that upper stops ' +
        'changing), then copy its upper directory — whiteouts, opaque marks and all — into a new directory: ' +
        'a new read-only layer. A new container with `lowerdir=committed:a:b:rootfs` starts from it: it has ' +
        '/added.txt and the edited /etc/motd, no /etc/b.txt, and only new.txt in /srv/app — while its own ' +
        'upper directory is empty. docker commit does the same, packing upper as a tar (`ctr commit` too, ' +
        'into the image store of lesson 07).',
      docker: 'docker commit CONTAINER mine:v2 && docker run --rm mine:v2 cat /added.txt',
      commands: (ctx) => {
        const l = layerPaths(ctx.id);
        return {
          stop: { op: { kind: 'kill', pid: ctx.state.stacked?.hostPid ?? '$PID', signal: 'SIGKILL' } },
          commit: ['cp', '-a', rootOf(ctx, 'stacked').rootfs.upper, l.committed],
          ...dirOps(ctx, 'committed'),
          run: launchOf(containerSpec(ctx, 'committed', ['sh', '-c', FROM_COMMIT]), launch(ctx)).argv,
        };
      },
      async run(ctx, cmd) {
        await ctx.state.stacked!.stop();
        await ctx.runner.run(cmd.commit as string[]);
        const o = makeDirs(ctx, 'committed');
        const spec = containerSpec(ctx, 'committed', ['sh', '-c', FROM_COMMIT]);
        const r = await runContainer(ctx.runner, ctx.cleanup, spec, launch(ctx));
        ctx.state.committed = { fromLayer: r, ownUpper: fs.readdirSync(o.rootfs.upper) };
        ctx.out.evidence(
          'the new container, from the committed layer:',
          [r.stdout, r.stderr].filter(Boolean).join('\n'),
        );
        ctx.out.evidence('its own upper directory:', ctx.state.committed.ownUpper.join(' ') || '(empty)');
      },
    }),
  ],

  shell: (ctx) => {
    const o = rootOf(ctx, 'shell');
    if (ctx.mode !== 'explain' && !ctx.runner.dryRun) makeDirs(ctx, 'shell');
    return interactiveShell(
      containerSpec(ctx, 'shell'),
      'A busybox shell whose root is an overlay of the rootfs, with an empty upper directory of its own. ' +
        `Write, delete and edit files, and from another terminal on the host watch ${o.rootfs.upper} ` +
        '(`sudo find …/upper -ls`): the whiteouts and copy-ups arrive as you type. Type `exit` to leave; the ' +
        'upper directory goes with the container.',
      { ...launch(ctx), runner: ctx.runner, cleanup: ctx.cleanup },
    );
  },

  checks: (s) => {
    const added = '# one line added in the container\n';
    return [
      {
        claim: "the container's / is an overlay, and the host's mount table has none of it",
        ok: !!s.firstMounts?.inside?.startsWith('overlay / overlay') && s.firstMounts.hostOverlays === 0,
      },
      { claim: 'its upper directory started empty', ok: s.upperBefore?.length === 0 },
      {
        claim: 'a file written inside landed in upper',
        ok: s.written === 'written in the container\n',
      },
      {
        claim: 'a deleted file became a whiteout (a 0/0 character device) in upper; the lower file is still there',
        ok: !!s.whiteout?.isCharDevice && s.whiteout.rdev === 0 && s.whiteout.lowerStillThere,
      },
      {
        claim: 'an edited file was copied up whole; the lower layer’s copy did not change',
        ok:
          !!s.copyUp &&
          s.copyUp.lower !== '' &&
          s.copyUp.upper === `${s.copyUp.lower}${added}` &&
          s.copyUp.lowerAfter === s.copyUp.lower,
      },
      {
        claim: 'a second container from the same layer started clean, with an empty upper of its own',
        ok:
          !!s.second &&
          !s.second.stdout.includes('written in the container') &&
          s.second.stdout.includes('/etc/os-release') &&
          !s.second.stdout.includes(added.trim()) &&
          s.secondUpper?.length === 0,
      },
      {
        claim: 'stacked layers: the leftmost wins, a lower one shows through where nothing above has the name',
        ok:
          s.stackedSees?.motd === LAYER_A['etc/motd'].trim() &&
          s.stackedSees.onlyInB === LAYER_B['etc/b.txt'].trim() &&
          s.stackedSees.app.join(' ') === 'one.txt two.txt',
      },
      {
        claim: 'the diff read from upper lists each change as A, C or D, the opaque directory’s old files as D',
        ok: s.diff?.join('\n') === EXPECTED_DIFF.join('\n') && s.opaqueDirs?.join() === '/srv/app',
        detail: s.diff?.join(', '),
      },
      {
        claim: 'upper on an overlay, and work on another filesystem than upper, were refused; both on a tmpfs worked',
        ok:
          s.where?.lines.join('\n') ===
          [
            'upper /tmp/up, work /tmp/wk: refused',
            'upper /dev/shm/up, work /mnt/t/wk: refused',
            'upper /dev/shm/up, work /dev/shm/wk: mounted',
          ].join('\n'),
      },
      {
        claim: 'a container from the committed layer has every change, and an empty upper of its own',
        ok:
          s.committed?.fromLayer.stdout.trim() ===
            ['added', 'motd from layer a', 'edited in the container', 'new.txt', 'no /etc/b.txt'].join('\n') &&
          s.committed.ownUpper.length === 0,
      },
    ];
  },

  exercise: {
    file: '06-overlay-layers.ts',
    functions: { overlayData },
    solutionIn: ['lib/init/plan.ts'],
    contract:
      'write overlayData(lower, upper, work): the overlay mount options — the read-only layers top first, the ' +
      "container's own upper dir, and its work dir.",
    hints: [
      'Three options, comma-separated: lowerdir=…, upperdir=…, workdir=….',
      "lowerdir takes every layer, joined by ':' — in the order given, the first being the top.",
      '`lowerdir=${lower.join(":")},upperdir=${upper},workdir=${work}`',
    ],
    minutes: 8,
    shape: {
      overlayData: (v: unknown) =>
        typeof v === 'string' ? undefined : 'overlayData must return a string (the mount options)',
    },
  },

  recap: {
    saw: [
      'An overlay shows read-only lower layers with one writable upper directory on top; every write lands there.',
      'A deleted lower file becomes a whiteout (a 0/0 character device); an edited one is copied up whole.',
      'The layers below never change, so containers share them, and a new container starts clean.',
      'Several lower layers stack, the leftmost on top: that is what an image is.',
      'The upper directory is the container’s diff; committing it makes a new read-only layer.',
      'upper and work must share a filesystem, and it may not be overlayfs itself.',
    ],
    next:
      'Lesson 07 loads real images — docker save archives and OCI layouts — into a content-addressed layer ' +
      'store, applies their config, pulls one from a registry, and meets the TypeScript init.',
  },
});
