/**
 * Lesson 12 — the capstone: ctr, a small docker, made of the lessons.
 *
 * `ctr` grew one command at a time; here it is used as a whole, the way docker is: load an image, run a web
 * server detached with a memory limit and a published port, find it in `ps`, ask it for a page, read its logs,
 * exec into it, inspect it, stop and remove it. Nothing in ctr is new: each flag is an earlier lesson's lib call
 * (lib/ctr/run-spec.ts maps docker's flags onto lib/kit.ts's transforms), and the host shows each one — the cgroup
 * file with the limit, the overlay root, the veth on the bridge and the DNAT rule, PID 1. Then a container leaves
 * as an OCI bundle (`config.json` + `rootfs/`) and runc, the runtime under docker, runs it: the same probe reports
 * the same facts under both — as the image's user, and again as root from a bundle of the image itself — and
 * runc is the oracle. Last, the exercise: docker's flags as a container spec, the function ctr itself runs —
 * started with lib's own calls next to `ctr run` with the same flags, and read from the host.
 */
import { UserError } from '../lib/errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import { initBundle, PROJECT_ROOT } from '../lib/bundle.ts';
import { CAPABILITY_NAMES } from '../lib/capabilities.ts';
import {
  createCgroup,
  evidenceFiles,
  hostOpOf,
  layoutToShow,
  limitsFromResources,
  planCgroup,
  showFilesArgv,
} from '../lib/cgroups/index.ts';
import { isPureV2 } from '../lib/cgroups/layout.ts';
import { compareFacts, PROBE_SCRIPT, probeFacts, type FactRow } from '../lib/container/probe.ts';
import { createOverlayRoot, overlayPaths, overlayRootOps } from '../lib/container/root.ts';
import { containerCommands } from '../lib/container/shown.ts';
import { startContainer, type Container } from '../lib/container/start.ts';
import { readState, type ContainerState } from '../lib/container/state.ts';
import { ctrArgv } from '../lib/ctr/command.ts';
import { psColumns } from '../lib/ctr/commands/ps.ts';
import { resolveRootfsArg } from '../lib/ctr/commands/run.ts';
import { parseFlags } from '../lib/ctr/flags.ts';
import { RUN_FLAGS, runOptions, specFromOptions, type RunOptions, type RunSource } from '../lib/ctr/run-spec.ts';
import { specShape } from '../lib/exercise.ts';
import { build, withNetwork, withOverlay } from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { BRIDGE, containerDir, STATE_ROOT, stateDir } from '../lib/names.ts';
import { connectNone, netnsName, netnsPath, noneStage, planNetwork } from '../lib/network/index.ts';
import { hostKey } from '../lib/network/host.ts';
import { networkDir, portKey, portOwner } from '../lib/network/ipam.ts';
import { unusedTcpPort } from '../lib/network/ports.ts';
import { BACKEND_FILE, readRecorded } from '../lib/network/shared.ts';
import { cgroupParentRemovals, RUNC_FIX, runcDeleteArgv, runcRunArgv } from '../lib/oci-bundle.ts';
import type { OciConfig } from '../lib/oci.ts';
import { findOnPath, toolPath, type RunResult } from '../lib/runner.ts';
import { parsePrivileges, readPrivileges, type PrivilegeField } from '../lib/security/breakout.ts';
import { mountState } from '../lib/security/paths.ts';
import type { ContainerSpec } from '../lib/spec.ts';
import { createStateDir } from '../lib/state.ts';
import { buildImages, IMAGES_SRC, LAYERED } from '../rootfs-scripts/images.ts';

/** lesson 07's layered image: busybox, a user `learner`, and /srv/app/new.txt from its third layer. */
const IMAGE = 'scratch/layers';
const ARCHIVE = path.join(IMAGES_SRC, 'layers.docker.tar');
/**
 * The web server's port inside. The image runs as `learner`, and an unprivileged process may not bind below 1024
 * (docker lowers net.ipv4.ip_unprivileged_port_start to 0 in each container; ctr does not), so 8000, not 80.
 */
const CONTAINER_PORT = 8000;
const WEB = ['httpd', '-f', '-v', '-p', String(CONTAINER_PORT), '-h', path.dirname(LAYERED.visible.path)];
const PAGE = `/${path.basename(LAYERED.visible.path)}`;
const MEMORY = '64m';
const GRACE_S = 1;
/** What `ctr exec` runs inside: who it is, and the container's processes (on pure v2, its own memory.max too). */
const LOOK = 'id; ps -o pid,user,args';
const LOOK_V2 = `${LOOK}; echo "memory.max: $(cat /sys/fs/cgroup/memory.max)"`;
/** The exercise's docker flags: the same for ctr and for the container built from your spec. */
const FLAGS = [
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
  '-w',
  '/tmp',
  '--network',
  'none',
];
const SLEEPER = ['sleep', '3600'];
const STATUS_FIELDS: PrivilegeField[] = ['CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp'];

interface Probe {
  ok: boolean;
  output: string;
}

/** One probe run under ctr and under runc from the bundle ctr exported, fact by fact. */
interface Comparison {
  config?: OciConfig;
  ctr: Array<[string, string]>;
  runc?: Array<[string, string]>;
  rows?: FactRow[];
  /** Set when runc is not installed: what to install, and no oracle. */
  runcMissing?: string;
}

/** What the host reads of a container built from the exercise's flags. */
interface Observed {
  pid: number;
  hostname: string;
  memory?: string;
  pids?: string;
  root?: string;
  tmp?: string;
  privileges: Partial<Record<PrivilegeField, string>>;
  env: string[];
  cwd: string;
}

interface State {
  port?: number;
  images?: string;
  web?: ContainerState;
  limit?: string;
  overlay?: string;
  pid1?: string;
  ps?: string;
  iptables?: string;
  links?: string;
  nat?: string;
  viaLocalhost?: Probe;
  viaBridge?: Probe;
  logs?: string;
  exec?: RunResult;
  inspect?: Record<string, unknown>;
  stop?: { ms: number; exitCode?: number };
  left?: string[];
  /** The container, exported and run by runc, as the image's user (learner). */
  bundle?: Comparison;
  /** The image itself (export-bundle IMAGE) with -u 0, against ctr run -u 0: the same comparison as root. */
  asRoot?: Comparison;
  mine?: Container;
  flags?: { options: RunOptions; mine: Observed; ctr: Observed };
}

type Ctx = LessonContext<State>;

/** Ids and names for this run: ctr wants ten hex digits, so the run id and a counter. */
function names(ctx: Ctx) {
  return {
    web: { id: `${ctx.id}0001`, name: `web-${ctx.id}` },
    probe: { id: `${ctx.id}0002`, name: `probe-${ctx.id}` },
    /** As root: ctr run -u 0 --rm, and the bundle of the image with -u 0 (its runc cgroup: /scratch/<id>b). */
    root: { id: `${ctx.id}0005`, bundle: `${ctx.id}0006` },
    flags: { id: `${ctx.id}0003`, name: `flags-${ctx.id}` },
    mine: { id: `${ctx.id}0004` },
  };
}

