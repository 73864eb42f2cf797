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

/** The words of `ip link` a host-side change may use; every other word must be a name of ours (scr…). */
const IP_LINK_WORDS = new Set(
  'link add set delete del type veth peer name netns master nomaster up down bridge_slave hairpin on off mtu'.split(
    ' ',
  ),
);

/**
 * Why a command written by a learner (lesson 08's exercise) is not run, or undefined when it may be: only `ip`,
 * on the host only `ip link` on links and namespaces named `scr…`, and inside a namespace of ours
 * (`ip -n scr… link|addr|route …`) anything but moving a link to a namespace not ours. A wrong answer can then
 * break only what the lesson itself made.
 */
export function outsideScratch(argv: readonly string[]): string | undefined {
  const ours = (name: string | undefined) => name !== undefined && name.startsWith('scr');
  if (argv[0] !== 'ip') return 'only ip commands are run for this exercise';
  let rest = argv.slice(1);
  const inside = rest[0] === '-n';
  if (inside) {
    if (!ours(rest[1])) return `ip -n takes a namespace this lesson made (scr…), not ${rest[1] ?? 'nothing'}`;
    rest = rest.slice(2);
  }
  const object = rest[0] ?? '';
  if (!(inside ? ['link', 'addr', 'address', 'route'] : ['link']).includes(object))
    return inside ? `ip ${object} is not needed here` : 'on the host, only ip link (addresses and routes go inside)';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === 'netns' && !ours(rest[i + 1])) return `a link may move only into a namespace named scr…`;
  }
  if (!inside) {
    const foreign = rest.find((w) => !IP_LINK_WORDS.has(w) && !/^\d+$/.test(w) && !ours(w));
    if (foreign !== undefined) return `${foreign} is not a link or namespace this lesson made (scr…)`;
  }
  return undefined;
}

/** Shape check for a learner's list of host changes: each command and its undo pass `outsideScratch`. */
export function confinedChanges(name: string) {
  return (value: unknown): string | undefined => {
    if (!Array.isArray(value)) return `${name} must return a list of { what, argv, undo? }`;
    for (const c of value as Array<Partial<HostChange>>) {
      if (typeof c !== 'object' || c === null || !Array.isArray(c.argv) || !c.argv.every((a) => typeof a === 'string'))
        return `${name} must return a list of { what, argv, undo? }`;
      for (const argv of [c.argv, ...(c.undo ? [c.undo] : [])]) {
        const why = outsideScratch(argv);
        if (why) return `${name}: not run: ${quoteArgv(argv)} — ${why}`;
      }
    }
    return undefined;
  };
}
