/**
 * Stack traces of compiled code, pointed back at the TypeScript a learner reads.
 *
 * `ctr` and the lesson runner run as bundles in dist/ (lib/bundle.ts), so a stack frame names a line of
 * `dist/chunk-….mjs`. Each bundle has its source map beside it. Node can apply maps itself
 * (`--enable-source-maps`), but it then reads and parses every map at start-up, on every run, for a stack trace
 * that is printed only when the workshop has a bug. So the mapping is done here, and only then: each frame that
 * names a file in dist/ is looked up in that file's map (node's own `SourceMap` reader), and shown as
 * `lib/runner.ts:212:11`.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, PROJECT_ROOT } from './bundle.ts';

/** `at fn (file:///…/dist/chunk-X.mjs:12:34)` or `at file:///…:12:34`: the location part of a stack frame. */
const FRAME = /((?:file:\/\/)?\/[^\s():]+\.(?:mjs|cjs|js)):(\d+):(\d+)/g;

function loadMap(file: string, cache: Map<string, SourceMap | undefined>): SourceMap | undefined {
  if (!cache.has(file)) {
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as never);
    } catch {
      map = undefined;
    }
    cache.set(file, map);
  }
  return cache.get(file);
}

/** The stack with each location in a dist/ bundle replaced by its place in the .ts source (relative to the project). */
export function mapStack(stack: string): string {
  const cache = new Map<string, SourceMap | undefined>();
  return stack.replace(FRAME, (whole, where: string, line: string, column: string) => {
    const file = where.startsWith('file:') ? fileURLToPath(where) : where;
    if (!file.startsWith(`${DIST}${path.sep}`)) return whole;
    const entry = loadMap(file, cache)?.findEntry(Number(line) - 1, Number(column) - 1) as
      { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (!entry?.originalSource || entry.originalLine === undefined) return whole;
    const source = entry.originalSource.startsWith('file:')
      ? fileURLToPath(entry.originalSource)
      : path.resolve(DIST, entry.originalSource);
    return `${path.relative(PROJECT_ROOT, source)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}
