/**
 * Lesson 11 — security: what separates a container from a toy.
 *
 * Namespaces decide what a container sees and cgroups what it may use; nothing so far limits what it may *do*.
 * Root in lesson 10's container is the host's root: every capability, every system call, /proc and /sys as the
 * kernel shows them, a writable root, and whatever file descriptors its parent left open. This lesson hardens
 * that container one step at a time, as docker does by default, and before each step attacks it from inside with
 * a small kit of system calls (rootfs-scripts/breakout.c): first the attack works, then the same attack fails —
 * and the host reads the difference in /proc/<pid>/status. The steps: pivot_root against the chroot escape;
 * docker's 14 capabilities (and --cap-drop, --cap-add); the device cgroup against a node made for the host's disk
 * (v1's devices files, or a BPF program on v2); no_new_privs against setuid programs; masked and read-only
 * paths in /proc and /sys; a read-only root with a tmpfs where writing is needed; docker's seccomp filter; closing
 * inherited file descriptors; and the same profile for a process started with exec.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBundle } from '../lib/bundle.ts';
import { deviceProgram, describeDeviceProgram } from '../lib/bpf/device-program.ts';
import {
  createCgroup,
  devicesListLines,
  DOCKER_DEVICE_RULES,
  foldDeviceRules,
  hostOpOf,
  layoutToShow,
  planCgroup,
  readDeviceRules,
  type AttachedDeviceRules,
} from '../lib/cgroups/index.ts';
import {
  capabilitiesToHex,
  CAPABILITY_NAMES,
  describeCapabilityHex,
  DOCKER_DEFAULT_CAPABILITIES,
  droppedCapabilities,
  ociCapabilities,
  readCapLastCap,
  type CapabilityChanges,
} from '../lib/capabilities.ts';
import { createStateDir } from '../lib/state.ts';
import { execInContainer } from '../lib/container/exec.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { createOverlayRoot, overlayPaths, overlayRootOps } from '../lib/container/root.ts';
import { containerCommands, execCommands, interactiveShell } from '../lib/container/shown.ts';
import { runContainer, startContainer, type Container, type ContainerResult } from '../lib/container/start.ts';
import { hostCpus } from '../lib/ctr/run-spec.ts';
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
  withTmpfs,
  withUser,
  type Transform,
} from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { containerDir, stateDir } from '../lib/names.ts';
import { buildSeccompProgram, defaultSeccompProfile, describeProgram, hostSeccompArch } from '../lib/seccomp/index.ts';
import {
  BREAKOUT,
  breakoutPaths,
  BREAKOUT_SUID,
  deviceToOpen,
  firstExisting,
  hostRootDevice,
  kitLayerArgvs,
  parseAnswers,
  parsePrivileges,
  privilegesArgv,
  readPrivileges,
  type PrivilegeField,
} from '../lib/security/breakout.ts';
import { describeMasks, mountState } from '../lib/security/paths.ts';
import type { ContainerSpec, User } from '../lib/spec.ts';
import { ensureBreakout } from '../rootfs-scripts/breakout.ts';

/** The containers of the lesson, from unhardened to fully hardened, each one step further than the one before. */
type Stage = 'open' | 'caps' | 'changed' | 'devices' | 'nnp' | 'masked' | 'readonly' | 'filtered' | 'leak' | 'shell';
const SUFFIX: Record<Stage, string> = {
  open: 'o',
  caps: 'c',
  changed: 'd',
  devices: 'v',
  nnp: 'n',
  masked: 'm',
  readonly: 'r',
  filtered: 's',
  leak: 'l',
  shell: 'x',
};
/** The shell variable that holds each running container's PID in the commands shown. */
const VAR: Partial<Record<Stage, string>> = {
  open: 'OPEN',
  caps: 'CAPS',
  changed: 'CHANGED',
  devices: 'DEV',
  nnp: 'NNP',
  masked: 'MASKED',
  readonly: 'RO',
  filtered: 'FILTERED',
};

const SLEEP = ['sleep', '3600'];
/** Step 4's docker flags. */
const CHANGES: CapabilityChanges = { drop: ['SYS_CHROOT', 'MKNOD'], add: ['SYS_ADMIN'] };
const NOBODY: User = { uid: 65534, gid: 65534 };
/** A parent that opens the host's / as fd 7, and leaves it open for whatever it execs. */
const LEAK_LAUNCHER = ['sh', '-c', 'exec 7</ && exec "$@"', 'leak'];
/** A masked file root can still read with docker's capabilities (/proc/kcore needs CAP_SYS_RAWIO). */
const MASKED_TO_READ = firstExisting(['/proc/timer_list', '/proc/keys', '/proc/interrupts']);
const DISK = hostRootDevice();
/** What the kit does in the device step, with its block device (chosen when the step is shown, not on import). */
const deviceProbe = () => [BREAKOUT, 'devices', deviceToOpen()];

interface Answers {
  text: string;
  answers: Record<string, string>;
  exitCode: number;
  signal?: string;
}

interface State {
  running: Partial<Record<Stage, Container>>;
  /** /proc/<pid>/status of each container's PID 1, read from the host. */
  privileges: Partial<Record<Stage, Partial<Record<PrivilegeField, string>>>>;
  /** What ociCapabilities() returned for docker's default (the exercise's answer). */
  keep?: ReturnType<typeof ociCapabilities>;
  secret?: string;
  chroot?: { plain: Answers; unshared: Answers; pivot: Answers };
  caps?: { open: Answers; caps: Answers };
  changed?: { chroot: Answers; caps: Answers };
  devices?: { caps: Answers; devices: Answers; rules?: AttachedDeviceRules };
  nnp?: { caps: Answers; nnp: Answers };
  paths?: { before: Answers; after: Answers; mounts: string[] };
  readonly?: {
    before: Answers;
    after: Answers;
    landedBefore: boolean;
    landedAfter: boolean;
    root?: string;
    tmp?: string;
  };
  seccomp?: { before: Answers; after: Answers; i386Before: Answers; i386After: Answers };
  leak?: { plain: Answers; init: Answers; initFd7?: string };
  exec?: { pid1: string; nsenter: string; exec: string; nsenterCaps: Answers; execCaps: Answers };
}

type Ctx = LessonContext<State>;

const kitLayer = (id: string) => containerDir(`${id}k`);
const jailDir = (id: string) => containerDir(`${id}j`);
const secretFile = (id: string) => path.join(stateDir(id), 'secret');
const inJail = (id: string) => path.join(jailDir(id), BREAKOUT);

/** How each container differs from lesson 10's: the hardening steps, in the order the lesson takes them. */
function hardening(ctx: Ctx, stage: Stage): Transform[] {
  const keep = ctx.use(ociCapabilities);
  if (stage === 'open') return [];
  if (stage === 'changed') return [withCapabilities(keep(CHANGES))];
  if (stage === 'devices') return [withCapabilities(keep({})), withDeviceRules()];
  const order: Array<[Stage, Transform[]]> = [
    ['caps', [withCapabilities(keep({}))]],
    ['nnp', [withNoNewPrivileges]],
    ['masked', [withMaskedPaths(hostCpus())]],
    ['readonly', [withReadOnlyRoot, withTmpfs(['/tmp'])]],
    ['filtered', [withSeccomp('default')]],
  ];
  const last = ['leak', 'shell'].includes(stage) ? order.length - 1 : order.findIndex(([s]) => s === stage);
  return order.slice(0, last + 1).flatMap(([, t]) => t);
}

