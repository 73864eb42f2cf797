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
  withImageProcess,
  withReadOnlyRoot,
  withSecurity,
  withTmpfs,
  withUser,
  withUserns,
  type Transform,
} from '../kit.ts';
import { freeIdBlock, readSubids, remappedIds, SUBGID_FILE, SUBUID_FILE, type SubidEntry } from '../userns.ts';
import { parseCpuList } from '../security/paths.ts';
import { parsePublish, type PortMapping } from '../network/index.ts';
import { envValue, withEnv, type ContainerSpec } from '../spec.ts';
import { bool, list, str, type FlagSpec, type FlagValues } from './flags.ts';
import { checkName } from '../container/lifecycle.ts';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', help: 'run in the background and print the container id' },
  { name: 'rm', help: 'remove the container when it exits' },
  { name: 'interactive', short: 'i', help: 'keep stdin attached' },
  { name: 'tty', short: 't', help: 'give the container this terminal (and TERM)' },
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
 * Build the spec of `ctr run [flags] ROOTFS|IMAGE [CMD…]`. Pure but for the id (random), `-e K` (host env) and,
 * for an image, reading its /etc/passwd and /etc/group.
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
  const fromImage = source.kind === 'image' ? imageProcess(source, flags, args) : undefined;
  const cwd = str(flags.workdir);
  if (cwd !== undefined && !cwd.startsWith('/'))
    throw new UserError(`the working directory must be absolute: ${cwd}`, '-w /tmp');
  const limits = parseLimits({
    memory: str(flags.memory),
    memorySwap: str(flags['memory-swap']),
    cpus: str(flags.cpus),
    pids: str(flags['pids-limit']),
  });
  const hostname = str(flags.hostname) ?? id;
  const security = parseSecurityOpts(list(flags['security-opt']));
  const user = str(flags.user);
  const tmpfs = list(flags.tmpfs);
  for (const t of tmpfs)
    if (!t.startsWith('/')) throw new UserError(`--tmpfs ${t}: the path must be absolute`, '--tmpfs /tmp');
  const extra: Transform[] = [
    ...(fromImage ? [withImageProcess(fromImage.process, fromImage.user)] : []),
    ...(cwd && !fromImage ? [withCwd(cwd)] : []),
    ...(user && !fromImage ? [withUser(parseUser(user))] : []),
    ...(bool(flags['read-only']) ? [withReadOnlyRoot] : []),
    ...(tmpfs.length > 0 ? [withTmpfs(tmpfs)] : []),
    // Last: it swaps the /sys mount the others set. Its ids are where /etc/subuid and /etc/subgid grant nobody any.
    ...(bool(flags.userns)
      ? [withUserns(remappedIds(freeIdBlock(opts.subids ?? [...readSubids(SUBUID_FILE), ...readSubids(SUBGID_FILE)])))]
      : []),
  ];
  const rootPath = source.kind === 'rootfs' ? source.path : (source.lowerDirs[0] ?? '');
  let spec = build(
    isolatedSpec({ id, rootfs: rootPath, args: args.length > 0 ? args : ['true'], hostname }),
    withCgroup(resourcesFromLimits(limits)),
    ...((opts.pureCgroupV2 ?? isPureV2(detectLayout())) ? [withCgroupfs] : []),
    withSecurity({
      add: list(flags['cap-add']),
      drop: list(flags['cap-drop']),
      ...security,
      deviceRules: list(flags['device-cgroup-rule']).map(parseDeviceRule),
      cpus: opts.cpus ?? hostCpus(),
    }),
    ...extra,
  );
  let env = spec.process.env;
  if (bool(flags.tty) && envValue(env, 'TERM') === undefined) env = withEnv(env, 'TERM', 'xterm');
  // Files first, then -e: as docker does, a flag on the command line wins over a file.
  env = applyEnvFlags(env, [...readEnvFiles(list(flags['env-file'])), ...list(flags.env)], opts.hostEnv ?? process.env);
  spec = { ...spec, name, process: { ...spec.process, env, terminal: bool(flags.tty) } };
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
    tty: bool(flags.tty),
  };
}
