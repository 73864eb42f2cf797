/**
 * `ctr rm -f` of a container whose `ctr run` was killed while making it (lesson 12 stopped by SIGTERM, which
 * SIGKILLs the commands it runs): a name reserved, a state directory with no state in it, a cgroup, a root and a
 * network namespace — what the reliability suite once found left after such a stop. rm -f must take it all down
 * by its name or its id; plain rm must still say there is no such container, in one line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cgroupOf } from '../../lib/container/lifecycle.ts';
import { overlayPaths } from '../../lib/container/root.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { STATE_ROOT, stateDir } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ctrIn } from '../helpers/fleet.ts';
import { testId } from '../helpers/lesson.ts';

const ctr = ctrIn(undefined);

/** What `ctr run --name NAME` has made by the time it is killed in its create phase. */
async function halfMadeContainer(id: string, name: string): Promise<void> {
  const names = path.join(STATE_ROOT, '.names');
  fs.mkdirSync(path.join(names, name), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(names, name, id), '');
  fs.mkdirSync(stateDir(id), { recursive: true });
  for (const d of ['upper', 'work', 'rootfs'])
    fs.mkdirSync(path.join(overlayPaths(id, []).dir, d), { recursive: true });
  cgroupOf(id).create();
  await execa('ip', ['netns', 'add', `scr${id}`]);
}

describe.skipIf(!canRunIntegration)('ctr rm -f of a container half made by a killed ctr run', () => {
  for (const by of ['name', 'id'] as const) {
    it(`takes down all of it, found by its ${by}`, async () => {
      const id = `${testId('12')}0009`;
      const name = `half-${id}`;
      await halfMadeContainer(id, name);
      expect((await leftoversOf(id)).length).toBeGreaterThanOrEqual(5);
      const plain = await ctr(['rm', by === 'name' ? name : id]);
      expect(plain.exitCode).toBe(125);
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
      expect(plain.stderr).toContain('no such container');
      const forced = await ctr(['rm', '-f', by === 'name' ? name : id]);
      expect(forced.exitCode, forced.stderr).toBe(0);
      expect(await leftoversOf(id)).toEqual([]);
      expect(fs.existsSync(path.join(STATE_ROOT, '.names', name))).toBe(false);
    });
  }
});
