/**
 * From `ctr run` flags to a container spec: the whole mapping from docker's vocabulary to the runtime's.
 *
 * Each docker flag lands on one field of the OCI-shaped spec (lib/spec.ts), through the same transforms the
 * lessons use (lib/kit.ts): `--hostname` → `hostname`, `-e` → `process.env`, `-w` → `process.cwd`,
 * `-m/--cpus/--pids-limit` → `linux.resources` (lesson 05), and so on, flag by flag as the lessons add them. Every
 * value is checked here, before anything is created on the host, so a typo costs one line and leaves nothing.
 */
import crypto from 'node:crypto';
import { detectLayout, isPureV2 } from '../cgroups/layout.ts';
import { parseDeviceRule } from '../cgroups/device-rules.ts';
import { parseLimits, resourcesFromLimits } from '../cgroups/limits.ts';
import { UserError } from '../errors.ts';
import fs from 'node:fs';
import { containerProcess, type ImageConfig } from '../image/config.ts';
import { resolveImageUser } from '../image/user.ts';
import {
  build,
  isolatedSpec,
  withCgroup,
  withCgroupfs,
  withCwd,
  withEnvVars,
  withImageProcess,
  withReadOnlyRoot,
  withSecurity,
  withTmpfs,
  withUser,
  withUserns,
} from '../kit.ts';
import { freeIdBlock, readSubids, remappedIds, SUBGID_FILE, SUBUID_FILE, type SubidEntry } from '../userns.ts';
import { parseCpuList } from '../security/paths.ts';
import { parsePublish, type PortMapping } from '../network/index.ts';
import { envValue, withEnv, type ContainerSpec } from '../spec.ts';
import { bool, list, str, type FlagSpec, type FlagValues } from './flags.ts';
import { checkName } from '../container/lifecycle.ts';
import { DEFAULT_ROOTFS } from '../names.ts';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', help: 'run in the background and print the container id' },
  { name: 'rm', help: 'remove the container when it exits' },
  { name: 'interactive', short: 'i', help: 'keep stdin attached' },
  { name: 'tty', short: 't', help: 'give the container a terminal of its own, relayed to this one (and TERM)' },
  { name: 'name', value: true, arg: 'NAME', help: 'a unique name for the container' },
  { name: 'hostname', value: true, arg: 'NAME', help: 'its hostname (default: its id)' },
  {
    name: 'env',
    short: 'e',
    value: true,
    multiple: true,
    arg: 'K=V',
    help: 'set an environment variable (K alone: copy it)',
  },
  { name: 'env-file', value: true, multiple: true, arg: 'FILE', help: 'read K=V lines from a file (# comments)' },
  { name: 'workdir', short: 'w', value: true, arg: 'DIR', help: 'working directory inside the container' },
  {
    name: 'entrypoint',
    value: true,
    arg: 'CMD',
    help: "replace the image's Entrypoint (and drop its Cmd); '' clears it",
  },
  { name: 'memory', short: 'm', value: true, arg: 'SIZE', help: 'memory limit (64m, 1g)' },
  { name: 'memory-swap', value: true, arg: 'SIZE', help: 'memory + swap limit (default: no swap)' },
  { name: 'cpus', value: true, arg: 'N', help: 'CPU quota, in CPUs (0.5)' },
  { name: 'pids-limit', value: true, arg: 'N', help: 'most processes at once' },
  {
    name: 'user',
    short: 'u',
    value: true,
    arg: 'USER[:GROUP]',
    help: "run as this user: numbers, or names from an image's /etc/passwd",
  },
  {
    name: 'cap-add',
    value: true,
    multiple: true,
    arg: 'CAP',
    help: 'add a capability to docker’s default 14 (ALL: every one)',
  },
  { name: 'cap-drop', value: true, multiple: true, arg: 'CAP', help: 'drop a capability (ALL: every one)' },
  {
    name: 'security-opt',
    value: true,
    multiple: true,
    arg: 'OPT',
    help: 'no-new-privileges, or seccomp=unconfined to turn the filter off',
  },
  { name: 'device-cgroup-rule', value: true, multiple: true, arg: 'RULE', help: "allow a device: 'c 42:* rmw'" },
  { name: 'read-only', help: 'mount the root filesystem read-only' },
  { name: 'tmpfs', value: true, multiple: true, arg: 'DIR', help: 'a writable tmpfs at DIR (with --read-only)' },
  { name: 'network', value: true, arg: 'MODE', help: 'bridge (default: scr0, NAT out) or none (only lo)' },
  {
    name: 'userns',
    help: 'root inside is an unprivileged host uid (ids 0–65535 → a free range); the rootfs stays read-only to it',
  },
  {
    name: 'publish',
    short: 'p',
    value: true,
    multiple: true,
    arg: 'HOST:CONTAINER',
    help: 'publish a port: 8080:80, 5353:53/udp',
  },
];

