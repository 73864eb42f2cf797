/**
 * The instructor's guide and the deck plan talks with the lessons that exist: a planned lesson is marked as
 * planned wherever a plan or a command leads to it, so no plan ends in "there is no lesson 08".
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLessonFiles } from '../../lib/discovery.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const guide = fs.readFileSync(path.join(ROOT, 'slides', 'INSTRUCTOR.md'), 'utf8');
const deck = fs.readFileSync(path.join(ROOT, 'slides', 'deck', 'index.md'), 'utf8');
const existing = new Set(listLessonFiles().map((f) => f.number));

/** ctr exists once its command line does (it grows with the lessons; lesson 07 runs its image commands). */
const ctrExists = existing.has('12') || fs.existsSync(path.join(ROOT, 'bin', 'ctr.mjs'));

/** `npm run lesson NN` for a lesson that is not in lessons/, or `npm run ctr` where there is no ctr yet. */
function leadsNowhere(text: string): string[] {
  const missing = [...text.matchAll(/npm run lesson (\d{2})\b/g)].map((m) => m[1]!).filter((n) => !existing.has(n));
  const ctr = ctrExists ? [] : [...text.matchAll(/npm run ctr\b/g)].map(() => 'ctr');
  return [...missing, ...ctr];
}

describe('slides/INSTRUCTOR.md', () => {
  it("the timing table says which lessons are here: ✔ for each lesson file, 'planned' for the rest", () => {
    const rows = guide.split('\n').filter((l) => /^\| \d{2} \|/.test(l));
    expect(rows.length).toBe(13);
    for (const row of rows) {
      const [, number, , here] = row.split('|').map((c) => c.trim());
      expect(here, `lesson ${number}`).toBe(existing.has(number!) ? '✔' : 'planned');
    }
  });

  it('the 90-minute talk demos only lessons that exist; whatever else it names is marked planned', () => {
    const talk = /\*\*90-minute talk\*\*: ([^*]*?) in `--step` mode/.exec(guide)?.[1] ?? '';
    const demoed = [...talk.matchAll(/\b\d{2}\b/g)].map((m) => m[0]);
    expect(demoed.length).toBeGreaterThan(2);
    expect(demoed.filter((n) => !existing.has(n))).toEqual([]);
  });

  it('every paragraph or row that runs a lesson not written yet (or npm run ctr) says it is planned', () => {
    for (const block of guide.split(/\n\s*\n|\n(?=\|)/)) {
      if (leadsNowhere(block).length > 0) expect(block, block).toMatch(/planned/);
    }
  });
});

describe('the deck', () => {
  it('a slide that shows a lesson or command not written yet says it is planned', () => {
    for (const slide of deck.split(/\n---\n/)) {
      if (leadsNowhere(slide).length > 0) expect(slide.slice(0, 300), slide).toMatch(/planned/i);
    }
  });

  it('the title slide of each lesson that is not here yet says so', () => {
    for (const m of deck.matchAll(/^# Lesson (\d{2}) · .*\n\n(.*)$/gm)) {
      if (!existing.has(m[1]!)) expect(m[2], `lesson ${m[1]}`).toMatch(/^\*Planned: /);
    }
  });
});
