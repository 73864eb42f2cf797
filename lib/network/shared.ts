/**
 * The shared part's life: the first container makes the bridge and its rules, the last one removes them.
 *
 * The bridge, its address, route_localnet, ip_forward and the bridge-wide rules (nat.ts) serve every container
 * on it, so no single container's undo may remove them. Instead the address leases (ipam.ts) count who uses the
 * bridge, and everything here happens under the network lock (lock.ts):
 *
 *   reserveNetwork  takes the container's lease and port claims; registers, before taking them, the one undo
 *                   that releases them — and, when no lease is left afterwards, removes the shared part
 *   ensureBridge    makes whatever of the shared part is missing (all of it for the first container, nothing
 *                   for the next ones, the rest of it after a run killed half-way); its two halves, the bridge
 *                   and the router, can be made one at a time (lesson 08 shows them one step apart)
 *   releaseNetwork  that undo
 *
 * Two small files in the bridge's state directory remember what the removal needs: which iptables backend the
 * rules went into, and what ip_forward was before we turned it on (it is put back as it was found).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import type { Runner } from '../runner.ts';
import { containerSubnet, DEFAULT_SUBNET } from './addresses.ts';
import { bridgeAddressesArgv, bridgeChanges, bridgeMac, readBridge, readRouteLocalnetArgv } from './bridge.ts';
import { runChanges, runUndo, type HostChange } from './changes.ts';
import { checkBeforeConnecting } from './checks.ts';
import { hostKey, onHost } from './host.ts';
import { deleteListedArgv, listOurRules, listRulesArgv, ruleChange, type IptablesBackend } from './iptables.ts';
import { claimPort, claims, LEASES, portKey, portOwner, releaseClaims, takeLease } from './ipam.ts';
import { withLock } from './lock.ts';
import { IP_FORWARD, ipForwardChange, readIpForwardArgv, sharedRules } from './nat.ts';
import { bridgeStage, hostNatStage, planNetwork, type NetworkPlan, type NetworkRequest } from './plan.ts';
import { portInUse } from './ports.ts';

/** Which iptables command the bridge's rules went into. */
export const BACKEND_FILE = 'iptables';
/** ip_forward as it was before the first container turned it on (absent when it was on already). */
export const IP_FORWARD_BEFORE = 'ip_forward.before';

/** The directory whose flock guards the bridge's state: the state root, which always exists. */
function lockDir(p: Pick<NetworkPlan, 'stateRoot'>): string {
  fs.mkdirSync(p.stateRoot, { recursive: true });
  return p.stateRoot;
}