/**
 * Lesson 10's container (its own hostname, IPC, PIDs, mounts and an empty network namespace; pivot_root into an
 * overlay of its own with the attack kit's layer on top of the rootfs; the TypeScript init), hardened up to `stage`.
 */
function stageSpec(ctx: Ctx, stage: Stage, args: string[] = SLEEP): ContainerSpec {
  const id = `${ctx.id}${SUFFIX[stage]}`;
  const o = overlayPaths(id, [kitLayer(ctx.id), ctx.rootfs]);
  return build(
    isolatedSpec({ id, rootfs: o.root, args }),
    withNoNetwork,
    withOverlay(o.root, o.rootfs),
    ...hardening(ctx, stage),
  );
}

const pidOf = (ctx: Ctx, stage: Stage): number | string => ctx.state.running[stage]?.hostPid ?? `$${VAR[stage]}`;

/** Shown commands with their names prefixed, so several containers' commands can share a step. */
function keyed(prefix: string, shown: Record<string, Shown>): Record<string, Shown> {
  return Object.fromEntries(Object.entries(shown).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** What a step shows to start a stage's container in the background: its directories, its init, the command. */
function startCommands(ctx: Ctx, stage: Stage, since?: Stage): Record<string, Shown> {
  const spec = stageSpec(ctx, stage);
  const o = overlayPaths(spec.id, [kitLayer(ctx.id), ctx.rootfs]);
  return {
    ...keyed(stage, Object.fromEntries(overlayRootOps(o).map((op, i) => [`dir${i}`, { op }]))),
    ...keyed(
      stage,
      containerCommands(spec, {
        executor: 'ts',
        background: true,
        pidVar: VAR[stage],
        since: since && stageSpec(ctx, since),
      }),
    ),
  };
}

async function startStage(ctx: Ctx, stage: Stage): Promise<Container> {
  const spec = stageSpec(ctx, stage);
  createOverlayRoot(ctx.runner, ctx.cleanup, spec.id, [kitLayer(ctx.id), ctx.rootfs]);
  const c = await startContainer(ctx.runner, ctx.cleanup, spec, { executor: 'ts', init: await initBundle() });
  ctx.state.running[stage] = c;
  ctx.state.privileges[stage] = readPrivileges(c.hostPid);
  return c;
}

const specAs = (spec: ContainerSpec, user?: User) => (user ? withUser(user)(spec) : spec);

/** What a step shows to run `args` in a stage's running container through the init, as `ctr exec` does. */
function execShown(ctx: Ctx, stage: Stage, args: string[], user?: User): Record<string, Shown> {
  const where = `in $${VAR[stage]}`;
  return keyed(
    `${stage}.${args.join(' ')}`,
    execCommands(specAs(stageSpec(ctx, stage), user), pidOf(ctx, stage), args, where),
  );
}

function answersOf(r: ContainerResult): Answers {
  const text = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim();
  return { text, answers: parseAnswers(r.stdout), exitCode: r.exitCode, signal: r.signal };
}

async function execIn(ctx: Ctx, stage: Stage, args: string[], user?: User): Promise<Answers> {
  const c = ctx.state.running[stage];
  if (!c) throw new Error(`the ${stage} container is not running`);
  const spec = specAs(stageSpec(ctx, stage), user);
  const r = await execInContainer(ctx.runner, ctx.cleanup, spec, c.hostPid, args, {
    init: await initBundle(),
    procsFiles: [],
  });
  return answersOf(r);
}

/** The host's grep of a container's privileges: shown, run, and kept. */
async function showPrivileges(ctx: Ctx, stage: Stage, argv: string[], label: string): Promise<string> {
  const r = await ctx.runner.run(argv, { reject: false });
  ctx.state.privileges[stage] = parsePrivileges(r.stdout);
  ctx.out.evidence(label, r.stdout.trim());
  return r.stdout.trim();
}

const statusArgv = (ctx: Ctx, stage: Stage) => privilegesArgv(`/proc/${pidOf(ctx, stage)}/status`);
/** A status hex value in words: docker's 14 by that name, else as lib/capabilities describes it. */
const capsLine = (hex: string | undefined) =>
  !hex
    ? '?'
    : hex === capabilitiesToHex(DOCKER_DEFAULT_CAPABILITIES)
      ? 'docker’s 14'
      : describeCapabilityHex(hex, readCapLastCap());

/** The lines of the seccomp program worth reading: the architecture check, one refused call, the last line. */
function programExcerpt(): string[] {
  const arch = hostSeccompArch();
  const lines = describeProgram(
    buildSeccompProgram(defaultSeccompProfile({ kernelRelease: os.release() }), arch),
    arch,
  );
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const mount = at(/\bmount$/);
  const newUser = at(/CLONE_NEWUSER$/);
  const pick = (i: number, n: number) => (i >= 0 ? lines.slice(i, i + n) : []);
  return [
    ...lines.slice(0, 7),
    '…',
    ...pick(mount, 2),
    '…',
    ...pick(newUser, 2),
    '…',
    ...lines.slice(-1),
    `(${lines.length} instructions in all)`,
  ];
}

/** The device step's cgroup: no limits, only the container's device rules (docker's). */
function deviceCgroupOptions(spec: ContainerSpec) {
  return { controllers: [], devices: spec.linux.resources?.devices ?? DOCKER_DEVICE_RULES };
}

/** The cgroup v2 program for docker's rules, as a learner reads it: the input, two exceptions, the default. */
function deviceProgramExcerpt(program: Uint8Array): string[] {
  const lines = describeDeviceProgram(program);
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const block = at(/if r2 != 0x1 goto/); // the exception for block devices: mknod only
  const nul = at(/if r5 != 0x3 goto/); // …and /dev/null's minor
  return [
    ...lines.slice(0, 6),
    '…',
    ...(block >= 0 ? lines.slice(block, block + 6) : []),
    '…',
    ...(nul >= 0 ? lines.slice(nul - 2, nul + 3) : []),
    '…',
    ...lines.slice(-2),
    `(${lines.length} instructions in all)`,
  ];
}

/** A container's mountinfo, read from the host. */
function mountinfoOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return '';
  }
}

const upperOf = (ctx: Ctx, stage: Stage) => overlayPaths(`${ctx.id}${SUFFIX[stage]}`, []).rootfs.upper;
const answer = (a: Answers | undefined, key: string) => a?.answers[key];

