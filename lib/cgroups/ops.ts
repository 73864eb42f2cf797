/**
 * A cgroup step (mkdir, write) as a learner reads it and as the host effect the runner records.
 */
import { showHostOp, type HostOp } from '../hostops.ts';
import { quoteArg } from '../quote.ts';
import type { CgroupOp } from './contract.ts';

/** A planned step as the host effect it is (lib/hostops.ts): what a lesson shows and the runner records. */
export function hostOpOf(op: CgroupOp): HostOp {
  if (op.kind === 'mkdir') return { kind: 'mkdir', path: op.path, parents: !op.leaf || !!op.parents };
  if (op.kind === 'attachDevices') return { kind: 'attachDevices', path: op.path, rules: op.rules };
  return { kind: 'write', path: op.path, value: op.value, ...(op.optional ? { note: op.optional.shown } : {}) };
}

export function showOp(op: CgroupOp): string {
  if (op.kind === 'attachDevices') return showHostOp(hostOpOf(op));
  if (op.kind === 'mkdir')
    return op.leaf && !op.parents ? `mkdir ${quoteArg(op.path)}` : `mkdir -p ${quoteArg(op.path)}`;
  const line = `echo ${quoteArg(op.value)} > ${quoteArg(op.path)}`;
  return op.optional ? `${line}   # ${op.optional.shown}` : line;
}
