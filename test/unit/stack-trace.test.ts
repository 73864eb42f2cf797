import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CTR_BUNDLE, DIST, ensureBundle, PROJECT_ROOT } from '../../lib/bundle.ts';
import { mapStack } from '../../lib/stack-trace.ts';

/** The 1-based line of the first line of `file` that contains `needle`. */
function lineOf(file: string, needle: string): number {
  return (
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(needle)) + 1
  );
}

describe('a stack trace of the compiled code', () => {
  it('names the line of the .ts file the learner reads, not the line of the bundle', async () => {
    const bundle = await ensureBundle(CTR_BUNDLE);
    const compiled = lineOf(bundle, 'function toolPath(');
    expect(compiled).toBeGreaterThan(0);
    const stack = `Error: boom\n    at toolPath (${pathToFileURL(bundle).href}:${compiled}:1)\n    at node:internal/x:1:1`;
    const source = lineOf(path.join(PROJECT_ROOT, 'lib/runner.ts'), 'export function toolPath(');
    const mapped = mapStack(stack);
    expect(mapped).toContain(`at toolPath (lib/runner.ts:${source}:`);
    expect(mapped).toContain('node:internal/x:1:1');
  });

  it('leaves frames outside dist/ as they are', () => {
    const stack = `Error: boom\n    at f (/usr/lib/node_modules/x/index.js:3:4)\n    at g (${DIST}/missing.mjs:1:1)`;
    expect(mapStack(stack)).toBe(stack);
  });
});
