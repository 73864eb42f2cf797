/**
 * Container networking, docker's `--network bridge -p 8080:80`, from iproute2 and iptables.
 *
 * A container in a new network namespace has nothing but a loopback interface that is down. To give it a
 * network like docker's default bridge network, the host: makes the namespace (`ip netns add`) before the
 * container starts; connects it to a bridge `scr0` with a veth pair; gives it an address from a small IPAM
 * and a default route via the bridge's address; forwards and masquerades its traffic to the world; and
 * publishes its ports with DNAT. The container's first process then joins the finished namespace by path
 * (`nsenter --net=/run/netns/scr<id>`), as runc does with the path a CNI plugin or docker gives it.
 *
 * This file runs the stages that plan.ts lists, in order, with their checks first:
 *
 *   reserveNetwork   check everything (iptables, subnet vs routes, ports), then lease an address and claim
 *                    the ports — the only step before which nothing at all exists on the host
 *   createNetns      ip netns add scr<id>
 *   ensureBridge     the bridge, forwarding and shared rules, if no other container made them already
 *   connectVeth      the veth pair, its address and route inside
 *   publishPorts     the DNAT rules
 *   writeNetworkFiles  /etc/hosts and /etc/resolv.conf for the container, as bind mounts for its spec
 *
 * `connectContainer` runs them all; `connectNone` is `--network none` (a namespace with only lo, up). Each registers its undo on the cleanup stack before acting; the address
 * lease and the bridge share one undo, registered first (so run last): give the address back, and if it was the
 * last one, remove the bridge, its rules and the state, and put ip_forward back. `disconnectContainer` does the
 * same teardown from nothing but the id, for a container whose starter has gone (`ctr rm`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import type { Mount } from '../mounts.ts';
import { BRIDGE, STATE_ROOT } from '../names.ts';
import type { Runner } from '../runner.ts';
import { containerSubnet, DEFAULT_SUBNET } from './addresses.ts';
import { assertBridgeMatches, bridgeChanges, readBridge, readRouteLocalnetArgv } from './bridge.ts';
import { applyChanges, runChanges, runUndo, type HostChange } from './changes.ts';
import { writeNameFiles, hostResolver, type ResolverChoice } from './dns.ts';
import { hostVethName, netnsName, netnsPath, onHost } from './host.ts';
import {
  commentOwner,
  deleteListedArgv,
  detectBackend,
  listOurRules,
  parseRules,
  listRulesArgv,
  ruleArgv,
  ruleChange,
  type IptablesBackend,
} from './iptables.ts';
import { claimPort, leaseCount, networkDir, portKey, portOwner, releaseClaims, takeLease } from './ipam.ts';
import { withLock } from './lock.ts';
import { IP_FORWARD, ipForwardChange, readIpForwardArgv, sharedRules } from './nat.ts';
import {
  addressStage,
  bridgeStage,
  hostNatStage,
  netnsStage,
  planNetwork,
  publishStage,
  vethStage,
  type NetworkPlan,
  type NetworkRequest,
} from './plan.ts';
import { assertPublishable, dnatOnPort, formatSocket, portInUse, readSockets, socketOnPort } from './ports.ts';
import { checkSubnetAgainstRoutes } from './routes.ts';
import { netnsChanges } from './veth.ts';

export * from './plan.ts';
export { parsePublish, formatPublish, type PortMapping, type Protocol } from './ports.ts';
export { DEFAULT_SUBNET, KNOWN_NETWORKS } from './addresses.ts';
export { SUBNET_ENV, subnetFromEnv } from './routes.ts';
export { inContainerNetns, onHost, netnsName, netnsPath } from './host.ts';
export { listOurRules, type IptablesBackend, type ListedRule } from './iptables.ts';
export type { HostChange } from './changes.ts';

/** Files in the bridge's state directory that say what to restore when the bridge goes. */
const BACKEND_FILE = 'iptables';
const IP_FORWARD_BEFORE = 'ip_forward.before';

