/**
 * npm run lesson runs compiled JavaScript (lib/bundle.ts): it must say exactly what the TypeScript sources say, load
 * each lesson by its number, and be rebuilt as soon as a source changes — so what runs is what the learner reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DIST, PROJECT_ROOT } from '../../lib/bundle.ts';
import { listLessonFiles } from '../../lib/discovery.ts';

const env = (id?: string) => ({ FORCE_COLOR: '0', COLUMNS: '100', ...(id ? { SCRATCH_RUN_ID: id } : {}) });
const compiled = (args: string[], id?: string) =>
  execa(process.execPath, [path.join(PROJECT_ROOT, 'bin/lesson.mjs'), ...args], { reject: false, env: env(id) });
const fromSource = (args: string[], id?: string) =>
  execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'lib/cli/lesson.ts'), ...args], {
    reject: false,
    env: env(id),
  });
/** The one thing two runs may differ in: a PID the lesson shows (its own, for lesson 01's escape). */
const samePids = (text: string) => text.replace(/\/proc\/\d+\//g, '/proc/PID/');

describe('the compiled lesson runner', () => {
  it('explains every lesson word for word as the TypeScript sources do', async () => {
    for (const f of listLessonFiles()) {
      const id = `${f.number}c0de`;
      const [a, b] = await Promise.all([
        compiled([f.number, '--explain'], id),
        fromSource([f.number, '--explain'], id),
      ]);
      expect(a.exitCode, a.stderr).toBe(0);
      expect(samePids(a.stdout), `lesson ${f.number}`).toBe(samePids(b.stdout));
    }
  }, 120_000);

  it('is rebuilt when a lesson’s source is newer than it', async () => {
    const lesson = listLessonFiles()[0];
    if (!lesson) throw new Error('no lessons');
    expect((await compiled([lesson.number, '--explain'])).exitCode).toBe(0);
    const before = fs.statSync(path.join(DIST, 'lesson.mjs')).mtimeMs;
    const now = new Date();
    fs.utimesSync(lesson.file, now, now);
    expect((await compiled([lesson.number, '--explain'])).exitCode).toBe(0);
    expect(fs.statSync(path.join(DIST, 'lesson.mjs')).mtimeMs).toBeGreaterThan(before);
  }, 60_000);
});
