/**
 * npm run clean — remove whatever a killed or crashed run left behind, found by the `scr` prefix.
 * Shows each command before running it; says so when there is nothing to do. `--check` only reports, and
 * fails when anything is there (CI uses it after the tests). `--only ID` limits both to one run's leftovers, so
 * cleaning up after one crashed run never touches a lesson running in another terminal.
 *
 * A container's network is taken down as `ctr rm` does it (lib/network's disconnectContainer), by the id its lease
 * names: its rules, veth and namespace, its address given back — and, when it held the last address, the bridge,
 * the bridge's rules and ip_forward as it was found. Removing those by name alone would leave ip_forward on.
 */
import { parseArgs } from 'node:util';
import { belongsTo, cgroupParents, removalArgv, scanLeftovers, type Leftover } from '../leftovers.ts';
import { Printer, wantsColor } from '../output.ts';
import { requireLinux, requireRoot } from '../preflight.ts';
import { quoteArgv } from '../quote.ts';
import { disconnectContainer } from '../network/index.ts';
import { createRunner } from '../runner.ts';
import { main } from './main.ts';

const USAGE = `npm run clean [-- --dry-run | --check] [--only ID]
  Removes whatever a killed or crashed run left behind (everything named with the scr prefix), showing each command.
  --dry-run    show what would be removed, remove nothing
  --check      remove nothing; exit 1 when anything is left (CI runs this after the tests)
  --only ID    only that run's leftovers (the id a lesson or ctr printed); may be given more than once`;

await main(
  async () => {
    const { values } = parseArgs({
      options: {
        'dry-run': { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
      },
    });
    const only = values.only;
    // Finding only reads (ip netns list, iptables -S, …), so it runs for real even with --dry-run: a dry runner
    // answers every command with nothing, and the dry run missed every netns, link and rule.
    const looker = createRunner();
    const scan = async (): Promise<Leftover[]> =>
      (await scanLeftovers(looker)).filter((l) => !only || only.some((id) => belongsTo(l, id)));
    requireLinux();
    requireRoot('npm run clean');
    const out = new Printer({ color: wantsColor(process.stdout) });
    const runner = createRunner({ dryRun: values['dry-run'] });
    const found = await scan();
    if (found.length === 0) {
      out.check(
        'nothing to clean: no process, mount, rule, link, netns, cgroup, lease, id range or state dir of scr',
        true,
      );
      return 0;
    }
    if (values.check) {
      // CI's last word: a run that left anything behind is a failed run, whoever cleans up afterwards.
      for (const l of found) out.error(`left behind: ${l.kind} ${l.name}`);
      return 1;
    }
    // Networks first, whole, by the id of the container that held each lease.
    const netOwners = new Set(found.filter((l) => l.kind === 'lease' && l.via).map((l) => l.via ?? ''));
    if (netOwners.size > 0) {
      const echoing = createRunner({ dryRun: values['dry-run'], echo: (line) => out.command(line) });
      for (const id of netOwners) await disconnectContainer(echoing, { id });
    }
    const rest = netOwners.size > 0 && !values['dry-run'] ? await scan() : found;
    for (const l of rest) {
      const argv = removalArgv(l);
      out.command(quoteArgv(argv));
      // A cgroup can only be removed once the processes killed just before have really exited.
      const attempts = l.kind === 'cgroup' ? 20 : 1;
      for (let i = 1; i <= attempts; i++) {
        if ((await runner.run(argv, { reject: false })).exitCode === 0) break;
        if (i < attempts) await new Promise((res) => setTimeout(res, 100));
      }
    }
    for (const parent of cgroupParents()) await runner.run(['rmdir', parent], { reject: false });
    // Judge by what is still there, not by exit codes: deleting one end of a veth pair removes the other end too.
    if (values['dry-run']) {
      out.note(`${found.length} leftovers; nothing was removed (--dry-run): npm run clean removes them`);
      return 0;
    }
    const left = await scan();
    for (const l of left) out.error(`still there: ${l.kind} ${l.name}`);
    out.check(`removed ${found.length - left.length} of ${found.length} leftovers`, left.length === 0);
    return left.length === 0 ? 0 : 1;
  },
  { usage: USAGE },
);
