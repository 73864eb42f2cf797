/**
 * `npm run exercise` as a learner uses it: the list, the first run on the untouched template, a solution, hints
 * one at a time, --solution, --reset keeping theirs, the progress line — and --watch re-running when an editor
 * saves by replacing the file. Everything in a directory and progress file of the test's own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundle.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { testId } from '../helpers/lesson.ts';

// Directly in the project, as exercises/ is, so the copies' ../lib/ imports resolve. Made in beforeAll, not while
// the file is collected: a run that filters every test out (-t) runs no hooks, and left them behind.
let dir = '';
let progressFile = '';
let copy = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.scr-exercises-'));
  progressFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scr-progress-')), 'progress.json');
  copy = path.join(dir, '01-chroot.ts');
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (progressFile) fs.rmSync(path.dirname(progressFile), { recursive: true, force: true });
});
const env = (id = testId('01')) => ({
  FORCE_COLOR: '0',
  SCRATCH_EXERCISES: dir,
  SCRATCH_PROGRESS: progressFile,
  SCRATCH_RUN_ID: id,
});
const exercise = (args: string[], id?: string) =>
  execa(process.execPath, ['--import', 'tsx', 'lib/cli/exercise.ts', ...args], {
    cwd: PROJECT_ROOT,
    reject: false,
    input: '',
    env: env(id),
  });
const SOLUTION = "export { chrootArgv } from '../lib/chroot.ts';\n";
const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe.skipIf(!canRunIntegration)('npm run exercise', () => {
  it('lists every exercise, not started, and says what to do next', async () => {
    const r = await exercise([]);
    expect(r.exitCode).toBe(0);
    for (const n of ['01', '05', '11']) expect(r.stdout).toMatch(new RegExp(`· ${n}  \\S+\\.ts\\s+not started`));
    expect(r.stdout).toMatch(/Next: write chrootArgv/);
  });

  it('the first run makes the copy from the template and fails on its TODO in one line, leaving nothing', async () => {
    const id = testId('01');
    const r = await exercise(['01'], id);
    expect(fs.existsSync(copy)).toBe(true);
    expect(r.exitCode).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/01-chroot\.ts:\d+: TODO: write chrootArgv/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await leftoversOf(id)).toEqual([]);
    expect((await exercise([])).stdout).toMatch(/· 01 .*not started/); // untouched: still not started
  });

  it('hints come one at a time, the last nearly the answer; --solution shows lib’s', async () => {
    const first = await exercise(['01', '--hint']);
    const second = await exercise(['01', '--hint']);
    expect(first.stdout).toMatch(/Hint 1\/\d/);
    expect(second.stdout).toMatch(/Hint 2\/\d/);
    expect((await exercise(['01', '--solution'])).stdout).toMatch(/export function chrootArgv/);
  });

  it('a solution passes the lesson’s checks and is recorded as solved; the progress line says so', async () => {
    fs.writeFileSync(copy, SOLUTION);
    const id = testId('01');
    const r = await exercise(['01'], id);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await leftoversOf(id)).toEqual([]);
    expect((await exercise([])).stdout).toMatch(/✔ 01 .*solved/);
    expect((await exercise(['--progress'])).stdout).toMatch(/ 01 ✔ .*\(1\/\d+ solved\)/);
  });

  it('--reset puts the template back and keeps the learner’s file beside it', async () => {
    const r = await exercise(['01', '--reset']);
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(copy, 'utf8')).toContain('TODO');
    const kept = fs.readdirSync(dir).filter((f) => f.startsWith('01-chroot.ts.') && f.endsWith('.bak'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, kept[0] ?? ''), 'utf8')).toBe(SOLUTION);
  });

  it('--watch runs again when an editor saves by writing a new file and renaming it over the old one', async () => {
    const id = testId('01');
    const child = execa(process.execPath, ['--import', 'tsx', 'lib/cli/exercise.ts', '01', '--watch'], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: env(id),
    });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const waitFor = async (re: RegExp, count: number) => {
      for (let i = 0; i < 300 && (output.match(re)?.length ?? 0) < count; i++)
        await new Promise((r) => setTimeout(r, 100));
      return output.match(re)?.length ?? 0;
    };
    try {
      expect(await waitFor(/save it to run again/g, 1)).toBe(1);
      // Twice: a watch on the file itself hears the first replacement, then nothing more.
      for (const run of [2, 3]) {
        const tmp = `${copy}.tmp-save`;
        fs.writeFileSync(tmp, SOLUTION);
        fs.renameSync(tmp, copy);
        expect(await waitFor(/save it to run again/g, run)).toBe(run);
      }
      expect(output).toMatch(/Did it work\?/);
    } finally {
      child.kill('SIGINT');
      await child;
    }
    expect(await leftoversOf(id)).toEqual([]);
  }, 120_000);
});
