/**
 * How every command-line entry point ends. This is the only place the workshop calls process.exit: a
 * UserError becomes one line (what is wrong — fix: the command), anything else is a bug and keeps its stack.
 */
import { Chalk } from 'chalk';
import { wantsColor } from '../output.ts';
import { UserError, formatUserError } from '../errors.ts';
import { mapStack } from '../stack-trace.ts';

export interface MainOptions {
  /** The exit code of a user's mistake: 1 for the lessons, 125 for ctr (docker's "the runtime failed"). */
  userErrorExit?: number;
}

export async function main(fn: () => Promise<number | void>, opts: MainOptions = {}): Promise<never> {
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
      // An error that knows its own code (a container's command not found: 127) keeps it.
      const own = (error as UserError & { exitCode?: unknown }).exitCode;
      code = typeof own === 'number' ? own : (opts.userErrorExit ?? 1);
    } else {
      process.stderr.write(`${chalk.red('✘ unexpected error (a bug in the workshop — please report it):')}\n`);
      // Compiled code's frames point at dist/; mapped back to the .ts lines the learner can open.
      process.stderr.write(`${error instanceof Error ? mapStack(error.stack ?? error.message) : String(error)}\n`);
      code = 70;
    }
  }
  process.exit(code);
}
