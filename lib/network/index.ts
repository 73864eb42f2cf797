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
 * This file runs the stages that plan.ts lists, in order, the checks first:
 *
 *   reserveNetwork     check everything (checks.ts), then lease an address and claim the ports (shared.ts)
 *   createNetns        ip netns add scr<id>
 *   ensureBridge       the bridge, forwarding and shared rules, unless another container made them (shared.ts)
 *   connectVeth        the veth pair, its address and route inside
 *   publishPorts       the DNAT rules
 *   writeNetworkFiles  /etc/hosts and /etc/resolv.conf for the container, as bind mounts for its spec
 *
 * `connectContainer` runs them all. Each registers its undo on the cleanup stack before acting; the lease and
 * the shared part have one undo, registered first (so run last): give the address back, and if it was the last
 * one, remove the bridge, its rules and state, and put ip_forward back. `disconnectContainer` does the same
 * teardown from nothing but the id, for a container whose starter has gone (`ctr rm`). `connectNone` is
 * `--network none`: a namespace with only lo, up.
 */
import type { CleanupStack } from '../cleanup.ts';
import type { Mount } from '../mounts.ts';
import { BRIDGE, STATE_ROOT } from '../names.ts';
import type { Runner } from '../runner.ts';
import { applyChanges, runUndo, type HostChange } from './changes.ts';
import { hostResolver, writeNameFiles, type ResolverChoice } from './dns.ts';
import { hostKey, hostVethName, netnsName, netnsPath, onHost } from './host.ts';
import { deleteListedArgv, detectBackend, listOurRules } from './iptables.ts';
import { networkDir } from './ipam.ts';
import { addressStage, netnsStage, publishStage, vethStage, type NetworkPlan, type NetworkRequest } from './plan.ts';
import { BACKEND_FILE, ensureBridge, readRecorded, releaseNetwork, reserveNetwork } from './shared.ts';
import { netnsChanges } from './veth.ts';

export * from './plan.ts';
export {
  reserveNetwork,
  ensureBridge,
  ensureBridgeArgvs,
  releaseNetwork,
  SHARED_PARTS,
  type SharedPart,
} from './shared.ts';
export { checkArgvs, checkBeforeConnecting } from './checks.ts';
export { parsePublish, formatPublish, type PortMapping, type Protocol } from './ports.ts';
export { DEFAULT_SUBNET, KNOWN_NETWORKS } from './addresses.ts';
export { SUBNET_ENV, subnetFromEnv } from './routes.ts';
export { inContainerNetns, onHost, netnsName, netnsPath } from './host.ts';
export { detectArgvs, detectBackend, listOurRules, type IptablesBackend, type ListedRule } from './iptables.ts';
export { hostResolver, nameFiles, type ResolverChoice } from './dns.ts';
export type { HostChange } from './changes.ts';

// ---- the container's own stages --------------------------------------------------------------------------------

/** `ip netns add scr<id>` (undo: delete it). */
export async function createNetns(runner: Runner, cleanup: CleanupStack, plan: NetworkPlan): Promise<void> {
  await applyChanges(runner, cleanup, netnsStage(plan));
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

// ---- all at once -----------------------------------------------------------------------------------------------

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

// ---- teardown --------------------------------------------------------------------------------------------------

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
  const netDir = networkDir(stateRoot, bridge, hostKey(req.hostNetns));
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

// ---- docker's --network none -----------------------------------------------------------------------------------

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
