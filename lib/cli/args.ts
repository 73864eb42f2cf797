/**
 * The lesson runner's command line, parsed into plain options (pure, so it is unit-tested).
 *
 *   npm run lesson [NN] [-- --step | --explain | --dry-run] [--no-shell] [--rootfs DIR] [--verbose]
 *
 * npm keeps the flags written before `--` for itself: `npm run lesson 03 --step` reaches the lesson as just
 * `03`, with `npm_config_step=true` in its environment (and a warning from npm that scrolls by). A lesson run
 * for real when the instructor asked for --explain would be the worst outcome, so npm's copies of the lesson's
 * own flags are read back from the environment and honoured, and the runner says to put them after `--`.
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
  /** Run the lesson with the learner's exercise functions (exercises/NN-name.ts) in place of lib's. */
  mine: boolean;
  /** Flags npm took for itself (written before `--`) that were honoured anyway, as the learner typed them. */
  fromNpm: string[];
}

export const OPTIONS = '--step, --explain (or --dry-run), --mine, --no-shell, --rootfs DIR, --verbose';

export const USAGE = `usage: npm run lesson [NN] [-- options]     (lesson options go after --)
  --step              pause before each step (Enter runs it, q stops)
  --explain, --dry-run  print every step and command, run nothing (works on any OS)
  --mine              run it with your exercise (exercises/NN-*.ts) in place of lib's key step
  --no-shell          skip the interactive shell at the end (default when input is not a terminal)
  --rootfs DIR        run the container on another root filesystem (default: the busybox rootfs)
  --verbose           echo every command as it runs, cleanup included`;

const KNOWN = [
  '--step',
  '--explain',
  '--dry-run',
  '--mine',
  '--no-shell',
  '--shell',
  '--rootfs',
  '--verbose',
  '--help',
];

/** The known option nearest to a mistyped one (`--stpe` → `--step`), if one is close. */
export function nearestOption(typed: string): string | undefined {
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  const best = KNOWN.map((k) => [k, distance(typed, k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

/** Node's parseArgs error, as one line of our own (its text has unbalanced quotes once cut to one line). */
function badOption(error: unknown): UserError {
  const text = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(text)?.[1];
  if (unknown) {
    const near = nearestOption(unknown);
    return new UserError(
      `unknown option ${unknown}${near ? ` (did you mean ${near}?)` : ''}`,
      `npm run lesson 01 -- ${near ?? '--step'}   (options: ${OPTIONS})`,
    );
  }
  const needsValue = /Option '(--[a-z-]+)/.exec(text)?.[1];
  if (needsValue) return new UserError(`${needsValue} needs a directory`, `npm run lesson 05 -- ${needsValue} DIR`);
  return new UserError(`bad option: ${text.split('\n')[0]}`, 'npm run lesson -- --help');
}

/**
 * npm's copies of the lesson's flags. Only when npm ran this as `npm run lesson` (npm_lifecycle_event), so a
 * stray variable elsewhere changes nothing. `--rootfs DIR` arrives as npm_config_rootfs=true with DIR left among
 * the positionals.
 */
function npmFlags(env: NodeJS.ProcessEnv): {
  step: boolean;
  explain: boolean;
  noShell: boolean;
  verbose: boolean;
  mine: boolean;
  rootfs: string | undefined;
  typed: string[];
} {
  const flags = {
    step: false,
    explain: false,
    noShell: false,
    verbose: false,
    mine: false,
    rootfs: undefined as string | undefined,
  };
  if (env.npm_lifecycle_event !== 'lesson') return { ...flags, typed: [] };
  const typed: string[] = [];
  const take = (set: boolean, flag: string): boolean => {
    if (set) typed.push(flag);
    return set;
  };
  flags.step = take(env.npm_config_step === 'true', '--step');
  flags.explain = take(env.npm_config_explain === 'true', '--explain');
  flags.explain = take(env.npm_config_dry_run === 'true', '--dry-run') || flags.explain;
  flags.noShell = take(env.npm_config_shell === 'false', '--no-shell');
  flags.verbose = take(env.npm_config_loglevel === 'verbose', '--verbose');
  flags.mine = take(env.npm_config_mine === 'true', '--mine');
  if (env.npm_config_rootfs !== undefined && env.npm_config_rootfs !== '') {
    flags.rootfs = env.npm_config_rootfs;
    typed.push('--rootfs');
  }
  return { ...flags, typed };
}

export function parseLessonArgs(argv: string[], stdinIsTTY: boolean, env: NodeJS.ProcessEnv = {}): LessonArgs {
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
        mine: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw badOption(error);
  }
  const { values } = parsed;
  const positionals = [...parsed.positionals];
  const npm = npmFlags(env);
  let rootfs = values.rootfs;
  if (npm.rootfs !== undefined && rootfs === undefined) {
    // `--rootfs DIR` before `--`: npm kept "--rootfs" (as true) and passed DIR on as if it were a lesson.
    rootfs = npm.rootfs === 'true' ? positionals.splice(1, 1)[0] : npm.rootfs;
    if (rootfs === undefined) throw new UserError('--rootfs needs a directory', 'npm run lesson 05 -- --rootfs DIR');
  }
  if (positionals.length > 1) {
    throw new UserError(`one lesson at a time, got ${positionals.join(' ')}`, 'npm run lesson 01');
  }
  const explain = values.explain || values['dry-run'] || npm.explain;
  const step = values.step || npm.step;
  if (explain && step) throw new UserError('--step and --explain do not go together', 'pick one of them');
  return {
    lesson: positionals[0],
    mode: explain ? 'explain' : step ? 'step' : 'run',
    shell: values.shell || (!values['no-shell'] && !npm.noShell && stdinIsTTY),
    rootfs,
    verbose: values.verbose || npm.verbose,
    help: values.help,
    mine: values.mine || npm.mine,
    fromNpm: npm.typed,
  };
}

/**
 * The same options as lesson runner arguments, e.g. for the sudo re-run: the lesson the picker chose and the
 * flags npm kept are passed on explicitly, so the re-run neither asks again nor loses them (sudo drops npm's
 * environment).
 */
export function lessonArgv(a: LessonArgs, lesson: string): string[] {
  return [
    lesson,
    ...(a.mode === 'explain' ? ['--explain'] : a.mode === 'step' ? ['--step'] : []),
    ...(a.shell ? ['--shell'] : ['--no-shell']),
    ...(a.rootfs !== undefined ? ['--rootfs', a.rootfs] : []),
    ...(a.verbose ? ['--verbose'] : []),
    ...(a.mine ? ['--mine'] : []),
  ];
}
