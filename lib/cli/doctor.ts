/**
 * npm run doctor — can this machine run the workshop? One line per requirement, with the fix for each ✘.
 */
import { Printer, wantsColor } from '../output.ts';
import { evaluate, gatherFacts } from '../preflight.ts';
import { resolveRootfs } from '../rootfs.ts';
import { main } from './main.ts';

await main(async () => {
  const out = new Printer({ color: wantsColor(process.stdout) });
  const findings = evaluate(gatherFacts(resolveRootfs(undefined)));
  out.line(out.c.bold(' containers-from-scratch doctor'));
  for (const f of findings) {
    const mark = f.ok ? out.c.green('✔') : f.required ? out.c.red('✘') : out.c.yellow('!');
    out.line(`  ${mark} ${f.name.padEnd(16)} ${f.detail}`);
    if (!f.ok && f.fix) out.line(`    ${out.c.dim('fix:')} ${f.fix}`);
  }
  const blocking = findings.filter((f) => f.required && !f.ok);
  out.line();
  out.line(
    blocking.length === 0
      ? out.c.green(' Ready: every lesson can run here.')
      : out.c.red(` Not ready: ${blocking.map((f) => f.name).join(', ')}.`),
  );
  return blocking.length === 0 ? 0 : 1;
});
