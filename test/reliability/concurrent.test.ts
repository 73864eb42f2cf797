/**
 * Two runners started at the same moment never take the same id, name, address or directory.
 *
 * - Every lesson, twice at once: both runs pass their checks and leave nothing (cgroup parents, the bridge and
 *   other shared things are made and removed by whoever comes first and last) — or, for what a host has only once
 *   (lesson 08's published port 8080), the second is refused in one line, as docker refuses a port in use.
 * - Two lesson runs at once that ask for one run id (SCRATCH_RUN_ID): one runs, the other is refused in one line
 *   before it makes anything — the id is claimed (lib/run-ids.ts); lesson ids drawn at random are claimed the same
 *   way, and test/unit/run-ids.test.ts races four processes over a pool of 48 ids.
 * - ctr: two containers at once with one name, and two with one id: one of each pair is refused, whole; two at
 *   once with neither get different addresses and directories (fleet.test.ts does it with 50).
 * Everything runs in a network namespace this file made.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { readState } from '../../lib/container/state.ts';
import { listLessonFiles } from '../../lib/discovery.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { mountsUnder } from '../../lib/mountinfo.ts';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ctrIn, newContainerId, withoutCaCerts } from '../helpers/fleet.ts';
import { createTestNetns, inNetns, recordIds, seeded, seedFor, type TestNetns } from '../helpers/reliability.ts';

let net: TestNetns;
const random = seeded(seedFor('concurrent'));
const lessonId = (n: string) =>
  `${n}${Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;

function lesson(number: string, id: string) {
  recordIds(id);
  const [file, ...args] = inNetns(net.name, [process.execPath, path.join(PROJECT_ROOT, 'bin/lesson.mjs'), number]);
  return execa(file ?? 'nsenter', [...args, '--no-shell'], {
    cwd: PROJECT_ROOT,
    reject: false,
    extendEnv: false,
    env: { ...withoutCaCerts(), FORCE_COLOR: '0', COLUMNS: '100', SCRATCH_RUN_ID: id },
  });
}

const oneLine = (text: string) => text.trim().split('\n').length === 1 && !/^\s+at .+:\d+:\d+\)?$/m.test(text);

describe.skipIf(!canRunIntegration)('two runners started at the same moment', () => {
  beforeAll(async () => {
    net = await createTestNetns('cnc');
  });
  afterAll(async () => {
    await net?.destroy();
  });

  it.each(listLessonFiles().map((f) => f.number))(
    'lesson %s twice at once: both pass, nothing of either is left',
    async (n) => {
      const a = lessonId(n);
      let b = lessonId(n);
      while (b === a) b = lessonId(n);
      const runs = await Promise.all([lesson(n, a), lesson(n, b)]);
      // One thing a host has once may be refused to the second run, in one line: lesson 08's published port.
      const refused = runs.filter((r) => r.exitCode !== 0);
      if (refused.length === 1 && /host port .* is already published/.test(String(refused[0]?.stderr))) {
        expect(oneLine(String(refused[0]?.stderr))).toBe(true);
      } else {
        for (const r of runs) expect(r.exitCode, `${String(r.stdout).slice(-2500)}\n${String(r.stderr)}`).toBe(0);
      }
      expect(await leftoversOf(a, b)).toEqual([]);
      expect(await net.links()).toEqual([]);
      // Each run works in a root of its own: nothing is ever mounted in the rootfs they share.
      expect(mountsUnder(DEFAULT_ROOTFS).map((m) => m.mountPoint)).toEqual([]);
    },
    120_000,
  );

  it('two lesson runs asking for one id: one runs, the other is refused in one line and makes nothing', async () => {
    const id = lessonId('04');
    const runs = await Promise.all([lesson('04', id), lesson('04', id)]);
    const codes = runs.map((r) => r.exitCode).sort();
    expect(codes).toEqual([0, 1]);
    const refused = runs.find((r) => r.exitCode === 1);
    expect(String(refused?.stderr)).toMatch(new RegExp(`the run id ${id} is in use by another run .* — fix: `));
    expect(oneLine(String(refused?.stderr))).toBe(true);
    expect(String(refused?.stdout)).not.toMatch(/Step 1/);
    expect(await leftoversOf(id)).toEqual([]);
  }, 120_000);

  it('two containers at once with one name: one is made, the other refused whole', async () => {
    const ctr = ctrIn(net.name);
    const ids = [newContainerId(), newContainerId()];
    recordIds(...ids);
    const name = `scrc${ids[0]?.slice(0, 6)}`;
    const runs = await Promise.all(
      ids.map((id) => ctr(['run', '-d', '--name', name, DEFAULT_ROOTFS, 'sleep', '60'], { id })),
    );
    try {
      expect(runs.map((r) => r.exitCode).sort()).toEqual([0, 125]);
      const lost = ids[runs.findIndex((r) => r.exitCode === 125)] ?? '';
      expect(runs.find((r) => r.exitCode === 125)?.stderr).toContain(`the name "${name}" is already in use`);
      expect(await leftoversOf(lost)).toEqual([]);
    } finally {
      await ctr(['rm', '-f', name]);
    }
    expect(await leftoversOf(...ids)).toEqual([]);
    expect(await net.links()).toEqual([]);
  }, 60_000);

  it('two containers at once with one id: one is made, the other refused without touching it', async () => {
    const ctr = ctrIn(net.name);
    const id = newContainerId();
    recordIds(id);
    const runs = await Promise.all([0, 1].map(() => ctr(['run', '-d', DEFAULT_ROOTFS, 'sleep', '60'], { id })));
    try {
      expect(runs.map((r) => r.exitCode).sort()).toEqual([0, 125]);
      expect(runs.find((r) => r.exitCode === 125)?.stderr).toContain(`container id ${id} is in use`);
      expect(readState(id)?.status).toBe('running');
    } finally {
      await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(id)).toEqual([]);
  }, 60_000);

  it('two containers at once: different addresses and different directories', async () => {
    const ctr = ctrIn(net.name);
    const ids = [newContainerId(), newContainerId()];
    recordIds(...ids);
    const runs = await Promise.all(ids.map((id) => ctr(['run', '-d', DEFAULT_ROOTFS, 'sleep', '60'], { id })));
    try {
      for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
      const addrs = await Promise.all(
        ids.map(
          async (id) =>
            /inet (\S+)/.exec(
              String((await execa('ip', ['-n', `scr${id}`, '-4', 'addr', 'show', 'dev', 'eth0'])).stdout),
            )?.[1],
        ),
      );
      expect(addrs[0]).toBeDefined();
      expect(addrs[0]).not.toBe(addrs[1]);
      const dirs = ids.map((id) => readState(id)?.containerDir);
      expect(dirs[0]).not.toBe(dirs[1]);
    } finally {
      for (const id of ids) await ctr(['rm', '-f', id]);
    }
    expect(await leftoversOf(...ids)).toEqual([]);
  }, 60_000);
});
