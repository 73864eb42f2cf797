/**
 * Lesson 06, run for real: the container's writes arrive in its own upper directory — a file, a whiteout, a
 * whole copied-up file — while the rootfs stays as it was; a second container starts clean; stacked layers
 * resolve leftmost first; the diff read from upper is docker's; a committed upper is a layer a new container
 * sees. All observed from the host, and nothing of the run is left.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import lesson from '../../lessons/06-overlay-layers.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { readMountinfo } from '../../lib/mountinfo.ts';
import { CONTAINERS_ROOT, DEFAULT_ROOTFS } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest } from '../helpers/lesson.ts';

const hash = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const ownDirs = (id: string) => fs.readdirSync(CONTAINERS_ROOT).filter((d) => d.startsWith(id));

describe.skipIf(!canRunIntegration)('lesson 06: overlay layers', () => {
  it('writes land in upper (a file, a 0/0 whiteout, a whole copy-up); the rootfs never changes; nothing is left', async () => {
    const profile = path.join(DEFAULT_ROOTFS, 'etc/profile');
    const before = hash(profile);
    const r = await runLessonForTest(lesson);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    // The upper directory, as the host read it after the container's three changes.
    const upper = new Map((r.state.upper ?? []).map((e) => [e.path, e]));
    expect(upper.get('/root/notes.txt')?.kind).toBe('file');
    expect(upper.get('/etc/os-release')?.kind).toBe('whiteout');
    expect(r.state.whiteout).toEqual({ isCharDevice: true, rdev: 0, lowerStillThere: true });
    // Copied up whole: every byte of the lower file, then the line the container added.
    expect(r.state.copyUp?.upper).toBe(`${fs.readFileSync(profile, 'utf8')}# one line added in the container\n`);
    expect(hash(profile)).toBe(before);
    expect(fs.existsSync(path.join(DEFAULT_ROOTFS, 'root/notes.txt'))).toBe(false);

    // The second container: none of the first one's changes, and an empty upper of its own.
    expect(r.state.second?.stderr).toMatch(/notes\.txt/);
    expect(r.state.second?.stdout).toContain('/etc/os-release');
    expect(r.state.secondUpper).toEqual([]);

    expect(r.state.stackedSees).toEqual({
      motd: 'motd from layer a',
      onlyInB: 'only layer b has this',
      app: ['one.txt', 'two.txt'],
    });
    expect(r.state.diff).toEqual([
      'A /added.txt',
      'C /etc',
      'D /etc/b.txt',
      'C /etc/motd',
      'C /srv',
      'C /srv/app',
      'D /srv/app/one.txt',
      'D /srv/app/two.txt',
      'A /srv/app/new.txt',
    ]);
    expect(r.state.opaqueDirs).toEqual(['/srv/app']);
    expect(r.state.committed?.fromLayer.stdout.split('\n')).toEqual([
      'added',
      'motd from layer a',
      'edited in the container',
      'new.txt',
      'no /etc/b.txt',
    ]);
    expect(r.state.committed?.ownUpper).toEqual([]);
    expect(r.output).toMatch(/overlay: filesystem on \/tmp\/up not supported as upperdir|\(nothing\)/);

    // Every overlay lived in a container's own mount namespace; every container directory went with the run.
    expect(readMountinfo().filter((m) => m.fsType === 'overlay' && m.mountPoint.includes(r.id))).toEqual([]);
    expect(ownDirs(r.id)).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it("a learner's overlayData that lists the layers bottom first fails the stacking check, and says so", async () => {
    const bottomFirst = (lower: readonly string[], upper: string, work: string) =>
      `lowerdir=${[...lower].reverse().join(':')},upperdir=${upper},workdir=${work}`;
    const r = await runLessonForTest(lesson, { impl: { overlayData: bottomFirst } });
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.claim);
    expect(failed).toContain(
      'stacked layers: the leftmost wins, a lower one shows through where nothing above has the name',
    );
    // Layer b is now above layer a: its /etc/motd wins.
    expect(r.state.stackedSees?.motd).toBe('motd from layer b');
    expect(await leftoversOf(r.id)).toEqual([]);
  });

  it('--explain prints the overlay mount of init.sh, with every path a parameter, and runs nothing', async () => {
    const r = await runLessonForTest(lesson, { mode: 'explain' });
    expect(r.output).toContain('mount -t overlay -o "$opts,redirect_dir=off,metacopy=off" overlay "$root"');
    expect(r.output).toContain('lower=$1; shift; while [ "$1" != -- ]; do lower=$lower:$1; shift; done; shift');
    // init.sh is one text for every container of the lesson: printed once.
    expect(r.output.match(/cat > init\.sh <<'EOF'/g)).toHaveLength(1);
    expect(r.state.first).toBeUndefined();
    expect(ownDirs(r.id)).toEqual([]);
    expect(await leftoversOf(r.id)).toEqual([]);
  });
});
