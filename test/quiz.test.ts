import { execa } from 'execa';
import { select } from '@inquirer/prompts';
import { render } from '@inquirer/testing';
import { describe, expect, it } from 'vitest';
import { listLessonFiles } from '../lib/discovery.ts';
import { Printer } from '../lib/output.ts';
import {
  listQuizNumbers,
  loadQuiz,
  questionPrompt,
  quizProblems,
  runQuiz,
  type Ask,
  type Quiz,
  type QuestionPrompt,
} from '../lib/quiz.ts';

/** An `ask` that renders the real select prompt with inquirer's test harness and moves to the chosen answer. */
function askByKeys(picks: number[], screens: string[]): Ask {
  let n = 0;
  return async (prompt: QuestionPrompt) => {
    const pick = picks[n++];
    if (pick === undefined) throw new Error(`asked more questions than the test planned (${n})`);
    const { answer, events, getScreen } = await render(select<number>, prompt);
    screens.push(getScreen());
    for (let i = 0; i < pick; i++) events.keypress('down');
    events.keypress('enter');
    return answer;
  };
}

const sample: Quiz = {
  lesson: '99',
  title: 'A made-up lesson',
  questions: [
    { prompt: 'First?', choices: ['a', 'b', 'c'], answer: 2, why: 'Because c.' },
    { prompt: 'Second?', choices: ['x', 'y'], answer: 0, why: 'Because x.' },
    { prompt: 'Third?', choices: ['p', 'q', 'r', 's'], answer: 1, why: 'Because q.' },
  ],
};

describe('quiz content', () => {
  const numbers = listQuizNumbers();

  it('every lesson file has a quiz', () => {
    const lessons = listLessonFiles().map((l) => l.number);
    expect(lessons.length).toBeGreaterThan(0);
    expect(lessons.filter((n) => !numbers.includes(n))).toEqual([]);
  });

  it('the quizzes cover the whole lesson plan, 00 to 12', () => {
    const plan = Array.from({ length: 13 }, (_, i) => String(i).padStart(2, '0'));
    expect(numbers).toEqual(plan);
  });

  it.each(listQuizNumbers())('quiz %s is well formed and belongs to its file', async (n) => {
    const quiz = await loadQuiz(n);
    expect(quiz.lesson).toBe(n);
    expect(quizProblems(quiz)).toEqual([]);
  });

  it('the right answers are not always in the same position', async () => {
    const positions = new Set<number>();
    for (const n of numbers) for (const q of (await loadQuiz(n)).questions) positions.add(q.answer);
    expect(positions.size).toBeGreaterThanOrEqual(3);
  });
});

describe('quizProblems', () => {
  it('accepts a well-formed quiz', () => {
    expect(quizProblems(sample)).toEqual([]);
  });

  it('names an answer that is not one of the choices, a duplicate choice and a missing reason', () => {
    const broken: Quiz = {
      ...sample,
      questions: [
        { prompt: 'Q', choices: ['a', 'b'], answer: 2, why: 'w' },
        { prompt: 'Q', choices: ['a', 'a'], answer: 0, why: 'w' },
        { prompt: 'Q', choices: ['a', 'b'], answer: 0, why: ' ' },
      ],
    };
    expect(quizProblems(broken)).toEqual([
      'question 1: answer 2 is not one of its 2 choices',
      'question 2: two choices are the same',
      'question 3: no explanation',
    ]);
  });
});

describe('asking a quiz through the select prompt', () => {
  it('shows the question with its number and every choice at once', async () => {
    const { answer, events, getScreen } = await render(select<number>, questionPrompt(sample.questions[2]!, 2, 3));
    const screen = getScreen();
    expect(screen).toContain('(3/3) Third?');
    for (const c of ['p', 'q', 'r', 's']) expect(screen).toMatch(new RegExp(`^.*\\b${c}$`, 'm'));
    events.keypress('down');
    events.keypress('enter');
    await expect(answer).resolves.toBe(1);
  });

  it('scores the answers, says which were wrong, and always gives the reason', async () => {
    let printed = '';
    const out = new Printer({ write: (t) => (printed += t) });
    const screens: string[] = [];
    // Right, wrong, right.
    const result = await runQuiz(sample, { out, ask: askByKeys([2, 1, 1], screens) });

    expect(result.score).toBe(2);
    expect(result.total).toBe(3);
    expect(result.answers.map((a) => a.picked)).toEqual([2, 1, 1]);
    expect(result.answers.map((a) => a.correct)).toEqual([true, false, true]);
    expect(screens.map((s) => s.split('\n')[0])).toEqual([
      expect.stringContaining('(1/3) First?'),
      expect.stringContaining('(2/3) Second?'),
      expect.stringContaining('(3/3) Third?'),
    ]);
    expect(printed).toContain('✘ Not quite.\n  The answer: x\n');
    for (const why of ['Because c.', 'Because x.', 'Because q.']) expect(printed).toContain(why);
    expect(printed).toContain('2/3 right.');
    expect(printed).toContain('npm run lesson 99 -- --explain');
  });

  it('a real quiz answered perfectly says so', async () => {
    const quiz = await loadQuiz('05');
    let printed = '';
    const out = new Printer({ write: (t) => (printed += t) });
    const picks = quiz.questions.map((q) => q.answer);
    const result = await runQuiz(quiz, { out, ask: askByKeys(picks, []) });
    expect(result.score).toBe(quiz.questions.length);
    expect(printed).toContain('Every answer right');
  });
});

describe('npm run quiz', () => {
  const cli = ['--import', 'tsx', 'lib/cli/quiz.ts'];

  it('refuses an unknown lesson number with one line and the usage', async () => {
    const r = await execa('node', [...cli, '42'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no quiz for lesson "42"');
    expect(r.stderr).toContain('fix: npm run quiz [NN]');
  });

  it('without a number and without a terminal, says how to pick one instead of hanging', async () => {
    const r = await execa('node', cli, { reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no lesson number given');
  });
});
