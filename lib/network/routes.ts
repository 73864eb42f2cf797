/**
 * The host's routing table, read before a subnet is used.
 *
 * Every address the host can reach is covered by a route: `10.0.2.0/24 dev eth0` (the network its first card is
 * on), `default via 10.0.2.2` (everything else, through a router). Adding a bridge with an address in
 * 10.30.0.0/24 adds one more route, `10.30.0.0/24 dev scr0`. If the host already had a route for any address in
 * that range — its own LAN, a VPN, docker — the two would compete, and traffic for one of them would silently
 * go to the other. So the subnet is checked against `ip -j route` before anything is made, and a clash is one
 * clear line with a subnet that is free.
 */
import { UserError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { containerSubnet, formatCidr, KNOWN_NETWORKS, overlaps, parseCidr, type Subnet } from './addresses.ts';
import { onHost } from './host.ts';

/** The environment variable that picks another subnet for the containers' bridge. */
export const SUBNET_ENV = 'SCRATCH_SUBNET';

export interface Route {
  /** `default`, a network `10.0.2.0/24` or a single address `10.0.2.2`. */
  dst: string;
  dev?: string;
  gateway?: string;
}

export function parseRoutes(json: string): Route[] {
  const parsed: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(parsed)) return [];
  return parsed.map((r: { dst?: string; dev?: string; gateway?: string }) => ({
    dst: r.dst ?? '',
    dev: r.dev,
    gateway: r.gateway,
  }));
}

/**
 * The routes of /proc/net/route (the main table of the reader's network namespace, readable without running
 * anything: what doctor uses). Addresses and masks there are little-endian hex: 0002000A with mask 00FFFFFF is
 * 10.0.2.0/24; destination 0 with mask 0 is the default route.
 */
export function parseProcNetRoute(text: string): Route[] {
  const ip = (hex: string) =>
    (hex.match(/../g) ?? [])
      .map((b) => parseInt(b, 16))
      .reverse()
      .join('.');
  const bits = (hex: string) => (parseInt(hex, 16) >>> 0).toString(2).replace(/0/g, '').length;
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && /^[0-9A-F]{8}$/i.test(f[1] ?? ''))
    .map(([dev = '', dst = '', gateway = '', , , , , mask = '']) => ({
      dst: parseInt(mask, 16) === 0 ? 'default' : `${ip(dst)}/${bits(mask)}`,
      dev,
      gateway: parseInt(gateway, 16) === 0 ? undefined : ip(gateway),
    }));
}

/** The route as `ip route` prints it: `10.30.0.0/16 dev eth0`. */
export function describeRoute(r: Route): string {
  return [r.dst, r.gateway && `via ${r.gateway}`, r.dev && `dev ${r.dev}`].filter(Boolean).join(' ');
}

/**
 * Routes whose destination overlaps the subnet. The default route covers everything and is meant to, and routes
 * on our own bridge are ours (a second container finds the first one's route to the same subnet).
 */
export function clashingRoutes(subnet: Subnet, routes: readonly Route[], bridge: string): Route[] {
  return routes.filter((r) => {
    if (r.dst === 'default' || r.dev === bridge) return false;
    const dst = parseCidr(r.dst);
    return dst !== undefined && overlaps(dst, subnet);
  });
}

/** The first of 10.30.0.0/24, 10.31.0.0/24, … that overlaps neither a route nor a network a VM is known to meet. */
export function freeSubnet(routes: readonly Route[], bridge: string): string | undefined {
  const taken = KNOWN_NETWORKS.map((k) => parseCidr(k.cidr)).filter((s): s is Subnet => s !== undefined);
  for (let second = 30; second < 256; second++) {
    const s = parseCidr(`10.${second}.0.0/24`);
    if (!s || taken.some((t) => overlaps(t, s)) || clashingRoutes(s, routes, bridge).length > 0) continue;
    return formatCidr(s);
  }
  return undefined;
}

/** `ip -j route` of the host (or `hostNetns`): its main routing table as JSON. */
export function routesArgv(hostNetns?: string): string[] {
  return onHost(hostNetns, ['ip', '-j', 'route']);
}

/** Throw one line naming the clashing route and a subnet that would be free; return quietly otherwise. */
export function assertNoClash(subnet: Subnet, routes: readonly Route[], bridge: string): void {
  const clash = clashingRoutes(subnet, routes, bridge)[0];
  if (!clash) return;
  const free = freeSubnet(routes, bridge);
  throw new UserError(
    `the containers' subnet ${formatCidr(subnet)} overlaps the host's route ${describeRoute(clash)}`,
    free ? `pick a free subnet: ${SUBNET_ENV}=${free} (then run it again)` : `set ${SUBNET_ENV} to a free /24`,
  );
}

export async function checkSubnetAgainstRoutes(
  runner: Runner,
  subnet: Subnet,
  bridge: string,
  hostNetns?: string,
): Promise<void> {
  const r = await runner.run(routesArgv(hostNetns));
  assertNoClash(subnet, parseRoutes(r.stdout), bridge);
}

/**
 * The subnet SCRATCH_SUBNET asks for (for NetworkRequest.subnet), or undefined for the default. Validated here,
 * so a bad value is one clear line before anything runs.
 */
export function subnetFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const text = env[SUBNET_ENV];
  return text ? formatCidr(containerSubnet(text)) : undefined;
}
