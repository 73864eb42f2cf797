/**
 * Lesson 12, run for real — in a network namespace this file makes to play the host (its web server publishes a
 * port, so the bridge, the DNAT rules and ip_forward are that namespace's, never the machine's). It asserts what
 * the lesson teaches, as the host read it: the cgroup file holding -m, the overlay of the image's three layers,
 * the veth on scr0 and the DNAT rule, the page through the published port, PID 1 as the image's user, stop's
 * SIGKILL after the grace period; then runc, from the bundles ctr exported (the container, and the image itself
 * as root), reporting every fact the same as ctr; and the exercise's container, built from specFromOptions, read
 * the same as ctr run's. It runs twice in a row, and nothing of either run is left.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import lesson from '../../lessons/12-capstone.ts';
import type { LessonResult } from '../../lib/lesson.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { stateDir } from '../../lib/names.ts';
import { LAYERED } from '../../rootfs-scripts/images.ts';
import { canRunIntegration } from '../helpers/env.ts';
import {
  createOwnHostNetns,
  runLessonForTest,
  runLessonInNetns,
  testId,
  type OwnHostNetns,
} from '../helpers/lesson.ts';

type State = typeof lesson extends { initialState: () => infer S } ? S : never;
type Run = LessonResult<State> & { output: string; id: string };

const hasRunc = ['/usr/sbin/runc', '/usr/bin/runc'].some((p) => fs.existsSync(p));
if (canRunIntegration && !hasRunc && process.env.CI === 'true')
  throw new Error('CI must install runc (apt-get install runc)');

const failed = (r: Run) => r.checks.filter((c) => !c.ok);
const tooWide = (text: string, width: number) => text.split('\n').filter((l) => [...l].length > width);
const fact = (rows: Array<{ name: string; a?: string }> | undefined, name: string) =>
  rows?.find((r) => r.name === name)?.a;

describe('lesson 12, explained', () => {
  it('shows every step’s commands within 80 columns and runs nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain', width: 80 });
    expect(tooWide(r.output, 80)).toEqual([]);
    expect(r.output).toContain('runc --root');
    expect(r.output).toMatch(/export-bundle -u 0\s/);
  });
});

describe.skipIf(!canRunIntegration || !hasRunc)('lesson 12, in a network namespace that plays the host', () => {
  let host: OwnHostNetns;
  let r: Run;
  let again: Run;
  const id = testId('12');
  const id2 = testId('12');

  beforeAll(async () => {
    host = await createOwnHostNetns();
    r = await runLessonInNetns(lesson, host.name, { id, width: 80 });
    again = await runLessonInNetns(lesson, host.name, { id: id2 });
  }, 240_000);
  afterAll(async () => {
    const left = await host?.leftovers();
    await host?.remove();
    expect(left).toEqual([]);
    expect(await leftoversOf(id, host.name)).toEqual([]);
    expect(await leftoversOf(id2, host.name)).toEqual([]);
  });

  it('runs to the end twice in a row: every check passes, every command it ran was shown, 80 columns', () => {
    for (const run of [r, again]) {
      expect(failed(run), run.output.slice(-3000)).toEqual([]);
      expect(run.completed).toBe(true);
      expect(run.unshown).toEqual([]);
    }
    expect(tooWide(r.output, 80)).toEqual([]);
  });

  it('ctr run -d -m 64m: the host read 67108864 in the cgroup, an overlay of three layers, the image’s user as PID 1', () => {
    const s = r.state;
    expect(s.limit).toMatch(/\/scratch\/[0-9a-f]{10}\/memory\.(max|limit_in_bytes):67108864$/);
    expect(/lowerdir=([^,]*)/.exec(s.overlay ?? '')?.[1]?.split(':')).toHaveLength(3);
    expect(s.overlay).toContain(`upperdir=/var/lib/scratch/containers/${s.web?.id}/upper`);
    expect(s.pid1).toMatch(new RegExp(`^\\s*\\d+\\s+${LAYERED.user.uid}\\s+httpd -f -v -p 8000`, 'm'));
    expect(s.web?.spec.linux.cgroupsPath).toBe(`/scratch/${s.web?.id}`);
  });

  it('-p: its veth was on scr0, a DNAT rule led to port 8000, and the page came back through the host’s port', () => {
    const s = r.state;
    expect(s.links).toMatch(new RegExp(`^scr${s.web?.id}\\S*`, 'm'));
    expect(s.nat).toMatch(
      new RegExp(
        `--comment "?scr:${s.web?.id}:publish-${s.port}/tcp"? -j DNAT --to-destination 10\\.30\\.0\\.\\d+:8000`,
      ),
    );
    const body = (p?: { output: string }) => p?.output.split(/\r?\n\r?\n/)[1]?.trim();
    expect(body(s.viaLocalhost)).toBe(LAYERED.visible.text.trim());
    expect(body(s.viaBridge)).toBe(LAYERED.visible.text.trim());
  });

  it('logs had the two requests, exec ran as learner beside httpd as PID 1, stop took the grace period then SIGKILL', () => {
    const s = r.state;
    expect(s.logs?.match(/response:200/g)).toHaveLength(2);
    expect(s.exec?.stdout).toMatch(new RegExp(`uid=${LAYERED.user.uid}\\(learner\\)`));
    expect(s.exec?.stdout).toMatch(/^\s*1 learner\s+httpd/m);
    expect(s.stop?.exitCode).toBe(137);
    expect(s.stop?.ms).toBeGreaterThanOrEqual(1000);
    expect(s.left).toEqual([]);
  });

  it('runc ran the exported container as learner and reported every fact as under ctr', () => {
    const c = r.state.bundle;
    expect(c?.rows?.filter((row) => !row.same)).toEqual([]);
    expect(c?.rows?.length).toBeGreaterThanOrEqual(20);
    expect(fact(c?.rows, 'uid:gid')).toBe(`${LAYERED.user.uid}:${LAYERED.user.gid}`);
    expect(fact(c?.rows, 'CapEff')).toBe('0000000000000000');
    expect(fact(c?.rows, 'Seccomp')).toBe('2');
    expect(fact(c?.rows, 'NoNewPrivs')).toBe('1');
    expect(fact(c?.rows, 'my PID')).toBe('1');
    expect(fact(c?.rows, 'uid_map')).toBe('0 0 4294967295');
    expect(fact(c?.rows, '/proc/sys')).toBe('read-only');
    expect(fact(c?.rows, '/etc/os-release')).toBe('gone');
    expect(c?.config?.linux.cgroupsPath).toBe(`/scratch/${id}0002b`);
  });

  it('and the image’s own bundle, as root, the same under both, with docker’s 14 capabilities effective', () => {
    const c = r.state.asRoot;
    expect(c?.rows?.filter((row) => !row.same)).toEqual([]);
    expect(fact(c?.rows, 'uid:gid')).toBe('0:0');
    expect(fact(c?.rows, 'CapEff')).toBe('00000000a80425fb');
    expect(c?.config?.process.user).toMatchObject({ uid: 0, gid: 0 });
    expect(c?.config?.hostname).toBe('probe');
    // Named after the run, so `npm run clean -- --only <id>` finds runc's cgroup after a crash.
    expect(c?.config?.linux.cgroupsPath).toBe(`/scratch/${id}0006b`);
  });

  it('the container from specFromOptions was ctr run’s, as the host read both', () => {
    const f = r.state.flags;
    expect(f?.mine).toMatchObject({ hostname: 'web', memory: String(48 * 1024 * 1024), pids: '30', cwd: '/tmp' });
    expect(f?.mine.root).toMatch(/ ro$/);
    // The same container but for its PID.
    expect({ ...f!.mine, pid: 0 }).toEqual({ ...f!.ctr, pid: 0 });
  });

  it('nothing is left of either run: no state dir, bundle, runc state, cgroup, link or rule', async () => {
    expect(fs.existsSync(stateDir(id))).toBe(false);
    expect(await host.leftovers()).toEqual([]);
    expect(await leftoversOf(id)).toEqual([]);
    expect(await leftoversOf(id2)).toEqual([]);
  });
});
