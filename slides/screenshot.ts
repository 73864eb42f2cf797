/**
 * Screenshots of the built deck with headless Chromium, and a look at what is in them.
 *
 * The deck is meant for a projector, so "it builds" is not enough: a slide can build and still come out blank
 * (a diagram that failed to load, a theme that hid the text). These helpers open the single-file deck in the
 * Chromium of the distribution (never a downloaded one), jump to a slide by its number (Marp's HTML deck
 * navigates to `#N`), save a PNG, and measure it: how many colours, how much of it differs from the background.
 *
 * Chromium is started with every flag that keeps it off the network and out of the user's profile.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { execa } from 'execa';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary to use: $CHROMIUM_PATH, else the first distribution path that exists. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return fs.existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
];

export interface Screenshot {
  file: string;
  /** What Chromium printed; page errors show up here as "Uncaught ...". */
  log: string;
}

/** Screenshot slide `slide` (1-based) of a built deck into `outFile`, at 1280×720 like a projector. */
export async function screenshotSlide(
  chromium: string,
  htmlFile: string,
  slide: number,
  outFile: string,
): Promise<Screenshot> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-chromium-'));
  try {
    const url = `${pathToFileURL(htmlFile).href}#${slide}`;
    const r = await execa(
      chromium,
      [
        ...CHROMIUM_FLAGS,
        `--user-data-dir=${profile}`,
        '--window-size=1280,720',
        // Give the deck's script its time to run before the picture is taken, without a wall-clock wait.
        '--virtual-time-budget=3000',
        '--enable-logging=stderr',
        '--v=0',
        `--screenshot=${outFile}`,
        url,
      ],
      { reject: false, timeout: 60_000, all: true },
    );
    if (r.exitCode !== 0 || !fs.existsSync(outFile)) {
      throw new Error(`chromium could not screenshot slide ${slide} (exit ${r.exitCode}):\n${r.all ?? ''}`);
    }
    return { file: outFile, log: r.all ?? '' };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel. */
  pixels: Buffer;
}

/** Decode an 8-bit, non-interlaced RGB or RGBA PNG: what Chromium writes. */
export function decodePng(data: Buffer): Image {
  if (data.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG file');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) {
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (line[x]! + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      out[o] = line[x * channels]!;
      out[o + 1] = line[x * channels + 1]!;
      out[o + 2] = line[x * channels + 2]!;
      out[o + 3] = channels === 4 ? line[x * channels + 3]! : 255;
    }
    prev = line;
  }
  return { width, height, pixels: out };
}

export interface ImageStats {
  width: number;
  height: number;
  /** Distinct RGB colours. A blank page has one; a slide with text has hundreds (anti-aliasing). */
  colours: number;
  /** Share of pixels that differ from the most common colour (the background), 0..1. */
  ink: number;
}

export function imageStats(img: Image): ImageStats {
  const counts = new Map<number, number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const key = (img.pixels[o]! << 16) | (img.pixels[o + 1]! << 8) | img.pixels[o + 2]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  return { width: img.width, height: img.height, colours: counts.size, ink: n === 0 ? 0 : (n - background) / n };
}
