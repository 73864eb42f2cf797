/**
 * iptables: the host's packet filter and address translator, and which of its two backends to use.
 *
 * Every packet that enters, leaves or crosses the host walks through a few fixed *chains* — PREROUTING as it
 * arrives, INPUT if it is for the host, FORWARD if it is passing through, OUTPUT if the host sent it, POSTROUTING
 * as it leaves — and in each chain through the rules of a few *tables*: `filter` decides whether it may pass
 * (ACCEPT, DROP), `nat` rewrites its addresses (DNAT: the destination, MASQUERADE: the source, to the address of
 * the interface it leaves by). Container networking is a handful of such rules.
 *
 * The `iptables` command has two backends that keep separate rule sets in the kernel: `legacy` (the x_tables
 * of old) and `nft` (the same rules stored in nf_tables, the default on current distributions). `iptables -V`
 * says which one the plain command uses. Rules added through one are invisible to the other, and a host whose
 * firewall (or docker) lives in one backend while we add ours to the other ends up with two rule sets that both
 * apply and that no single listing shows. So we look where the host's rules already are and use that backend —
 * and only that one — for everything, as Kubernetes' iptables-wrapper does.
 *
 * Every rule the workshop adds carries a comment `scr:<owner>:<purpose>` (`-m comment --comment`), where the owner
 * is a container id or the bridge's name: that is how its own rules are listed, deleted by a teardown that has
 * nothing but the id, and found by `npm run clean` after a crash.
 */
import { UserError } from '../errors.ts';
import { PREFIX } from '../names.ts';
import type { Runner } from '../runner.ts';
import type { HostChange } from './changes.ts';
import { onHost } from './host.ts';

export type IptablesMode = 'nft' | 'legacy';

export interface IptablesBackend {
  /** The command to run: `iptables`, or `iptables-legacy` / `iptables-nft` when the host's rules are not in the default. */
  binary: string;
  mode: IptablesMode;
  /** One line for the learner: why this backend. */
  reason: string;
}

export const MODE_NAMES: Record<IptablesMode, string> = { nft: 'nf_tables', legacy: 'legacy' };

/** `iptables v1.8.9 (nf_tables)` → nft; `(legacy)`, or an iptables older than 1.8 that has no nft, → legacy. */
export function parseIptablesVersion(text: string): { version: string; mode: IptablesMode } | undefined {
  const m = /iptables v(\S+)(?:\s+\(([^)]+)\))?/.exec(text);
  if (!m?.[1]) return undefined;
  return { version: m[1], mode: m[2] === 'nf_tables' ? 'nft' : 'legacy' };
}