/** A container id: 10 hex digits (short enough to name a veth: scr + id + a suffix ≤ 15 characters). */
export function newContainerId(): string {
  return crypto.randomBytes(5).toString('hex');
}

/** `-e K=V` sets K; `-e K` copies K from ctr's own environment, as docker does (and is dropped if unset there). */
export function applyEnvFlags(env: readonly string[], flags: readonly string[], hostEnv: NodeJS.ProcessEnv): string[] {
  let out = [...env];
  for (const f of flags) {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UserError(`invalid environment variable: ${f}`, '-e NAME=value');
    const value = eq < 0 ? hostEnv[name] : f.slice(eq + 1);
    if (value !== undefined) out = withEnv(out, name, value);
  }
  return out;
}

/** `--user 1000` or `--user 1000:1000`; a name needs an image's /etc/passwd (lesson 07). */
export function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m)
    throw new UserError(`--user ${text}: give numbers, UID or UID:GID (names come with images)`, '--user 1000:1000');
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** docker's --security-opt values this runtime understands. */
export function parseSecurityOpts(values: readonly string[]): {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined';
} {
  let noNewPrivileges = false;
  let seccomp: 'default' | 'unconfined' = 'default';
  for (const v of values) {
    if (v === 'no-new-privileges' || v === 'no-new-privileges:true' || v === 'no-new-privileges=true')
      noNewPrivileges = true;
    else if (v === 'seccomp=unconfined' || v === 'seccomp:unconfined') seccomp = 'unconfined';
    else if (v === 'seccomp=default' || v === 'seccomp:default') seccomp = 'default';
    else
      throw new UserError(
        `--security-opt ${v} is not supported`,
        '--security-opt no-new-privileges   (or seccomp=unconfined)',
      );
  }
  return { noNewPrivileges, seccomp };
}

