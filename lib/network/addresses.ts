/**
 * IPv4 addresses and subnets: the arithmetic behind "10.30.0.2/24".
 *
 * An IPv4 address is a 32-bit number, written as four bytes. A subnet (`10.30.0.0/24`) is a range of them: the
 * number after the slash says how many leading bits are fixed (24), the rest (8 bits: 256 addresses) are free.
 * The first address of the range names the network itself and the last is its broadcast address, so neither is
 * given to a machine; the workshop gives the second (`.1`) to the bridge, which is the containers' gateway, and
 * the rest (`.2` to `.254`) to containers. Two subnets clash when their ranges overlap: a packet for an address
 * in both could then go either way, and the host would route it to only one of them.
 *
 * The default subnet is picked to stay clear of the networks a classroom VM already has or is likely to meet
 * (KNOWN_NETWORKS); it can be changed, and is always checked against the host's own routes before use.
 */
import { UserError } from '../errors.ts';

export interface Subnet {
  /** The network address as a 32-bit number (host bits zero). */
  network: number;
  /** Number of fixed leading bits: 24 in `10.30.0.0/24`. */
  prefixLength: number;
}

/**
 * The workshop's default container network: clear of every network in KNOWN_NETWORKS (a unit test holds it there).
 */
export const DEFAULT_SUBNET = '10.30.0.0/24';

/** Networks a workshop VM is likely to have next to ours, with who uses them: the default must avoid them all. */
export const KNOWN_NETWORKS: ReadonlyArray<{ cidr: string; owner: string }> = [
  { cidr: '172.17.0.0/16', owner: 'docker (docker0)' },
  { cidr: '172.16.0.0/12', owner: 'docker user-defined networks, WSL2' },
  { cidr: '192.168.0.0/16', owner: 'docker user-defined networks (after 172.16.0.0/12), home routers' },
  { cidr: '10.0.2.0/24', owner: 'VirtualBox NAT (Vagrant)' },
  { cidr: '192.168.56.0/21', owner: 'VirtualBox host-only (Vagrant private_network)' },
  { cidr: '192.168.121.0/24', owner: 'vagrant-libvirt management network' },
  { cidr: '192.168.122.0/24', owner: 'libvirt default network (virbr0)' },
  { cidr: '192.168.5.0/24', owner: 'Lima user-mode network' },
  { cidr: '192.168.105.0/24', owner: 'Lima shared network (socket_vmnet)' },
  { cidr: '10.88.0.0/16', owner: 'podman' },
  { cidr: '10.42.0.0/15', owner: 'k3s pods and services' },
  { cidr: '10.96.0.0/12', owner: 'Kubernetes services' },
  { cidr: '10.244.0.0/16', owner: 'Kubernetes pods (flannel, kind)' },
];

export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The number of addresses in a subnet of this prefix length. */
function size(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

/** `10.30.0.0/24` → a Subnet; undefined when it is not one (host bits set, prefix out of range). */
export function parseCidr(text: string): Subnet | undefined {
  const [ip, len, ...rest] = text.split('/');
  const network = parseIp(ip ?? '');
  const prefixLength = len === undefined ? 32 : Number(len);
  if (network === undefined || rest.length > 0 || !/^\d+$/.test(len ?? '32') || prefixLength > 32) return undefined;
  if (network % size(prefixLength) !== 0) return undefined;
  return { network, prefixLength };
}

export function formatCidr(s: Subnet): string {
  return `${formatIp(s.network)}/${s.prefixLength}`;
}

/**
 * The subnet the learner asked for, or one clear line saying what is wrong with it. At most /8 (a larger range
 * would swallow too much of the host's address space), at least /29 (room for the bridge and a few containers).
 */
export function containerSubnet(text: string): Subnet {
  const s = parseCidr(text);
  if (!s) {
    throw new UserError(
      `${text} is not a subnet in CIDR form with its host bits zero`,
      `use e.g. ${DEFAULT_SUBNET} (a network address, a slash, the prefix length)`,
    );
  }
  if (s.prefixLength < 8 || s.prefixLength > 29) {
    throw new UserError(`subnet ${text} has a /${s.prefixLength} prefix; use /8 to /29`, `use e.g. ${DEFAULT_SUBNET}`);
  }
  return s;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + size(b.prefixLength) && b.network < a.network + size(a.prefixLength);
}

export function contains(s: Subnet, ip: number): boolean {
  return ip >= s.network && ip < s.network + size(s.prefixLength);
}

/** The bridge's address: the first one after the network address. */
export function gatewayOf(s: Subnet): number {
  return s.network + 1;
}

/** The addresses containers may get, in order: after the gateway, before the broadcast address. */
export function containerAddresses(s: Subnet): number[] {
  const out: number[] = [];
  for (let ip = s.network + 2; ip < s.network + size(s.prefixLength) - 1; ip++) out.push(ip);
  return out;
}