/** `node bin/ctr.mjs …`, as `npm run ctr -- …` runs it. */
const ctr = (...args: string[]) => ctrArgv(args);
/** ctr with the container's id fixed (SCRATCH_RUN_ID): named after this run, so `npm run clean` finds it. */
const ctrWithId = (id: string, ...args: string[]) => ['env', `SCRATCH_RUN_ID=${id}`, ...ctr(...args)];
const inRepo = { cwd: PROJECT_ROOT };

async function runCtr(ctx: Ctx, argv: readonly string[]): Promise<string> {
  const r = await ctx.runner.run(argv, { ...inRepo, reject: false });
  const text = [r.stdout, r.stderr].filter(Boolean).join('\n');
  // ctr's own refusal of something the host has once (another run published this port a moment ago: two lessons
  // started at the same instant both saw it free) is one line for the learner, not a bug's stack trace.
  const refusal = /^✘ (.*) — fix: .*$/.exec(r.stderr.trim());
  if (r.exitCode === 125 && refusal && !r.stderr.trim().includes('\n')) {
    const busyPort = /host port \S+ is already published/.test(refusal[1] ?? '');
    throw new UserError(
      `ctr refused: ${refusal[1]}`,
      busyPort ? 'npm run lesson 12   (again: it picks the next free port)' : (r.stderr.split(' — fix: ')[1] ?? ''),
    );
  }
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.exitCode}): ${text}`);
  return text;
}

/** The line that sets a shell variable to a container's host PID, from `ctr inspect`. */
const pidFromInspect = (name: string, variable: string) => ({
  shell: `${variable}=$(node bin/ctr.mjs inspect ${name} | grep -m1 '"pid":' | tr -dc 0-9)`,
});

/** This host's bridge state (leases, port claims, the iptables backend): /run/scratch/scr0.<host>. */
const netDir = () => networkDir(STATE_ROOT, BRIDGE, hostKey());

/** Host port for -p: 8080 unless a program listens there or a container has published it already. */
function hostPort(ctx: Ctx): number {
  if (ctx.state.port === undefined) {
    let port = unusedTcpPort(8080);
    while (portOwner(netDir(), portKey('tcp', port)) !== undefined) port = unusedTcpPort(port + 1);
    ctx.state.port = port;
  }
  return ctx.state.port;
}

const publish = (ctx: Ctx) => `${hostPort(ctx)}:${CONTAINER_PORT}`;

function webRun(ctx: Ctx): string[] {
  const n = names(ctx).web;
  return ctrWithId(n.id, 'run', '-d', '--name', n.name, '-m', MEMORY, '-p', publish(ctx), IMAGE, ...WEB);
}

/** A cgroup's limit files for these controllers, where its plan puts them (memory.max or memory.limit_in_bytes). */
function limitFiles(id: string, controllers: Array<'memory' | 'pids'>): string[] {
  const plan = planCgroup(id, {}, { layout: layoutToShow() });
  return controllers.flatMap((c) =>
    evidenceFiles(plan, c, false).filter((f) => /\/(memory\.max|memory\.limit_in_bytes|pids\.max)$/.test(f)),
  );
}

const cgroupDirs = (id: string) => planCgroup(id, {}, { layout: layoutToShow() }).drivers.flatMap((d) => d.dirs);

/** The flag map of step 2: each flag, the lib call it becomes, and the lesson that built that call. */
function flagMap(ctx: Ctx): string {
  const n = names(ctx).web;
  const rows: Array<[string, string, string]> = [
    [`--name ${n.name}`, 'a name and a state dir (lifecycle.ts)', '10'],
    [`-m ${MEMORY}`, 'withCgroup: a cgroup with memory.max', '05'],
    [`-p ${publish(ctx)}`, 'a netns, a veth on scr0, DNAT', '08'],
    [IMAGE, 'withOverlay: its layers, an upper dir', '06'],
    ['', 'withImageProcess: its Cmd, Env, User', '07'],
    ['(default)', 'withSecurity: 14 caps, seccomp, masks', '11'],
    ['(always)', 'isolatedSpec: uts ipc pid mount, pivot_root', '02-04'],
    ['-d', 'a waiter, ctr __shim, records the exit', '10'],
  ];
  return [
    '# each flag, the lib call it becomes, and the lesson that made it:',
    ...rows.map(([flag, call, lesson]) => `#   ${flag.padEnd(18)}${call.padEnd(44)}${lesson}`.trimEnd()),
  ].join('\n');
}

/** An HTTP GET with busybox's nc (busybox-static, which setup installs; its wget crashes on some hosts). */
const httpGet = (address: string, port: number) => [
  'sh',
  '-c',
  `printf "GET ${PAGE} HTTP/1.0\\r\\n\\r\\n" | busybox nc -w 3 ${address} ${port}`,
];
const bodyOf = (answer: string) => answer.split(/\r?\n\r?\n/)[1]?.trim() ?? '';

async function probe(ctx: Ctx, argv: readonly string[]): Promise<Probe> {
  const r = await ctx.runner.run(argv, { reject: false, timeoutMs: 8000 });
  return { ok: r.exitCode === 0, output: (r.stdout || r.stderr).trim() };
}

/** The bridge's address, the containers' gateway: 10.30.0.1 unless SCRATCH_SUBNET says otherwise. */
const gateway = (ctx: Ctx) => planNetwork({ id: names(ctx).web.id }).gateway;

/** Only our lines of an iptables listing: this container's rules and the bridge's own. */
const ourRules = (text: string, id: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(`scr:${id}`) || l.includes(`scr:${BRIDGE}:`))
    .join('\n');

/** 64 hex digits shown as docker shows ids: the first 12 and `…`. */
const shortenDigests = (text: string) => text.replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');

/** The overlay line of /proc/<pid>/mounts, one option a line. */
function overlayLines(line: string): string {
  const [source = '', point = '', type = '', options = ''] = line.trim().split(' ');
  const opts = options.split(',').filter((o) => /^(lowerdir|upperdir|workdir)=/.test(o));
  return [`${source} on ${point} type ${type}`, ...opts.flatMap((o) => o.replace(/:/g, ':\n  ').split('\n'))]
    .map(shortenDigests)
    .join('\n');
}

const hasRunc = () => findOnPath('runc', toolPath(process.env.PATH)) !== undefined;
const bundleDir = (ctx: Ctx, which: 'container' | 'image') => path.join(stateDir(ctx.id), `bundle-${which}`);
const runcRoot = (ctx: Ctx) => path.join(stateDir(ctx.id), 'runc');
const runcId = (ctx: Ctx, which: 'container' | 'image') => `scr${ctx.id}${which === 'container' ? 'c' : 'i'}`;

/**
 * The probe's docker flags: a hostname to compare, no network (a bundle has no bridge), and no_new_privs, which
 * docker leaves off by default, so the oracle sees it set.
 */
const PROBE_FLAGS = ['--network', 'none', '--hostname', 'probe', '--security-opt', 'no-new-privileges'];
/** What export-bundle IMAGE takes of them: the network is always none in a bundle. */
const BUNDLE_FLAGS = PROBE_FLAGS.slice(2);
const PROBE_ARGS = ['sh', '-c', PROBE_SCRIPT];

