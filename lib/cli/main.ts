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
  /** What `--help` (or `-h`) prints before anything runs; also the fix shown for an option the command lacks. */
  usage?: string;
}

/** node's parseArgs rejects an unknown option or a missing value with these codes: the user's typo, not a bug. */
function parseArgsMistake(error: unknown, usage: string | undefined): UserError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  // Its advice about positionals that start with '-' fits none of the workshop's commands.
  const what = (error as Error).message.split('. To specify')[0]!.replace(/\.$/, '');
  return new UserError(what, usage?.split('\n')[0] ?? 'see the README for this command');
}

export async function main(fn: () => Promise<number | void>, opts: MainOptions = {}): Promise<never> {
  const chalk = new Chalk({ level: wantsColor(process.stderr) ? 1 : 0 });
  let code: number;
  const args = process.argv.slice(2);
  if (opts.usage && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${opts.usage}\n`);
    process.exit(0);
  }
  try {
    code = (await fn()) ?? 0;
  } catch (thrown) {
    const error = parseArgsMistake(thrown, opts.usage) ?? thrown;
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