// ---- 1. checks and the lease --------------------------------------------------------------------------------

/**
 * Every check that can fail because of the learner or the host, before anything exists: a bad port or subnet,
 * iptables missing, the subnet overlapping a route, a host port already taken (by a program on the host, an
 * iptables DNAT rule, or another container). Then the lease and the port claims, taken under the lock so the
 * bridge cannot be removed meanwhile. Returns the plan, with the container's address.
 */
export async function reserveNetwork(runner: Runner, cleanup: CleanupStack, req: NetworkRequest): Promise<NetworkPlan> {
  const subnet = containerSubnet(req.subnet ?? DEFAULT_SUBNET);
  const ports = req.ports ?? [];
  assertPublishable(ports);
  // --explain: nothing is read from the host, so nothing can be checked; the plan shows the first address.
  if (runner.dryRun) return planNetwork(req);
  const bridge = req.bridge ?? BRIDGE;
  const iptables = await detectBackend(runner, req.hostNetns);
  await checkSubnetAgainstRoutes(runner, subnet, bridge, req.hostNetns);
  const draft = planNetwork(req, { iptables });
  assertBridgeMatches(bridge, await readBridge(runner, bridge, req.hostNetns), draft.gatewayCidr);
  if (ports.length > 0) {
    const sockets = await readSockets(runner, req.hostNetns);
    const nat = await runner.run(onHost(req.hostNetns, listRulesArgv(iptables.binary, 'nat')), { reject: false });
    const dnat = parseRules(nat.stdout, 'nat');
    for (const p of ports) {
      const s = socketOnPort(sockets, p);
      if (s) throw portInUse(p, `in use: a program on the host listens on ${formatSocket(s)}`);
      const rule = dnatOnPort(dnat, p);
      const owner = rule?.comment && commentOwner(rule.comment);
      if (owner) throw portInUse(p, `published by container ${owner}`);
      if (rule) throw portInUse(p, `forwarded by an iptables rule: -A ${rule.words.join(' ')}`);
    }
  }
  cleanup.push(`give back ${req.id}'s address and ports; remove ${bridge} if it was the last container`, () =>
    releaseNetwork(runner, draft),
  );
  const address = await withLock(lockDir(draft), async () => {
    fs.mkdirSync(draft.netDir, { recursive: true });
    for (const p of ports) {
      const key = portKey(p.protocol, p.hostPort);
      if (!claimPort(draft.netDir, key, req.id)) {
        throw portInUse(p, `published by container ${portOwner(draft.netDir, key) ?? '(unknown)'}`);
      }
    }
    return takeLease(draft.netDir, subnet, req.id);
  });
  return planNetwork(req, { address, iptables });
}

/** The directory whose flock guards the bridge's state: the state root, which always exists. */
function lockDir(p: Pick<NetworkPlan, 'stateRoot'>): string {
  fs.mkdirSync(p.stateRoot, { recursive: true });
  return p.stateRoot;
}

// ---- 2–6. the stages ----------------------------------------------------------------------------------------

/** `ip netns add scr<id>` (undo: delete it). */
export async function createNetns(runner: Runner, cleanup: CleanupStack, plan: NetworkPlan): Promise<void> {
  await applyChanges(runner, cleanup, netnsStage(plan));
}

/**
 * Make whatever of the shared part is missing — the bridge and its address, route_localnet, ip_forward, the
 * shared rules — under the lock, and return the changes made (none when another container made them all). Their
 * undo is the lease's (registered by reserveNetwork): the last container removes them.
 */