/** How many rules an `iptables-save` listing holds (`-A` lines; chains and policies do not count). */
export function countRules(saveOutput: string): number {
  return saveOutput.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/**
 * The backend to use: the default one, unless it is empty while the other holds the host's rules. When both hold
 * rules, the default wins: it is where a plain `iptables` — what the learner types — adds and lists.
 */
export function chooseBackend(
  version: { version: string; mode: IptablesMode },
  counts: Record<IptablesMode, number>,
): IptablesBackend {
  const def = version.mode;
  const other: IptablesMode = def === 'nft' ? 'legacy' : 'nft';
  const head = `iptables ${version.version} uses ${MODE_NAMES[def]}`;
  if (counts[def] === 0 && counts[other] > 0) {
    return {
      binary: `iptables-${other}`,
      mode: other,
      reason: `${head}, but the host's ${counts[other]} rules live in ${MODE_NAMES[other]}: using iptables-${other}, so all rules stay in one place`,
    };
  }
  const where = counts[def] > 0 ? `the host's ${counts[def]} rules are there too` : 'no rules exist in either yet';
  return { binary: 'iptables', mode: def, reason: `${head}; ${where}` };
}

export function iptablesMissing(): UserError {
  return new UserError(
    'iptables is not installed; containers on a bridge need it for NAT and published ports',
    'apt-get install -y iptables',
  );
}

const MODES = ['nft', 'legacy'] as const;

/**
 * What detectBackend runs, in order: `iptables -V`, then each backend's listing. The -save commands only read:
 * they list existing tables and create none.
 */
export function detectArgvs(hostNetns?: string): string[][] {
  return [onHost(hostNetns, ['iptables', '-V']), ...MODES.map((mode) => onHost(hostNetns, [`iptables-${mode}-save`]))];
}

/** Ask the host (or `hostNetns`) which iptables it has and where its rules live. Read-only. */
export async function detectBackend(runner: Runner, hostNetns?: string): Promise<IptablesBackend> {
  const [versionArgv = [], ...saveArgvs] = detectArgvs(hostNetns);
  const v = await runner.run(versionArgv, { reject: false });
  const version = parseIptablesVersion(v.stdout);
  if (v.exitCode !== 0 || !version) throw iptablesMissing();
  const counts = { nft: 0, legacy: 0 };
  for (const [i, mode] of MODES.entries()) {
    const r = await runner.run(saveArgvs[i] ?? [], { reject: false });
    counts[mode] = r.exitCode === 0 ? countRules(r.stdout) : 0;
  }
  return chooseBackend(version, counts);
}

// ---- rules --------------------------------------------------------------------------------------------------

export type Table = 'filter' | 'nat';

export interface Rule {
  table: Table;
  chain: string;
  /** Insert at the top of the chain (-I) rather than append (-A): for ACCEPTs that must come before a host's DROP. */
  insert?: boolean;
  /** The matches, before the comment: `['-s', '10.30.0.0/24', '!', '-o', 'scr0']`. */
  match: string[];
  /** `-j` and what follows: `['-j', 'MASQUERADE']`. */
  target: string[];
  /** `scr:<owner>:<purpose>`. */
  comment: string;
  /** Why the rule is there, in a few words (shown with the command). */
  why: string;
}

/** The comment that marks a rule as the workshop's, and whose. */
export function ruleComment(owner: string, purpose: string): string {
  return `${PREFIX}:${owner}:${purpose}`;
}

/** The owner part of one of our comments; undefined for a rule that is not ours. */
export function commentOwner(comment: string): string | undefined {
  const m = /^scr:([^:]+):/.exec(comment);
  return m?.[1];
}

type Op = 'add' | 'delete';

/**
 * `iptables -w -t TABLE -A|-I|-D CHAIN …`. -w waits for the xtables lock instead of failing when another
 * iptables runs at the same moment (twenty containers starting at once).
 */
export function ruleArgv(binary: string, rule: Rule, op: Op): string[] {
  const flag = op === 'delete' ? '-D' : rule.insert ? '-I' : '-A';
  return [
    binary,
    '-w',
    '-t',
    rule.table,
    flag,
    rule.chain,
    ...rule.match,
    '-m',
    'comment',
    '--comment',
    rule.comment,
    ...rule.target,
  ];
}

/** A rule as a host change: added, and deleted by its undo. */
export function ruleChange(binary: string, hostNetns: string | undefined, rule: Rule): HostChange {
  return {
    what: rule.why,
    argv: onHost(hostNetns, ruleArgv(binary, rule, 'add')),
    undo: onHost(hostNetns, ruleArgv(binary, rule, 'delete')),
  };
}

// ---- reading rules back -------------------------------------------------------------------------------------

/** One rule as `iptables -S` or `iptables-save` prints it. */
export interface ListedRule {
  table: Table | string;
  chain: string;
  /** The words after `-A`, unquoted: the chain, then the rule as iptables would take it back. */
  words: string[];
  comment: string | undefined;
}

/** Split a line of `iptables -S` into words, honouring its double quotes (`--comment "a b"`). */
export function splitRuleLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  }
  return words;
}

/** The `-A` lines of `iptables -S` (one table) or `iptables-save` (all tables, each under `*table`). */
export function parseRules(text: string, table: Table | string = 'filter'): ListedRule[] {
  const out: ListedRule[] = [];
  let current = table;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) current = line.slice(1).trim();
    if (!line.startsWith('-A ')) continue;
    const words = splitRuleLine(line).slice(1);
    const at = words.indexOf('--comment');
    out.push({ table: current, chain: words[0] ?? '', words, comment: at >= 0 ? words[at + 1] : undefined });
  }
  return out;
}

/** The workshop's rules among these; with `owner`, only those of that container (or bridge). */
export function ourRules(rules: readonly ListedRule[], owner?: string): ListedRule[] {
  return rules.filter((r) => {
    const o = r.comment === undefined ? undefined : commentOwner(r.comment);
    return o !== undefined && (owner === undefined || o === owner);
  });
}

/** `iptables -w -t TABLE -S`: the rules of one table, in the form they can be given back. */
export function listRulesArgv(binary: string, table: Table): string[] {
  return [binary, '-w', '-t', table, '-S'];
}

/** The command that deletes a listed rule: its own words after `-D`. */
export function deleteListedArgv(binary: string, r: ListedRule): string[] {
  return [binary, '-w', '-t', r.table, '-D', ...r.words];
}

/** Our rules in the filter and nat tables of the host (or `hostNetns`), as iptables lists them. */
export async function listOurRules(
  runner: Runner,
  binary: string,
  hostNetns?: string,
  owner?: string,
): Promise<ListedRule[]> {
  const out: ListedRule[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const r = await runner.run(onHost(hostNetns, listRulesArgv(binary, table)), { reject: false });
    out.push(...ourRules(parseRules(r.stdout, table), owner));
  }
  return out;
}
