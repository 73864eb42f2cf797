/**
 * npm run clean finds a crashed run's leftovers by name alone and removes every kind of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { leftoversOf } from '../../lib/leftovers.ts';
import { processExists } from '../../lib/proc.ts';
import { canRunIntegration } from '../helpers/env.ts';

const sh = (cmd: string) => execa('sh', ['-c', cmd]);

describe.skipIf(!canRunIntegration)('npm run clean', () => {
  it('removes processes, mounts, links, netns, cgroups and state dirs left by a killed run', async () => {
    const id = `99${process.pid.toString(16).slice(-4)}`;
    const state = `/run/scratch/${id}`;
    fs.mkdirSync(path.join(state, 'proc'), { recursive: true });
    await sh(`mount -t tmpfs scrtest ${state}/proc`);
    await sh(`ip link add scr${id}a type veth peer name scr${id}b`);
    await sh(`ip netns add scr${id}`);
    // A process in a cgroup below the project's parent, as a container of lesson 05 would be.
    const pidsRoot = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';
    const cg = path.join(pidsRoot, 'scratch', id);
    fs.mkdirSync(cg, { recursive: true });
    const sleeper = execa('sh', ['-c', `echo $$ > ${cg}/cgroup.procs; exec sleep 300`], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    const pid = sleeper.pid ?? 0;

    const before = await leftoversOf(id);
    expect(before).toEqual(
      expect.arrayContaining([
        `process ${pid}`,
        `mount ${state}/proc`,
        `link scr${id}a`,
        `netns scr${id}`,
        `cgroup ${cg}`,
        `state ${state}`,
      ]),
    );

    // --dry-run names every one of them — those found through commands (netns, links) too — and removes nothing.
    const dry = await execa(process.execPath, ['--import', 'tsx', 'lib/cli/clean.ts', '--dry-run', '--only', id], {
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(dry.exitCode, dry.stdout + dry.stderr).toBe(0);
    for (const shown of [`ip netns delete scr${id}`, `scr${id}a`, `umount --lazy ${state}/proc`, cg, state])
      expect(dry.stdout).toContain(shown);
    expect(dry.stdout).toContain('nothing was removed');
    expect(await leftoversOf(id)).toEqual(before);

    // --only: this test's leftovers, never those of a lesson running elsewhere on the machine.
    const r = await execa(process.execPath, ['--import', 'tsx', 'lib/cli/clean.ts', '--only', id], {
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`$ umount --lazy ${state}/proc`);
    await sleeper;
    expect(processExists(pid)).toBe(false);
    expect(await leftoversOf(id)).toEqual([]);

    const again = await execa(process.execPath, ['--import', 'tsx', 'lib/cli/clean.ts', '--only', id], {
      env: { FORCE_COLOR: '0' },
    });
    expect(again.stdout).toContain('nothing to clean');
  });
});