/** This machine's CPU numbers, for the per-CPU paths docker masks. */
export function hostCpus(): number[] {
  try {
    return parseCpuList(fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  } catch {
    return [];
  }
}

/**
 * docker's --env-file: one `K=V` (or `K`, copied from ctr's own environment) per line; blank lines and lines
 * starting with # are skipped; the value is taken as it is, quotes included.
 */
export function envFileLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

function readEnvFiles(files: readonly string[]): string[] {
  return files.flatMap((f) => {
    try {
      return envFileLines(fs.readFileSync(f, 'utf8'));
    } catch {
      throw new UserError(`cannot read --env-file ${f}`, `ls -l ${f}`);
    }
  });
}

/**
 * What `ctr run` starts from: a rootfs directory (the lessons' busybox, a `docker export`), or an image from the
 * store — its config (the command, environment, working directory and user to start with) and its layers.
 */
export type RunSource =
  | { kind: 'rootfs'; image: string; path: string }
  | { kind: 'image'; image: string; id: string; config: ImageConfig; lowerDirs: string[] };

export interface RunRequest {
  spec: ContainerSpec;
  network: 'bridge' | 'none';
  ports: PortMapping[];
  /** The rootfs (or image) as the user named it, and the read-only layers it is (top first). */
  image: string;
  layers: string[];
  /** The image's id, when it runs an image. */
  imageId?: string;
  detach: boolean;
  autoRemove: boolean;
  interactive: boolean;
  tty: boolean;
}

/**
 * The command, environment, working directory and user of a container from an image: the config's defaults with
 * `ctr run`'s overrides, the user looked up in the image's own /etc/passwd (which reads the image's files).
 */
function imageProcess(source: Extract<RunSource, { kind: 'image' }>, flags: FlagValues, args: string[]) {
  const entrypoint = str(flags.entrypoint);
  const p = containerProcess(
    source.config,
    {
      args,
      entrypoint: entrypoint === undefined ? undefined : entrypoint === '' ? [] : [entrypoint],
      workdir: str(flags.workdir),
      user: str(flags.user),
    },
    source.image,
  );
  return { process: p, user: resolveImageUser(p.user, source.lowerDirs) };
}

/**
 * docker run's flags as plain data, each value as typed: what `specFromOptions` turns into a container spec. Only
 * data — no functions, nothing to read from the host — so the same options give the same spec anywhere (and a
 * learner's specFromOptions can run in a worker thread).
 */
export interface RunOptions {
  /** The container's id: its cgroup, state directory and root on the host are named after it. */
  id: string;
  /** The directory its root is made from: a rootfs, or an image's top layer (ctr mounts the overlay later). */
  rootfs: string;
  /** The command (from an image: `image.process.args`, which already has it). */
  args: string[];
  /** --name */
  name?: string;
  /** --hostname (default: the id, as docker uses the container id) */
  hostname?: string;
  /** -e and --env-file, as NAME=value in order: the last one for a name wins (ctr resolves `-e NAME` first). */
  env?: string[];
  /** -w: an absolute directory inside the container. */
  workdir?: string;
  /** -u UID[:GID] (a user name needs an image's /etc/passwd: ctr resolves it into `image.user`). */
  user?: string;
  /** -m, --memory-swap, --cpus, --pids-limit: `64m`, `128m`, `0.5`, `20`. */
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  pidsLimit?: string;
  /** --read-only */
  readOnly?: boolean;
  /** --tmpfs DIR, each an absolute path. */
  tmpfs?: string[];
  /** --cap-add, --cap-drop: capability names as typed (net_raw, CAP_NET_RAW, ALL). */
  capAdd?: string[];
  capDrop?: string[];
  /** --security-opt: no-new-privileges, seccomp=unconfined. */
  securityOpt?: string[];
  /** --device-cgroup-rule, as typed ('c 42:* rmw'): devices allowed on top of docker's rules. */
  deviceCgroupRule?: string[];
  /** This machine's CPU numbers: docker masks each CPU's thermal_throttle directory too. */
  hostCpus?: number[];
  /** A pure cgroup v2 host: the container's own cgroup is mounted at /sys/fs/cgroup. */
  cgroupfs?: boolean;
  /** From an image (lesson 07): the process its config describes, -w and -u applied, and the user resolved. */
  image?: {
    process: { args: string[]; env: string[]; cwd: string };
    user: { uid: number; gid: number; additionalGids: number[]; home: string };
  };
}

/**
 * The container spec of `docker run` with these options: lessons 02–04's isolation (isolatedSpec) with the
 * hostname, a cgroup with the limits (lesson 05), docker's default security profile with --cap-add/--cap-drop and
 * --security-opt (lesson 11), an image's process (lesson 07), then -w, -u, --read-only, --tmpfs, -e and --name.
 * Pure: every value is parsed (a bad one is a UserError), nothing is made. Lesson 12's exercise.
 */
export function specFromOptions(o: RunOptions): ContainerSpec {
  const limits = parseLimits({ memory: o.memory, memorySwap: o.memorySwap, cpus: o.cpus, pids: o.pidsLimit });
  const security = parseSecurityOpts(o.securityOpt ?? []);
  const spec = build(
    isolatedSpec({ id: o.id, rootfs: o.rootfs, args: o.args, hostname: o.hostname ?? o.id }),
    withCgroup(resourcesFromLimits(limits)),
    ...(o.cgroupfs ? [withCgroupfs] : []),
    withSecurity({
      add: o.capAdd,
      drop: o.capDrop,
      ...security,
      deviceRules: (o.deviceCgroupRule ?? []).map(parseDeviceRule),
      cpus: o.hostCpus,
    }),
    ...(o.image ? [withImageProcess(o.image.process, o.image.user)] : []),
    ...(o.workdir ? [withCwd(o.workdir)] : []),
    ...(o.user ? [withUser(parseUser(o.user))] : []),
    ...(o.readOnly ? [withReadOnlyRoot] : []),
    ...(o.tmpfs && o.tmpfs.length > 0 ? [withTmpfs(o.tmpfs)] : []),
    withEnvVars(o.env ?? []),
  );
  return o.name === undefined ? spec : { ...spec, name: o.name };
}

/**
 * `ctr run`'s flags as RunOptions: every value checked (one UserError line, before anything is made), `-e NAME`
 * copied from ctr's environment, --env-file read, and for an image its process and user resolved — so what is
 * left for specFromOptions is pure. Reads the env files and, for an image, its /etc/passwd and /etc/group.
 */
export function runOptions(
  flags: FlagValues,
  source: RunSource,
  args: string[],
  opts: { id: string; hostEnv?: NodeJS.ProcessEnv; cpus?: number[]; pureCgroupV2?: boolean },
): RunOptions {
  const name = str(flags.name);
  if (name !== undefined) checkName(name);
  if (args.length === 0 && source.kind === 'rootfs') {
    throw new UserError(`no command given, and a rootfs directory has no default one`, `ctr run ${source.image} sh`);
  }
  if (source.kind === 'rootfs' && str(flags.entrypoint) !== undefined) {
    throw new UserError(
      '--entrypoint replaces an image’s Entrypoint; a rootfs directory has none',
      'drop --entrypoint',
    );
  }
  const workdir = str(flags.workdir);
  if (workdir !== undefined && !workdir.startsWith('/'))
    throw new UserError(`the working directory must be absolute: ${workdir}`, '-w /tmp');
  const tmpfs = list(flags.tmpfs);
  for (const t of tmpfs)
    if (!t.startsWith('/')) throw new UserError(`--tmpfs ${t}: the path must be absolute`, '--tmpfs /tmp');
  const user = str(flags.user);
  if (user !== undefined && source.kind === 'rootfs') parseUser(user);
  const fromImage = source.kind === 'image' ? imageProcess(source, flags, args) : undefined;
  // Files first, then -e: as docker does, a flag on the command line wins over a file.
  const env = applyEnvFlags(
    [],
    [...readEnvFiles(list(flags['env-file'])), ...list(flags.env)],
    opts.hostEnv ?? process.env,
  );
  const o: RunOptions = {
    id: opts.id,
    rootfs: source.kind === 'rootfs' ? source.path : (source.lowerDirs[0] ?? ''),
    args: fromImage ? fromImage.process.args : args,
    name,
    hostname: str(flags.hostname),
    env,
    // From an image, -w and -u are part of its process already.
    workdir: fromImage ? undefined : workdir,
    user: fromImage ? undefined : user,
    memory: str(flags.memory),
    memorySwap: str(flags['memory-swap']),
    cpus: str(flags.cpus),
    pidsLimit: str(flags['pids-limit']),
    readOnly: bool(flags['read-only']),
    tmpfs,
    capAdd: list(flags['cap-add']),
    capDrop: list(flags['cap-drop']),
    deviceCgroupRule: list(flags['device-cgroup-rule']),
    securityOpt: list(flags['security-opt']),
    hostCpus: opts.cpus ?? hostCpus(),
    cgroupfs: opts.pureCgroupV2 ?? isPureV2(detectLayout()),
    ...(fromImage
      ? {
          image: {
            process: fromImage.process,
            user: {
              uid: fromImage.user.uid,
              gid: fromImage.user.gid,
              additionalGids: [...fromImage.user.additionalGids],
              home: fromImage.user.home,
            },
          },
        }
      : {}),
  };
  // Drop what was not given, so the options read as the command line did (and compare equal in tests).
  const given = (k: string, v: unknown) =>
    ['id', 'rootfs', 'args'].includes(k) || !(v === undefined || v === false || (Array.isArray(v) && v.length === 0));
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => given(k, v))) as unknown as RunOptions;
}

