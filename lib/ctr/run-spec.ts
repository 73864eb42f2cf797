/**
 * From `ctr run` flags to a container spec: the whole mapping from docker's vocabulary to the runtime's.
 *
 * Each docker flag lands on one field of the OCI-shaped spec (lib/spec.ts), through the same transforms the
 * lessons use (lib/kit.ts): `--hostname` → `hostname`, `-e` → `process.env`, `-w` → `process.cwd`,
 * `-m/--cpus/--pids-limit` → `linux.resources` (lesson 05), and so on, flag by flag as the lessons add them. Every
 * value is checked here, before anything is created on the host, so a typo costs one line and leaves nothing.
 */
import crypto from 'node:crypto';
import { parseLimits, resourcesFromLimits } from '../cgroups/limits.ts';
import { UserError } from '../errors.ts';
import { build, isolatedSpec, withCgroup, withCwd } from '../kit.ts';
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
  { name: 'workdir', short: 'w', value: true, arg: 'DIR', help: 'working directory inside the container' },
  { name: 'memory', short: 'm', value: true, arg: 'SIZE', help: 'memory limit (64m, 1g)' },
  { name: 'memory-swap', value: true, arg: 'SIZE', help: 'memory + swap limit (default: no swap)' },
  { name: 'cpus', value: true, arg: 'N', help: 'CPU quota, in CPUs (0.5)' },
  { name: 'pids-limit', value: true, arg: 'N', help: 'most processes at once' },
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

export interface RunRequest {
  spec: ContainerSpec;
  /** The rootfs (or image) as the user named it, and the read-only layers it is. */
  image: string;
  layers: string[];
  detach: boolean;
  autoRemove: boolean;
  interactive: boolean;
  tty: boolean;
}

/** Build the spec of `ctr run [flags] ROOTFS CMD…`. Pure but for the id (random) and `-e K` (host env). */
export function runRequest(
  flags: FlagValues,
  rootfs: { image: string; path: string },
  args: string[],
  opts: { id?: string; hostEnv?: NodeJS.ProcessEnv } = {},
): RunRequest {
  const id = opts.id ?? newContainerId();
  const name = str(flags.name);
  if (name !== undefined) checkName(name);
  if (args.length === 0) {
    throw new UserError(`no command given, and a rootfs directory has no default one`, `ctr run ${rootfs.image} sh`);
  }
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
  let spec = build(
    isolatedSpec({ id, rootfs: rootfs.path, args, hostname }),
    withCgroup(resourcesFromLimits(limits)),
    ...(cwd ? [withCwd(cwd)] : []),
  );
  let env = spec.process.env;
  if (bool(flags.tty) && envValue(env, 'TERM') === undefined) env = withEnv(env, 'TERM', 'xterm');
  env = applyEnvFlags(env, list(flags.env), opts.hostEnv ?? process.env);
  spec = { ...spec, name, process: { ...spec.process, env, terminal: bool(flags.tty) } };
  return {
    spec,
    image: rootfs.image,
    layers: [rootfs.path],
    detach: bool(flags.detach),
    autoRemove: bool(flags.rm),
    interactive: bool(flags.interactive),
    tty: bool(flags.tty),
  };
}
