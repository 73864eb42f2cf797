/**
 * Lesson 09, run for real: an unprivileged user starts the container — uid 0 inside, its own uid on the host —
 * cannot write a root-owned host file bound in, maps 65,536 ids through newuidmap, and its overlay copies up
 * only what the map can name. Observed from the host; afterwards nothing of the run is left, not even the range
 * it lent in /etc/subuid.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import lesson from '../../lessons/09-user-namespace.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { containerDir } from '../../lib/names.ts';
import { processExists } from '../../lib/proc.ts';
import { parseSubids, SUBGID_FILE, SUBID_COUNT, SUBUID_FILE } from '../../lib/userns.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { ensureLearner, LEARNER } from '../helpers/learner.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

const subidLines = () => `${fs.readFileSync(SUBUID_FILE, 'utf8')}\n${fs.readFileSync(SUBGID_FILE, 'utf8')}`;
const SUDO = ['SUDO_USER', 'SUDO_UID', 'SUDO_GID'] as const;
const saved = Object.fromEntries(SUDO.map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of SUDO) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe.skipIf(!canRunIntegration)('lesson 09: a rootless container', () => {
  it('run by root alone: nobody starts it, uid 0 inside and 65534 outside, and nothing is left', async () => {
    for (const k of SUDO) delete process.env[k];
    const before = subidLines();
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const s = r.state;
    expect(s.plan?.user).toMatchObject({ name: 'nobody', uid: 65534 });

    // uid 0 inside, the user's uid outside, in every field the kernel keeps (real, effective, saved, fs).
    expect(s.aInside).toMatch(/^uid=0\(root\) gid=0\(root\)/);
    expect(s.aHostUid?.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);

    // A root-owned host file bound in: not writable, unchanged, and owned by the overflow id inside.
    expect(s.cannot?.owned.exitCode).not.toBe(0);
    expect(s.cannot?.owned.stderr).toMatch(/Permission denied/);
    expect(s.cannot?.owned.stdout).toMatch(/^-rw-r--r--\s+1 65534\s+65534 /);
    expect(s.ownedAfter).toBe('a file of the host’s root');
    expect(s.cannot?.shadow.stdout).toBe('');
    expect(s.cannot?.shadow.stderr).toMatch(/Permission denied/);

    // The range: two lines in the map, 65,536 + 1 ids, and the owners seen from the host.
    const start = s.plan?.range.start ?? 0;
    expect(s.bMap).toEqual([
      { containerID: 0, hostID: 65534, size: 1 },
      { containerID: 1, hostID: start, size: SUBID_COUNT },
    ]);
    expect(s.owners?.upperUids).toEqual([65534, start + 999]);

    // Overlay in the user namespace: EOVERFLOW with one id, a copy owned by start + 999 with the range.
    expect(s.copyUp?.narrow.stderr).toMatch(/Value too large for defined data type/);
    expect(s.copyUp?.wide.exitCode).toBe(0);
    expect(s.copyUp?.upperOwner).toBe(start + 999);

    // Nothing left: processes, directories, and the range it lent nobody for its length.
    for (const c of [s.a, s.b]) expect(processExists(c?.hostPid ?? 0)).toBe(false);
    expect(fs.existsSync(containerDir(r.id))).toBe(false);
    expect(subidLines()).toBe(before);
    expect(await leftoversOf(r.id)).toEqual([]);
  }, 120_000);

  it('run through sudo: the learner who ran it starts it, with their own uid outside', async () => {
    const learner = await ensureLearner();
    process.env.SUDO_USER = LEARNER;
    process.env.SUDO_UID = String(learner.uid);
    process.env.SUDO_GID = String(learner.gid);
    const before = subidLines();
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.state.plan?.user).toEqual({ name: LEARNER, uid: learner.uid, gid: learner.gid });
    expect(r.state.aHostUid?.split(/\s+/)[0]).toBe(String(learner.uid));
    // The learner's own range when they have one, or one lent for the run and taken back.
    const own = parseSubids(before).find((e) => e.owner === LEARNER);
    if (own) expect(r.state.plan?.range.start).toBe(own.start);
    expect(subidLines()).toBe(before);
    expect(await leftoversOf(r.id)).toEqual([]);
  }, 120_000);

  it('explain mode shows the user’s commands (setpriv, unshare --user, newuidmap) and makes nothing', async () => {
    for (const k of SUDO) delete process.env[k];
    const before = subidLines();
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain('setpriv --reuid=65534 --regid=65534 --clear-groups -- unshare --user');
    expect(r.output).toMatch(/newuidmap "\$PID" 0 65534 1 1 \d+ 65536/);
    expect(r.output).toContain('"/proc/$PID/setgroups" deny');
    expect(fs.existsSync(containerDir(r.id))).toBe(false);
    expect(subidLines()).toBe(before);
  });
});
