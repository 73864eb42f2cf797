/**
 * The lesson runner's command line, parsed into plain options (pure, so it is unit-tested).
 *
 *   npm run lesson [NN] [-- --step | --explain | --dry-run] [--no-shell] [--rootfs DIR] [--verbose]
 */
import { parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import type { Mode } from '../lesson.ts';

export interface LessonArgs {
  /** What the learner typed for the lesson ("5", "05", "05-cgroups"); undefined opens the picker. */
  lesson: string | undefined;
  mode: Mode;
  /** Offer the interactive shell at the end. */
  shell: boolean;
  rootfs: string | undefined;
  /** Echo every command as it runs, including cleanup. */
  verbose: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run lesson [NN] [-- options]
  --step              pause before each step (Enter runs it, q stops)
  --explain, --dry-run  print every step and command, run nothing (works on any OS)
  --no-shell          skip the interactive shell at the end (default when input is not a terminal)
  --rootfs DIR        run the container on another root filesystem (default: the busybox rootfs)
  --verbose           echo every command as it runs, cleanup included`;

export function parseLessonArgs(argv: string[], stdinIsTTY: boolean): LessonArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        step: { type: 'boolean', default: false },
        explain: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        'no-shell': { type: 'boolean', default: false },
        shell: { type: 'boolean', default: false },
        rootfs: { type: 'string' },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`bad option: ${why}`, 'npm run lesson -- --help');
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new UserError(`one lesson at a time, got ${positionals.join(' ')}`, 'npm run lesson 01');
  }
  const explain = values.explain || values['dry-run'];
  if (explain && values.step) throw new UserError('--step and --explain do not go together', 'pick one of them');
  return {
    lesson: positionals[0],
    mode: explain ? 'explain' : values.step ? 'step' : 'run',
    shell: values.shell || (!values['no-shell'] && stdinIsTTY),
    rootfs: values.rootfs,
    verbose: values.verbose,
    help: values.help,
  };
}
