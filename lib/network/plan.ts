/**
 * The plan for one container's network: every name and address decided, every command listed, nothing run.
 *
 * Connecting a container is a fixed series of stages — its namespace, the shared bridge, the host's forwarding
 * and NAT, the veth cable, its address and route, its published ports — and once the container's address is
 * known, every command of every stage follows from a handful of values. This module computes them with pure
 * functions, so a lesson can print each stage's commands before running them (and `--explain` can print them
 * all without running anything), and unit tests check them without root. index.ts runs them.
 */
import { BRIDGE, STATE_ROOT } from '../names.ts';
import { containerAddresses, containerSubnet, DEFAULT_SUBNET, formatCidr, formatIp, gatewayOf } from './addresses.ts';
import { bridgeChanges } from './bridge.ts';
import type { HostChange } from './changes.ts';
import { CONTAINER_IFNAME, hostVethName, netnsName, netnsPath, peerVethName } from './host.ts';
import { ruleChange, type IptablesBackend } from './iptables.ts';
import { networkDir } from './ipam.ts';
import { ipForwardChange, sharedRules } from './nat.ts';
import { publishRules, type PortMapping } from './ports.ts';
import { addressChanges, netnsChanges, vethChanges } from './veth.ts';

/** What the caller asks for. Everything but the id has a default. */
export interface NetworkRequest {
  /** The container's run id: names its netns (`scr<id>`), its veth (`scr<id>h`) and its rules (`scr:<id>:…`). */
  id: string;
  /** `-p` mappings. */
  ports?: PortMapping[];
  /** The containers' subnet in CIDR form (default 10.30.0.0/24; see routes.ts for SCRATCH_SUBNET). */
  subnet?: string;
  /** The bridge (default scr0). */
  bridge?: string;
  /**
   * Treat this named network namespace as "the host" (tests); default: the namespace the runner runs in.
   */
  hostNetns?: string;
  /** Where leases and the bridge's state live (default /run/scratch; tests of IPAM use a temporary one). */
  stateRoot?: string;
  /**
   * The iptables backend, when the caller has detected it already (a lesson that shows the detection as a step
   * of its own): the checks then use it instead of asking again.
   */
  iptables?: IptablesBackend;
  /**
   * Whose bridge state this is (see hostKey in host.ts): filled in by reserveNetwork, which may read /proc;
   * the plan itself stays a pure function of the request.
   */
  hostKey?: string;
}

export interface NetworkPlan {
  id: string;
  bridge: string;
  /** `10.30.0.0/24` */
  subnet: string;
  /** The bridge's address, the containers' gateway: `10.30.0.1`. */
  gateway: string;
  /** `10.30.0.1/24`, as the bridge gets it. */
  gatewayCidr: string;
  /** The container's address: `10.30.0.2`. */
  address: string;
  /** `10.30.0.2/24`, as eth0 gets it. */
  addressCidr: string;
  /** The container's namespace: `scr<id>`, and the path the container joins it by. */
  netns: string;
  netnsPath: string;
  hostVeth: string;
  peerVeth: string;
  /** The interface's name inside: eth0. */
  ifname: string;
  ports: PortMapping[];
  iptables: IptablesBackend;
  hostNetns?: string;
  stateRoot: string;
  /** The bridge's state directory: leases, port claims, what to restore (final once reserveNetwork set hostKey). */
  netDir: string;
}

/** What a plan shows before the backend is detected (explain mode): the plain command. */
export const UNDETECTED_BACKEND: IptablesBackend = {
  binary: 'iptables',
  mode: 'nft',
  reason: 'not detected yet: the run looks where the host keeps its rules',
};

/**
 * The plan for `req`, once the address and backend are known. Pure. Without an address it shows the first one
 * the subnet would give (what a lone container gets), for explain mode.
 */
export function planNetwork(
  req: NetworkRequest,
  known: { address?: string; iptables?: IptablesBackend } = {},
): NetworkPlan {
  const subnet = containerSubnet(req.subnet ?? DEFAULT_SUBNET);
  const bridge = req.bridge ?? BRIDGE;
  const stateRoot = req.stateRoot ?? STATE_ROOT;
  const address = known.address ?? formatIp(containerAddresses(subnet)[0] ?? gatewayOf(subnet) + 1);
  const netns = netnsName(req.id);
  return {
    id: req.id,
    bridge,
    subnet: formatCidr(subnet),
    gateway: formatIp(gatewayOf(subnet)),
    gatewayCidr: `${formatIp(gatewayOf(subnet))}/${subnet.prefixLength}`,
    address,
    addressCidr: `${address}/${subnet.prefixLength}`,
    netns,
    netnsPath: netnsPath(netns),
    hostVeth: hostVethName(req.id),
    peerVeth: peerVethName(req.id),
    ifname: CONTAINER_IFNAME,
    ports: req.ports ?? [],
    iptables: known.iptables ?? req.iptables ?? UNDETECTED_BACKEND,
    hostNetns: req.hostNetns,
    stateRoot,
    netDir: networkDir(stateRoot, bridge, req.hostKey ?? req.hostNetns),
  };
}

// ---- the stages, in the order they run ----------------------------------------------------------------------

/** 1. The container's empty network namespace. */
export function netnsStage(p: NetworkPlan): HostChange[] {
  return netnsChanges(p.netns);
}

/** 2. The shared bridge with the gateway address (made by the first container; see ensureBridge). */
export function bridgeStage(p: NetworkPlan): HostChange[] {
  return bridgeChanges(p.bridge, p.gatewayCidr, p.hostNetns);
}

/** 3. The host routes for the containers: forwarding on, masquerade out, FORWARD accepts (shared as well). */
export function hostNatStage(p: NetworkPlan, ipForwardBefore = '0'): HostChange[] {
  return [
    ipForwardChange(p.hostNetns, ipForwardBefore),
    ...sharedRules(p.bridge, p.subnet).map((r) => ruleChange(p.iptables.binary, p.hostNetns, r)),
  ];
}

/** 4. The veth cable from the container's namespace to the bridge. */
export function vethStage(p: NetworkPlan): HostChange[] {
  return vethChanges(p, p.hostNetns);
}

/** 5. Address, eth0 and lo up, default route: inside the container's namespace. */
export function addressStage(p: NetworkPlan): HostChange[] {
  return addressChanges(p.netns, p.addressCidr, p.gateway);
}

/** 6. Each published port: DNAT from the host (PREROUTING and OUTPUT), hairpin masquerade, FORWARD accept. */
export function publishStage(p: NetworkPlan): HostChange[] {
  return p.ports.flatMap((port) =>
    publishRules(p.id, p.bridge, p.address, port).map((r) => ruleChange(p.iptables.binary, p.hostNetns, r)),
  );
}

/** Every command of every stage, in order: what `--explain` prints. */
export function allStages(p: NetworkPlan): HostChange[] {
  return [
    ...netnsStage(p),
    ...bridgeStage(p),
    ...hostNatStage(p),
    ...vethStage(p),
    ...addressStage(p),
    ...publishStage(p),
  ];
}
