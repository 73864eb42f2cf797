/**
 * IPAM (IP address management): which container has which address, and which host port.
 *
 * Two containers on one bridge must never get the same address, even when they start at the same instant from
 * two terminals. The workshop keeps the table as files, one per address in use, in the network's state
 * directory: `leases/10.30.0.2 -> 08ab12` is a symbolic link whose name is the address and whose target is the
 * container id. Creating a symlink is atomic and fails if the name exists, so taking an address is "try the
 * next free one until a create succeeds" and two runs can never both succeed on the same one — no lock needed.
 * `ls -l` of the leases directory shows the table; deleting a container's link gives its address back.
 * Published host ports are claimed the same way (`ports/tcp-8080 -> 08ab12`).
 *
 * The number of leases is also the bridge's reference count: the container that removes the last one removes
 * the bridge. A lease outlives a run killed with `kill -9` (its address stays taken) until `npm run clean`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { containerAddresses, formatCidr, formatIp, type Subnet } from './addresses.ts';

/**
 * The state of one bridge: /run/scratch/scr0.<key>, where the key names the network namespace the bridge lives
 * in (see hostKey in host.ts: `scr0.net4026531833` on the machine, `scr0.scr08ab12-host` in a test's host).
 */
export function networkDir(stateRoot: string, bridge: string, hostKey?: string): string {
  return path.join(stateRoot, hostKey ? `${bridge}.${hostKey}` : bridge);
}

export const LEASES = 'leases';
export const PORTS = 'ports';

/** Entries of a claim directory: name → owner id. */
export function claims(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      out.set(name, fs.readlinkSync(path.join(dir, name)));
    } catch {
      // Released while we looked.
    }
  }
  return out;
}

/** Claim `name` for `id`; true if this call made the claim, false if someone (maybe `id` itself) had it. */
function claim(dir: string, name: string, id: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.symlinkSync(id, path.join(dir, name));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The address leased to `id`, if any. */
export function leaseOf(netDir: string, id: string): string | undefined {
  for (const [ip, owner] of claims(path.join(netDir, LEASES))) if (owner === id) return ip;
  return undefined;
}

/** Lease the lowest free container address of the subnet to `id` (or return the one it already has). */
export function takeLease(netDir: string, subnet: Subnet, id: string): string {
  const existing = leaseOf(netDir, id);
  if (existing) return existing;
  const dir = path.join(netDir, LEASES);
  for (const ip of containerAddresses(subnet)) {
    if (claim(dir, formatIp(ip), id)) return formatIp(ip);
  }
  throw new UserError(
    `no free address left in ${formatCidr(subnet)}: ${containerAddresses(subnet).length} containers hold them all`,
    'stop some containers, or npm run clean to free the addresses of runs that were killed',
  );
}

export function leaseCount(netDir: string): number {
  return claims(path.join(netDir, LEASES)).size;
}

/** The claim name of a host port: `tcp-8080`. */
export function portKey(protocol: string, hostPort: number): string {
  return `${protocol}-${hostPort}`;
}

/** The id that has published this host port through us, if any. */
export function portOwner(netDir: string, key: string): string | undefined {
  return claims(path.join(netDir, PORTS)).get(key);
}

/** Claim a host port for `id`; false when another container has it. */
export function claimPort(netDir: string, key: string, id: string): boolean {
  return claim(path.join(netDir, PORTS), key, id) || portOwner(netDir, key) === id;
}

/** Give back everything `id` holds (its address, its ports). Claims of others are left alone. */
export function releaseClaims(netDir: string, id: string): void {
  for (const sub of [LEASES, PORTS]) {
    const dir = path.join(netDir, sub);
    for (const [name, owner] of claims(dir)) if (owner === id) fs.rmSync(path.join(dir, name), { force: true });
  }
}