export function readRecorded(netDir: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(netDir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function recordOnce(netDir: string, name: string, content: string): void {
  fs.mkdirSync(netDir, { recursive: true });
  const file = path.join(netDir, name);
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${content}\n`);
}

/**
 * The checks (checks.ts), then the lease and the port claims, under the lock so the bridge cannot be removed
 * meanwhile. Returns the plan with the container's address. In --explain, nothing can be read from the host:
 * the plan shows the first address and the default backend.
 */
export async function reserveNetwork(
  runner: Runner,
  cleanup: CleanupStack,
  request: NetworkRequest,
): Promise<NetworkPlan> {
  if (runner.dryRun) return planNetwork(request);
  const req = { ...request, hostKey: request.hostKey ?? hostKey(request.hostNetns) };
  const iptables = await checkBeforeConnecting(runner, req);
  const draft = planNetwork(req, { iptables });
  cleanup.push(`give back ${req.id}'s address and ports; remove ${draft.bridge} if it was the last container`, () =>
    releaseNetwork(runner, draft),
  );
  const address = await withLock(lockDir(draft), async () => {
    fs.mkdirSync(draft.netDir, { recursive: true });
    for (const p of draft.ports) {
      const key = portKey(p.protocol, p.hostPort);
      if (!claimPort(draft.netDir, key, req.id)) {
        throw portInUse(p, `published by container ${portOwner(draft.netDir, key) ?? '(unknown)'}`);
      }
    }
    return takeLease(draft.netDir, containerSubnet(req.subnet ?? DEFAULT_SUBNET), req.id);
  });
  return planNetwork(req, { address, iptables });
}

/**
 * The shared part has two halves, which a lesson makes one step apart: the bridge (the switch and its gateway
 * address, route_localnet), and the router (ip_forward, the FORWARD accepts, the masquerades).
 */
export type SharedPart = 'bridge' | 'router';
export const SHARED_PARTS: readonly SharedPart[] = ['bridge', 'router'];

/**
 * Make whatever of the shared part (both halves, or those named) is missing — the bridge and its address,
 * route_localnet, ip_forward, the shared rules — and return the changes made (none when another container made
 * them all). A container holding its lease may make the halves one at a time: the bridge is only removed when
 * the last lease goes.
 */
export async function ensureBridge(
  runner: Runner,
  plan: NetworkPlan,
  parts: readonly SharedPart[] = SHARED_PARTS,
): Promise<HostChange[]> {
  if (runner.dryRun) {
    const all = [
      ...(parts.includes('bridge') ? bridgeStage(plan) : []),
      ...(parts.includes('router') ? hostNatStage(plan) : []),
    ];
    await runChanges(runner, all);
    return all;
  }
  return withLock(lockDir(plan), async () => {
    const todo: HostChange[] = [];
    if (parts.includes('bridge')) todo.push(...(await missingBridgeChanges(runner, plan)));
    if (parts.includes('router')) todo.push(...(await missingRouterChanges(runner, plan)));
    await runChanges(runner, todo);
    return todo;
  });
}

/**
 * Every command ensureBridge may run for these parts, in the order it runs them: for each half, first what it
 * reads to see what is there already, then each change (skipped when already true). What a lesson shows.
 */
export function ensureBridgeArgvs(plan: NetworkPlan, parts: readonly SharedPart[] = SHARED_PARTS): string[][] {
  const out: string[][] = [];
  if (parts.includes('bridge')) {
    const [create, ...rest] = bridgeStage(plan);
    out.push(bridgeAddressesArgv(plan.bridge, plan.hostNetns), readRouteLocalnetArgv(plan.bridge, plan.hostNetns));
    out.push(...[create, setMacChange(plan), ...rest].flatMap((c) => (c ? [c.argv] : [])));
  }
  if (parts.includes('router')) {
    out.push(
      readIpForwardArgv(plan.hostNetns),
      ...(['filter', 'nat'] as const).map((t) => onHost(plan.hostNetns, listRulesArgv(plan.iptables.binary, t))),
      ...hostNatStage(plan).map((c) => c.argv),
    );
  }
  return out;
}

/** A bridge that exists with another MAC (made before bridges had their own) gets ours. */
function setMacChange(plan: NetworkPlan): HostChange {
  return {
    what: `give ${plan.bridge} its own MAC`,
    argv: onHost(plan.hostNetns, ['ip', 'link', 'set', plan.bridge, 'address', bridgeMac(plan.gateway)]),
  };
}

/** The bridge's changes that are not true yet: it exists, has its MAC and the gateway address, is up, has route_localnet. */
async function missingBridgeChanges(runner: Runner, plan: NetworkPlan): Promise<HostChange[]> {
  const bridge = await readBridge(runner, plan.bridge, plan.hostNetns);
  const [create, address, up, localnet] = bridgeChanges(plan.bridge, plan.gatewayCidr, plan.hostNetns);
  const routeLocalnet = bridge && (await runner.run(readRouteLocalnetArgv(plan.bridge, plan.hostNetns))).stdout.trim();
  return [
    !bridge && create,
    bridge && bridge.mac !== bridgeMac(plan.gateway) && setMacChange(plan),
    !bridge?.addresses.includes(plan.gatewayCidr) && address,
    !bridge?.up && up,
    routeLocalnet !== '1' && localnet,
  ].filter((c): c is HostChange => !!c);
}

/** The router's changes that are not true yet: ip_forward on (what it was is recorded once), each shared rule. */
async function missingRouterChanges(runner: Runner, plan: NetworkPlan): Promise<HostChange[]> {
  const todo: HostChange[] = [];
  const forward = (await runner.run(readIpForwardArgv(plan.hostNetns))).stdout.trim() || '0';
  if (forward !== '1') {
    recordOnce(plan.netDir, IP_FORWARD_BEFORE, forward);
    todo.push(ipForwardChange(plan.hostNetns, forward));
  }
  recordOnce(plan.netDir, BACKEND_FILE, plan.iptables.binary);
  // Two listings rather than one `iptables -C` per rule: this runs under the lock, once per container.
  const present = new Set(
    (await listOurRules(runner, plan.iptables.binary, plan.hostNetns, plan.bridge)).map((r) => r.comment),
  );
  for (const rule of sharedRules(plan.bridge, plan.subnet)) {
    if (!present.has(rule.comment)) todo.push(ruleChange(plan.iptables.binary, plan.hostNetns, rule));
  }
  return todo;
}

export type ReleaseTarget = Pick<NetworkPlan, 'id' | 'bridge' | 'hostNetns' | 'netDir' | 'stateRoot'> & {
  iptables: Pick<IptablesBackend, 'binary'>;
};

/**
 * Give back the container's address and ports; if no other container holds an address, remove the shared part
 * first: the bridge's rules (found by their `scr:<bridge>:` comment), the bridge, ip_forward as it was, the state.
 * The last container's own lease goes last of all: a run killed half-way through this still holds it, so
 * `npm run clean -- --only ID` finds the run and finishes the job — a bridge no lease names would be no one's.
 */
export async function releaseNetwork(runner: Runner, t: ReleaseTarget): Promise<void> {
  if (runner.dryRun) return;
  await withLock(lockDir(t), async () => {
    const others = [...claims(path.join(t.netDir, LEASES)).values()].filter((owner) => owner !== t.id);
    if (others.length > 0) return releaseClaims(t.netDir, t.id);
    const binary = readRecorded(t.netDir, BACKEND_FILE) ?? t.iptables.binary;
    for (const r of await listOurRules(runner, binary, t.hostNetns, t.bridge)) {
      await runUndo(runner, onHost(t.hostNetns, deleteListedArgv(binary, r)));
    }
    await runUndo(runner, onHost(t.hostNetns, ['ip', 'link', 'delete', t.bridge]));
    const before = readRecorded(t.netDir, IP_FORWARD_BEFORE);
    if (before !== undefined) await runner.run(onHost(t.hostNetns, ['sysctl', '-w', `${IP_FORWARD}=${before}`]));
    releaseClaims(t.netDir, t.id);
    fs.rmSync(t.netDir, { recursive: true, force: true });
  });
}
