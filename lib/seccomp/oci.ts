/**
 * The OCI runtime spec's `linux.seccomp` object, and the way between it and a profile here.
 *
 * The OCI spec describes a filter the way libseccomp does: a default action, the architectures, and a list
 * of entries `{names, action, errnoRet, args}` where each argument test is `{index, value, valueTwo, op}`.
 * runc hands that to libseccomp, which writes the BPF; here `compile.ts` writes it. Converting both ways lets
 * `toOciConfig` export the very rules the TypeScript init installs, so runc, given the exported bundle, loads
 * the same filter — and lets a profile written for docker or runc be run here.
 *
 * Two libseccomp rules shape the conversion. It allows one test per argument in a rule, so runc splits an
 * entry that tests one argument twice into one rule per test — which ORs them; `fromOciSeccomp` does the
 * same. And it leaves the outcome unspecified when one system call has rules with different actions, so
 * `toOciSeccomp` refuses to export such a profile rather than export one that runc might read differently.
 */
import { UserError } from '../errors.ts';
import { EPERM } from './constants.ts';
import type { ArgCondition, ArgOp, SeccompAction, SeccompProfile, SeccompRule } from './profile.ts';
import { ARCHES, SECCOMP_ARCHES, type SeccompArch } from './syscalls.ts';

export type OciSeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type OciSeccompOp =
  'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface OciSeccompArg {
  index: number;
  /** The compared value; for SCMP_CMP_MASKED_EQ, the mask. */
  value: number;
  /** For SCMP_CMP_MASKED_EQ: the value `arg & mask` must equal. */
  valueTwo?: number;
  op: OciSeccompOp;
}

export interface OciSeccompSyscall {
  names: string[];
  action: OciSeccompAction;
  /** For SCMP_ACT_ERRNO; EPERM when left out. */
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** `linux.seccomp` in config.json. Leaving the whole object out means no filter (`seccomp=unconfined`). */
export interface OciSeccomp {
  defaultAction: OciSeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls?: OciSeccompSyscall[];
}

const OPS: Readonly<Record<ArgOp, OciSeccompOp>> = {
  eq: 'SCMP_CMP_EQ',
  ne: 'SCMP_CMP_NE',
  lt: 'SCMP_CMP_LT',
  le: 'SCMP_CMP_LE',
  gt: 'SCMP_CMP_GT',
  ge: 'SCMP_CMP_GE',
  'masked-eq': 'SCMP_CMP_MASKED_EQ',
};
const OPS_BACK = new Map(Object.entries(OPS).map(([ours, oci]) => [oci, ours as ArgOp]));

function toOciAction(action: SeccompAction): { action: OciSeccompAction; errnoRet?: number } {
  switch (action.type) {
    case 'allow':
      return { action: 'SCMP_ACT_ALLOW' };
    case 'errno':
      return { action: 'SCMP_ACT_ERRNO', errnoRet: action.errno };
    case 'kill-process':
      return { action: 'SCMP_ACT_KILL_PROCESS' };
    case 'kill-thread':
      return { action: 'SCMP_ACT_KILL_THREAD' };
    case 'trap':
      return { action: 'SCMP_ACT_TRAP' };
    case 'log':
      return { action: 'SCMP_ACT_LOG' };
  }
}

function fromOciAction(action: string, errnoRet: number | undefined): SeccompAction {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return { type: 'allow' };
    case 'SCMP_ACT_ERRNO':
      return { type: 'errno', errno: errnoRet ?? EPERM };
    case 'SCMP_ACT_KILL_PROCESS':
      return { type: 'kill-process' };
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return { type: 'kill-thread' };
    case 'SCMP_ACT_TRAP':
      return { type: 'trap' };
    case 'SCMP_ACT_LOG':
      return { type: 'log' };
    case 'SCMP_ACT_TRACE':
    case 'SCMP_ACT_NOTIFY':
      throw new UserError(
        `seccomp action ${action} needs a tracer or a listener process, which this runtime does not run`,
        'use SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS in the profile',
      );
    default:
      throw new UserError(`unknown seccomp action ${JSON.stringify(action)}`, 'use an SCMP_ACT_* action');
  }
}

/** A bigint as a JSON number, refused when JSON would round it. */
function jsonNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`seccomp value ${v} does not fit a JSON number exactly`);
  }
  return Number(v);
}

function toOciArg(c: ArgCondition): OciSeccompArg {
  if (c.op === 'masked-eq') {
    return { index: c.index, value: jsonNumber(c.mask ?? 0n), valueTwo: jsonNumber(c.value), op: OPS[c.op] };
  }
  return { index: c.index, value: jsonNumber(c.value), op: OPS[c.op] };
}

