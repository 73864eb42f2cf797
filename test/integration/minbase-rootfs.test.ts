/**
 * A root filesystem the learner brings: a Debian minbase (`debootstrap --variant=minbase`: sh, coreutils,
 * mount, no ps, no ip — what a slim image's `docker export` gives too). Lessons 01–06 and 11 pass on it, reached
 * through a symlink as well; a rootfs that lacks what a lesson runs inside gets one line, before anything is
 * made. CI builds it (`npm run rootfs -- debian-minbase`); elsewhere the suite runs once it has been built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import lesson01 from '../../lessons/01-chroot.ts';
import lesson02 from '../../lessons/02-uts-ipc.ts';
import lesson03 from '../../lessons/03-pid-namespace.ts';
import lesson04 from '../../lessons/04-mount-pivot-root.ts';
import lesson05 from '../../lessons/05-cgroups.ts';
import lesson06 from '../../lessons/06-overlay-layers.ts';
import lesson11 from '../../lessons/11-security.ts';
import type { Lesson } from '../../lib/lesson.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { mountsUnder } from '../../lib/mountinfo.ts';
import { ROOTFS_ROOT } from '../../lib/names.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { runLessonForTest, testId } from '../helpers/lesson.ts';

const MINBASE = path.join(ROOTFS_ROOT, 'debian-minbase');
const built = fs.existsSync(path.join(MINBASE, 'etc', 'debian_version'));
if (canRunIntegration && !built && process.env.CI === 'true') {
  throw new Error(`CI must build the minbase rootfs first (npm run rootfs -- debian-minbase): ${MINBASE} is missing`);
}
const LESSON = ['--import', 'tsx', 'lib/cli/lesson.ts'];
const scratch = fs.mkdtempSync('/tmp/scr-minbase-test-');
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!canRunIntegration || !built)('lessons 01–06 and 11 on a Debian minbase rootfs (no ps, no ip)', () => {
  it('really is minbase: no ps, no ip, no busybox', () => {
    for (const tool of ['usr/bin/ps', 'bin/ps', 'usr/bin/ip', 'bin/ip', 'bin/busybox']) {
      expect(fs.existsSync(path.join(MINBASE, tool)), tool).toBe(false);
    }
  });

  for (const lesson of [
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson11,
  ] as unknown as Lesson<unknown>[]) {
    it(`lesson ${lesson.number}: every check passes, nothing left behind`, async () => {
      const r = await runLessonForTest(lesson, { rootfs: MINBASE });
      expect(
        r.checks.filter((c) => !c.ok),
        r.output.slice(-3000),
      ).toEqual([]);
      expect(r.output).not.toMatch(/failed to run command|\b(ps|ip|busybox): (command )?not found/);
      expect(await leftoversOf(r.id)).toEqual([]);
    }, 240_000);
  }

  it('through a symlink to it, as the lesson runner is given it (lesson 01, /proc check included)', async () => {
    const link = path.join(scratch, 'my-rootfs');
    fs.symlinkSync(MINBASE, link);
    const id = testId('01');
    const r = await execa(process.execPath, [...LESSON, '01', '--rootfs', link], {
      reject: false,
      input: '',
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: id },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("✔ the /proc mounted inside shows up in the host's mount table");
    expect(r.stdout).not.toContain('✘');
    expect(await leftoversOf(id)).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)('a rootfs that lacks what a lesson runs inside it', () => {
  it('gets one line naming the missing command and how to get it, before anything is made', async () => {
    // sh (a static busybox) and nothing else: no sleep, which lesson 03's container runs.
    const root = path.join(scratch, 'tiny');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(root, 'proc'));
    fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
    const id = testId('03');
    const r = await execa(process.execPath, [...LESSON, '03', '--rootfs', root], {
      reject: false,
      input: '',
      env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: id },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`rootfs ${root} has no sleep, which lesson 03 runs inside the container — fix: `);
    expect(r.stdout).not.toContain('Step 1/');
    expect(mountsUnder(root)).toEqual([]);
    expect(fs.existsSync(`/run/scratch/${id}`)).toBe(false);
    expect(await leftoversOf(id)).toEqual([]);
  });
});
