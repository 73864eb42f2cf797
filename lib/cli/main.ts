/**
 * How every command-line entry point ends. This is the only place the workshop calls process.exit: a
 * UserError becomes one line (what is wrong — fix: the command), anything else is a bug and keeps its stack.
 */
import { Chalk } from 'chalk';
import { wantsColor } from '../output.ts';
import { CommandNotFoundError, UserError, formatUserError } from '../errors.ts';

export async function main(fn: () => Promise<number | void>): Promise<never> {
  const chalk = new Chalk({ level: wantsColor(process.stderr) ? 1 : 0 });
  let code: number;
  try {
    code = (await fn()) ?? 0;
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') {
      // Ctrl-C at a question (the lesson picker, a quiz): the learner changed their mind; nothing is wrong.
      code = 130;
    } else if (error instanceof UserError) {
      process.stderr.write(`${chalk.red('✘')} ${formatUserError(error)}\n`);
      // A missing command exits as a shell's would: 127.
      code = error instanceof CommandNotFoundError ? error.exitCode : 1;
    } else {
      process.stderr.write(`${chalk.red('✘ unexpected error (a bug in the workshop — please report it):')}\n`);
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      code = 70;
    }
  }
  process.exit(code);
}
