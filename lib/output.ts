/**
 * How lessons talk to the learner: headings, prose, the commands about to run, the matching docker command,
 * and evidence from the host and the container side by side.
 *
 * Everything goes through a Printer that writes to a sink (the terminal, or a buffer in tests), so a lesson never
 * calls console.log and tests can read exactly what a learner would see. Lines are kept within the terminal's
 * width, and never wider than 100 columns, so they stay readable on a projector (an 80-column pane included):
 * prose wraps at words, commands at argument boundaries, and evidence wraps inside its column rather than being
 * cut, because the evidence is often the exact text the prose points at.
 *
 * Colours: only those that read well on a light theme (which projectors need) as well as on a dark one — the
 * terminal's own foreground, bold, green, red and magenta; never yellow, cyan, blue or dim text. `NO_COLOR`
 * turns them all off.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { quoteArg } from './quote.ts';

export const MAX_WIDTH = 100;
/** Below this a terminal is not worth adapting to: lines are laid out for this many columns instead. */
export const MIN_WIDTH = 60;

export interface PrinterOptions {
  write?: (text: string) => void;
  color?: boolean;
  width?: number;
  /** While this returns false, nothing is printed (a lesson that is stopping keeps its steps quiet). */
  gate?: () => boolean;
}

/**
 * The width to lay output out for: the terminal's columns (or $COLUMNS when output is not a terminal), at most
 * 100, at least MIN_WIDTH; 100 when neither says.
 */
export function terminalWidth(
  stream: { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv = process.env,
): number {
  const fromEnv = Number(env.COLUMNS);
  const cols = stream.isTTY && stream.columns ? stream.columns : Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 0;
  if (!cols) return MAX_WIDTH;
  return Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, cols));
}

/**
 * The colours of the terminal prompts (the lesson picker, the --step pause, quiz questions): inquirer's own
 * defaults are cyan and blue, which a light projector theme washes out, so they get the lessons' colours.
 */
export function promptTheme(color: boolean) {
  const c = new Chalk({ level: color ? 1 : 0 });
  return {
    prefix: { idle: c.magenta('?'), done: c.green('✔') },
    style: {
      answer: (t: string) => c.green(t),
      message: (t: string) => c.bold(t),
      error: (t: string) => c.red(t),
      defaultAnswer: (t: string) => t,
      help: (t: string) => t,
      highlight: (t: string) => c.bold.magenta(t),
      key: (t: string) => c.bold(t),
      description: (t: string) => t,
      disabled: (t: string) => t,
    },
  };
}

/** Tabs as the terminal shows them (to the next multiple of 8), so columns line up: /proc's NSpid has tabs. */
export function expandTabs(line: string): string {
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}

