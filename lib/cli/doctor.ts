/**
 * npm run doctor — can this machine run the workshop? One line per requirement, with the fix for each ✘.
 */
import { parseArgs } from 'node:util';
import { Printer, terminalWidth, wantsColor, wrap } from '../output.ts';
import { evaluate, gatherFacts } from '../preflight.ts';
import { resolveRootfs } from '../rootfs.ts';
import { main } from './main.ts';

const USAGE = `npm run doctor
  Checks that this machine can run every lesson: one line per requirement, with the fix for each ✘.`;

await main(
  async () => {
    parseArgs({ options: {} }); // it takes none: a typo is one line, not ignored
    const out = new Printer({ color: wantsColor(process.stdout), width: terminalWidth(process.stdout) });
    const findings = evaluate(gatherFacts(resolveRootfs(undefined)));
    out.line(out.c.bold(' containers-from-scratch doctor'));
    for (const f of findings) {
      const mark = f.ok ? out.c.green('✔') : f.required ? out.c.red('✘') : out.c.magenta('!');
      const [first = '', ...rest] = wrap(f.detail, out.width - 21);
      out.line(`  ${mark} ${f.name.padEnd(16)} ${first}`);
      for (const r of rest) out.line(`${' '.repeat(21)}${r}`);
      if (!f.ok && f.fix) for (const l of wrap(`fix: ${f.fix}`, out.width - 4, '    ')) out.line(l);
    }
    const blocking = findings.filter((f) => f.required && !f.ok);
    out.line();
    out.line(
      blocking.length === 0
        ? out.c.green(' Ready: every lesson can run here.')
        : out.c.red(` Not ready: ${blocking.map((f) => f.name).join(', ')}.`),
    );
    return blocking.length === 0 ? 0 : 1;
  },
  { usage: USAGE },
);
