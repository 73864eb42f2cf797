/**
 * Quoting argv the way a POSIX shell needs it.
 *
 * Every command the workshop runs is an argv array, never a string glued together, so nothing a learner passes
 * (a rootfs path with a space, a hostname with a quote) can change what runs. To *show* a command, though, we
 * print it as a line the learner could paste into a shell and get the same argv: that is what this does.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument so `sh` reads it back as exactly this string. */
export function quoteArg(arg: string): string {
  if (arg === '') return "''";
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A whole argv as one pasteable shell line. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}