/** Wrap prose to `width` columns, keeping blank lines between paragraphs. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  for (const para of text.trim().split(/\n\s*\n/)) {
    if (out.length > 0) out.push('');
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && indent.length + line.length + 1 + word.length > width) {
        out.push(indent + line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) out.push(indent + line);
  }
  return out;
}

/** Cut a line to `width` columns, marking the cut. */
export function clip(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * Break one line of evidence into pieces of at most `width` columns without losing a character: after a space
 * or a `/` where there is one (paths and messages stay readable), else exactly at the width. Joined back, the
 * pieces are the line (spaces at a break are kept at the end of the piece before it).
 */
export function wrapCell(line: string, width: number): string[] {
  const text = expandTabs(line);
  if (width < 1 || text.length <= width) return [text];
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const window = rest.slice(0, width + 1);
    const at = Math.max(window.lastIndexOf(' '), window.slice(0, width).lastIndexOf('/'));
    const cut = at >= width / 3 ? at + 1 : width;
    pieces.push(rest.slice(0, Math.min(cut, width)));
    rest = rest.slice(Math.min(cut, width));
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Two columns of text, `│`-separated, for host-vs-container evidence. A line too long for its column wraps
 * inside it, continuing on the next rows, so nothing is cut.
 */
export function sideBySide(left: string, right: string, width: number): string[] {
  const col = Math.floor((width - 3) / 2);
  const l = left.replace(/\n$/, '').split('\n');
  const r = right.replace(/\n$/, '').split('\n');
  const rows: string[] = [];
  for (let i = 0; i < Math.max(l.length, r.length); i++) {
    const lp = wrapCell(l[i] ?? '', col);
    const rp = wrapCell(r[i] ?? '', col);
    for (let j = 0; j < Math.max(lp.length, rp.length); j++) {
      rows.push(`${(lp[j] ?? '').padEnd(col)} │ ${rp[j] ?? ''}`.trimEnd());
    }
  }
  return rows;
}

/** Colour when writing to a terminal, unless FORCE_COLOR says otherwise (FORCE_COLOR=0 off, 1 on); NO_COLOR off. */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return !!stream.isTTY;
}

/** Pack short items (file names) into as few lines as fit in `width`, like `ls` does at a terminal. */
export function columns(items: readonly string[], width: number): string {
  const colWidth = Math.max(...items.map((i) => i.length), 1) + 2;
  const perLine = Math.max(1, Math.floor((width + 2) / colWidth));
  const rows: string[] = [];
  for (let i = 0; i < items.length; i += perLine) {
    rows.push(
      items
        .slice(i, i + perLine)
        .map((x) => x.padEnd(colWidth))
        .join('')
        .trimEnd(),
    );
  }
  return rows.join('\n');
}

/**
 * Break a long shell line at argument boundaries (never inside quotes), continuing with ` \\` as a shell
 * would read it, so each piece fits in `width`. A heredoc body (init.sh) is a script that sh reads later, and
 * sh reads a ` \\` continuation there the same way — except in a comment, which ends at the newline, so comment
 * lines (and the heredoc's end marker) are never broken.
 */
export function wrapCommand(text: string, width: number): string[] {
  const out: string[] = [];
  let heredocEnd: string | undefined;
  // A quote may span lines (a multi-line `sh -c '...'` script): a line that starts inside one is never wrapped.
  let quote: string | undefined;
  for (const line of text.split('\n')) {
    if (heredocEnd !== undefined && line === heredocEnd) {
      out.push(line);
      heredocEnd = undefined;
      continue;
    }
    const startsQuoted = quote !== undefined;
    if (!startsQuoted && line.trimStart().startsWith('#')) {
      out.push(line);
      continue;
    }
    if (!startsQuoted && heredocEnd === undefined) heredocEnd = /<<-?\s*'?"?(\w+)'?"?/.exec(line)?.[1];
    const words: string[] = [];
    let word = '';
    for (const ch of line) {
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === ' ') {
        if (word) words.push(word);
        word = '';
        continue;
      }
      word += ch;
    }
    if (word) words.push(word);
    if (line.length <= width || startsQuoted) {
      out.push(line);
      continue;
    }
    const indent = /^ */.exec(line)?.[0] ?? '';
    let current = '';
    for (const w of words) {
      if (current && current.length + 1 + w.length + 2 > width) {
        out.push(`${current} \\`);
        current = `${indent}  ${w}`;
      } else current = current ? `${current} ${w}` : `${indent}${w}`;
    }
    out.push(current);
  }
  return out;
}

export class Printer {
  readonly width: number;
  readonly c: ChalkInstance;
  private readonly color: boolean;
  private readonly sink: (text: string) => void;
  private readonly gate: () => boolean;
  /** The commands the current step announced; the runner's echo of the same line would only repeat it. */
  private readonly announced = new Set<string>();
  /** Files a step wrote with a heredoc (init.sh → its text): an echoed command that inlines one names the file. */
  private readonly files = new Map<string, string>();

  constructor(opts: PrinterOptions = {}) {
    this.sink = opts.write ?? ((t) => process.stdout.write(t));
    this.color = opts.color ?? false;
    this.c = new Chalk({ level: this.color ? 1 : 0 });
    this.width = Math.max(Math.min(opts.width ?? MAX_WIDTH, MAX_WIDTH), 20);
    this.gate = opts.gate ?? (() => true);
  }

  /** A printer writing to the same place, in the same width and colours, that prints only while `open()`. */
  gated(open: () => boolean): Printer {
    return new Printer({ write: this.sink, color: this.color, width: this.width, gate: () => open() && this.gate() });
  }

  line(text = ''): void {
    if (this.gate()) this.sink(`${text}\n`);
  }

  lessonHeader(number: string, title: string, summary: string): void {
    const bar = '═'.repeat(this.width);
    this.line(this.c.bold(bar));
    this.line(this.c.bold(` Lesson ${number} · ${title}`));
    this.line(this.c.bold(bar));
    for (const l of wrap(summary, this.width, ' ')) this.line(l);
    this.line();
  }

  stepHeader(index: number, total: number, title: string): void {
    this.announced.clear();
    const prefix = `━━ Step ${index}/${total} · `;
    const [first = '', ...rest] = wrap(title, this.width - prefix.length - 1);
    const head = `${prefix}${first} `;
    this.line();
    this.line(this.c.bold(`${head}${'━'.repeat(Math.max(0, this.width - head.length))}`));
    for (const r of rest) this.line(this.c.bold(`${' '.repeat(prefix.length)}${r}`));
  }

  prose(text: string): void {
    for (const l of wrap(text, this.width, '  ')) this.line(l);
  }

