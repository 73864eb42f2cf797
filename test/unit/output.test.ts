/**
 * What a learner reads: within the terminal's width (80 columns included), colours that read on a light
 * projector theme as on a dark one, evidence wrapped inside its column rather than cut.
 */
import { describe, expect, it } from 'vitest';
import { Printer, promptTheme, sideBySide, terminalWidth, wantsColor, wrapCell } from '../../lib/output.ts';
import { quoteArg } from '../../lib/quote.ts';

const LONG = `cat: can't open './run/scratch/01ab12/host-only.txt': No such file or directory, and more text after it`;

function everyKindOfLine(out: Printer): void {
  out.lessonHeader('05', 'cgroups: memory, pids and CPU limits', 'word '.repeat(60));
  out.docker(`docker run --memory 32m --memory-swap 32m --pids-limit 20 --cpus 0.2 busybox sh -c 'x'`);
  out.stepHeader(3, 8, 'Start a container inside it, with a title long enough to matter here');
  out.prose('word '.repeat(80));
  out.command(
    `env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root ${'arg '.repeat(20)}`,
  );
  out.echo(`umount /var/lib/scratch/rootfs/busybox/proc ${'x '.repeat(40)}`);
  out.compare('the same sleep, seen from each side', `NSpid:\t16297\t1\n${LONG}`, LONG);
  out.evidence('a label that is rather long, long enough to wrap at eighty columns for certain, yes', LONG);
  out.note('word '.repeat(40));
  out.check('a claim '.repeat(12), true, 'detail');
  out.check('a claim', false);
  out.warn('SIGINT: stopping the lesson and cleaning up '.repeat(3));
  out.error('something failed '.repeat(8));
  out.recap(['saw '.repeat(40)], 'next '.repeat(40));
}

const ESC = String.fromCharCode(27);

describe('the width of the output', () => {
  it('follows the terminal down to 80 columns, and keeps 100 above 100', () => {
    expect(terminalWidth({ isTTY: true, columns: 80 }, {})).toBe(80);
    expect(terminalWidth({ isTTY: true, columns: 91 }, {})).toBe(91);
    expect(terminalWidth({ isTTY: true, columns: 200 }, {})).toBe(100);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: '80' })).toBe(80);
    expect(terminalWidth({ isTTY: false }, {})).toBe(100);
    expect(terminalWidth({ isTTY: true, columns: 0 }, {})).toBe(100);
  });

  for (const width of [80, 100]) {
    it(`every kind of line fits in ${width} columns`, () => {
      const text: string[] = [];
      everyKindOfLine(new Printer({ write: (t) => text.push(t), width }));
      const lines = text.join('').split('\n');
      expect(lines.filter((l) => [...l].length > width).map((l) => `${[...l].length}: ${l}`)).toEqual([]);
      expect(lines.some((l) => [...l].length > width - 10)).toBe(true); // it did use the width
    });
  }
});

describe('colours', () => {
  it('uses none that are hard to read on white: no yellow, cyan, blue, grey or dim text', () => {
    const text: string[] = [];
    everyKindOfLine(new Printer({ write: (t) => text.push(t), color: true }));
    const codes = [...text.join('').matchAll(new RegExp(`${ESC}\\[(\\d+)m`, 'g'))].map((m) => Number(m[1]));
    expect(codes.length).toBeGreaterThan(10); // colour is on
    expect(codes.filter((c) => [2, 33, 34, 36, 90, 93, 94, 96].includes(c))).toEqual([]);
  });

  it("the prompts (picker, --step pause, quiz) use the same readable colours, not inquirer's cyan and blue", () => {
    const theme = promptTheme(true);
    const painted = [theme.prefix.idle, theme.prefix.done, ...Object.values(theme.style).map((f) => f('text'))].join(
      '',
    );
    const codes = [...painted.matchAll(new RegExp(`${ESC}\\[(\\d+)m`, 'g'))].map((m) => Number(m[1]));
    expect(codes.length).toBeGreaterThan(5);
    expect(codes.filter((c) => [2, 33, 34, 36, 90, 93, 94, 96].includes(c))).toEqual([]);
  });

  it('NO_COLOR turns colour off even where FORCE_COLOR or a terminal would turn it on', () => {
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor({ isTTY: false }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
  });
});

describe('evidence side by side', () => {
  it('wraps a long line inside its column instead of cutting the text the prose points at', () => {
    const fork = `sh: can't fork: Resource temporarily unavailable (and then some more)`;
    const rows = sideBySide(LONG, fork, 80);
    const col = Math.floor((80 - 3) / 2);
    const squeeze = (t: string) => t.replace(/\s+/g, '');
    expect(squeeze(rows.map((r) => r.slice(0, col)).join(''))).toBe(squeeze(LONG));
    expect(squeeze(rows.map((r) => r.slice(col + 3)).join(''))).toBe(squeeze(fork));
    expect(rows.join('\n')).not.toContain('…');
    expect(Math.max(...rows.map((r) => r.length))).toBeLessThanOrEqual(80);
  });

  it('expands tabs (NSpid has them), so the divider stays in its column', () => {
    const rows = sideBySide('NSpid:\t16297\t1\nPID 1', 'a\nb', 80);
    const bars = rows.map((r) => r.indexOf('│'));
    expect(new Set(bars).size).toBe(1);
    expect(rows[0]).not.toContain('\t');
  });

  it('never drops a character when it wraps', () => {
    for (const line of [LONG, 'x'.repeat(250), `/a/${'very-long-directory-name/'.repeat(6)}file`]) {
      expect(wrapCell(line, 37).join('')).toBe(line);
      expect(Math.max(...wrapCell(line, 37).map((p) => p.length))).toBeLessThanOrEqual(37);
    }
  });
});

describe('echoed commands in --step', () => {
  it('name init.sh instead of printing its forty lines again', () => {
    const text: string[] = [];
    const out = new Printer({ write: (t) => text.push(t) });
    const script = 'set -eu\nroot=$1\nshift 1\nexec chroot "$root" "$@"';
    out.stepHeader(1, 1, 's');
    out.command(`cat > init.sh <<'EOF'\n${script}\nEOF`);
    out.command(`unshare --uts -- sh -c "$(cat init.sh)" scr-init /r sleep 3600 &`);
    out.echo(`unshare --uts -- sh -c ${quoteArg(script)} scr-init /r sleep 3600`); // as announced: silent
    out.echo(`unshare --uts -- sh -c ${quoteArg(script)} scr-init /r sh -l`);
    const shown = text.join('');
    expect(shown).toContain('▸ unshare --uts -- sh -c "$(cat init.sh)" scr-init /r sh -l');
    expect(shown.split('exec chroot').length).toBe(2); // the script itself: once, in the heredoc
    expect(shown).not.toContain('▸ unshare --uts -- sh -c "$(cat init.sh)" scr-init /r sleep 3600');
  });
});