export async function ensureBridge(runner: Runner, plan: NetworkPlan): Promise<HostChange[]> {
  if (runner.dryRun) {
    const all = [...bridgeStage(plan), ...hostNatStage(plan)];
    await runChanges(runner, all);
    return all;
  }
  return withLock(lockDir(plan), async () => {
    const todo: HostChange[] = [];
    const bridge = await readBridge(runner, plan.bridge, plan.hostNetns);
    const [create, address, up, localnet] = bridgeChanges(plan.bridge, plan.gatewayCidr, plan.hostNetns);
    const routeLocalnet =
      bridge && (await runner.run(readRouteLocalnetArgv(plan.bridge, plan.hostNetns))).stdout.trim();
    if (!bridge && create) todo.push(create);
    if (!bridge?.addresses.includes(plan.gatewayCidr) && address) todo.push(address);
    if (!bridge?.up && up) todo.push(up);
    if (routeLocalnet !== '1' && localnet) todo.push(localnet);

    const forward = (await runner.run(readIpForwardArgv(plan.hostNetns))).stdout.trim();
    if (forward !== '1') {
      writeOnce(path.join(plan.netDir, IP_FORWARD_BEFORE), forward || '0');
      todo.push(ipForwardChange(plan.hostNetns, forward || '0'));
    }
    writeOnce(path.join(plan.netDir, BACKEND_FILE), plan.iptables.binary);
    for (const rule of sharedRules(plan.bridge, plan.subnet)) {
      const check = await runner.run(onHost(plan.hostNetns, ruleArgv(plan.iptables.binary, rule, 'check')), {
        reject: false,
      });
      if (check.exitCode !== 0) todo.push(ruleChange(plan.iptables.binary, plan.hostNetns, rule));
    }
    await runChanges(runner, todo);
    return todo;
  });
}

