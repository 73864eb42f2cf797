/**
 * Many detached containers at once, started with `ctr run -d` as a user would, inside a network namespace that plays
 * the host (made by the caller, or the one the caller already runs in): the reliability suite's 50 sleeping
 * containers and the bench's 1, 10 and 50. Each container's id is chosen here (SCRATCH_RUN_ID), so what it made
 * can be found, checked and removed by id, whatever else runs on the machine.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { readState, type ContainerState } from '../../lib/container/state.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';

export const CTR = path.resolve(import.meta.dirname, '../../bin/ctr.mjs');

export const newContainerId = () => crypto.randomBytes(5).toString('hex');

export interface CtrOptions {
  id?: string;
  input?: string;
  env?: Record<string, string>;
}

export interface CtrResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** This environment without NODE_EXTRA_CA_CERTS: it makes each node start ~45 ms slower, and ctr needs no TLS. */
export function withoutCaCerts(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.NODE_EXTRA_CA_CERTS;
  return out;
}

/** `node bin/ctr.mjs ARGS`, inside the network namespace `netns` (a name under /run/netns) when one is given. */
export function ctrIn(netns: string | undefined) {
  return async (args: readonly string[], opts: CtrOptions = {}): Promise<CtrResult> => {
    const [file, ...prefix] = netns
      ? ['nsenter', `--net=/run/netns/${netns}`, '--', process.execPath]
      : [process.execPath];
    const r = await execa(file ?? 'node', [...prefix, CTR, ...args], {
      reject: false,
      input: opts.input ?? '',
      extendEnv: false,
      env: { ...withoutCaCerts(), FORCE_COLOR: '0', ...opts.env, ...(opts.id ? { SCRATCH_RUN_ID: opts.id } : {}) },
    });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

/** Run `fn` over `items` with at most `limit` at once, keeping the results in order. */
export async function pooled<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface Fleet {
  readonly netns: string | undefined;
  /** The ids of every container this fleet started (and not yet removed). */
  readonly ids: string[];
  ctr: ReturnType<typeof ctrIn>;
  /** Start `n` more sleeping containers, `concurrency` at a time; returns their ids. Throws on the first failure. */
  start(n: number, opts?: { concurrency?: number; args?: string[] }): Promise<string[]>;
  /** `ctr rm -f` of every container started, `concurrency` at a time. */
  removeAll(concurrency?: number): Promise<void>;
  states(): ContainerState[];
}

export function fleet(netns: string | undefined, rootfs = DEFAULT_ROOTFS): Fleet {
  const ids: string[] = [];
  const ctr = ctrIn(netns);
  return {
    netns,
    ids,
    ctr,
    async start(n, opts = {}) {
      const mine = Array.from({ length: n }, () => newContainerId());
      ids.push(...mine);
      const args = opts.args ?? ['sleep', '3600'];
      await pooled(mine, opts.concurrency ?? 4, async (id) => {
        const r = await ctr(['run', '-d', rootfs, ...args], { id });
        if (r.exitCode !== 0 || r.stdout.trim() !== id) {
          throw new Error(`ctr run -d (${id}) exited ${r.exitCode}: ${r.stderr.trim().split('\n').at(-1)}`);
        }
      });
      return mine;
    },
    async removeAll(concurrency = 4) {
      await pooled([...ids], concurrency, async (id) => {
        if (fs.existsSync(`/run/scratch/${id}`)) await ctr(['rm', '-f', id]);
      });
      ids.length = 0;
    },
    states: () => ids.map((id) => readState(id)).filter((s): s is ContainerState => s !== undefined),
  };
}
