/**
 * The instructor's deck: `npm run slides` builds it, `npm run slides:serve` previews it while you edit.
 *
 * The deck is one Markdown file, slides/deck/index.md, written for Marp (Markdown slides: `---` separates
 * slides, HTML comments are directives). Each lesson is one section of it, opened by a `<!-- class: lesson-NN -->`
 * directive so every slide of the section carries its lesson number; the slide test relies on that.
 *
 * The built deck must work on a projector laptop with no network, from a USB stick if need be, so the build
 * inlines every diagram (slides/deck/diagrams/*.svg) as a data: URI image and asks Marp for its single-file HTML
 * output. The result is slides/dist/index.html, one file with nothing to fetch.
 *
 * The preview uses Marp's server mode on slides/deck itself (diagrams load from disk there): it converts on
 * each request and reloads the browser when the Markdown changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { marpCli } from '@marp-team/marp-cli';

export const SLIDES_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DECK_DIR = path.join(SLIDES_DIR, 'deck');
export const DECK_FILE = path.join(DECK_DIR, 'index.md');
export const DIST_DIR = path.join(SLIDES_DIR, 'dist');

const IMAGE = /!\[([^\]]*)\]\(([^)\s]+\.svg)\)/g;

/**
 * Replace every `![alt](some.svg)` with the same image as a data: URI, so the deck needs no file beside it.
 * Paths are relative to `baseDir`; a missing file is an error, not a broken image on the projector.
 */
export function inlineDiagrams(markdown: string, baseDir: string): string {
  return markdown.replace(IMAGE, (_match, alt: string, ref: string) => {
    const file = path.resolve(baseDir, ref);
    if (!fs.existsSync(file)) throw new Error(`the deck refers to ${ref}, but ${file} does not exist`);
    const data = fs.readFileSync(file).toString('base64');
    // An <img> tag, not ![](data:...): markdown-it refuses data:image/svg+xml links as unsafe and would print the
    // Markdown as text. The deck is built with --html, so the tag passes through as written.
    return `<img alt="${alt.replace(/"/g, '&quot;')}" src="data:image/svg+xml;base64,${data}">`;
  });
}

export interface BuildResult {
  /** The self-contained HTML deck. */
  htmlFile: string;
  /** The Markdown Marp converted, diagrams inlined. */
  markdownFile: string;
}

/** Build the deck into `outDir` (slides/dist by default). */
export async function buildDeck(opts: { outDir?: string; deckFile?: string } = {}): Promise<BuildResult> {
  const outDir = opts.outDir ?? DIST_DIR;
  const deckFile = opts.deckFile ?? DECK_FILE;
  fs.mkdirSync(outDir, { recursive: true });
  const markdownFile = path.join(outDir, 'deck.md');
  const htmlFile = path.join(outDir, 'index.html');
  fs.writeFileSync(markdownFile, inlineDiagrams(fs.readFileSync(deckFile, 'utf8'), path.dirname(deckFile)));
  // --html: the deck is ours, and a few slides use <div> for two columns. --no-stdin: never wait on a pipe.
  // The progress bar tells the room how far into the deck we are.
  const args = [markdownFile, '--html', '--no-stdin', '--bespoke.progress', '--output', htmlFile];
  const status = await marpCli(args);
  if (status !== 0) throw new Error(`marp exited with ${status} while building ${deckFile}`);
  return { htmlFile, markdownFile };
}

/** Serve slides/deck with live reload until Ctrl-C. */
export async function serveDeck(port: number): Promise<number> {
  process.env.PORT = String(port);
  console.log(
    `Deck preview: http://localhost:${port}/  (edit ${path.relative(process.cwd(), DECK_FILE)}; Ctrl-C stops)`,
  );
  return marpCli(['--server', '--html', '--no-stdin', DECK_DIR]);
}

async function cli(argv: string[]): Promise<number> {
  if (argv.includes('--serve')) {
    const portArg = argv[argv.indexOf('--port') + 1];
    return serveDeck(argv.includes('--port') && portArg ? Number(portArg) : 8080);
  }
  const { htmlFile } = await buildDeck();
  console.log(
    `Deck built: ${path.relative(process.cwd(), htmlFile)} (one self-contained file; open it in any browser)`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { main } = await import('../lib/cli/main.ts');
  await main(() => cli(process.argv.slice(2)));
}
