/**
 * The image config: what to run, and how, once the layers are in place.
 *
 * Besides the ordered list of layer digests (`rootfs.diff_ids`, bottom first), an image's config JSON carries
 * the defaults `docker run` starts from: `Env` (the environment), `Entrypoint` and `Cmd` (the command is
 * Entrypoint followed by Cmd; arguments after the image name replace Cmd, `--entrypoint` replaces Entrypoint and
 * drops Cmd), `WorkingDir` (the cwd, `/` when empty), and `User` (a name or number, looked up in the image's
 * own /etc/passwd: see user.ts). Docker adds a default PATH when the image sets none. Docker and OCI configs
 * have the same shape, so one parser reads both.
 */
import { UserError } from '../errors.ts';
import { parseDigest, type Digest } from './digest.ts';

export interface ContainerConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  StopSignal?: string;
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** What docker puts in the environment when an image sets no PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function stringArray(v: unknown, what: string): string[] | null | undefined {
  if (v === undefined || v === null) return v;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw new UserError(`${what} is not a list of strings`);
  return v as string[];
}

/** Parse and check a config blob (untrusted JSON): the fields used later have the types they claim. */
export function parseImageConfig(data: Buffer | string, what = 'the image config'): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(data.toString());
  } catch {
    throw new UserError(`${what} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null) throw new UserError(`${what} is not a JSON object`);
  const c = json as ImageConfig;
  const diffIds = c.rootfs?.diff_ids;
  if (c.rootfs?.type !== 'layers' || !Array.isArray(diffIds)) {
    throw new UserError(`${what} has no rootfs.diff_ids (the list of its layers)`);
  }
  diffIds.forEach((d, i) => parseDigest(d, `${what}, diff_ids[${i}]`));
  const cc = c.config;
  if (cc !== undefined && cc !== null) {
    if (typeof cc !== 'object') throw new UserError(`${what}: config is not an object`);
    stringArray(cc.Env, `${what}: Env`);
    stringArray(cc.Cmd, `${what}: Cmd`);
    stringArray(cc.Entrypoint, `${what}: Entrypoint`);
    for (const k of ['User', 'WorkingDir'] as const) {
      if (cc[k] !== undefined && typeof cc[k] !== 'string') throw new UserError(`${what}: ${k} is not a string`);
    }
  }
  return c;
}

/** What `docker run` changes on top of the image's defaults. */
export interface RunOverrides {
  /** Arguments after the image name: replace Cmd. */
  args?: readonly string[];
  /** `--entrypoint`: replaces Entrypoint and drops the image's Cmd. `[]` clears it. */
  entrypoint?: readonly string[];
  /** `-e KEY=VALUE`: added, replacing the image's value of the same key. */
  env?: readonly string[];
  /** `-w DIR` */
  workdir?: string;
  /** `-u USER[:GROUP]` */
  user?: string;
}

/** The process a container from this image runs (before the user is looked up in the image). */
export interface ImageProcess {
  args: string[];
  env: string[];
  cwd: string;
  /** As written in the config or on the command line: `""`, `nobody`, `1000:1000`, `app:staff`. */
  user: string;
}

/** `KEY=VALUE` lists merged by key, later ones winning, in first-seen order. */
export function mergeEnv(...lists: ReadonlyArray<readonly string[]>): string[] {
  const out = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list) {
      const eq = kv.indexOf('=');
      out.set(eq < 0 ? kv : kv.slice(0, eq), kv);
    }
  }
  return [...out.values()];
}

export function containerProcess(config: ImageConfig, overrides: RunOverrides = {}, image = 'the image'): ImageProcess {
  const c = config.config ?? {};
  const entrypoint = overrides.entrypoint ?? c.Entrypoint ?? [];
  const cmd = overrides.args && overrides.args.length > 0 ? overrides.args : overrides.entrypoint ? [] : (c.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new UserError(
      `${image} has no command (its config sets neither Entrypoint nor Cmd)`,
      'give one after the image name',
    );
  }
  let env = mergeEnv(c.Env ?? [], overrides.env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [`PATH=${DEFAULT_PATH}`, ...env];
  const cwd = overrides.workdir ?? (c.WorkingDir || '/');
  if (!cwd.startsWith('/')) {
    throw new UserError(`the working directory "${cwd}" is not an absolute path`, 'use a path that starts with /');
  }
  return { args, env, cwd, user: overrides.user ?? c.User ?? '' };
}

/** The environment with HOME set to the user's home directory, unless the image or the user set HOME. */
export function withHome(env: readonly string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? [...env] : [...env, `HOME=${home}`];
}

/** A config for an image whose only base is a plain root filesystem directory (see commit.ts). */
export function baseConfigForRootfs(arch: string, created: string): ImageConfig {
  return {
    architecture: arch,
    os: 'linux',
    created,
    config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}
