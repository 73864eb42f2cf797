/**
 * Running `ctr` as a user types it, for end-to-end tests: the real program (bin/ctr.mjs) in a network namespace
 * the test made to play the host — ctr's bridge, addresses and iptables rules land there, never in this machine's
 * own — with every container's id starting with the test run's prefix, so `leftoversOf(prefix)` finds all of them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
export const CTR_PATH = path.join(PROJECT_ROOT, 'bin/ctr.mjs');
/** How `npm run ctr -- ARGS` starts ctr (package.json): `node --` keeps node from reading ctr's --env-file. */
export const CTR_ARGV = [process.execPath, '--', CTR_PATH];

export interface CtrResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CtrOptions {
  /** The container's id (SCRATCH_RUN_ID). */
  id?: string;
  /** What ctr reads on stdin; nothing (an empty pipe) when not given. */
  input?: string;
  /** More environment for ctr itself (`-e K` copies from it). */
  env?: Record<string, string>;
}

export interface E2eHost {
  /** The network namespace's name: `scrt` and the run's prefix. */
  name: string;
  create(): Promise<void>;
  remove(): Promise<void>;
  /** A container id of this run: its prefix and four random hex digits (10 hex digits, as ctr's are). */
  newId(): string;
  /** `ctr ARGS` in this namespace. */
  ctr(args: readonly string[], opts?: CtrOptions): Promise<CtrResult>;
  /** Start `ctr ARGS` there and return at once (logs -f, a concurrent stop). */
  spawnCtr(args: readonly string[], opts?: CtrOptions): ReturnType<typeof execa>;
  /** Any command in this namespace (the host side of a published port, script(1)). */
  exec(argv: readonly string[], env?: Record<string, string>): Promise<CtrResult>;
}

/** `prefix`: six hex digits that every id of this test run starts with. */
export function e2eHost(prefix: string): E2eHost {
  if (!/^[0-9a-f]{6}$/.test(prefix)) throw new Error(`a run prefix is six hex digits, not ${prefix}`);
  const name = `scrt${prefix}`;
  const inNetns = (argv: readonly string[]) => ['nsenter', `--net=/run/netns/${name}`, '--', ...argv];
  const start = (argv: readonly string[], opts: CtrOptions = {}) => {
    const [file = 'nsenter', ...args] = inNetns(argv);
    return execa(file, args, {
      cwd: PROJECT_ROOT,
      reject: false,
      input: opts.input ?? '',
      env: { FORCE_COLOR: '0', ...opts.env, ...(opts.id ? { SCRATCH_RUN_ID: opts.id } : {}) },
    });
  };
  const result = async (p: ReturnType<typeof execa>): Promise<CtrResult> => {
    const r = await p;
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  return {
    name,
    async create() {
      await execa('ip', ['netns', 'add', name]);
      await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    },
    async remove() {
      await execa('ip', ['netns', 'delete', name], { reject: false });
    },
    newId: () => `${prefix}${crypto.randomBytes(2).toString('hex')}`,
    ctr: (args, opts) => result(start([...CTR_ARGV, ...args], opts)),
    spawnCtr: (args, opts) => start([...CTR_ARGV, ...args], opts),
    exec: (argv, env) => result(start(argv, { env })),
  };
}

const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

/** A user's mistake as ctr reports it: one line, no stack trace. */
export const oneLine = (text: string) => text.trim().split('\n').length === 1 && !hasStackTrace(text);

/** A field of /proc/PID/status as printed (`CapEff:\t00000000a80425fb`): hex for the Cap* sets, else decimal. */
export function statusField(status: string, field: string): bigint | undefined {
  const m = new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(status);
  if (!m?.[1]) return undefined;
  return BigInt(field.startsWith('Cap') ? `0x${m[1]}` : m[1]);
}

/** The bounding set of this test process (root on the host): the most a container started from here can get. */
export function hostBoundingSet(): bigint {
  return statusField(fs.readFileSync('/proc/self/status', 'utf8'), 'CapBnd') ?? 0n;
}
