/**
 * What a `ctr` subcommand is: a name, its flags, its help, and a function from parsed flags to an exit code.
 * The context carries what every command shares — the runner every command and host effect goes through, where
 * output goes, and how to start the TypeScript init — so commands hold no globals and tests can pass their own.
 */
import { UserError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import type { TsInit } from '../container/launch.ts';
import type { ImageStore } from '../image/store.ts';
import type { FlagSpec, Parsed } from './flags.ts';

export interface CtrContext {
  runner: Runner;
  /** Write to stdout / stderr. */
  out(text: string): void;
  err(text: string): void;
  /** The node binary and init bundle (built on first use). */
  init(): Promise<TsInit>;
  /** How to start this same program again (the waiter of a detached container is `ctr __shim`). */
  self: { node: string; args: string[] };
  /** The image store: /var/lib/scratch, or the directory SCRATCH_IMAGE_STORE names (tests keep their own). */
  store: ImageStore;
  /** Whether stderr is a terminal: progress bars there, one line per layer otherwise. */
  tty: boolean;
  /** The environment ctr was started with (SCRATCH_REGISTRY_MIRROR, `-e NAME` copies). */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** `ctr run [OPTIONS] ROOTFS [COMMAND] [ARG...]` */
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** Flags may follow positional arguments (ps, rm, stop); run and exec stop at the first one. */
  interspersed?: boolean;
  /** Hidden from `ctr --help` (the waiter). */
  hidden?: boolean;
  run(ctx: CtrContext, parsed: Parsed): Promise<number>;
}

/**
 * More arguments than a command takes are a mistake to say, not to ignore (`ctr ps web` is not a filter here):
 * one line naming the first extra one.
 */
export function atMost(rest: readonly string[], max: number, command: string, example: string): void {
  if (rest.length <= max) return;
  const what = max === 0 ? 'takes no arguments' : `takes ${max === 1 ? 'one argument' : `${max} arguments`}`;
  throw new UserError(`ctr ${command} ${what}; left over: ${rest.slice(max).join(' ')}`, example);
}

/**
 * The argv that runs `ctr` (what `npm run ctr -- ARGS` runs), from the project's directory: how a lesson shows
 * and runs it.
 */
export function ctrArgv(args: readonly string[]): string[] {
  return ['node', 'bin/ctr.mjs', ...args];
}
