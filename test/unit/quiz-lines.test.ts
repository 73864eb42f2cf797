/**
 * A quiz driven by piped input — a remote class typing into a shared session, or a test: one answer per line.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadQuiz, parseAnswer } from '../../lib/quiz.ts';
import { runInPty } from '../helpers/pty.ts';

const QUIZ = ['--import', 'tsx', 'lib/cli/quiz.ts'];

const ESC = String.fromCharCode(27);

describe('quiz answers as lines', () => {
  it('take a number or a letter', () => {
    expect(parseAnswer('2', 3)).toBe(1);
    expect(parseAnswer(' b ', 3)).toBe(1);
    expect(parseAnswer('C)', 3)).toBe(2);
    expect(parseAnswer('4', 3)).toBeUndefined();
    expect(parseAnswer('yes', 3)).toBeUndefined();
  });

  it('from a pipe: every question answered, the score printed, no cursor codes written into the pipe', async () => {
    const quiz = await loadQuiz('00');
    const answers = quiz.questions.map((q, i) => (i % 2 === 0 ? String(q.answer + 1) : 'abcdef'[q.answer]));
    const r = await execa(process.execPath, [...QUIZ, '00'], {
      input: `nonsense\n${answers.join('\n')}\n`,
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${quiz.questions.length}/${quiz.questions.length} right.`);
    expect(r.stdout).not.toContain('\x1b');
  });

  it('input that ends early stops with one line, exit 1, not 130', async () => {
    const r = await execa(process.execPath, [...QUIZ, '00'], {
      input: '1\n',
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toMatch(/^✘ the input ended before every question had an answer — fix: /);
  });

  it('at a terminal with NO_COLOR set, nothing is coloured', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const t = runInPty([process.execPath, ...QUIZ, '00'], env);
    await t.waitFor('(1/');
    t.type('\r');
    await t.waitFor('(2/');
    t.type('\x03');
    const { output } = await t.done;
    expect(output).toContain('Quiz · lesson 00');
    expect(output.match(new RegExp(`${ESC}\\[(3\\d|9\\d)m`, 'g')) ?? []).toEqual([]);
  });
});