export default defineLesson<State>({
  number: '11',
  title: 'Security: what separates a container from a toy',
  summary:
    "Lesson 10's container runs as the host's root: every capability, every system call, all of /proc. We harden " +
    'it one step at a time, as docker does, and attack it from inside before and after each step: the chroot ' +
    'escape, mount and mknod, opening a disk node, a setuid program, masked files, a read-only root, blocked ' +
    'system calls, a leaked ' +
    'file descriptor, and exec. The host reads each result in /proc/<pid>/status.',
  docker: 'docker run -d --read-only --tmpfs /tmp --security-opt no-new-privileges busybox sleep 3600',
  needsRoot: true,
  needsRootfs: true,
  // What its containers run inside the rootfs (the attack kit comes in a layer of its own).
  rootfsCommands: ['sh', 'sleep', 'grep'],
  initialState: () => ({ running: {}, privileges: {} }),

  steps: [
    step({
      title: 'The unhardened container: root with every capability',
      explain:
        "We start from lesson 10's container: its own hostname, IPC, PIDs and mounts, an empty network " +
        'namespace, pivot_root into an overlay root of its own, started by the TypeScript init. Nothing in it ' +
        "limits privileges yet: uid 0 inside is the host's uid 0, with every capability the host's root has, no " +
        'seccomp filter, and /proc and /sys as the kernel shows them. The attack kit goes in with it: `breakout`, ' +
        'a small static C program (rootfs-scripts/breakout.c) that makes one system call per attempt and prints ' +
        "the kernel's answer, and a setuid-root copy, as real images carry su or ping. Both sit in an image layer " +
        'of their own on top of the rootfs (the overlay’s lowerdir), so the rootfs is never written.',
      docker: 'docker run -d --privileged busybox sleep 3600   (the nearest docker has to "nothing dropped")',
      commands: (ctx) => {
        const [plain = [], suid = []] = kitLayerArgvs(breakoutPaths().binary, kitLayer(ctx.id));
        return {
          kit: plain,
          kitSuid: suid,
          ...startCommands(ctx, 'open'),
          status: statusArgv(ctx, 'open'),
        };
      },
      async run(ctx, cmd) {
        // The kit is compiled (or found up to date) before anything is made: without gcc, one line and the fix.
        await ensureBreakout();
        ctx.cleanup.push(`remove ${kitLayer(ctx.id)}`, () =>
          ctx.runner.apply({ kind: 'remove', path: kitLayer(ctx.id) }),
        );
        await ctx.runner.run(cmd.kit as string[]);
        await ctx.runner.run(cmd.kitSuid as string[]);
        const c = await startStage(ctx, 'open');
        await showPrivileges(ctx, 'open', statusArgv(ctx, 'open'), `the host reads PID ${c.hostPid}, its PID 1:`);
        const p = ctx.state.privileges.open ?? {};
        ctx.out.note(
          `Bounding and effective: ${capsLine(p.CapBnd)}. No no_new_privs, no seccomp filter (Seccomp ${p.Seccomp}).`,
        );
      },
    }),

    step({
      title: 'The chroot escape: out of chroot, not out of pivot_root',
      explain:
        'chroot(2) changes where `/` is for one process and nothing else, and the kernel stops `..` only at that ' +
        'root. So a process that may call chroot makes a directory, chroots into it while its working directory ' +
        'stays outside, climbs `..` past the old root to the real one, and makes that its root with chroot("."). ' +
        'We put a secret on the host and run the escape in a plain chroot (a jail holding only the kit), in a ' +
        'chroot inside a new mount namespace (`unshare -m`: a copy of the host’s mount tree is still the host’s ' +
        'files), and in the container. There `..` ends at the container’s root: pivot_root detached the host’s ' +
        'root from its mount tree, so there is nothing to climb to. Step 4 takes away the capability the escape ' +
        'needs, CAP_SYS_CHROOT, and it fails at its first call. (A line `# in $OPEN: …` is a command run in ' +
        'that container the way `ctr exec` runs it: the nsenter line under it starts the init, which gets the ' +
        'command over its socket and applies the container’s profile before it runs it.)',
      docker: '(docker containers use pivot_root: the classic chroot escape has nowhere to go)',
      commands: (ctx) => {
        const escape = ['/breakout', 'chroot', '/', secretFile(ctx.id)];
        return {
          jail: ['install', '-D', '-m', '0755', breakoutPaths().binary, inJail(ctx.id)],
          plain: ['chroot', jailDir(ctx.id), ...escape],
          unshared: ['unshare', '--mount', '--', 'chroot', jailDir(ctx.id), ...escape],
          ...execShown(ctx, 'open', [BREAKOUT, 'chroot', '/tmp', secretFile(ctx.id)]),
        };
      },
      async run(ctx, cmd) {
        createStateDir(ctx.cleanup, ctx.id);
        ctx.state.secret = `host-only ${crypto.randomBytes(4).toString('hex')}`;
        fs.writeFileSync(secretFile(ctx.id), `${ctx.state.secret}\n`);
        ctx.out.evidence(`on the host, ${secretFile(ctx.id)} holds`, ctx.state.secret);
        ctx.cleanup.push(`remove ${jailDir(ctx.id)}`, () =>
          ctx.runner.apply({ kind: 'remove', path: jailDir(ctx.id) }),
        );
        await ctx.runner.run(cmd.jail as string[]);
        const run = async (argv: string[]) => answersOf(await ctx.runner.run(argv, { reject: false }));
        const plain = await run(cmd.plain as string[]);
        const unshared = await run(cmd.unshared as string[]);
        const pivot = await execIn(ctx, 'open', [BREAKOUT, 'chroot', '/tmp', secretFile(ctx.id)]);
        ctx.state.chroot = { plain, unshared, pivot };
        ctx.out.evidence('in a plain chroot (the jail):', plain.text);
        ctx.out.evidence('in a chroot inside a new mount namespace:', unshared.text);
        ctx.out.evidence('in the pivot_root container:', pivot.text);
      },
    }),

    step({
      title: "Capabilities: docker's 14, and nothing else",
      explain:
        'The kernel asks for one capability, not "is it root?", before each privileged act: CAP_SYS_ADMIN to ' +
        'mount, CAP_MKNOD to make a device node, CAP_SYS_TIME to set the clock, CAP_SYS_MODULE to load a module. ' +
        'Each process has five sets: bounding (the ceiling, for it and all its children), permitted, effective ' +
        '(what is checked now), inheritable and ambient (what may pass through execve). docker keeps 14 of the ' +
        "kernel's 41 — the list `ociCapabilities()` computes, this lesson's exercise — and the init applies them " +
        'in order: the bounding set first (dropping needs CAP_SETPCAP, still held), then capset(2) for effective, ' +
        'permitted and inheritable, then the ambient set is cleared. Inheritable stays empty on purpose: with a ' +
        'non-empty one, a program with inheritable file capabilities could gain them (CVE-2022-24769). The kit ' +
        'then tries, in both containers: a mount, a node for the host’s disk, settimeofday with nothing to set ' +
        '(it asks only for the permission), an empty kernel module, and a chown.',
      docker: 'docker run -d busybox sleep 3600   (docker’s default: 14 capabilities)',
      commands: (ctx) => ({
        ...startCommands(ctx, 'caps', 'open'),
        status: statusArgv(ctx, 'caps'),
        ...execShown(ctx, 'open', [BREAKOUT, 'caps', DISK]),
        ...execShown(ctx, 'caps', [BREAKOUT, 'caps', DISK]),
      }),
      async run(ctx) {
        const keep = ctx.use(ociCapabilities)({});
        ctx.state.keep = keep;
        ctx.out.evidence(
          'ociCapabilities() → the sets the init is given:',
          [
            `bounding, permitted, effective: ${keep.bounding.map((c) => c.replace(/^CAP_/, '')).join(' ')}`,
            `inheritable: ${keep.inheritable.join(' ') || 'none'}; ambient: ${keep.ambient.join(' ') || 'none'}`,
          ].join('\n'),
        );
        await startStage(ctx, 'caps');
        await showPrivileges(ctx, 'caps', statusArgv(ctx, 'caps'), "the host reads the new container's PID 1:");
        const before = ctx.state.privileges.open?.CapBnd ?? '0';
        const after = ctx.state.privileges.caps?.CapBnd ?? '0';
        const dropped = droppedCapabilities(before, after).map((c) => c.replace(/^CAP_/, ''));
        ctx.out.evidence(`dropped from the bounding set (${dropped.length}):`, dropped.join(' '));
        const open = await execIn(ctx, 'open', [BREAKOUT, 'caps', DISK]);
        const caps = await execIn(ctx, 'caps', [BREAKOUT, 'caps', DISK]);
        ctx.state.caps = { open, caps };
        ctx.out.compare('the kit, in both containers', open.text, caps.text, ['unhardened', 'docker’s 14']);
        ctx.out.note(
          `EPERM is "operation not permitted". The node for the host's disk (${DISK}) is still made: CAP_MKNOD is ` +
            'one of the 14, because images make device nodes. What keeps such a node from being *opened* is the ' +
            'device cgroup, step 5; a container that needs no device nodes can also drop MKNOD, as the next step does.',
        );
      },
    }),

    step({
      title: '--cap-drop and --cap-add',
      explain:
        "docker's --cap-drop and --cap-add change the list before the init applies it. A container with " +
        '--cap-drop SYS_CHROOT --cap-drop MKNOD --cap-add SYS_ADMIN: the chroot escape now fails at its first ' +
        'chroot(2), no device node can be made, and mount works again. CAP_SYS_ADMIN is the one docker warns ' +
        'about: with it, a container can mount over what the later steps mask.',
      docker: 'docker run -d --cap-drop SYS_CHROOT --cap-drop MKNOD --cap-add SYS_ADMIN busybox sleep 3600',
      commands: (ctx) => ({
        ...startCommands(ctx, 'changed', 'caps'),
        status: statusArgv(ctx, 'changed'),
        ...execShown(ctx, 'changed', [BREAKOUT, 'chroot', '/tmp', secretFile(ctx.id)]),
        ...execShown(ctx, 'changed', [BREAKOUT, 'caps', DISK]),
      }),
      async run(ctx) {
        await startStage(ctx, 'changed');
        await showPrivileges(ctx, 'changed', statusArgv(ctx, 'changed'), 'the host reads its PID 1:');
        const p = ctx.state.privileges;
        ctx.out.note(
          `Compared with docker's 14: dropped ${droppedCapabilities(p.caps?.CapBnd ?? '0', p.changed?.CapBnd ?? '0').join(', ')}; ` +
            `added ${droppedCapabilities(p.changed?.CapBnd ?? '0', p.caps?.CapBnd ?? '0').join(', ')}.`,
        );
        const chroot = await execIn(ctx, 'changed', [BREAKOUT, 'chroot', '/tmp', secretFile(ctx.id)]);
        const caps = await execIn(ctx, 'changed', [BREAKOUT, 'caps', DISK]);
        ctx.state.changed = { chroot, caps };
        ctx.out.evidence('the chroot escape, without CAP_SYS_CHROOT:', chroot.text);
        ctx.out.evidence('the capability probes, without MKNOD, with SYS_ADMIN:', caps.text);
      },
    }),

    step({
      title: 'The device cgroup: a node made is not a node opened',
      explain:
        'CAP_MKNOD stays among docker’s 14: images ship device nodes, and making one harms nobody. Opening one ' +
        'is another matter: a node for the host’s disk is the host’s disk. What stops it is the device cgroup, a ' +
        'list of rules the kernel checks on every open and mknod of a device node. docker’s denies every device, ' +
        'then allows mknod of any, and reading and writing only null, zero, full, random, urandom, the terminals ' +
        'and tun. On cgroup v1 the runtime writes the list into the devices controller’s files: `a` into ' +
        'devices.deny, then one line per device into devices.allow. cgroup v2 has no such files: the runtime ' +
        'attaches a small BPF program to the container’s cgroup that gives the same answers (lib/bpf builds it ' +
        'in TypeScript). We start a container with docker’s 14 and these rules, in a cgroup of its own, and run ' +
        'the kit in it and in step 3’s container, which has the 14 and no device cgroup: make a node for a ' +
        'disk in /dev, open it, read a sector, then write to /dev/null.',
      docker: "docker run busybox sh   (docker's device rules; --device-cgroup-rule 'b 7:0 r' allows one more)",
      commands: (ctx) => {
        const probe = deviceProbe();
        const spec = stageSpec(ctx, 'devices', probe);
        const plan = planCgroup(spec.id, {}, { layout: layoutToShow(), ...deviceCgroupOptions(spec) });
        const o = overlayPaths(spec.id, [kitLayer(ctx.id), ctx.rootfs]);
        const deny = plan.ops.find((op) => op.kind === 'write' && op.path.endsWith('/devices.deny'));
        const procs = plan.drivers.flatMap((d) => d.procsFiles);
        return {
          ...execShown(ctx, 'caps', probe),
          ...Object.fromEntries(plan.ops.map((op, i) => [`cgroup${i}`, { op: hostOpOf(op) }])),
          ...keyed('devices', Object.fromEntries(overlayRootOps(o).map((op, i) => [`dir${i}`, { op }]))),
          ...keyed('devices', {
            ...containerCommands(spec, { executor: 'ts', background: true, pidVar: VAR.devices }),
            init: { shell: `# its command: ${probe.join(' ')}; its init: step 3's system calls` },
          }),
          ...Object.fromEntries(
            procs.map((f, i) => [`join${i}`, { op: { kind: 'write', path: f, value: `$${VAR.devices}` } }]),
          ),
          ...(deny ? { list: ['cat', path.join(path.dirname(deny.path), 'devices.list')] } : {}),
        };
      },
      async run(ctx, cmd) {
        const probe = deviceProbe();
        const caps = await execIn(ctx, 'caps', probe);
        const spec = stageSpec(ctx, 'devices', probe);
        const cg = createCgroup(ctx.cleanup, spec.id, {}, { runner: ctx.runner, ...deviceCgroupOptions(spec) });
        createOverlayRoot(ctx.runner, ctx.cleanup, spec.id, [kitLayer(ctx.id), ctx.rootfs]);
        const c = await startContainer(ctx.runner, ctx.cleanup, spec, {
          executor: 'ts',
          init: await initBundle(),
          procsFiles: cg.procsFiles,
        });
        const devices = answersOf(await c.wait());
        const rules = readDeviceRules(cg.dirs, layoutToShow());
        ctx.state.devices = { caps, devices, rules };
        ctx.out.compare('the kit, in both containers', caps.text, devices.text, [
          'docker’s 14, no device cgroup',
          'and docker’s device rules',
        ]);
        if (cmd.list) {
          const list = await ctx.runner.run(cmd.list as string[], { reject: false });
          ctx.out.evidence(`the host reads ${rules.source}:`, list.stdout.trim());
        } else {
          ctx.out.evidence(
            `the host asks the kernel what guards ${rules.source}: program ${rules.programIds?.join(', ')}, ` +
              'its instructions read back as rules:',
            rules.lines.join('\n'),
          );
        }
        const program = rules.program ?? deviceProgram(foldDeviceRules(spec.linux.resources?.devices ?? []));
        ctx.out.evidence(
          rules.version === 'v2'
            ? 'the program, as the kernel holds it (excerpts):'
            : 'on cgroup v2 the same rules would be this BPF program (excerpts):',
          deviceProgramExcerpt(program).join('\n'),
        );
        ctx.out.note(
          'mknod works in both containers; only the one with the rules is refused the open, with EPERM, before the ' +
            'kernel even looks for the disk’s driver — and /dev/null works on. A container that needs no device ' +
            'nodes at all can also drop MKNOD (step 4).',
        );
      },
    }),

    step({
      title: 'no_new_privs: a setuid program gains nothing',
      explain:
        'Images carry setuid-root programs (su, ping, passwd): whoever runs one, it runs as uid 0, with the ' +
        'capabilities of the bounding set. A service started as an unprivileged user (docker run --user) is one ' +
        'such program away from root. prctl(PR_SET_NO_NEW_PRIVS) shuts that door: once set — it is inherited and ' +
        'cannot be unset — execve never grants more than the caller had; setuid bits and file capabilities are ' +
        'ignored. We run the kit’s setuid copy as uid 65534 in both containers (docker exec -u 65534); like ' +
        'docker, the init gives a user other than root the bounding set only, no effective capabilities.',
      docker: 'docker run -d --security-opt no-new-privileges busybox sleep 3600; docker exec -u 65534 …',
      commands: (ctx) => ({
        ...startCommands(ctx, 'nnp', 'caps'),
        status: statusArgv(ctx, 'nnp'),
        ...execShown(ctx, 'caps', [BREAKOUT_SUID, 'whoami'], NOBODY),
        ...execShown(ctx, 'nnp', [BREAKOUT_SUID, 'whoami'], NOBODY),
      }),
      async run(ctx) {
        await startStage(ctx, 'nnp');
        await showPrivileges(ctx, 'nnp', statusArgv(ctx, 'nnp'), 'the host reads its PID 1:');
        const caps = await execIn(ctx, 'caps', [BREAKOUT_SUID, 'whoami'], NOBODY);
        const nnp = await execIn(ctx, 'nnp', [BREAKOUT_SUID, 'whoami'], NOBODY);
        ctx.state.nnp = { caps, nnp };
        ctx.out.compare('breakout-suid whoami, run by uid 65534', caps.text, nnp.text, [
          'without no_new_privs',
          'with no_new_privs',
        ]);
        ctx.out.note(
          `Without it: euid ${caps.answers.euid}, CapEff ${capsLine(caps.answers.CapEff)}. ` +
            `With it: euid ${nnp.answers.euid}, CapEff ${capsLine(nnp.answers.CapEff)}.`,
        );
      },
    }),

    step({
      title: 'Masked and read-only paths: /proc and /sys show the machine',
      explain:
        'A container’s /proc and /sys are mounts of its own, but many files in them are not namespaced: ' +
        '/proc/kcore is the host’s memory, /proc/timer_list and /proc/sched_debug show every task on the host, ' +
        '/proc/keys the kernel’s keys, /sys/firmware the firmware’s tables; /proc/sys and /proc/sysrq-trigger ' +
        'change the whole kernel. As runc does, the init masks docker’s list (/dev/null bound over a file, an ' +
        'empty read-only tmpfs over a directory) and makes /proc/sys, /proc/bus, /proc/fs, /proc/irq and ' +
        '/proc/sysrq-trigger read-only (each bound onto itself, remounted read-only). The kit reads a masked ' +
        'file and /sys/firmware, and writes /proc/sys/kernel/hostname — the container’s own hostname, so the ' +
        'write harms nothing where it works; the same write to /proc/sys/vm/… would change the host. ' +
        '(/proc/kcore is masked too; reading it also needs CAP_SYS_RAWIO, gone since step 3.)',
      docker: 'docker run -d busybox sleep 3600   (every container; --security-opt systempaths=unconfined undoes it)',
      commands: (ctx) => ({
        ...startCommands(ctx, 'masked', 'nnp'),
        ...execShown(ctx, 'nnp', [BREAKOUT, 'paths', MASKED_TO_READ]),
        ...execShown(ctx, 'masked', [BREAKOUT, 'paths', MASKED_TO_READ]),
      }),
      async run(ctx) {
        const c = await startStage(ctx, 'masked');
        const before = await execIn(ctx, 'nnp', [BREAKOUT, 'paths', MASKED_TO_READ]);
        const after = await execIn(ctx, 'masked', [BREAKOUT, 'paths', MASKED_TO_READ]);
        const mounts = describeMasks(mountinfoOf(c.hostPid));
        ctx.state.paths = { before, after, mounts };
        ctx.out.compare('the kit, in both containers', before.text, after.text, [
          'before',
          'masked and read-only paths',
        ]);
        ctx.out.evidence(`the host reads /proc/${c.hostPid}/mountinfo: what covers them`, mounts.join('\n'));
      },
    }),

    step({
      title: 'A read-only root, and a tmpfs where a program writes',
      explain:
        'So far root in the container may change any file of its root — in its own upper layer, but still: a ' +
        'replaced binary, a web shell. docker run --read-only remounts / read-only once everything is mounted ' +
        '(one mount(2) with MS_REMOUNT|MS_BIND|MS_RDONLY); a program that must write somewhere gets a tmpfs ' +
        'there (--tmpfs /tmp: in memory, nosuid, nodev, noexec, gone with the container). The kit creates ' +
        '/etc/scr-written and /tmp/scr-note in both containers; the host then looks in each container’s upper ' +
        'layer, where writes to the root land.',
      docker: 'docker run -d --read-only --tmpfs /tmp busybox sleep 3600',
      commands: (ctx) => ({
        ...startCommands(ctx, 'readonly', 'masked'),
        ...execShown(ctx, 'masked', [BREAKOUT, 'write', '/etc/scr-written', '/tmp/scr-note']),
        ...execShown(ctx, 'readonly', [BREAKOUT, 'write', '/etc/scr-written', '/tmp/scr-note']),
      }),
      async run(ctx) {
        const c = await startStage(ctx, 'readonly');
        const before = await execIn(ctx, 'masked', [BREAKOUT, 'write', '/etc/scr-written', '/tmp/scr-note']);
        const after = await execIn(ctx, 'readonly', [BREAKOUT, 'write', '/etc/scr-written', '/tmp/scr-note']);
        const landed = (stage: Stage) => fs.existsSync(path.join(upperOf(ctx, stage), 'etc', 'scr-written'));
        ctx.state.readonly = {
          before,
          after,
          landedBefore: landed('masked'),
          landedAfter: landed('readonly'),
          root: mountState(mountinfoOf(c.hostPid), '/'),
          tmp: mountState(mountinfoOf(c.hostPid), '/tmp'),
        };
        ctx.out.compare('the kit, in both containers', before.text, after.text, [
          'writable root',
          'read-only root, tmpfs /tmp',
        ]);
        const r = ctx.state.readonly;
        ctx.out.evidence(
          'the host looks in each upper layer for etc/scr-written, and at the read-only one’s mounts:',
          [
            `writable container: ${r.landedBefore ? 'there' : 'absent'}; read-only one: ${r.landedAfter ? 'there' : 'absent'}`,
            `/ is ${r.root ?? '?'}; /tmp is ${r.tmp ?? '?'}`,
          ].join('\n'),
        );
      },
    }),

    step({
      title: 'Seccomp: the system calls a container never needs',
      explain:
        'Capabilities decide what a call may do; a seccomp filter decides which calls may be made at all. The ' +
        'kernel runs the filter — a small BPF program, built in TypeScript by lib/seccomp — on every system ' +
        'call. It checks the architecture first: through another entry, such as the 32-bit int 0x80, the ' +
        'numbers mean other calls, so such a call kills the process. Then the call: docker’s profile refuses ' +
        'mount, umount2 and pivot_root; unshare and setns with namespace flags (a new user namespace hands out ' +
        'every capability inside it); keyctl (the keyring is not namespaced); bpf, perf_event_open and ' +
        'userfaultfd (kernel attack surface); kexec_load and the module calls; open_by_handle_at (the 2014 ' +
        '"shocker" escape); reboot, swapon, setting the clock, acct, iopl. Each fails with EPERM before the ' +
        'kernel looks at its arguments. The init installs the filter last, right before execve.',
      docker: 'docker run -d busybox sleep 3600   (docker’s profile; --security-opt seccomp=unconfined removes it)',
      commands: (ctx) => ({
        ...startCommands(ctx, 'filtered', 'readonly'),
        status: statusArgv(ctx, 'filtered'),
        ...execShown(ctx, 'readonly', [BREAKOUT, 'syscalls']),
        ...execShown(ctx, 'filtered', [BREAKOUT, 'syscalls']),
        ...execShown(ctx, 'readonly', [BREAKOUT, 'i386']),
        ...execShown(ctx, 'filtered', [BREAKOUT, 'i386']),
      }),
      async run(ctx) {
        ctx.out.evidence(
          `the filter for ${hostSeccompArch()}, as the kernel will run it (excerpts):`,
          programExcerpt().join('\n'),
        );
        await startStage(ctx, 'filtered');
        await showPrivileges(ctx, 'filtered', statusArgv(ctx, 'filtered'), 'the host reads its PID 1:');
        const before = await execIn(ctx, 'readonly', [BREAKOUT, 'syscalls']);
        const after = await execIn(ctx, 'filtered', [BREAKOUT, 'syscalls']);
        const i386Before = await execIn(ctx, 'readonly', [BREAKOUT, 'i386']);
        const i386After = await execIn(ctx, 'filtered', [BREAKOUT, 'i386']);
        ctx.state.seccomp = { before, after, i386Before, i386After };
        ctx.out.compare('the kit, in both containers', before.text, after.text, [
          'capabilities alone',
          'with the filter',
        ]);
        ctx.out.note(
          'Left, the kernel ran each call: EPERM where a capability is missing, another error where the call ' +
            'went ahead and refused its (deliberately useless) arguments, ok where nothing stopped it at all. ' +
            'Right, the filter answered EPERM before the call ran.',
        );
        const ended = (a: Answers) => (a.signal ? `killed by ${a.signal} (exit ${a.exitCode})` : `exit ${a.exitCode}`);
        ctx.out.compare(
          'a 32-bit system call from a 64-bit process',
          `${i386Before.text}\n${ended(i386Before)}`,
          `${i386After.text || '(nothing more)'}\n${ended(i386After)}`,
          ['capabilities alone', 'with the filter'],
        );
        if (i386Before.signal === 'SIGSEGV') {
          ctx.out.note(
            'This kernel has no 32-bit entry (built without IA32 emulation, or booted with ia32_emulation=0): ' +
              'int 0x80 faults before any filter sees it, so there is nothing to kill here.',
          );
        }
      },
    }),

    step({
      title: 'Leaked file descriptors: a door left open',
      explain:
        'An open file descriptor survives execve unless it is marked close-on-exec, and a descriptor of a host ' +
        'directory is a way out of any root: openat() with a relative path starts there. runc’s CVE-2024-21626 ' +
        'was this: an fd of the host’s /sys/fs/cgroup left open into the container. Here a parent opens the ' +
        "host's / as fd 7 (`exec 7</`) and starts a plain `unshare … chroot` into the jail, which passes it on: " +
        'the kit reads the secret through it. The same parent then starts the hardened container: the ' +
        'TypeScript init has fd 7 too — the host sees it at the sync point — but marks every fd from 3 up ' +
        'close-on-exec (close_range) before execve, so the command starts with 0, 1 and 2 only.',
      docker: '(runc closes every fd but 0–2 before the command runs; 1.1.12 fixed the one it leaked)',
      commands: (ctx) => {
        const leak = stageSpec(ctx, 'leak', [BREAKOUT, 'fd', '7', secretFile(ctx.id)]);
        const o = overlayPaths(leak.id, [kitLayer(ctx.id), ctx.rootfs]);
        return {
          plain: [
            ...LEAK_LAUNCHER,
            'unshare',
            '--mount',
            '--',
            'chroot',
            jailDir(ctx.id),
            '/breakout',
            'fd',
            '7',
            secretFile(ctx.id),
          ],
          ...keyed('leak', Object.fromEntries(overlayRootOps(o).map((op, i) => [`dir${i}`, { op }]))),
          ...keyed(
            'leak',
            containerCommands(leak, { executor: 'ts', launcher: LEAK_LAUNCHER, since: stageSpec(ctx, 'filtered') }),
          ),
        };
      },
      async run(ctx, cmd) {
        const plain = answersOf(await ctx.runner.run(cmd.plain as string[], { reject: false }));
        const spec = stageSpec(ctx, 'leak', [BREAKOUT, 'fd', '7', secretFile(ctx.id)]);
        createOverlayRoot(ctx.runner, ctx.cleanup, spec.id, [kitLayer(ctx.id), ctx.rootfs]);
        let initFd7: string | undefined;
        const r = await runContainer(ctx.runner, ctx.cleanup, spec, {
          executor: 'ts',
          init: await initBundle(),
          launcher: LEAK_LAUNCHER,
          atSync: async (pid) => {
            try {
              initFd7 = fs.readlinkSync(`/proc/${pid}/fd/7`);
            } catch {
              initFd7 = undefined;
            }
          },
        });
        ctx.state.leak = { plain, init: answersOf(r), initFd7 };
        ctx.out.evidence('the plain unshare … chroot, started with fd 7 open:', plain.text);
        ctx.out.evidence(
          'the host, at the sync point: the init’s fd 7 is',
          initFd7 ? `${initFd7}   (the host's root, inherited)` : '(none)',
        );
        ctx.out.evidence('the hardened container’s command, started the same way:', ctx.state.leak.init.text);
      },
    }),

    step({
      title: 'Exec is hardened too',
      explain:
        'A container is as strong as its weakest door in. Lesson 10’s first exec, a plain nsenter, joins the ' +
        'namespaces and the root and nothing else: the process keeps the host root’s capabilities and has no ' +
        'filter, and the kit’s mount succeeds. `ctr exec` goes through the same init in exec mode: it enters the ' +
        'container’s root, then applies the container’s bounding set, capabilities, no_new_privs and seccomp ' +
        'filter before it becomes the command — the same profile as PID 1, which the host reads next to it.',
      docker: 'docker exec CONTAINER sh   (runc applies the container’s profile to every exec)',
      commands: (ctx) => {
        const spec = stageSpec(ctx, 'filtered');
        const grep = privilegesArgv('/proc/self/status');
        return {
          pid1: statusArgv(ctx, 'filtered'),
          nsenter: nsenterExecArgv(spec, pidOf(ctx, 'filtered'), grep),
          nsenterCaps: nsenterExecArgv(spec, pidOf(ctx, 'filtered'), [BREAKOUT, 'caps', DISK]),
          ...execShown(ctx, 'filtered', grep),
          ...execShown(ctx, 'filtered', [BREAKOUT, 'caps', DISK]),
        };
      },
      async run(ctx, cmd) {
        const text = async (argv: string[]) => (await ctx.runner.run(argv, { reject: false })).stdout.trim();
        const pid1 = await text(cmd.pid1 as string[]);
        const nsenter = await text(cmd.nsenter as string[]);
        const nsenterCaps = answersOf(await ctx.runner.run(cmd.nsenterCaps as string[], { reject: false }));
        const exec = (await execIn(ctx, 'filtered', privilegesArgv('/proc/self/status'))).text;
        const execCaps = await execIn(ctx, 'filtered', [BREAKOUT, 'caps', DISK]);
        ctx.state.exec = { pid1, nsenter, exec, nsenterCaps, execCaps };
        ctx.out.compare('their privileges', pid1, exec, ['PID 1, read by the host', 'the exec’d process, on itself']);
        ctx.out.compare('the kit, both ways in', nsenterCaps.text, execCaps.text, [
          'plain nsenter',
          'through the init',
        ]);
        ctx.out.evidence('plain nsenter’s process, on itself (lesson 10’s gap):', nsenter);
      },
    }),
  ],

  shell: (ctx) => {
    const spec = stageSpec(ctx, 'shell');
    // The shell's container gets directories of its own; nothing is made when the commands are only shown.
    if (ctx.mode !== 'explain' && !ctx.runner.dryRun) {
      createOverlayRoot(ctx.runner, ctx.cleanup, spec.id, [kitLayer(ctx.id), ctx.rootfs]);
    }
    return interactiveShell(
      spec,
      'A shell in the fully hardened container: docker’s 14 capabilities, no_new_privs, masked paths, a ' +
        'read-only root with a tmpfs /tmp, the seccomp filter. Try `grep Cap /proc/self/status`, ' +
        '`mount -t tmpfs x /mnt`, `touch /etc/x`, `unshare -U sh`, `breakout syscalls`, ' +
        '`breakout chroot /tmp /etc/hostname`. Type `exit` to leave.',
      { executor: 'ts', runner: ctx.runner, cleanup: ctx.cleanup },
    );
  },

  checks: (s) => {
    const secret = s.secret ?? '\0';
    const read = (a: Answers | undefined) => !!a?.text.includes(secret);
    const p = s.privileges;
    const docker14 = capabilitiesToHex(DOCKER_DEFAULT_CAPABILITIES);
    const eperm = (a: Answers | undefined, key: string) => answer(a, key) === 'EPERM';
    const made = (a: Answers | undefined) =>
      Object.entries(a?.answers ?? {}).some(([k, v]) => /^mknod\(disk/.test(k) && v === 'ok');
    const refusedOrAbsent = (a: Answers | undefined, key: string) => ['EPERM', 'ENOSYS'].includes(answer(a, key) ?? '');
    const BLOCKED = [
      'mount',
      'umount2',
      'pivot_root',
      'unshare(CLONE_NEWUSER)',
      'setns',
      'keyctl',
      'add_key',
      'request_key',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'kexec_load',
      'init_module',
      'finit_module',
      'delete_module',
      'open_by_handle_at',
      'reboot',
      'swapon',
      'swapoff',
      'settimeofday',
      'clock_settime',
      'acct',
    ];
    const statusSame = (a?: string, b?: string) =>
      !!a && !!b && JSON.stringify(parsePrivileges(a)) === JSON.stringify(parsePrivileges(b));
    return [
      {
        claim: 'the chroot escape read the host’s secret from a plain chroot and from an unshare -m chroot…',
        ok: read(s.chroot?.plain) && read(s.chroot?.unshared),
      },
      {
        claim: '…and stayed inside the pivot_root container: `..` ended at its own root',
        ok: !!s.chroot && !read(s.chroot.pivot) && answer(s.chroot.pivot, 'chroot(".")') === 'ok',
      },
      {
        claim: 'docker’s 14 in the bounding, permitted and effective sets of PID 1; inheritable and ambient empty',
        ok:
          p.caps?.CapBnd === docker14 &&
          p.caps.CapPrm === docker14 &&
          p.caps.CapEff === docker14 &&
          p.caps.CapInh === '0000000000000000' &&
          p.caps.CapAmb === '0000000000000000',
        detail: p.caps?.CapBnd,
      },
      {
        claim: 'mount, setting the clock and loading a module: allowed unhardened, refused with docker’s 14',
        ok:
          answer(s.caps?.open, 'mount(tmpfs, /mnt)') === 'ok' &&
          answer(s.caps?.open, 'settimeofday(NULL,NULL)') === 'ok' &&
          eperm(s.caps?.caps, 'mount(tmpfs, /mnt)') &&
          eperm(s.caps?.caps, 'settimeofday(NULL,NULL)') &&
          refusedOrAbsent(s.caps?.caps, 'init_module(empty)'),
      },
      {
        claim: 'chown still works with docker’s 14',
        ok: answer(s.caps?.caps, 'chown(file, 65534)') === 'ok',
      },
      {
        claim:
          '--cap-drop SYS_CHROOT stops the escape at chroot(2), --cap-drop MKNOD stops mknod, --cap-add SYS_ADMIN mounts',
        ok:
          eperm(s.changed?.chroot, 'chroot("scr-jail")') &&
          !read(s.changed?.chroot) &&
          eperm(s.changed?.caps, `mknod(disk, b ${DISK})`) &&
          answer(s.changed?.caps, 'mount(tmpfs, /mnt)') === 'ok',
      },
      {
        claim: 'with docker’s 14 a node for a disk is made and opened; no device cgroup stands in the way…',
        ok:
          made(s.devices?.caps) &&
          !!answer(s.devices?.caps, 'open(disk)') &&
          answer(s.devices?.caps, 'open(disk)') !== 'EPERM',
        detail: answer(s.devices?.caps, 'open(disk)'),
      },
      {
        claim: '…with docker’s device rules it is still made, but opening it fails with EPERM; /dev/null works',
        ok:
          made(s.devices?.devices) &&
          eperm(s.devices?.devices, 'open(disk)') &&
          answer(s.devices?.devices, 'write(/dev/null)') === 'ok',
      },
      {
        claim: 'the host reads docker’s rules where the kernel keeps them (devices.list, or the attached program)',
        ok:
          JSON.stringify(s.devices?.rules?.lines) ===
          JSON.stringify(devicesListLines(foldDeviceRules(DOCKER_DEVICE_RULES))),
        detail: s.devices?.rules?.source,
      },
      {
        claim: 'a setuid-root program run by uid 65534 became root without no_new_privs, and not with it',
        ok:
          answer(s.nnp?.caps, 'euid') === '0' &&
          answer(s.nnp?.nnp, 'euid') === '65534' &&
          answer(s.nnp?.nnp, 'CapEff') === '0000000000000000' &&
          p.nnp?.NoNewPrivs === '1' &&
          p.caps?.NoNewPrivs === '0',
      },
      {
        claim: 'masked: the /proc file reads empty, /sys/firmware is empty, /proc/sys is read-only',
        ok:
          !!s.paths &&
          answer(s.paths.before, `read ${MASKED_TO_READ}`) !== '(empty)' &&
          answer(s.paths.after, `read ${MASKED_TO_READ}`) === '(empty)' &&
          answer(s.paths.after, 'ls /sys/firmware') === '(empty)' &&
          answer(s.paths.before, 'write /proc/sys/kernel/hostname') === 'ok' &&
          answer(s.paths.after, 'write /proc/sys/kernel/hostname') === 'EROFS',
      },
      {
        claim: 'read-only root: /etc refused (EROFS) and nothing reached the upper layer; /tmp still writable',
        ok:
          !!s.readonly &&
          s.readonly.landedBefore &&
          !s.readonly.landedAfter &&
          answer(s.readonly.after, 'create /etc/scr-written') === 'EROFS' &&
          answer(s.readonly.after, 'create /tmp/scr-note') === 'ok' &&
          s.readonly.root?.endsWith(' ro') === true,
      },
      {
        claim: 'seccomp: PID 1 has a filter, and every call on docker’s list now fails with EPERM',
        ok: p.filtered?.Seccomp === '2' && BLOCKED.every((k) => eperm(s.seccomp?.after, k)),
        detail: p.filtered?.Seccomp ? `Seccomp ${p.filtered.Seccomp}` : undefined,
      },
      {
        claim: 'without the filter, unshare(CLONE_NEWUSER) and keyctl were allowed',
        ok:
          answer(s.seccomp?.before, 'unshare(CLONE_NEWUSER)') === 'ok' && answer(s.seccomp?.before, 'keyctl') === 'ok',
      },
      // Only where a 32-bit entry exists: x86_64, with IA32 emulation (without it, int 0x80 faults first).
      ...(hostSeccompArch() === 'x86_64' && s.seccomp?.i386Before.signal !== 'SIGSEGV'
        ? [
            {
              claim: 'a 32-bit system call ran unfiltered, and the filter killed the process for it (SIGSYS)',
              ok: s.seccomp?.i386Before.exitCode === 0 && s.seccomp.i386After.signal === 'SIGSYS',
            },
          ]
        : []),
      {
        claim: 'an inherited fd 7 let the plain chroot read the host’s secret; the init’s command had no fd 7',
        ok:
          !!s.leak &&
          read(s.leak.plain) &&
          s.leak.initFd7 === '/' &&
          !read(s.leak.init) &&
          /EBADF/.test(s.leak.init.text),
      },
      {
        claim: 'an exec’d process has the same capabilities, no_new_privs and filter as PID 1; plain nsenter has not',
        ok:
          !!s.exec &&
          statusSame(s.exec.pid1, s.exec.exec) &&
          !statusSame(s.exec.pid1, s.exec.nsenter) &&
          eperm(s.exec.execCaps, 'mount(tmpfs, /mnt)') &&
          answer(s.exec.nsenterCaps, 'mount(tmpfs, /mnt)') === 'ok',
      },
    ];
  },

  exercise: {
    file: '11-security.ts',
    functions: { ociCapabilities },
    solutionIn: ['lib/capabilities.ts'],
    contract:
      "write ociCapabilities(changes): docker's 14 capabilities with --cap-add/--cap-drop applied, as the five " +
      'sets of the OCI spec — bounding, permitted and effective that list, inheritable and ambient empty.',
    hints: [
      'Normalize a name first: upper case, and CAP_ in front if it is missing; "ALL" stays "ALL".',
      'add has ALL: every name up to lastCap but the dropped; drop has ALL: only the added; else the default minus drops plus adds.',
      'Sort by CAPABILITY_NAMES.indexOf(name) and drop duplicates ([...new Set(list)]); return { bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] }.',
    ],
    minutes: 15,
    shape: {
      ociCapabilities: (v: unknown) => {
        const sets = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'];
        const o = v as Record<string, unknown>;
        const ok =
          typeof v === 'object' &&
          v !== null &&
          sets.every(
            (k) => Array.isArray(o[k]) && (o[k] as unknown[]).every((c) => CAPABILITY_NAMES.includes(c as never)),
          );
        return ok
          ? undefined
          : 'ociCapabilities must return { bounding, effective, inheritable, permitted, ambient }, each a list of CAP_… names';
      },
    },
  },

  recap: {
    saw: [
      'chroot only moves `/`: with CAP_SYS_CHROOT the escape climbs out of it; pivot_root leaves nothing to climb to.',
      'Capabilities cut root into pieces: docker keeps 14 in bounding, permitted and effective, none inheritable ' +
        'or ambient; mount, the clock and modules are out of reach. --cap-drop and --cap-add change the list.',
      'The device cgroup lets a container make any node but open only harmless devices: v1 files, or a v2 BPF program.',
      'no_new_privs makes setuid bits and file capabilities powerless, for good.',
      'Masked and read-only paths cover what /proc and /sys show of the machine.',
      'A read-only root keeps a compromised container from changing its own files; a tmpfs takes what must be written.',
      'Seccomp refuses whole system calls before the kernel runs them, and kills a call from another architecture.',
      'A runtime closes every fd above 2 before the command starts, and exec gets the same profile as PID 1.',
    ],
    next:
      'Lesson 12 puts it all together: `ctr`, a small docker, built only from the lib/ of lessons 01–11 — run, ' +
      'ps, exec, logs, stop, rm — and an OCI bundle that runc runs the same way.',
  },
});
