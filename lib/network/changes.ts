/**
 * Host changes: one command that changes the network, paired with the command that undoes it.
 *
 * Wiring a container up is a few dozen small commands (`ip link add`, `iptables -A`, `sysctl -w`), each of which
 * leaves something behind that must go again when the container ends. Keeping each command next to its undo
 * makes three things easy: a lesson shows exactly the commands it will run; the undo is on the cleanup stack
 * before the command runs (so a Ctrl-C half-way leaves nothing); and tests compare both lists without root.
 *
 * Undoing is forgiving about one thing only: the thing being already gone. Deleting a network namespace deletes
 * the veth end inside it, which deletes its peer on the host; a rule may never have been added because the
 * command before it failed. "Not there" is what an undo wants, so it is not an error; anything else is.
 */
import type { CleanupStack } from '../cleanup.ts';
import { CommandError } from '../errors.ts';
import { quoteArgv } from '../quote.ts';
import type { Runner } from '../runner.ts';

export interface HostChange {
  /** What it does, in a few words: "plug scr08ab12h into the bridge scr0". */
  what: string;
  argv: string[];
  /** The command that undoes it; none for a change that goes away with something else (inside the netns). */
  undo?: string[];
}

/** What `ip`, `iptables` and `sysctl` say when the thing to delete does not exist. */
const ALREADY_GONE =
  /Cannot find device|No such file or directory|does a matching rule exist|No chain\/target\/match by that name|Bad rule|Cannot open network namespace|No such process/;

/** Run an undo command; it succeeds when the thing is gone afterwards, whoever removed it. */
export async function runUndo(runner: Runner, argv: readonly string[]): Promise<void> {
  const r = await runner.run(argv, { reject: false });
  if (r.exitCode !== 0 && !ALREADY_GONE.test(r.stderr)) {
    throw new CommandError({ ...r, display: quoteArgv(argv) });
  }
}

/** Apply changes in order, each undo registered on the stack before its command runs. */
export async function applyChanges(runner: Runner, cleanup: CleanupStack, changes: readonly HostChange[]) {
  for (const c of changes) {
    const undo = c.undo;
    if (undo) cleanup.push(`undo: ${c.what}`, () => runUndo(runner, undo));
    await runner.run(c.argv);
  }
}

/** Apply changes whose undo belongs to someone else (the shared bridge: the last container undoes it). */
export async function runChanges(runner: Runner, changes: readonly HostChange[]) {
  for (const c of changes) await runner.run(c.argv);
}
