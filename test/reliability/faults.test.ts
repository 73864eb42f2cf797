/**
 * A failure in the middle of setup unwinds everything set up before it.
 *
 * For every lesson and for `ctr run --rm`, fault-driver.ts (run inside a network namespace this file made) makes one
 * step of the setup fail — the first mount, a cgroup write, an `ip` and an `iptables` command, the container's init
 * killed before its sync, and one step at random — through a runner that fails its Nth call
 * (test/helpers/faulty-runner.ts), never by breaking the machine. After each, seen from the host: nothing with that
 * run's id is left, and the namespace has no link or rule of it. The steps chosen depend on RELIABILITY_SEED.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { listLessonFiles } from '../../lib/discovery.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { withoutCaCerts } from '../helpers/fleet.ts';
import { createTestNetns, inNetns, recordIds, SEED, seedFor, type TestNetns } from '../helpers/reliability.ts';

interface Line {
  type: 'record' | 'inject';
  id: string;
  wanted?: string;
  planned?: string;
  failed?: string;
  failedCategory?: string;
  error?: string;
  calls?: number;
  setup?: number;
}

const targets = [...listLessonFiles().map((f) => f.number), 'ctr'];
let net: TestNetns;

describe.skipIf(!canRunIntegration)(`a failure injected in the middle of setup (RELIABILITY_SEED=${SEED})`, () => {
  beforeAll(async () => {
    net = await createTestNetns('flt');
  });
  afterAll(async () => {
    await net?.destroy();
  });

  it.each(targets)(
    '%s: each injected failure leaves nothing behind',
    async (target) => {
      const [file, ...args] = inNetns(net.name, [
        process.execPath,
        '--import',
        'tsx',
        path.join(PROJECT_ROOT, 'test/reliability/fault-driver.ts'),
        target,
        String(seedFor(`faults:${target}`)),
      ]);
      const r = await execa(file ?? 'nsenter', args, {
        cwd: PROJECT_ROOT,
        reject: false,
        extendEnv: false,
        env: { ...withoutCaCerts(), FORCE_COLOR: '0' },
      });
      const lines = String(r.stdout)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Line);
      recordIds(...lines.map((l) => l.id));
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const [record, ...injected] = lines;
      expect(record?.type).toBe('record');
      expect(record?.error, `${target} runs without an injected failure`).toBeUndefined();
      expect(injected.length, 'setup steps to fail').toBeGreaterThanOrEqual(1);
      for (const l of injected) {
        const what = `${target}: ${l.wanted} — failed ${l.failed} (${l.failedCategory}); the run said: ${l.error}`;
        expect(l.failed, what).toBeDefined();
        if (l.wanted !== 'random') expect(l.error, what).toBeDefined();
        expect(await leftoversOf(l.id), what).toEqual([]);
        expect(await net.links(), what).toEqual([]);
        expect(await net.rules(), what).toEqual([]);
      }
      console.log(
        `faults ${target}: ${injected.map((l) => `${l.wanted} → ${l.failedCategory} (${(l.error ?? 'no error').slice(0, 60)})`).join('; ')}`,
      );
    },
    180_000,
  );
});
