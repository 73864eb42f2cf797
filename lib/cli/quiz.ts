/**
 * `npm run quiz 05` asks lesson 05's questions; `npm run quiz` first asks which lesson.
 *
 * Quizzes need no root and no Linux: they run on the laptop as well as in the VM.
 */
import { select } from '@inquirer/prompts';
import { normalizeLessonNumber } from '../discovery.ts';
import { UserError } from '../errors.ts';
import { Printer, promptTheme, terminalWidth, wantsColor } from '../output.ts';
import { askByLines, listQuizNumbers, loadQuiz, runQuiz, type Quiz } from '../quiz.ts';
import { lineReader } from './lines.ts';
import { main } from './main.ts';

const USAGE = 'npm run quiz [NN]   (NN = a lesson number; without one, pick from a list)';

/** Ctrl-C inside an inquirer prompt rejects with this error; it means "stop", not "something broke". */
function isPromptExit(error: unknown): boolean {
  return error instanceof Error && error.name === 'ExitPromptError';
}

async function pickQuiz(quizzes: Quiz[]): Promise<Quiz> {
  if (!process.stdin.isTTY) {
    const list = quizzes.map((q) => q.lesson).join(' ');
    throw new UserError(`no lesson number given and no terminal to pick one in (quizzes: ${list})`, USAGE);
  }
  return select<Quiz>({
    theme: promptTheme(wantsColor(process.stdout)),
    message: 'Which lesson?',
    choices: quizzes.map((q) => ({ name: `${q.lesson} · ${q.title}`, value: q })),
    pageSize: quizzes.length,
  });
}

main(async () => {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (args.length > 1) throw new UserError(`expected at most one lesson number, got: ${args.join(' ')}`, USAGE);

  const numbers = listQuizNumbers();
  const out = new Printer({ color: wantsColor(process.stdout), width: terminalWidth(process.stdout) });
  // Without a terminal, answers are read as lines (a number or a letter each), not as arrow keys.
  const ask = process.stdin.isTTY ? undefined : askByLines(lineReader(process.stdin), (t) => process.stdout.write(t));
  try {
    let quiz: Quiz;
    if (args[0] === undefined) {
      quiz = await pickQuiz(await Promise.all(numbers.map((n) => loadQuiz(n))));
    } else {
      const number = normalizeLessonNumber(args[0]);
      if (number === undefined || !numbers.includes(number)) {
        throw new UserError(`no quiz for lesson "${args[0]}" (quizzes exist for ${numbers.join(' ')})`, USAGE);
      }
      quiz = await loadQuiz(number);
    }
    await runQuiz(quiz, { out, ask });
    return 0;
  } catch (error) {
    if (isPromptExit(error)) {
      out.line();
      out.note('Quiz stopped.');
      return 130;
    }
    throw error;
  }
});
