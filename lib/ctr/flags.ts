/**
 * docker-style command-line flags, parsed by one small pure function.
 *
 * `docker run -it --rm -e A=1 --name web busybox sh -c 'echo hi'` has rules Node's parseArgs does not follow:
 * flags come before the first positional argument (the image), and everything from there on belongs to the
 * container's command, dashes included; short flags combine (`-it`, `-dit`); a value may follow with a space or an
 * `=` (`--name web`, `--name=web`, `-e=A=1`), and some flags repeat (`-e`). Every mistake is one UserError line
 * that names the flag and the help to read.
 */
import { UserError } from '../errors.ts';

export interface FlagSpec {
  /** Long name without dashes: `name`. */
  name: string;
  short?: string;
  /** Takes a value (`--name web`); otherwise a switch (`--rm`). */
  value?: boolean;
  /** May be given more than once; the values are collected in order (`-e A=1 -e B=2`). */
  multiple?: boolean;
  /** What it does, for --help. */
  help: string;
  /** The value's placeholder in --help: `NAME`. */
  arg?: string;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  flags: FlagValues;
  /** The positional arguments: for `run`, the image and the command after it, untouched. */
  rest: string[];
}

/**
 * Parse `argv` with these flags. With `interspersed` false (run, exec), parsing stops at the first positional:
 * `ctr run busybox ls -l` leaves `-l` to ls. `--help` anywhere before that sets flags.help.
 */
export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
  interspersed = false,
): Parsed {
  const flags: FlagValues = {};
  const rest: string[] = [];
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const fix = `ctr ${command} --help`;
  const set = (spec: FlagSpec, value: string | true) => {
    if (spec.multiple) flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), String(value)];
    else flags[spec.name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!interspersed) {
        rest.push(...argv.slice(i));
        break;
      }
      rest.push(arg);
      continue;
    }
    const takeValue = (spec: FlagSpec, inline: string | undefined, shown: string): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new UserError(`flag ${shown} needs a value (${spec.arg ?? 'VALUE'})`, fix);
      i++;
      return next;
    };
    if (arg.startsWith('--')) {
      const [name = '', inline] = splitOnce(arg.slice(2), '=');
      const spec = byLong.get(name);
      if (!spec) throw new UserError(`unknown flag: --${name}`, fix);
      if (spec.value) set(spec, takeValue(spec, inline, `--${name}`));
      else if (inline !== undefined) throw new UserError(`flag --${name} takes no value`, fix);
      else set(spec, true);
      continue;
    }
    // Short flags: `-it` is -i -t; the first one that takes a value takes the rest of the word, or the next word.
    const letters = arg.slice(1);
    for (let j = 0; j < letters.length; j++) {
      const letter = letters[j] ?? '';
      const spec = byShort.get(letter);
      if (!spec) throw new UserError(`unknown flag: -${letter}${letters.length > 1 ? ` (in ${arg})` : ''}`, fix);
      if (spec.value) {
        const inline = letters.slice(j + 1).replace(/^=/, '');
        set(spec, takeValue(spec, inline === '' ? undefined : inline, `-${letter}`));
        break;
      }
      set(spec, true);
    }
  }
  return { flags, rest };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** The flag table as help text, one flag a line. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.value ? ` ${s.arg ?? 'VALUE'}` : ''}`;
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n');
}

export const str = (v: FlagValues[string]): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: FlagValues[string]): string[] => (Array.isArray(v) ? v : []);
export const bool = (v: FlagValues[string]): boolean => v === true;
