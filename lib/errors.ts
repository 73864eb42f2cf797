/**
 * Errors a learner can act on.
 *
 * Most things that go wrong in a workshop are not bugs: the rootfs was not built yet, the lesson was started
 * without root, the kernel is too old, a tool is missing. Those become a `UserError`, which carries one line
 * saying what is wrong and the command that fixes it. The lesson runner prints exactly that and exits; it never
 * shows a stack trace for them. Anything else is a real bug and keeps its stack.
 */

export class UserError extends Error {
  /** The command (or short instruction) that fixes the problem, shown after "fix:". */
  readonly fix: string | undefined;

  constructor(message: string, fix?: string) {
    super(message);
    this.name = 'UserError';
    this.fix = fix;
  }
}

/** A command the runner started failed. Carries everything needed to understand why, as execa does. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;

  constructor(opts: {
    argv: readonly string[];
    display: string;
    exitCode: number | undefined;
    signal: string | undefined;
    stdout: string;
    stderr: string;
  }) {
    const how = opts.signal ? `was killed by ${opts.signal}` : `exited with ${opts.exitCode}`;
    const why = opts.stderr.trim().split('\n').slice(-3).join(' | ');
    super(`command ${how}: ${opts.display}${why ? `\n  stderr: ${why}` : ''}`);
    this.name = 'CommandError';
    this.argv = opts.argv;
    this.exitCode = opts.exitCode;
    this.signal = opts.signal;
    this.stdout = opts.stdout;
    this.stderr = opts.stderr;
  }
}

/**
 * A command the workshop needs is not installed, or not on the PATH: the shell's "command not found", exit 127,
 * naming the command, rather than an error about whatever the missing command would have done.
 */
export class CommandNotFoundError extends UserError {
  readonly command: string;
  readonly exitCode = 127;

  constructor(command: string, searchPath: string) {
    super(
      `command not found: ${command} (looked in ${searchPath})`,
      `npm run doctor   (it names the package that provides ${command})`,
    );
    this.name = 'CommandNotFoundError';
    this.command = command;
  }
}

/** The one-line form the runner prints for a user's mistake. */
export function formatUserError(err: UserError): string {
  return err.fix ? `${err.message} — fix: ${err.fix}` : err.message;
}
