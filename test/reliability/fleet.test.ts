/**
 * 50 containers running at once, then all removed: each with a cgroup, an overlay root and an address of its own,
 * none shared, and nothing of any of them left afterwards. They are started 8 at a time with `ctr run -d` (so the
 * bridge, the address leases and the cgroup parents are raced for) inside a network namespace this file made, which
 * plays the host.
 */
import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerState } from '../../lib/container/state.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { fleet, type Fleet } from '../helpers/fleet.ts';
import { createTestNetns, recordIds, type TestNetns } from '../helpers/reliability.ts';

const COUNT = Number(process.env.RELIABILITY_FLEET ?? 50);
let net: TestNetns;
let f: Fleet;
let states: ContainerState[] = [];

/** The mount options of a process's root: for an overlay, its upperdir is the container's own. */
function rootMount(pid: number): string {
  const line = fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  return line ?? '';
}

/** The IPv4 address of eth0 in the container's network namespace. */
async function address(id: string): Promise<string> {
  const r = await execa('ip', ['-n', `scr${id}`, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { reject: false });
  return /inet (\S+)/.exec(String(r.stdout))?.[1] ?? `none (${String(r.stderr).trim()})`;
}

const distinct = (xs: readonly string[]) => new Set(xs).size === xs.length;

describe.skipIf(!canRunIntegration)(`${COUNT} containers at once`, () => {
  beforeAll(async () => {
    net = await createTestNetns('flt');
    f = fleet(net.name);
  });
  afterAll(async () => {
    await f?.removeAll(8);
    await net?.destroy();
  });

  it(`starts ${COUNT}, 8 at a time, every one of them running`, async () => {
    const ids = await f.start(COUNT, { concurrency: 8 });
    recordIds(...ids);
    states = f.states();
    expect(states.map((s) => s.status)).toEqual(ids.map(() => 'running'));
  }, 300_000);

  it('each has a cgroup of its own, and its process is in it', () => {
    expect(states).toHaveLength(COUNT);
    for (const s of states) {
      expect(s.cgroupDirs.length).toBeGreaterThan(0);
      for (const d of s.cgroupDirs) expect(d.endsWith(`/scratch/${s.id}`), d).toBe(true);
      expect(fs.readFileSync(`/proc/${s.pid}/cgroup`, 'utf8')).toContain(`/scratch/${s.id}`);
    }
    expect(distinct(states.flatMap((s) => s.cgroupDirs))).toBe(true);
  });

  it('each runs on an overlay with an upper dir of its own', () => {
    const roots = states.map((s) => rootMount(s.pid ?? 0));
    for (const [i, r] of roots.entries()) {
      expect(r, states[i]?.id).toContain(' - overlay ');
      expect(r).toContain(`upperdir=/var/lib/scratch/containers/${states[i]?.id}/upper`);
    }
    expect(distinct(roots.map((r) => /upperdir=([^,]+)/.exec(r)?.[1] ?? ''))).toBe(true);
  });

  it('each has an address of its own on the bridge, and the lease table says the same', async () => {
    const addrs = await Promise.all(states.map((s) => address(s.id)));
    for (const a of addrs) expect(a).toMatch(/^10\.30\.0\.\d+\/24$/);
    expect(distinct(addrs)).toBe(true);
    // And they can all be reached from the host side: the bridge holds every one of them.
    const bridged = String((await execa('ip', ['-n', net.name, '-o', 'link', 'show', 'master', 'scr0'])).stdout);
    expect(bridged.split('\n').filter(Boolean)).toHaveLength(COUNT);
  });

  it('removed 8 at a time: nothing of any of them is left, and the bridge went with the last', async () => {
    const ids = [...f.ids];
    await f.removeAll(8);
    expect(await leftoversOf(...ids)).toEqual([]);
    expect(await net.links()).toEqual([]);
    expect(await net.rules()).toEqual([]);
    expect(await net.ipForward()).toBe('0');
  }, 300_000);
});