/**
 * Build the spec of `ctr run [flags] ROOTFS|IMAGE [CMD…]`: the flags as RunOptions, the spec from
 * specFromOptions — the function lesson 12's exercise has the learner write — then what only ctr decides: a
 * user namespace's id range (read from /etc/subuid), the terminal, the network. Pure but for the id (random),
 * `-e K` (host env), env files and, for an image, reading its /etc/passwd and /etc/group.
 */
export function runRequest(
  flags: FlagValues,
  source: RunSource,
  args: string[],
  opts: {
    id?: string;
    hostEnv?: NodeJS.ProcessEnv;
    cpus?: number[];
    pureCgroupV2?: boolean;
    subids?: SubidEntry[];
  } = {},
): RunRequest {
  const id = opts.id ?? newContainerId();
  let spec = specFromOptions(runOptions(flags, source, args, { ...opts, id }));
  // Last: it swaps the /sys mount the others set. Its ids are where /etc/subuid and /etc/subgid grant nobody any.
  if (bool(flags.userns)) {
    if (source.kind === 'image') {
      // The store keeps layers where only the host's root may pass (a host user must not reach a layer's setuid
      // programs), and the remapped root is an ordinary host uid. docker's userns-remap keeps a copy of every layer
      // owned by the remapped ids for this; the workshop runs --userns from a rootfs directory instead.
      throw new UserError(
        `--userns runs a rootfs directory, not an image: ${source.image}'s layers are readable by the host's root only`,
        `ctr run --userns ${DEFAULT_ROOTFS} sh`,
      );
    }
    const subids = opts.subids ?? [...readSubids(SUBUID_FILE), ...readSubids(SUBGID_FILE)];
    spec = withUserns(remappedIds(freeIdBlock(subids)))(spec);
  }
  const tty = bool(flags.tty);
  const env =
    tty && envValue(spec.process.env, 'TERM') === undefined
      ? withEnv(spec.process.env, 'TERM', 'xterm')
      : spec.process.env;
  spec = { ...spec, process: { ...spec.process, env, terminal: tty } };
  const network = str(flags.network) ?? 'bridge';
  if (network !== 'bridge' && network !== 'none') {
    throw new UserError(`--network ${network} is not supported: bridge or none`, '--network none');
  }
  const ports = list(flags.publish).map(parsePublish);
  if (network === 'none' && ports.length > 0)
    throw new UserError('-p needs a network to publish on', 'drop --network none');
  return {
    spec,
    network,
    ports,
    image: source.image,
    layers: source.kind === 'rootfs' ? [source.path] : source.lowerDirs,
    ...(source.kind === 'image' ? { imageId: source.id } : {}),
    detach: bool(flags.detach),
    autoRemove: bool(flags.rm),
    interactive: bool(flags.interactive),
    tty,
  };
}
