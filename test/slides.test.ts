import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLessonFiles, loadLesson } from '../lib/discovery.ts';
import { buildDeck, DECK_DIR, DIST_DIR, inlineDiagrams } from '../slides/build.ts';
import { decodePng, findChromium, imageStats, screenshotSlide } from '../slides/screenshot.ts';

interface Slide {
  /** 1-based, as in the deck's #N navigation. */
  number: number;
  classes: string[];
  html: string;
  text: string;
}

/** The slides of a Marp HTML deck: each is a <section id="N" data-class="..."> inside its own <svg>. */
function parseSlides(html: string): Slide[] {
  return html
    .split('<section id="')
    .slice(1)
    .map((chunk) => {
      const body = chunk.slice(0, chunk.indexOf('</section>'));
      const number = Number(/^(\d+)"/.exec(body)?.[1]);
      const classes = (/data-class="([^"]*)"/.exec(body)?.[1] ?? '').split(/\s+/).filter(Boolean);
      const inner = body.slice(body.indexOf('>') + 1);
      const text = inner
        .replace(/<[^>]+>/g, ' ')
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&')
        .replace(/\s+/g, ' ');
      return { number, classes, html: inner, text };
    });
}

const lessons = listLessonFiles();
const diagrams = fs.readdirSync(path.join(DECK_DIR, 'diagrams')).filter((f) => f.endsWith('.svg'));

let outDir: string;
let htmlFile: string;
let html: string;
let slides: Slide[];

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-slides-'));
  ({ htmlFile } = await buildDeck({ outDir }));
  html = fs.readFileSync(htmlFile, 'utf8');
  slides = parseSlides(html);
}, 120_000);

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

const sectionOf = (n: string) => slides.filter((s) => s.classes.includes(`lesson-${n}`));

describe('npm run slides', () => {
  it('builds one self-contained HTML deck that fetches nothing from the network', () => {
    expect(slides.length).toBeGreaterThan(lessons.length * 3);
    expect(slides.map((s) => s.number)).toEqual(slides.map((_, i) => i + 1));
    // No <script src>, <link href> or <img src> that points off the page (the one licence URL is in a comment).
    expect(html).not.toMatch(/<(script|link|img)\b[^>]*\b(src|href)="(https?:)?\/\//);
  });

  it('inlines every diagram, and no slide shows Markdown that failed to render', () => {
    expect(diagrams.length).toBeGreaterThanOrEqual(4);
    const images = html.match(/<img [^>]*src="data:image\/svg\+xml;base64,/g) ?? [];
    expect(images.length).toBe(diagrams.length);
    for (const s of slides) expect(s.text, `slide ${s.number}`).not.toMatch(/!\[|\]\(|^\s*---\s*$/);
  });

  it.each(lessons.map((l) => [l.number, l] as const))(
    'lesson %s has its section: title, the kernel side, the commands, the docker equivalent, exercises',
    async (number, file) => {
      const lesson = await loadLesson(file);
      const section = sectionOf(number);
      expect(section.length, `slides with class lesson-${number}`).toBeGreaterThanOrEqual(4);
      const [title] = section;
      expect(title!.text).toContain(`Lesson ${number}`);
      // The deck may shorten a title ("chroot" for "chroot: a root filesystem of its own"), not rename it.
      const shortTitle = lesson.title.split(':')[0]!.trim().toLowerCase();
      expect(title!.text.toLowerCase(), `the title slide of lesson ${number} in slides/deck/index.md`).toContain(
        shortTitle,
      );
      expect(section.some((s) => /What the kernel does/.test(s.text))).toBe(true);
      const commands = section.find((s) => /What the lesson runs/.test(s.text));
      expect(commands?.html).toContain('<pre');
      expect(section.some((s) => /docker/.test(s.text))).toBe(true);
      const exercises = section.find((s) => s.classes.includes('try'));
      expect(exercises?.text).toContain('Try this');
      expect(exercises?.html.match(/<li>/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
      // The hands-on exercise, where the lesson has one: the functions to write and the command that starts it.
      for (const name of Object.keys(lesson.exercise?.functions ?? {})) expect(exercises?.text).toContain(name);
      if (lesson.exercise) expect(exercises?.text).toContain(`npm run exercise ${number}`);
    },
  );

  it('the deck tells the whole plan, lessons 00 to 12, in order', () => {
    const order = slides.flatMap((s) => s.classes.flatMap((c) => /^lesson-(\d{2})$/.exec(c)?.[1] ?? []));
    const plan = Array.from({ length: 13 }, (_, i) => String(i).padStart(2, '0'));
    expect([...new Set(order)]).toEqual(plan);
  });

  it('refuses to build a deck that refers to a diagram that does not exist', () => {
    expect(() => inlineDiagrams('![x](diagrams/missing.svg)', DECK_DIR)).toThrow(/missing\.svg/);
  });
});

const chromium = findChromium();
if (!chromium && process.env.CI === 'true') {
  throw new Error('chromium is not installed, and in CI the slide screenshots must run: apt-get install chromium');
}
const headless = chromium
  ? 'the built deck in headless Chromium'
  : 'the built deck in headless Chromium — SKIPPED: chromium not installed (apt-get install chromium)';

describe.skipIf(!chromium)(headless, () => {
  const shotsDir = path.join(DIST_DIR, 'screenshots');

  it('renders the first slide and one slide per lesson: not blank, no page error, each a different picture', async () => {
    fs.rmSync(shotsDir, { recursive: true, force: true });
    fs.mkdirSync(shotsDir, { recursive: true });
    // Per lesson: its diagram if it has one (an image that must load), else its commands (a code block).
    const picks = [
      { name: 'first', slide: slides[0]! },
      ...lessons.map((l) => {
        const section = sectionOf(l.number);
        const slide =
          section.find((s) => s.classes.includes('diagram')) ??
          section.find((s) => /What the lesson runs/.test(s.text)) ??
          section[0]!;
        return { name: `lesson-${l.number}`, slide };
      }),
    ];
    const results: { name: string; slide: number; file: string; log: string }[] = [];
    // A few Chromiums at a time: each is a separate process with its own throw-away profile.
    const queue = [...picks];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let p = queue.shift(); p; p = queue.shift()) {
          const file = path.join(shotsDir, `${p.name}-slide-${p.slide.number}.png`);
          const shot = await screenshotSlide(chromium!, htmlFile, p.slide.number, file);
          results.push({ name: p.name, slide: p.slide.number, ...shot });
        }
      }),
    );

    const hashes = new Set<string>();
    for (const r of results) {
      const stats = imageStats(decodePng(fs.readFileSync(r.file)));
      expect(stats.width, r.name).toBe(1280);
      expect(stats.height, r.name).toBe(720);
      // Text is anti-aliased: a slide with words on it has many colours and a real share of non-background.
      expect(stats.colours, `${r.name}: colours`).toBeGreaterThan(50);
      expect(stats.ink, `${r.name}: share of non-background pixels`).toBeGreaterThan(0.02);
      expect(r.log, `${r.name}: page errors`).not.toMatch(/Uncaught|SyntaxError|ReferenceError|TypeError/);
      hashes.add(crypto.createHash('sha256').update(fs.readFileSync(r.file)).digest('hex'));
    }
    // Different pictures prove the #N navigation reached each slide, instead of showing slide 1 fourteen times.
    expect(hashes.size).toBe(results.length);
    expect(results.length).toBe(lessons.length + 1);
  }, 300_000);
});