function fromOciArg(a: OciSeccompArg): ArgCondition {
  const op = OPS_BACK.get(a.op);
  if (!op) throw new UserError(`unknown seccomp comparison ${JSON.stringify(a.op)}`, 'use an SCMP_CMP_* operator');
  const num = (v: number | undefined) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new UserError(`seccomp value ${v} is not a whole number from 0 to 2^53`, 'fix the profile');
    }
    return BigInt(v ?? 0);
  };
  if (op === 'masked-eq') return { index: a.index, op, mask: num(a.value), value: num(a.valueTwo) };
  return { index: a.index, op, value: num(a.value) };
}

/**
 * System calls whose rules libseccomp would not read the way compile.ts does: rules with different actions,
 * at least one of them conditional (first match wins here; libseccomp does not promise an order).
 */
export function ambiguousForLibseccomp(profile: SeccompProfile): string[] {
  const byName = new Map<string, SeccompRule[]>();
  for (const rule of profile.rules)
    for (const name of rule.names) byName.set(name, [...(byName.get(name) ?? []), rule]);
  const out: string[] = [];
  for (const [name, rules] of byName) {
    const actions = new Set(rules.map((r) => JSON.stringify(r.action)));
    if (actions.size > 1 && rules.some((r) => (r.args ?? []).length > 0)) out.push(name);
  }
  return out;
}

/** `linux.seccomp` for config.json, listing the architectures the filter is meant for. */
export function toOciSeccomp(profile: SeccompProfile, arches: readonly SeccompArch[]): OciSeccomp {
  const ambiguous = ambiguousForLibseccomp(profile);
  if (ambiguous.length > 0) {
    throw new Error(`seccomp rules for ${ambiguous.join(', ')} mix actions; runc could read them differently`);
  }
  const def = toOciAction(profile.defaultAction);
  return {
    defaultAction: def.action,
    ...(def.errnoRet !== undefined && { defaultErrnoRet: def.errnoRet }),
    architectures: arches.map((a) => ARCHES[a].oci),
    syscalls: profile.rules.map((rule) => {
      const { action, errnoRet } = toOciAction(rule.action);
      return {
        names: [...rule.names],
        action,
        ...(errnoRet !== undefined && { errnoRet }),
        ...(rule.args && rule.args.length > 0 && { args: rule.args.map(toOciArg) }),
      };
    }),
  };
}

/** One entry's argument tests as rules: runc's reading, where tests of the same argument are ORed. */
function entryRules(entry: OciSeccompSyscall, action: SeccompAction): SeccompRule[] {
  const args = (entry.args ?? []).map(fromOciArg);
  const indexes = args.map((a) => a.index);
  if (new Set(indexes).size === indexes.length) return [{ names: entry.names, action, args }];
  return args.map((a) => ({ names: entry.names, action, args: [a] }));
}

/** A profile from an OCI `linux.seccomp` object (a runc bundle's, or one `toOciSeccomp` wrote). */
export function fromOciSeccomp(oci: OciSeccomp): SeccompProfile {
  const rules: SeccompRule[] = [];
  for (const entry of oci.syscalls ?? []) {
    if ('includes' in entry || 'excludes' in entry) {
      throw new UserError(
        "this is docker's profile source format (includes/excludes), not an OCI linux.seccomp object",
        'give the OCI form, in which docker has already resolved includes/excludes',
      );
    }
    rules.push(...entryRules(entry, fromOciAction(entry.action, entry.errnoRet)));
  }
  return { defaultAction: fromOciAction(oci.defaultAction, oci.defaultErrnoRet), rules };
}

/** The architectures an OCI object names that a filter can be built for. */
export function ociArches(oci: OciSeccomp): SeccompArch[] {
  return SECCOMP_ARCHES.filter((a) => (oci.architectures ?? []).includes(ARCHES[a].oci));
}

/** What `--security-opt seccomp=…` asks for, as docker reads it. */
export type SeccompOption = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'file'; path: string };

/**
 * `seccomp=unconfined` means no filter at all (config.json without `linux.seccomp`); `seccomp=builtin` or no
 * option, the default profile; anything else, a path to a JSON profile (OCI form) for the caller to read.
 */
export function parseSeccompOption(value: string | undefined): SeccompOption {
  if (value === undefined || value === 'builtin' || value === 'default') return { kind: 'default' };
  if (value === 'unconfined') return { kind: 'unconfined' };
  if (value.trim() === '') {
    throw new UserError('--security-opt seccomp= needs a value', 'use seccomp=unconfined or seccomp=PROFILE.json');
  }
  return { kind: 'file', path: value };
}
