/**
 * The shape of lib/ (STYLE.md): no module imports itself back through others — not even for types — so each can
 * be read, tested and replaced on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = path.resolve(import.meta.dirname, '../../lib');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Each file's relative imports (static `import … from './x.ts'`, types included), as absolute paths. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(LIB)) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)].map((m) =>
      path.resolve(path.dirname(file), m[1] ?? ''),
    );
    g.set(file, deps);
  }
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      if (state.get(d) === 'open') found.push(stack.slice(stack.indexOf(d)).map((f) => path.relative(LIB, f)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('lib/', () => {
  it('has no import cycles, type-only imports included', () => {
    expect(cycles(graph())).toEqual([]);
  });

  it('keeps process.exit to the command-line entry points', () => {
    const offenders = sources(LIB)
      .filter((f) => !f.includes(`${path.sep}cli${path.sep}`) && !f.endsWith(`${path.sep}init${path.sep}main.ts`))
      .filter((f) => /process\.exit\(/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(LIB, f));
    expect(offenders).toEqual([]);
  });
});
