/**
 * The bridge: a virtual switch on the host that all containers plug into.
 *
 * A Linux bridge forwards Ethernet frames between the interfaces attached to it ("ports"), learning which MAC
 * address is behind which port, as a hardware switch does. Each container's veth has its host end attached to
 * `scr0`, so every container is on the same segment and they reach each other directly. The bridge itself is
 * also an interface of the host: given an address in the containers' subnet (`10.30.0.1/24`), it is the host's
 * foot on that segment and so the containers' gateway — what docker calls `docker0` and `docker network` manages.
 *
 * Two settings matter. A bridge without a MAC address of its own takes the lowest one of its ports, so each
 * container that comes or goes could change the gateway's MAC under the others, whose ARP caches would then
 * send to a MAC nobody has until they expire: the bridge gets a fixed one, made from its address. And
 * `route_localnet` lets packets with a source or destination in 127.0.0.0/8 be routed through it (see ports.ts
 * for why, and nat.ts for the guard that comes with it).
 */
import { UserError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import type { HostChange } from './changes.ts';
import { onHost } from './host.ts';

/** The sysctl that lets 127.0.0.0/8 traffic be routed through this interface. */
export function routeLocalnetKey(bridge: string): string {
  return `net.ipv4.conf.${bridge}.route_localnet`;
}

/**
 * The bridge's own MAC: locally administered (02:…, never a vendor's), then `73:63` ("sc"), then the last three
 * bytes of its IPv4 address — 10.30.0.1 gives 02:73:63:1e:00:01. Any fixed value would do; this one says whose.
 */
export function bridgeMac(gateway: string): string {
  const bytes = gateway
    .split('.')
    .slice(1)
    .map((b) => Number(b).toString(16).padStart(2, '0'));
  return ['02', '73', '63', ...bytes].join(':');
}

/** Make the bridge with its own MAC, give it the gateway address, bring it up. `gatewayCidr` is `10.30.0.1/24`. */
export function bridgeChanges(bridge: string, gatewayCidr: string, hostNetns?: string): HostChange[] {
  const mac = bridgeMac(gatewayCidr.split('/')[0] ?? '');
  return [
    {
      what: `create the bridge ${bridge} (a virtual switch), with a MAC of its own`,
      argv: onHost(hostNetns, ['ip', 'link', 'add', bridge, 'address', mac, 'type', 'bridge']),
      undo: onHost(hostNetns, ['ip', 'link', 'delete', bridge]),
    },
    {
      what: `give ${bridge} the gateway address ${gatewayCidr}`,
      argv: onHost(hostNetns, ['ip', 'addr', 'add', gatewayCidr, 'dev', bridge]),
    },
    { what: `bring ${bridge} up`, argv: onHost(hostNetns, ['ip', 'link', 'set', bridge, 'up']) },
    {
      what: `let 127.0.0.1 traffic be routed through ${bridge} (published ports from the host itself)`,
      argv: onHost(hostNetns, ['sysctl', '-w', `${routeLocalnetKey(bridge)}=1`]),
    },
  ];
}

/** `ip -j addr show dev scr0`. */
export function bridgeAddressesArgv(bridge: string, hostNetns?: string): string[] {
  return onHost(hostNetns, ['ip', '-j', 'addr', 'show', 'dev', bridge]);
}

export interface BridgeState {
  /** Its IPv4 addresses, as `10.30.0.1/24` (none for a bridge a killed run made but never addressed). */
  addresses: string[];
  up: boolean;
  mac?: string;
}

interface IpAddrJson {
  address?: string;
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

/** The first link in `ip -j addr show dev X` output: its IPv4 addresses and whether it is up. */
export function parseBridgeState(json: string): BridgeState | undefined {
  const parsed: unknown = JSON.parse(json || '[]');
  const link = Array.isArray(parsed) ? (parsed[0] as IpAddrJson | undefined) : undefined;
  if (!link) return undefined;
  return {
    addresses: (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    up: (link.flags ?? []).includes('UP'),
    mac: link.address,
  };
}

/** The bridge as it is now; undefined when it does not exist. */
export async function readBridge(runner: Runner, bridge: string, hostNetns?: string): Promise<BridgeState | undefined> {
  const r = await runner.run(bridgeAddressesArgv(bridge, hostNetns), { reject: false });
  return r.exitCode === 0 ? parseBridgeState(r.stdout) : undefined;
}

/** `sysctl -n net.ipv4.conf.scr0.route_localnet`. */
export function readRouteLocalnetArgv(bridge: string, hostNetns?: string): string[] {
  return onHost(hostNetns, ['sysctl', '-n', routeLocalnetKey(bridge)]);
}

/** A bridge that already exists must be on our subnet: another one means another subnet is in use on it. */
export function assertBridgeMatches(bridge: string, state: BridgeState | undefined, gatewayCidr: string) {
  const addresses = state?.addresses ?? [];
  if (addresses.length === 0 || addresses.includes(gatewayCidr)) return;
  throw new UserError(
    `the bridge ${bridge} already exists with address ${addresses.join(', ')}, not ${gatewayCidr}: ` +
      'containers using another subnet are running',
    `use their subnet, or stop them first (npm run clean removes what killed runs left)`,
  );
}