/** The probe under ctr, as the image's user, kept after it ends (no --rm) so it can be exported. */
function probeRun(ctx: Ctx): string[] {
  const n = names(ctx).probe;
  return ctrWithId(n.id, 'run', '--name', n.name, ...PROBE_FLAGS, IMAGE, ...PROBE_ARGS);
}

/** The probe under ctr as root (-u 0), removed when it ends. */
function probeRunAsRoot(ctx: Ctx): string[] {
  return ctrWithId(names(ctx).root.id, 'run', '--rm', '-u', '0', ...PROBE_FLAGS, IMAGE, ...PROBE_ARGS);
}

/** The image, as ctr run -u 0 with the probe's flags would start it, written as a bundle. */
function exportImageAsRoot(ctx: Ctx): string[] {
  const dir = bundleDir(ctx, 'image');
  return ctrWithId(names(ctx).root.bundle, 'export-bundle', '-u', '0', ...BUNDLE_FLAGS, IMAGE, dir, ...PROBE_ARGS);
}

/**
 * Run the probe under runc from a bundle (runc's own state in this run's state dir, `runc delete` on the cleanup
 * stack first), and compare what it said with what it said under ctr.
 */
async function runcOracle(ctx: Ctx, argv: readonly string[], which: 'container' | 'image', c: Comparison) {
  ctx.cleanup.push(`runc delete --force ${runcId(ctx, which)}`, async () => {
    await ctx.runner.run(runcDeleteArgv(runcRoot(ctx), runcId(ctx, which)), { reject: false });
    for (const op of cgroupParentRemovals()) ctx.runner.apply(op);
  });
  const theirs = await ctx.runner.run(argv, { reject: false });
  if (theirs.exitCode !== 0) throw new Error(`runc failed (exit ${theirs.exitCode}): ${theirs.stderr}`);
  c.runc = probeFacts(theirs.stdout);
  c.rows = compareFacts(c.ctr, c.runc);
}

const readConfig = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as OciConfig;

/** The oracle's verdict on a comparison: every fact the same, and enough of them to mean something. */
const agreed = (c?: Comparison) => !!c?.rows && c.rows.length >= 20 && c.rows.every((r) => r.same);
const fact = (c: Comparison | undefined, name: string) => c?.rows?.find((r) => r.name === name)?.a;
const differences = (c?: Comparison) =>
  c?.rows
    ?.filter((r) => !r.same)
    .map((r) => `${r.name}: ${r.a ?? '-'} ≠ ${r.b ?? '-'}`)
    .join('; ') || undefined;

/** config.json, in part: what a production runtime reads from the bundle. */
function configExcerpt(c: OciConfig, files: number): string {
  const caps = c.process.capabilities;
  return [
    `process.user       ${c.process.user.uid}:${c.process.user.gid}, cwd ${c.process.cwd}, terminal ${c.process.terminal}`,
    `process.args       ${c.process.args.slice(0, 2).join(' ')} <the probe>`,
    `capabilities       ${caps.bounding.length} bounding, ${caps.effective.length} effective, ` +
      `${caps.inheritable.length} inheritable, ${caps.ambient.length} ambient`,
    `noNewPrivileges    ${c.process.noNewPrivileges}`,
    `hostname           ${c.hostname ?? ''}`,
    `namespaces         ${c.linux.namespaces.map((n) => n.type).join(' ')}`,
    `mounts             ${c.mounts.map((m) => m.destination).join(' ')}`,
    `maskedPaths        ${c.linux.maskedPaths?.length ?? 0}, readonlyPaths ${c.linux.readonlyPaths?.length ?? 0}`,
    `seccomp            ${
      c.linux.seccomp
        ? `default ${c.linux.seccomp.defaultAction}, ${c.linux.seccomp.syscalls?.length ?? 0} rules, ` +
          `${c.linux.seccomp.architectures?.join(' ') ?? ''}`
        : 'none'
    }`,
    `cgroupsPath        ${c.linux.cgroupsPath ?? ''}`,
    `root               ${c.root.path}/ (${files} files: the image's layers, flattened)`,
  ].join('\n');
}

function factTable(rows: readonly FactRow[]): string {
  const row = (name: string, a: string, b: string, mark: string) =>
    `${name.padEnd(24)} ${a.padEnd(19)} ${b.padEnd(19)} ${mark}`.trimEnd();
  return [
    row('', 'ctr', 'runc', ''),
    ...rows.map((r) => row(r.name, r.a ?? '(none)', r.b ?? '(none)', r.same ? '=' : '≠')),
  ].join('\n');
}

// ---- the exercise: docker's flags as a spec -----------------------------------------------------------------

/** The rootfs as `ctr run` names it (resolved to its real path), or as given where it is missing (--explain). */
function rootfsSource(ctx: Ctx): Extract<RunSource, { kind: 'rootfs' }> {
  try {
    return resolveRootfsArg(ctx.rootfs);
  } catch {
    return { kind: 'rootfs', image: ctx.rootfs, path: ctx.rootfs };
  }
}

/** The exercise's flags as plain data, exactly as ctr reads them (runOptions), for the lesson's own container. */
function flagOptions(ctx: Ctx): RunOptions {
  const { flags } = parseFlags(FLAGS, RUN_FLAGS, 'run');
  return runOptions(flags, rootfsSource(ctx), SLEEPER, { id: names(ctx).mine.id, hostEnv: {} });
}

/** Your spec (or lib's), then what ctr's createContainer adds: its own overlay root and its network namespace. */
function mineSpec(ctx: Ctx): ContainerSpec {
  const id = names(ctx).mine.id;
  const o = overlayPaths(id, [rootfsSource(ctx).path]);
  return build(
    ctx.use(specFromOptions)(flagOptions(ctx)),
    withOverlay(o.root, o.rootfs),
    withNetwork(netnsPath(netnsName(id))),
  );
}

const keyed = (prefix: string, list: readonly Shown[]): Record<string, Shown> =>
  Object.fromEntries(list.map((s, i) => [`${prefix}${i}`, s]));

function mineCommands(ctx: Ctx): Record<string, Shown> {
  const id = names(ctx).mine.id;
  const spec = mineSpec(ctx);
  const cgroup = planCgroup(id, limitsFromResources(spec.linux.resources), { layout: layoutToShow() });
  const pid = ctx.state.mine?.hostPid;
  return {
    ...keyed(
      'cgroup',
      cgroup.ops.map((op) => ({ op: hostOpOf(op) })),
    ),
    ...keyed(
      'root',
      overlayRootOps(overlayPaths(id, [rootfsSource(ctx).path])).map((op) => ({ op })),
    ),
    ...keyed(
      'netns',
      noneStage(id).map((c) => c.argv),
    ),
    ...containerCommands(spec, { executor: 'ts', background: true, pidVar: 'MINE' }),
    ...keyed(
      'join',
      cgroup.drivers
        .flatMap((d) => d.procsFiles)
        .map((f) => ({ op: { kind: 'write' as const, path: f, value: pid ? String(pid) : '$MINE' } })),
    ),
  };
}

