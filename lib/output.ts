/**
 * How lessons talk to the learner: headings, prose, the commands about to run, the matching docker command,
 * and evidence from the host and the container side by side.
 *
 * Everything goes through a Printer that writes to a sink (the terminal, or a buffer in tests), so a lesson never
 * calls console.log and tests can read exactly what a learner would see. Lines are kept within 100 columns so
 * they stay readable on a projector.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export const MAX_WIDTH = 100;

export interface PrinterOptions {
  write?: (text: string) => void;
  color?: boolean;
  width?: number;
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

/** Two columns of text, `|`-separated, each clipped to fit; used for host-vs-container evidence. */
export function sideBySide(left: string, right: string, width: number): string[] {
  const col = Math.floor((width - 3) / 2);
  const l = left.replace(/\n$/, '').split('\n');
  const r = right.replace(/\n$/, '').split('\n');
  const rows: string[] = [];
  for (let i = 0; i < Math.max(l.length, r.length); i++) {
    rows.push(`${clip(l[i] ?? '', col).padEnd(col)} │ ${clip(r[i] ?? '', col)}`.trimEnd());
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
 * would read it, so each piece fits in `width`. Lines of a heredoc body are left as they are: a backslash
 * there would change the text.
 */
export function wrapCommand(text: string, width: number): string[] {
  const out: string[] = [];
  let heredocEnd: string | undefined;
  // A quote may span lines (a multi-line `sh -c '...'` script): a line that starts inside one is never wrapped.
  let quote: string | undefined;
  for (const line of text.split('\n')) {
    if (heredocEnd !== undefined) {
      out.push(line);
      if (line === heredocEnd) heredocEnd = undefined;
      continue;
    }
    const startsQuoted = quote !== undefined;
    if (!startsQuoted) heredocEnd = /<<-?\s*'?"?(\w+)'?"?/.exec(line)?.[1];
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
    let current = '';
    for (const w of words) {
      if (current && current.length + 1 + w.length + 2 > width) {
        out.push(`${current} \\`);
        current = `  ${w}`;
      } else current = current ? `${current} ${w}` : w;
    }
    out.push(current);
  }
  return out;
}

export class Printer {
  readonly width: number;
  readonly c: ChalkInstance;
  private readonly sink: (text: string) => void;
  /** The commands the current step announced; the runner's echo of the same line would only repeat it. */
  private readonly announced = new Set<string>();

  constructor(opts: PrinterOptions = {}) {
    this.sink = opts.write ?? ((t) => process.stdout.write(t));
    this.c = new Chalk({ level: opts.color ? 1 : 0 });
    this.width = Math.min(opts.width ?? MAX_WIDTH, MAX_WIDTH);
  }

  line(text = ''): void {
    this.sink(`${text}\n`);
  }

  lessonHeader(number: string, title: string, summary: string): void {
    const bar = '═'.repeat(this.width);
    this.line(this.c.cyan(bar));
    this.line(this.c.bold.cyan(` Lesson ${number} · ${title}`));
    this.line(this.c.cyan(bar));
    for (const l of wrap(summary, this.width, ' ')) this.line(l);
    this.line();
  }

  stepHeader(index: number, total: number, title: string): void {
    this.announced.clear();
    const head = ` Step ${index}/${total} · ${title} `;
    this.line();
    this.line(this.c.bold.yellow(`━━${head}${'━'.repeat(Math.max(0, this.width - head.length - 2))}`));
  }

  prose(text: string): void {
    for (const l of wrap(text, this.width, '  ')) this.line(l);
  }

  docker(command: string): void {
    const [first = '', ...rest] = wrapCommand(command, this.width - 10);
    this.line(`  ${this.c.blue('docker:')} ${this.c.blue(first)}`);
    for (const r of rest) this.line(`          ${this.c.blue(r)}`);
  }

  /** The commands a step is about to run, each as a line a learner could paste. */
  command(line: string): void {
    this.announced.add(line);
    const [first, ...rest] = wrapCommand(line, this.width - 4);
    this.line(`  ${this.c.green('$')} ${this.c.green(first ?? '')}`);
    for (const r of rest) this.line(`    ${this.c.green(r)}`);
  }

  /** A command echoed by the runner as it runs (step mode, --verbose), unless the step already showed it. */
  echo(line: string): void {
    if (this.announced.has(line)) return;
    this.line(this.c.dim(`    ▸ ${clip(line, this.width - 6)}`));
  }

  /** Evidence from the host and from the container, side by side, with the same question asked of both. */
  compare(what: string, host: string, container: string): void {
    this.line(`  ${this.c.bold(what)}`);
    const col = Math.floor((this.width - 5) / 2);
    this.line(`  ${this.c.magenta('host'.padEnd(col))} │ ${this.c.magenta('container')}`);
    this.line(`  ${'─'.repeat(col)}─┼─${'─'.repeat(col)}`);
    for (const row of sideBySide(host, container, this.width - 2)) this.line(`  ${row}`);
  }

  /** Evidence from one side only. */
  evidence(label: string, text: string): void {
    this.line(`  ${this.c.magenta(label)}`);
    for (const l of text.replace(/\n$/, '').split('\n')) this.line(`    ${clip(l, this.width - 4)}`);
  }

  note(text: string): void {
    for (const l of wrap(text, this.width - 2, '  ')) this.line(this.c.italic(`${l}`));
  }

  check(claim: string, ok: boolean, detail?: string): void {
    const mark = ok ? this.c.green('✔') : this.c.red('✘');
    const [first = '', ...rest] = wrap(`${claim}${detail ? ` (${detail})` : ''}`, this.width - 4);
    this.line(`  ${mark} ${first}`);
    for (const r of rest) this.line(`    ${this.c.dim(r)}`);
  }

  warn(text: string): void {
    this.line(this.c.yellow(`! ${text}`));
  }

  error(text: string): void {
    this.line(this.c.red(`✘ ${text}`));
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