function writeOnce(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${content}\n`);
}

/** The veth pair into the namespace, plugged into the bridge; the address, eth0 and lo up, the default route. */
export async function connectVeth(runner: Runner, cleanup: CleanupStack, plan: NetworkPlan): Promise<void> {
  await applyChanges(runner, cleanup, [...vethStage(plan), ...addressStage(plan)]);
}

/** The rules of each `-p` (each rule's delete registered before it is added). */
export async function publishPorts(runner: Runner, cleanup: CleanupStack, plan: NetworkPlan): Promise<void> {
  await applyChanges(runner, cleanup, publishStage(plan));
}

/**
 * /etc/hosts (its name → its address) and /etc/resolv.conf (see dns.ts) in the container's state directory;
 * returns the bind mounts the runtime adds to the spec's `mounts`.
 */
export function writeNetworkFiles(
  plan: NetworkPlan,
  stateDir: string,
  hostname: string,
  resolver: ResolverChoice = hostResolver(),
): Mount[] {
  return writeNameFiles(stateDir, hostname, plan.address, resolver);
}

// ---- all at once --------------------------------------------------------------------------------------------

export interface ConnectRequest extends NetworkRequest {
  /** The container's state directory (/run/scratch/<id>): hosts and resolv.conf are written there. */
  stateDir: string;
  /** The name /etc/hosts gives the container's address (default scr<id>). */
  hostname?: string;
}

export interface ContainerNetwork {
  plan: NetworkPlan;
  /** Where the container joins its network: `nsenter --net=<netnsPath>` (OCI: linux.namespaces network path). */
  netnsPath: string;
  /** Bind mounts for /etc/hosts and /etc/resolv.conf, to add to the spec's mounts. */
  mounts: Mount[];
  /** The shared changes this call made (empty when the bridge was there already). */
  sharedChanges: HostChange[];
}

/** Everything, in order: after this, a process that joins `netnsPath` is on the bridge with its ports published. */
export async function connectContainer(
  runner: Runner,
  cleanup: CleanupStack,
  req: ConnectRequest,
): Promise<ContainerNetwork> {
  const plan = await reserveNetwork(runner, cleanup, req);
  await createNetns(runner, cleanup, plan);
  const made = await ensureBridge(runner, plan);
  await connectVeth(runner, cleanup, plan);
  await publishPorts(runner, cleanup, plan);
  const mounts = writeNetworkFiles(plan, req.stateDir, req.hostname ?? netnsName(req.id));
  return { plan, netnsPath: plan.netnsPath, mounts, sharedChanges: made };
}

// ---- teardown -----------------------------------------------------------------------------------------------

type ReleaseTarget = Pick<NetworkPlan, 'id' | 'bridge' | 'hostNetns' | 'netDir' | 'stateRoot'> & {
  iptables: Pick<IptablesBackend, 'binary'>;
};

/**
 * Give back the container's address and ports; if no container holds an address any more, remove the shared
 * part: the bridge's rules (found by their `scr:<bridge>:` comment), the bridge, ip_forward as it was, the state.
 */
export async function releaseNetwork(runner: Runner, t: ReleaseTarget): Promise<void> {
  if (runner.dryRun) return;
  await withLock(lockDir(t), async () => {
    releaseClaims(t.netDir, t.id);
    if (leaseCount(t.netDir) > 0) return;
    const binary = readRecorded(t.netDir, BACKEND_FILE) ?? t.iptables.binary;
    for (const r of await listOurRules(runner, binary, t.hostNetns, t.bridge)) {
      await runUndo(runner, onHost(t.hostNetns, deleteListedArgv(binary, r)));
    }
    await runUndo(runner, onHost(t.hostNetns, ['ip', 'link', 'delete', t.bridge]));
    const before = readRecorded(t.netDir, IP_FORWARD_BEFORE);
    if (before !== undefined) await runner.run(onHost(t.hostNetns, ['sysctl', '-w', `${IP_FORWARD}=${before}`]));
    fs.rmSync(t.netDir, { recursive: true, force: true });
  });
}

function readRecorded(netDir: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(netDir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface DisconnectRequest {
  id: string;
  bridge?: string;
  hostNetns?: string;
  stateRoot?: string;
}

/**
 * Remove a container's network knowing only its id (a detached container whose starter has exited, or a
 * crashed run): its rules by their `scr:<id>:` comment, its veth, its namespace, then its lease as above.
 * Safe to run twice: whatever is already gone is skipped.
 */
export async function disconnectContainer(runner: Runner, req: DisconnectRequest): Promise<void> {
  const bridge = req.bridge ?? BRIDGE;
  const stateRoot = req.stateRoot ?? STATE_ROOT;
  const netDir = networkDir(stateRoot, bridge, req.hostNetns);
  // Without a recorded backend (the bridge's state is gone) ask the host; without iptables there are no rules.
  const binary =
    readRecorded(netDir, BACKEND_FILE) ??
    (await detectBackend(runner, req.hostNetns).then(
      (b) => b.binary,
      () => undefined,
    ));
  if (binary) {
    for (const r of await listOurRules(runner, binary, req.hostNetns, req.id)) {
      await runUndo(runner, onHost(req.hostNetns, deleteListedArgv(binary, r)));
    }
  }
  await runUndo(runner, onHost(req.hostNetns, ['ip', 'link', 'delete', hostVethName(req.id)]));
  await runUndo(runner, ['ip', 'netns', 'delete', netnsName(req.id)]);
  const iptables = { binary: binary ?? 'iptables' };
  await releaseNetwork(runner, { id: req.id, bridge, hostNetns: req.hostNetns, netDir, stateRoot, iptables });
}

// ---- docker's --network none --------------------------------------------------------------------------------

/** A namespace with nothing but `lo`, up: what `--network none` gives (127.0.0.1 works, nothing else). */
export function noneStage(id: string): HostChange[] {
  const netns = netnsName(id);
  return [
    ...netnsChanges(netns),
    { what: 'bring lo up (127.0.0.1 inside)', argv: ['ip', '-n', netns, 'link', 'set', 'lo', 'up'] },
  ];
}

/** Make it; returns the path the container joins. The namespace is deleted by its undo. */
export async function connectNone(runner: Runner, cleanup: CleanupStack, id: string): Promise<string> {
  await applyChanges(runner, cleanup, noneStage(id));
  return netnsPath(netnsName(id));
}