/** What the host reads of a container: hostname (from the shown nsenter), cgroup files, mounts, profile, env. */
function observe(pid: number, hostname: string, id: string): Observed {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const [memory] = limitFiles(id, ['memory']);
  const [pids] = limitFiles(id, ['pids']);
  const mountinfo = read(`/proc/${pid}/mountinfo`) ?? '';
  let cwd = '';
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    cwd = '?';
  }
  return {
    pid,
    hostname,
    memory: memory && read(memory),
    pids: pids && read(pids),
    root: mountState(mountinfo, '/'),
    tmp: mountState(mountinfo, '/tmp'),
    privileges: readPrivileges(pid),
    env: (read(`/proc/${pid}/environ`) ?? '').split('\0').filter(Boolean).sort(),
    cwd,
  };
}

/** The two containers field by field, as the host read them; `≠` where they differ. */
function observedRows(a: Observed, b: Observed): Array<[string, string, string]> {
  return [
    ['hostname', a.hostname, b.hostname],
    ['memory limit', a.memory ?? '?', b.memory ?? '?'],
    ['pids.max', a.pids ?? '?', b.pids ?? '?'],
    ['/ (root)', a.root ?? '?', b.root ?? '?'],
    ['/tmp', a.tmp ?? '?', b.tmp ?? '?'],
    ...STATUS_FIELDS.map((f): [string, string, string] => [f, a.privileges[f] ?? '?', b.privileges[f] ?? '?']),
    ['cwd', a.cwd, b.cwd],
    ['environment', a.env.join(' '), b.env.join(' ')],
  ];
}

function observedTable(a: Observed, b: Observed): string {
  return [
    `${''.padEnd(14)}${'yours (lib)'.padEnd(26)}ctr run`,
    ...observedRows(a, b).flatMap(([field, x, y]) => {
      if (field === 'environment') return [`environment${x === y ? '' : ' ≠'}`, `  yours: ${x}`, `  ctr:   ${y}`];
      return [`${field.padEnd(14)}${x.padEnd(26)}${y.padEnd(20)}${x === y ? '' : '≠'}`.trimEnd()];
    }),
  ].join('\n');
}

const sameObserved = (a?: Observed, b?: Observed) =>
  !!a && !!b && observedRows(a, b).every(([, x, y]) => x === y && x !== '?' && x !== '');

const hasCap = (hex: string | undefined, name: string) => {
  const bit = CAPABILITY_NAMES.indexOf(name as never);
  return hex !== undefined && bit >= 0 && (BigInt(`0x${hex}`) & (1n << BigInt(bit))) !== 0n;
};