  /** The matching docker command; a note after it (`   (…)` or `   # …`) wraps as prose, not as shell words. */
  docker(command: string): void {
    const at = command.search(/ {2,}[(#]/);
    const [cmd, note] = at > 0 ? [command.slice(0, at), command.slice(at).trim()] : [command, ''];
    const lines = wrapCommand(cmd, this.width - 10);
    if (note) {
      const last = lines.pop() ?? '';
      const tail = wrap(`${last.trimStart()}   ${note}`, this.width - 10 - (last.length - last.trimStart().length));
      lines.push(
        ...tail.map((t, i) => (i === 0 ? `${last.slice(0, last.length - last.trimStart().length)}${t}` : `  ${t}`)),
      );
    }
    const [first = '', ...rest] = lines;
    this.line(`  ${this.c.magenta('docker:')} ${first}`);
    for (const r of rest) this.line(`          ${r}`);
  }

  /** The commands a step is about to run, each as a line a learner could paste. */
  command(line: string): void {
    this.announced.add(line);
    const file = heredocFile(line);
    if (file) this.files.set(file.name, file.content);
    const [first, ...rest] = wrapCommand(line, this.width - 4);
    this.line(`  ${this.c.green.bold('$')} ${first ?? ''}`);
    for (const r of rest) this.line(`    ${r}`);
  }

  /**
   * A command echoed by the runner as it runs (step mode, --verbose), unless the step already showed it. A
   * script the step wrote to a file (init.sh) is shown as `"$(cat init.sh)"`, as the step showed it, rather
   * than spelled out again.
   */
  echo(line: string): void {
    let shown = line;
    for (const [name, content] of this.files) shown = shown.replaceAll(quoteArg(content), `"$(cat ${name})"`);
    if (this.announced.has(shown) || this.announced.has(`${shown} &`)) return;
    const [first = '', ...rest] = wrapCommand(shown, this.width - 6);
    this.line(`    ▸ ${first}`);
    for (const r of rest) this.line(`      ${r}`);
  }

  /**
   * Evidence from the host and from the container, side by side, with the same question asked of both; `titles`
   * names the columns when they are two containers instead (before and after a change).
   */
  compare(
    what: string,
    host: string,
    container: string,
    titles: readonly [string, string] = ['host', 'container'],
  ): void {
    this.line(`  ${this.c.bold(what)}`);
    const col = Math.floor((this.width - 5) / 2);
    this.line(`  ${this.c.magenta(titles[0].padEnd(col))} │ ${this.c.magenta(titles[1])}`);
    this.line(`  ${'─'.repeat(col)}─┼─${'─'.repeat(col)}`);
    for (const row of sideBySide(host, container, this.width - 2)) this.line(`  ${row}`);
  }

  /** Evidence from one side only; a line too long for the screen wraps, continuing indented. */
  evidence(label: string, text: string): void {
    for (const [i, l] of wrap(label, this.width - 2).entries())
      this.line(`  ${i === 0 ? '' : '  '}${this.c.magenta(l)}`);
    for (const l of text.replace(/\n$/, '').split('\n')) {
      for (const [i, piece] of wrapCell(l, this.width - 6).entries()) this.line(`    ${i === 0 ? '' : '  '}${piece}`);
    }
  }

  note(text: string): void {
    for (const l of wrap(text, this.width - 2, '  ')) this.line(this.c.italic(`${l}`));
  }

  check(claim: string, ok: boolean, detail?: string): void {
    const mark = ok ? this.c.green('✔') : this.c.red('✘');
    const [first = '', ...rest] = wrap(`${claim}${detail ? ` (${detail})` : ''}`, this.width - 4);
    this.line(`  ${mark} ${first}`);
    for (const r of rest) this.line(`    ${r}`);
  }

  warn(text: string): void {
    for (const [i, l] of wrap(text, this.width - 2).entries()) this.line(this.c.bold(`${i === 0 ? '!' : ' '} ${l}`));
  }

  error(text: string): void {
    for (const [i, l] of wrap(text, this.width - 2).entries()) this.line(this.c.red(`${i === 0 ? '✘' : ' '} ${l}`));
  }

  recap(saw: readonly string[], next: string): void {
    this.line();
    this.line(this.c.bold(' What you just saw'));
    for (const s of saw)
      for (const [i, l] of wrap(s, this.width - 4, '    ').entries()) this.line(i === 0 ? `  •${l.slice(3)}` : l);
    this.line();
    this.line(this.c.bold(' What is next'));
    for (const l of wrap(next, this.width, '  ')) this.line(l);
  }
}

/** `cat > NAME <<'EOF' … EOF`, the way a step writes a file (init.sh): its name and text. */
export function heredocFile(shown: string): { name: string; content: string } | undefined {
  const m = /^cat > (\S+) <<'(\w+)'\n([\s\S]*)\n(\w+)$/.exec(shown);
  return m?.[1] && m[3] !== undefined && m[2] === m[4] ? { name: m[1], content: m[3] } : undefined;
}