export default defineLesson<State>({
  number: '12',
  title: 'Capstone: ctr, a small docker made of the lessons',
  summary:
    'ctr as a whole: load an image, run a web server detached with a memory limit and a published port, ps, a ' +
    'request, logs, exec, inspect, stop, rm — each flag an earlier lesson’s lib call, each shown on the host. Then ' +
    'the container as an OCI bundle that runc runs the same way, and docker’s flags as a spec, by your own hand.',
  docker: 'docker run -d --name web -m 64m -p 8080:8000 IMAGE; docker ps; docker logs/exec/inspect/stop/rm web',
  needsRoot: true,
  needsRootfs: true,
  changesHostNetwork: true,
  // The image is lesson 07's, from the busybox rootfs; only the exercise's two containers run the rootfs itself.
  rootfsCommands: ['sleep'],
  initialState: () => ({}),

  steps: [
    step({
      title: 'The image: ctr load, ctr images (lesson 07)',
      explain:
        '`ctr` is the workshop’s docker, and everything it does is lib/ — the lessons’ own calls. It starts where ' +
        'docker does, with an image: lesson 07’s scratch/layers (three layers over the busybox rootfs, and a ' +
        'config that runs as `learner`), loaded from its `docker save` archive. Each layer is unpacked once ' +
        'under its digest: if lesson 07 loaded it already, every layer "Already exists".',
      docker: 'docker load -i layers.docker.tar; docker images',
      commands: () => ({ load: ctr('load', '-i', ARCHIVE), images: ctr('images') }),
      async run(ctx, cmd) {
        const built = await buildImages({ log: () => {} });
        if (built.built) ctx.out.note(`First use: built lesson 07's image archives in ${built.dir} (npm run images).`);
        ctx.out.evidence('ctr load:', await runCtr(ctx, cmd.load as string[]));
        ctx.state.images = await runCtr(ctx, cmd.images as string[]);
        ctx.out.evidence('ctr images:', ctx.state.images);
      },
    }),

    step({
      title: 'ctr run -d: every flag is an earlier lesson',
      explain:
        'One command, and all of the workshop behind it. lib/ctr/run-spec.ts turns each flag into the transform ' +
        'a lesson wrote (the map below): a cgroup with the memory limit, an overlay of the image’s layers with an ' +
        'upper dir of its own, the image’s command and user, docker’s profile, the namespaces and pivot_root — ' +
        'and the network namespace the host wires to the bridge, with a DNAT rule for -p. -d hands the ' +
        'container to a waiter process, ctr __shim, which stays its parent. Then the host looks: the limit in ' +
        'the cgroup file, the overlay mounted as the container’s root, and PID 1.',
      docker: `docker run -d --name web -m ${MEMORY} -p 8080:${CONTAINER_PORT} IMAGE httpd -f -v -p ${CONTAINER_PORT}`,
      commands: (ctx) => {
        const n = names(ctx).web;
        const pid = String(ctx.state.web?.pid ?? '$PID');
        return {
          map: { shell: flagMap(ctx) },
          run: webRun(ctx),
          pid: pidFromInspect(n.name, 'PID'),
          limit: showFilesArgv(limitFiles(n.id, ['memory'])),
          root: ['grep', '^overlay / ', `/proc/${pid}/mounts`],
          pid1: ['ps', '-o', 'pid,uid,args', '-p', pid],
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx).web;
        ctx.cleanup.push(`remove container ${n.name}`, async () => {
          await ctx.runner.run(ctr('rm', '-f', n.name), { ...inRepo, reject: false });
        });
        const started = await runCtr(ctx, cmd.run as string[]);
        const web = readState(n.id);
        if (!web?.pid) throw new Error(`ctr run -d printed ${started} but left no running state`);
        ctx.state.web = web;
        const limit = await ctx.runner.run(cmd.limit as string[], { reject: false });
        const root = await ctx.runner.run(['grep', '^overlay / ', `/proc/${web.pid}/mounts`], { reject: false });
        const pid1 = await ctx.runner.run(['ps', '-o', 'pid,uid,args', '-p', String(web.pid)], { reject: false });
        ctx.state.limit = limit.stdout.trim();
        ctx.state.overlay = root.stdout.trim();
        ctx.state.pid1 = pid1.stdout.trim();
        ctx.out.evidence(`ctr run -d printed the container's id; its PID 1 on the host is ${web.pid}`, started);
        ctx.out.evidence(`the cgroup, read by the host (lesson 05): ${MEMORY} in bytes`, ctx.state.limit);
        ctx.out.evidence(
          "its root: an overlay (06) of the image's layers (07), in the container's own mount namespace",
          overlayLines(ctx.state.overlay),
        );
        ctx.out.evidence(
          `PID 1, seen from the host: the image’s command, as its user (learner, uid ${LAYERED.user.uid})`,
          ctx.state.pid1,
        );
      },
    }),

    step({
      title: 'ctr ps, and the published port answers',
      explain:
        '`ctr ps` reads the state files under /run/scratch (the kernel keeps no list of containers). The ' +
        'network is lesson 08’s, made by ctr: the container’s end of a veth pair is its eth0, the host’s end is ' +
        'plugged into the bridge scr0, and -p became DNAT rules in nat PREROUTING and OUTPUT. So a request to ' +
        'the host’s own port — on 127.0.0.1, or on the bridge’s address — reaches busybox httpd in the ' +
        `container, which serves ${LAYERED.visible.path}: a file only the image’s third layer has.`,
      docker: `docker ps; curl http://127.0.0.1:8080${PAGE}`,
      commands: (ctx) => ({
        ps: ctr('ps'),
        links: ['ip', '-br', 'link', 'show', 'master', BRIDGE],
        backend: { shell: `IPTABLES=$(cat ${path.join(netDir(), BACKEND_FILE)})   # the backend ctr chose` },
        nat: ['$IPTABLES', '-w', '-t', 'nat', '-S'],
        local: httpGet('127.0.0.1', hostPort(ctx)),
        bridge: httpGet(gateway(ctx), hostPort(ctx)),
      }),
      async run(ctx, cmd) {
        const id = names(ctx).web.id;
        ctx.state.ps = await runCtr(ctx, cmd.ps as string[]);
        ctx.state.links = (await ctx.runner.run(cmd.links as string[], { reject: false })).stdout.trim();
        ctx.state.iptables = readRecorded(netDir(), BACKEND_FILE) ?? 'iptables';
        const nat = await ctx.runner.run([ctx.state.iptables, '-w', '-t', 'nat', '-S'], { reject: false });
        ctx.state.nat = ourRules(nat.stdout, id);
        ctx.state.viaLocalhost = await probe(ctx, cmd.local as string[]);
        ctx.state.viaBridge = await probe(ctx, cmd.bridge as string[]);
        ctx.out.evidence('ctr ps', psColumns(ctx.state.ps, ['CONTAINER ID', 'STATUS', 'PORTS', 'NAMES']));
        ctx.out.evidence(`scr0's ports: the host end of each container's veth`, ctx.state.links);
        ctx.out.evidence(`${ctx.state.iptables} -t nat: this container's rules and the bridge's`, ctx.state.nat);
        const said = (p: Probe) => (p.ok ? bodyOf(p.output) || '(no page)' : `nothing: ${p.output}`);
        ctx.out.evidence(
          `GET ${PAGE} on port ${hostPort(ctx)}, from the host:`,
          [
            `127.0.0.1:${hostPort(ctx)}`.padEnd(20) + said(ctx.state.viaLocalhost),
            `${gateway(ctx)}:${hostPort(ctx)}`.padEnd(20) + said(ctx.state.viaBridge),
          ].join('\n'),
        );
      },
    }),

    step({
      title: 'ctr logs, ctr exec, ctr inspect (lesson 10)',
      explain:
        'The waiter sent the container’s output to a log file: `ctr logs` prints it — httpd -v logged the two ' +
        'requests. `ctr exec` starts a process in the container the way lesson 10 built it: cgroup first, then ' +
        'the namespaces, then PID 1’s user and profile; inside, PID 1 is httpd, running as learner. ' +
        (isPureV2(layoutToShow())
          ? 'On this pure cgroup v2 host ctr mounts the container’s own cgroup at /sys/fs/cgroup, so the exec ' +
            'reads its memory.max too. '
          : 'The container cannot read its own limit here: on a v1 or hybrid host ctr does not mount its cgroup ' +
            'inside (docker mounts each v1 tree), which is why step 2 read it from the host. ') +
        '`ctr inspect` is everything the host knows of it, as JSON; a few fields are picked out below.',
      docker: 'docker logs web; docker exec web sh -c "id; ps"; docker inspect web',
      commands: (ctx) => {
        const name = names(ctx).web.name;
        return {
          logs: ctr('logs', name),
          exec: ctr('exec', name, 'sh', '-c', isPureV2(layoutToShow()) ? LOOK_V2 : LOOK),
          inspect: ctr('inspect', name),
        };
      },
      async run(ctx, cmd) {
        ctx.state.logs = await runCtr(ctx, cmd.logs as string[]);
        ctx.state.exec = await ctx.runner.run(cmd.exec as string[], { ...inRepo, reject: false });
        const [state] = JSON.parse(await runCtr(ctx, cmd.inspect as string[])) as ContainerState[];
        ctx.state.inspect = state && {
          id: state.id,
          name: state.name,
          status: state.status,
          pid: state.pid,
          image: state.image,
          hostname: state.spec.hostname,
          user: state.spec.process.user,
          'memory.limit': state.spec.linux.resources?.memory?.limit,
          cgroupsPath: state.spec.linux.cgroupsPath,
          ports: state.ports,
          logPath: state.logPath,
        };
        ctx.out.evidence('ctr logs: httpd -v, one line per request', ctx.state.logs);
        ctx.out.evidence('ctr exec, inside:', ctx.state.exec.stdout || ctx.state.exec.stderr);
        ctx.out.evidence(
          'ctr inspect, a few fields (picked from its JSON):',
          Object.entries(ctx.state.inspect ?? {})
            .map(([k, v]) => `${k.padEnd(14)}${JSON.stringify(v)}`)
            .join('\n'),
        );
      },
    }),

    step({
      title: 'ctr stop and ctr rm: nothing left',
      explain:
        `\`ctr stop\` sends SIGTERM to PID 1 and waits ${GRACE_S} s. httpd has no SIGTERM handler, and the kernel ` +
        'does not deliver a signal to a namespace’s init that has no handler for it (lesson 10): SIGKILL ends ' +
        'it after the grace period, exit 137 = 128 + 9. The waiter records that and takes down the cgroup and ' +
        'the network — the veth, the DNAT rules, the namespace, the address lease, and the bridge itself if it ' +
        'was the last container on it. `ctr rm` takes the rest: state, log, the overlay’s upper dir, the name.',
      docker: `docker stop -t ${GRACE_S} web; docker ps -a; docker rm web`,
      commands: (ctx) => {
        const n = names(ctx).web;
        return {
          stop: ctr('stop', '-t', String(GRACE_S), n.name),
          psa: ctr('ps', '-a'),
          rm: ctr('rm', n.name),
          ls: ['ls', '-d', stateDir(n.id), containerDir(n.id), netnsPath(netnsName(n.id)), ...cgroupDirs(n.id)],
          links: ['ip', '-br', 'link', 'show', 'master', BRIDGE],
          nat: ['$IPTABLES', '-w', '-t', 'nat', '-S'],
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx).web;
        const t = Date.now();
        await runCtr(ctx, cmd.stop as string[]);
        ctx.state.stop = { ms: Date.now() - t, exitCode: readState(n.id)?.exitCode };
        const psa = await runCtr(ctx, cmd.psa as string[]);
        await runCtr(ctx, cmd.rm as string[]);
        const ls = await ctx.runner.run(cmd.ls as string[], { reject: false });
        const links = await ctx.runner.run(cmd.links as string[], { reject: false });
        const nat = await ctx.runner.run([ctx.state.iptables ?? 'iptables', '-w', '-t', 'nat', '-S'], {
          reject: false,
        });
        const paths = (cmd.ls as string[]).slice(2).filter((p) => fs.existsSync(p));
        const veth = links.stdout.split('\n').filter((l) => l.startsWith(`scr${n.id}`));
        const rules = nat.stdout.split('\n').filter((l) => l.includes(`scr:${n.id}`));
        const mounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(n.id) ? ['a mount'] : [];
        ctx.state.left = [...paths, ...veth, ...rules, ...mounted];
        ctx.out.evidence(
          `ctr stop -t ${GRACE_S}, timed`,
          `${(ctx.state.stop.ms / 1000).toFixed(1)} s, exit ${ctx.state.stop.exitCode} (SIGKILL after the grace period)`,
        );
        ctx.out.evidence('ctr ps -a (ids, statuses and names)', psColumns(psa, ['CONTAINER ID', 'STATUS', 'NAMES']));
        ctx.out.evidence('after ctr rm — ls -d of what it had on the host:', (ls.stderr || ls.stdout).trim());
        ctx.out.evidence(
          `its veth on ${BRIDGE}, its nat rules:`,
          [...veth, ...rules].join('\n') || `none (${links.stderr.trim() || 'other containers’ veths only'})`,
        );
      },
    }),

    step({
      title: 'ctr export-bundle, and runc runs it: the oracle',
      explain:
        'A runtime’s input has a standard: the OCI runtime spec’s bundle, a directory with config.json and the ' +
        'root filesystem. lib/spec.ts follows its field names, so `ctr export-bundle` writes a container as ' +
        'one: lib/oci.ts makes config.json, the layers (and its own upper dir) are flattened into rootfs/. runc ' +
        '— the runtime under docker, containerd and podman — then runs it. The same probe runs under both, as ' +
        'the image’s user: what may it do (capabilities, no_new_privs, seccomp), which namespaces is it in (PID ' +
        '1, only lo, its cgroup seen as /, no uid map), what does it see (hostname, user, mounts, masked paths, ' +
        '/proc/sys, the file the image deleted). runc is the oracle: each fact must be the same.' +
        (hasRunc() ? '' : ` runc is not installed here, so its half is skipped (${RUNC_FIX}).`),
      docker: 'docker run … (dockerd → containerd → runc run --bundle DIR ID)',
      commands: (ctx) => {
        const n = names(ctx).probe;
        return {
          probe: probeRun(ctx),
          export: ctr('export-bundle', n.name, bundleDir(ctx, 'container')),
          ...(hasRunc()
            ? { runc: runcRunArgv(runcRoot(ctx), bundleDir(ctx, 'container'), runcId(ctx, 'container')) }
            : {}),
          rm: ctr('rm', n.name),
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx).probe;
        createStateDir(ctx.cleanup, ctx.id);
        ctx.cleanup.push(`remove container ${n.name}`, async () => {
          await ctx.runner.run(ctr('rm', '-f', n.name), { ...inRepo, reject: false });
        });
        const mine = await ctx.runner.run(cmd.probe as string[], { ...inRepo, reject: false });
        if (mine.exitCode !== 0) throw new Error(`the probe failed under ctr (exit ${mine.exitCode}): ${mine.stderr}`);
        const exported = await runCtr(ctx, cmd.export as string[]);
        const config = readConfig(bundleDir(ctx, 'container'));
        const files = Number(/\((\d+) files\)/.exec(exported)?.[1] ?? 0);
        const c: Comparison = { config, ctr: probeFacts(mine.stdout) };
        ctx.state.bundle = c;
        ctx.out.evidence('config.json, in part (the OCI runtime spec’s names):', configExcerpt(config, files));
        if ('runc' in cmd) {
          await runcOracle(ctx, cmd.runc as string[], 'container', c);
          ctx.out.evidence(
            'the probe, fact by fact: under ctr, and under runc from the bundle',
            factTable(c.rows ?? []),
          );
        } else {
          c.runcMissing = RUNC_FIX;
          ctx.out.evidence('the probe under ctr (runc is not installed: no oracle)', mine.stdout.trim());
          ctx.out.note(`runc is missing, so nothing checked ctr against it: ${RUNC_FIX}`);
        }
        await runCtr(ctx, cmd.rm as string[]);
      },
    }),

    step({
      title: 'The image as a bundle, and the same oracle as root',
      explain:
        'export-bundle also takes an image and ctr run’s flags, and writes the container `ctr run` would start ' +
        'from them — no container needed. Here: the image with -u 0. The facts that change as root are the ' +
        'ones worth checking twice: uid 0 keeps docker’s 14 capabilities in its permitted and effective sets ' +
        '(the learner had none: the kernel clears them when a process that is not uid 0 execs). So the probe ' +
        'runs as root under `ctr run -u 0`, and under runc from the image’s ' +
        'bundle; again each fact must be the same. Only the rows that differ from the learner’s are shown.',
      docker: 'docker create -u 0 IMAGE …; runc run --bundle DIR ID',
      commands: (ctx) => ({
        probe: probeRunAsRoot(ctx),
        export: exportImageAsRoot(ctx),
        ...(hasRunc() ? { runc: runcRunArgv(runcRoot(ctx), bundleDir(ctx, 'image'), runcId(ctx, 'image')) } : {}),
      }),
      async run(ctx, cmd) {
        createStateDir(ctx.cleanup, ctx.id);
        const id = names(ctx).root.id;
        ctx.cleanup.push(`remove container ${id} (if --rm could not)`, async () => {
          await ctx.runner.run(ctr('rm', '-f', id), { ...inRepo, reject: false });
        });
        const mine = await ctx.runner.run(cmd.probe as string[], { ...inRepo, reject: false });
        if (mine.exitCode !== 0) throw new Error(`the probe failed under ctr (exit ${mine.exitCode}): ${mine.stderr}`);
        await runCtr(ctx, cmd.export as string[]);
        const c: Comparison = { config: readConfig(bundleDir(ctx, 'image')), ctr: probeFacts(mine.stdout) };
        ctx.state.asRoot = c;
        const cfg = c.config?.process;
        ctx.out.evidence(
          'the image’s config.json, in part:',
          `process.user  ${cfg?.user.uid}:${cfg?.user.gid}, cwd ${cfg?.cwd}, ` +
            `${cfg?.capabilities.effective.length} effective capabilities`,
        );
        if (!('runc' in cmd)) {
          c.runcMissing = RUNC_FIX;
          ctx.out.evidence('the probe as root under ctr (no runc: no oracle)', mine.stdout.trim());
          return;
        }
        await runcOracle(ctx, cmd.runc as string[], 'image', c);
        const learner = new Map(ctx.state.bundle?.ctr ?? []);
        const changed = (c.rows ?? []).filter((r) => learner.get(r.name) !== r.a);
        const same = (c.rows ?? []).filter((r) => r.same).length;
        ctx.out.evidence(
          `as root: ${same} of ${c.rows?.length ?? 0} facts the same under both; those unlike the learner’s:`,
          factTable(changed),
        );
      },
    }),

    step({
      title: 'Your turn: docker’s flags as a spec (the exercise)',
      explain:
        'ctr run is three pure steps and a start: runOptions reads the flags into plain data, specFromOptions ' +
        'turns that into a spec with the lessons’ transforms (the exercise: `--mine` uses yours), and ' +
        'createContainer makes its cgroup, overlay root and network namespace. Here the lesson takes the same ' +
        'flags through specFromOptions and starts the container itself, with the same lib calls, next to ' +
        '`ctr run` with those flags as the oracle. The host then reads both: hostname, the memory and pids ' +
        'limits, the read-only root and the tmpfs, the capability sets, no_new_privs, seccomp, environment, cwd.',
      docker: `docker run -d ${FLAGS.join(' ')} busybox sleep 3600`,
      commands: (ctx) => {
        const n = names(ctx);
        const mine = String(ctx.state.mine?.hostPid ?? '$MINE');
        const other = String(ctx.state.flags?.ctr.pid ?? '$CTR');
        return {
          ctr: ctrWithId(n.flags.id, 'run', '-d', '--name', n.flags.name, ...FLAGS, ctx.rootfs, ...SLEEPER),
          ctrPid: pidFromInspect(n.flags.name, 'CTR'),
          yours: { shell: '# the same flags → runOptions → specFromOptions (yours with --mine), then:' },
          ...mineCommands(ctx),
          hostnameMine: ['nsenter', '--target', mine, '--uts', 'hostname'],
          hostnameCtr: ['nsenter', '--target', other, '--uts', 'hostname'],
          limits: showFilesArgv([
            ...limitFiles(n.mine.id, ['memory', 'pids']),
            ...limitFiles(n.flags.id, ['memory', 'pids']),
          ]),
          status: ['grep', '-E', `^(${STATUS_FIELDS.join('|')}):`, `/proc/${mine}/status`, `/proc/${other}/status`],
        };
      },
      async run(ctx, cmd) {
        const n = names(ctx);
        ctx.cleanup.push(`remove container ${n.flags.name}`, async () => {
          await ctx.runner.run(ctr('rm', '-f', n.flags.name), { ...inRepo, reject: false });
        });
        await runCtr(ctx, cmd.ctr as string[]);
        const theirs = readState(n.flags.id);
        if (!theirs?.pid) throw new Error(`ctr run -d ${n.flags.name} left no running state`);
        // As ctr's createContainer does, with the spec from specFromOptions: cgroup, root, network, then start.
        const options = flagOptions(ctx);
        const spec = mineSpec(ctx);
        const cg = createCgroup(ctx.cleanup, n.mine.id, limitsFromResources(spec.linux.resources), {
          runner: ctx.runner,
        });
        createOverlayRoot(ctx.runner, ctx.cleanup, n.mine.id, [rootfsSource(ctx).path]);
        await connectNone(ctx.runner, ctx.cleanup, n.mine.id);
        const c = await startContainer(ctx.runner, ctx.cleanup, spec, {
          executor: 'ts',
          init: await initBundle(),
          procsFiles: cg.procsFiles,
        });
        ctx.state.mine = c;
        const hostname = async (pid: number) =>
          (await ctx.runner.run(['nsenter', '--target', String(pid), '--uts', 'hostname'])).stdout.trim();
        const hostnames = [await hostname(c.hostPid), await hostname(theirs.pid)];
        const limits = [...limitFiles(n.mine.id, ['memory', 'pids']), ...limitFiles(n.flags.id, ['memory', 'pids'])];
        await ctx.runner.run(showFilesArgv(limits), { reject: false });
        const status = await ctx.runner.run(
          ['grep', '-E', `^(${STATUS_FIELDS.join('|')}):`, `/proc/${c.hostPid}/status`, `/proc/${theirs.pid}/status`],
          { reject: false },
        );
        ctx.state.flags = {
          options,
          mine: observe(c.hostPid, hostnames[0] ?? '', n.mine.id),
          ctr: observe(theirs.pid, hostnames[1] ?? '', n.flags.id),
        };
        // The grep the learner sees is the same reading as /proc: keep what it printed as the profile.
        const byPid = (pid: number) =>
          parsePrivileges(
            status.stdout
              .split('\n')
              .filter((l) => l.startsWith(`/proc/${pid}/status:`))
              .map((l) => l.slice(l.indexOf(':') + 1))
              .join('\n'),
          );
        ctx.state.flags.mine.privileges = { ...ctx.state.flags.mine.privileges, ...byPid(c.hostPid) };
        ctx.state.flags.ctr.privileges = { ...ctx.state.flags.ctr.privileges, ...byPid(theirs.pid) };
        ctx.out.evidence(
          'the flags as RunOptions (runOptions: plain data, what specFromOptions takes):',
          JSON.stringify(options),
        );
        ctx.out.evidence(
          `the two containers, read by the host (PID ${c.hostPid} and PID ${theirs.pid}):`,
          observedTable(ctx.state.flags.mine, ctx.state.flags.ctr),
        );
      },
    }),
  ],

  shell: (ctx) => ({
    explain:
      'A shell in a new container from the image, removed when you leave it. From a second terminal on the ' +
      'host: `npm run ctr -- ps`, `npm run ctr -- inspect <id>`, `npm run ctr -- exec -it <id> sh`, ' +
      '`npm run ctr -- export-bundle <id> /tmp/b` and `runc run -b /tmp/b x`. Type `exit` to leave.',
    argv: [
      'node',
      path.join(PROJECT_ROOT, 'bin', 'ctr.mjs'),
      'run',
      '--rm',
      '-it',
      '--network',
      'none',
      '--name',
      `shell-${ctx.id}`,
      IMAGE,
      'sh',
    ],
  }),

  checks: (s) => {
    const page = LAYERED.visible.text.trim();
    const answered = (p?: Probe) => !!p?.ok && bodyOf(p.output) === page;
    const mebibytes = (text: string) => String(Number.parseInt(text, 10) * 1024 * 1024);
    const f = s.flags;
    return [
      {
        claim: 'ctr load put scratch/layers in the store, and ctr images listed it',
        ok: /^scratch\/layers\s+latest\s/m.test(s.images ?? ''),
      },
      {
        claim: `ctr run -d: PID 1 ran the image's command as its user, with ${MEMORY} in its cgroup file`,
        ok:
          s.web?.status === 'running' &&
          (s.limit ?? '').endsWith(`:${mebibytes(MEMORY)}`) &&
          /\bhttpd -f -v/.test(s.pid1 ?? '') &&
          s.web.spec.process.user?.uid === LAYERED.user.uid,
        detail: s.limit?.split('/').at(-1),
      },
      {
        claim: "its root was an overlay of the image's three layers and an upper dir of its own",
        ok:
          /^overlay \/ overlay /.test(s.overlay ?? '') &&
          (/lowerdir=([^,]*)/.exec(s.overlay ?? '')?.[1]?.split(':').length ?? 0) === 3 &&
          (s.overlay ?? '').includes(`upperdir=${containerDir(s.web?.id ?? '?')}/upper`),
      },
      {
        claim: 'ctr ps listed it with its port; its veth was on scr0, with DNAT to its port',
        ok:
          !!s.web &&
          (s.ps ?? '').includes(s.web.id) &&
          (s.ps ?? '').includes(`->${CONTAINER_PORT}/tcp`) &&
          (s.links ?? '').includes(`scr${s.web.id}`) &&
          new RegExp(`-j DNAT --to-destination [0-9.]+:${CONTAINER_PORT}\\b`).test(s.nat ?? ''),
      },
      {
        claim: `the page came back from 127.0.0.1 and from the bridge's address: "${page}"`,
        ok: answered(s.viaLocalhost) && answered(s.viaBridge),
      },
      {
        claim: 'ctr logs had both requests; ctr exec saw httpd as PID 1, as learner; inspect said running',
        ok:
          (s.logs?.match(/response:200/g) ?? []).length >= 2 &&
          s.exec?.exitCode === 0 &&
          /^\s*1 learner\s+httpd/m.test(s.exec.stdout) &&
          s.inspect?.status === 'running' &&
          s.inspect['memory.limit'] === Number(mebibytes(MEMORY)),
      },
      {
        claim: `ctr stop: SIGKILL after the ${GRACE_S} s grace period (137); after rm nothing of it is left`,
        ok: s.stop?.exitCode === 137 && s.stop.ms >= GRACE_S * 1000 && !!s.left && s.left.length === 0,
        detail: s.left?.join(', ') || (s.stop ? `${s.stop.ms} ms` : undefined),
      },
      {
        claim: "the bundle's config.json had docker's 14 capabilities, no_new_privs, seccomp and masked paths",
        ok:
          s.bundle?.config?.process.capabilities.bounding.length === 14 &&
          s.bundle.config.process.noNewPrivileges === true &&
          !!s.bundle.config.linux.seccomp &&
          (s.bundle.config.linux.maskedPaths?.length ?? 0) > 0,
      },
      ...(s.bundle?.runcMissing
        ? []
        : [
            {
              claim: 'runc ran the exported container as learner: the same facts as under ctr, one by one',
              ok:
                agreed(s.bundle) &&
                fact(s.bundle, 'uid:gid') === `${LAYERED.user.uid}:${LAYERED.user.gid}` &&
                fact(s.bundle, 'CapEff') === '0000000000000000' &&
                fact(s.bundle, 'Seccomp') === '2' &&
                fact(s.bundle, 'NoNewPrivs') === '1' &&
                fact(s.bundle, 'my PID') === '1' &&
                fact(s.bundle, 'net')?.trim() === 'lo',
              detail: differences(s.bundle),
            },
            {
              claim: "and the image's own bundle as root: the same under both, with docker's 14 capabilities",
              ok:
                agreed(s.asRoot) &&
                fact(s.asRoot, 'uid:gid') === '0:0' &&
                s.asRoot?.config?.process.capabilities.effective.length === 14 &&
                fact(s.asRoot, 'CapEff') === fact(s.asRoot, 'CapBnd') &&
                fact(s.asRoot, 'CapEff') !== '0000000000000000',
              detail: differences(s.asRoot),
            },
          ]),
      {
        claim: 'the container from your specFromOptions was the one ctr run made, as the host reads both',
        ok: sameObserved(f?.mine, f?.ctr),
        detail: f
          ? observedRows(f.mine, f.ctr)
              .filter(([, x, y]) => x !== y)
              .map(([field]) => field)
              .join(', ') || undefined
          : undefined,
      },
      {
        claim: 'and it was what the flags asked: hostname web, 48m, 30 pids, a read-only root with a tmpfs /tmp',
        ok:
          f?.mine.hostname === 'web' &&
          f.mine.memory === mebibytes('48m') &&
          f.mine.pids === '30' &&
          f.mine.root?.endsWith(' ro') === true &&
          f.mine.tmp === 'tmpfs rw',
      },
      {
        claim: 'no NET_RAW, docker’s seccomp filter, GREETING=hi in its environment, working in /tmp',
        ok:
          !!f &&
          !hasCap(f.mine.privileges.CapBnd, 'CAP_NET_RAW') &&
          hasCap(f.mine.privileges.CapBnd, 'CAP_CHOWN') &&
          f.mine.privileges.Seccomp === '2' &&
          f.mine.env.includes('GREETING=hi') &&
          f.mine.cwd === '/tmp',
      },
    ];
  },

  exercise: {
    file: '12-capstone.ts',
    functions: { specFromOptions },
    solutionIn: ['lib/ctr/run-spec.ts'],
    contract:
      "write specFromOptions(options): docker run's flags, as plain data, turned into a container spec with the " +
      "lessons' transforms from lib/kit.ts — the function ctr run itself calls.",
    hints: [
      'Start from isolatedSpec({ id, rootfs, args, hostname: o.hostname ?? o.id }) and add transforms with build(spec, …).',
      'The limits: withCgroup(resourcesFromLimits(parseLimits({ memory: o.memory, memorySwap: o.memorySwap, cpus: o.cpus, pids: o.pidsLimit }))); the profile: withSecurity({ add: o.capAdd, drop: o.capDrop, ...parseSecurityOpts(o.securityOpt ?? []), cpus: o.hostCpus }).',
      'Then, each only when given: withCgroupfs (o.cgroupfs), withImageProcess(o.image.process, o.image.user), withCwd, withUser(parseUser(o.user)), withReadOnlyRoot, withTmpfs, and last withEnvVars(o.env ?? []); set name: o.name.',
    ],
    minutes: 20,
    shape: { specFromOptions: specShape('specFromOptions') },
  },

  recap: {
    saw: [
      'ctr is lib/ and nothing else: each docker flag is a transform from an earlier lesson, composed into one spec.',
      'run -d = a cgroup, an overlay root, a wired network namespace, the init, and a waiter that records the exit.',
      'ps reads state files; logs a log file; exec is lesson 10; stop is SIGTERM, then SIGKILL; rm leaves nothing.',
      'The spec follows the OCI runtime spec: exported as a bundle, runc runs it and its process reports the same.',
      'docker run’s flags are plain data turned into a spec — by specFromOptions, which you can now write.',
    ],
    next:
      'You have built a container runtime. To go further, read the OCI runtime spec ' +
      '(config.md, runtime.md), runc’s libcontainer (the Go that does what lib/ does, in production), and ' +
      '`npm run bench` for what each part costs.',
  },
});
