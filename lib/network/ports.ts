/**
 * Published ports: `-p 8080:80` makes port 80 of the container reachable as port 8080 of the host.
 *
 * Nothing listens on the host's port 8080. Instead the nat table rewrites the destination of every packet for a
 * host address on port 8080 (DNAT) to the container's address, port 80, and conntrack remembers it so that the
 * answers are rewritten back. Packets from outside pass PREROUTING; connections the host itself makes
 * (`curl 127.0.0.1:8080`) never do, so the same rule goes in OUTPUT too. Two details make those local ones work:
 * a packet from 127.0.0.1 may not normally leave by a real interface (`route_localnet` on the bridge allows it),
 * and the container cannot answer 127.0.0.1 — that is its own loopback — so such packets get the bridge's address
 * as their source (masquerade, see nat.ts). A container reaching its *own* published port through a host address
 * ("hairpin") has its packet sent straight back to itself, from itself, which it would drop as impossible: that
 * one is masqueraded too, and its bridge port allows frames to go back out the port they came in by.
 *
 * Before any of that, the port must be free: not published by another container, and not a port some program on
 * the host listens on (/proc/net/tcp and udp list every socket of the network namespace), which the DNAT rule
 * would silently hide.
 */
import fs from 'node:fs';
import { UserError } from '../errors.ts';
import type { Runner } from '../runner.ts';
import { onHost } from './host.ts';
import type { ListedRule, Rule } from './iptables.ts';
import { ruleComment } from './iptables.ts';

export type Protocol = 'tcp' | 'udp';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

const PUBLISH_FORM = 'HOST:CONTAINER[/tcp|udp], e.g. -p 8080:80';

/** `8080:80`, `8080:80/tcp`, `5353:53/udp` → a mapping; anything else is one clear line. */
export function parsePublish(text: string): PortMapping {
  const m = /^(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
  if (!m) throw new UserError(`-p ${text}: expected ${PUBLISH_FORM}`, 'write it as -p 8080:80');
  const [hostPort, containerPort] = [Number(m[1]), Number(m[2])];
  for (const port of [hostPort, containerPort]) {
    if (port < 1 || port > 65535) {
      throw new UserError(`-p ${text}: port ${port} is out of range (1-65535)`, 'use a port from 1 to 65535');
    }
  }
  return { hostPort, containerPort, protocol: (m[3] as Protocol | undefined) ?? 'tcp' };
}

export function formatPublish(p: PortMapping): string {
  return `${p.hostPort}:${p.containerPort}/${p.protocol}`;
}

/**
 * Mappings that can all be published at once: each port in range (mappings may come from code, not only from
 * parsePublish), and no host port twice.
 */
export function assertPublishable(ports: readonly PortMapping[]): void {
  const seen = new Set<string>();
  for (const p of ports) {
    for (const port of [p.hostPort, p.containerPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new UserError(
          `-p ${formatPublish(p)}: port ${port} is out of range (1-65535)`,
          'use a port from 1 to 65535',
        );
      }
    }
    const key = `${p.hostPort}/${p.protocol}`;
    if (seen.has(key)) throw new UserError(`host port ${key} is published twice`, 'give each -p its own host port');
    seen.add(key);
  }
}

// ---- is the port free? --------------------------------------------------------------------------------------

export interface Socket {
  protocol: Protocol;
  /** Printable local address: `127.0.0.1`, `0.0.0.0`, `::`. */
  address: string;
  port: number;
  /** The kernel's state code: 0A is a TCP socket listening; a UDP socket bound to a port is 07. */
  state: string;
}

/** Where the kernel lists the sockets of the reader's network namespace, by protocol. */
export const PROC_NET_FILES: ReadonlyArray<[Protocol, string]> = [
  ['tcp', '/proc/net/tcp'],
  ['tcp', '/proc/net/tcp6'],
  ['udp', '/proc/net/udp'],
  ['udp', '/proc/net/udp6'],
];

/** /proc/net/tcp writes an IPv4 address as one little-endian hex number: 0100007F is 127.0.0.1. */
function procAddress(hex: string): string {
  const bytes = (h: string) => (h.match(/../g) ?? []).map((b) => parseInt(b, 16));
  if (hex.length === 8) return bytes(hex).reverse().join('.');
  // IPv6: four little-endian 32-bit words.
  const words = (hex.match(/.{8}/g) ?? []).flatMap((w) => bytes(w).reverse());
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((((words[i] ?? 0) << 8) | (words[i + 1] ?? 0)).toString(16));
  const text = groups.join(':');
  return text === '0:0:0:0:0:0:0:0' ? '::' : text === '0:0:0:0:0:0:0:1' ? '::1' : text;
}

/** The sockets in one /proc/net/{tcp,udp}{,6} file. */
export function parseProcNet(text: string, protocol: Protocol): Socket[] {
  const out: Socket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    const [addr, port] = (local ?? '').split(':');
    if (!addr || !port || !state) continue;
    out.push({ protocol, address: procAddress(addr), port: parseInt(port, 16), state });
  }
  return out;
}

/**
 * The first TCP port from `from` on that no socket of this network namespace listens on, read from /proc/net
 * (nothing there, as off Linux: `from` itself). For a server a lesson starts and names in the commands it shows.
 */
export function unusedTcpPort(from: number, sockets: readonly Socket[] = readTcpSocketsNow()): number {
  const taken = new Set(sockets.filter((s) => s.protocol === 'tcp').map((s) => s.port));
  let port = from;
  while (taken.has(port) && port < 65535) port++;
  return port;
}

function readTcpSocketsNow(): Socket[] {
  return PROC_NET_FILES.filter(([protocol]) => protocol === 'tcp').flatMap(([protocol, file]) => {
    try {
      return parseProcNet(fs.readFileSync(file, 'utf8'), protocol);
    } catch {
      return [];
    }
  });
}

/** A socket that would collide with publishing this port: any TCP listener, or any UDP socket bound to it. */
export function socketOnPort(sockets: readonly Socket[], p: PortMapping): Socket | undefined {
  return sockets.find(
    (s) => s.protocol === p.protocol && s.port === p.hostPort && (p.protocol === 'udp' || s.state === '0A'),
  );
}

/** `0.0.0.0:8080`, `[::]:8080`. */
export function formatSocket(s: Socket): string {
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** Read every socket of the host (or `hostNetns`). A missing file (no IPv6) is simply skipped. */
export async function readSockets(runner: Runner, hostNetns?: string): Promise<Socket[]> {
  const out: Socket[] = [];
  for (const [protocol, file] of PROC_NET_FILES) {
    const r = await runner.run(onHost(hostNetns, ['cat', file]), { reject: false });
    if (r.exitCode === 0) out.push(...parseProcNet(r.stdout, protocol));
  }
  return out;
}

/** A DNAT rule already on the host (docker's, kube-proxy's, a crashed run's) for this host port, if any. */
export function dnatOnPort(natRules: readonly ListedRule[], p: PortMapping): ListedRule | undefined {
  return natRules.find((r) => {
    const w = r.words;
    const at = w.indexOf('--dport');
    return w.includes('DNAT') && w[w.indexOf('-p') + 1] === p.protocol && w[at + 1] === String(p.hostPort);
  });
}

export function portInUse(p: PortMapping, what: string): UserError {
  return new UserError(
    `host port ${p.hostPort}/${p.protocol} is already ${what}`,
    `publish on another host port, e.g. -p ${p.hostPort === 65535 ? 8080 : p.hostPort + 1}:${p.containerPort}` +
      (p.protocol === 'tcp' ? ` (ss -ltnp shows who has ${p.hostPort})` : ''),
  );
}

// ---- the rules ----------------------------------------------------------------------------------------------

/** The four rules that publish one port of the container at `address` on the bridge. */
export function publishRules(id: string, bridge: string, address: string, p: PortMapping): Rule[] {
  const tag = `${p.hostPort}/${p.protocol}`;
  const toHostPort = ['-p', p.protocol, '-m', p.protocol, '--dport', String(p.hostPort)];
  const toContainerPort = ['-p', p.protocol, '-m', p.protocol, '--dport', String(p.containerPort)];
  const local = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
  const dnat = ['-j', 'DNAT', '--to-destination', `${address}:${p.containerPort}`];
  return [
    {
      table: 'nat',
      chain: 'PREROUTING',
      match: [...toHostPort, ...local],
      target: dnat,
      comment: ruleComment(id, `publish-${tag}`),
      why: `port ${tag} of any host address → ${address}:${p.containerPort} (from other machines and containers)`,
    },
    {
      table: 'nat',
      chain: 'OUTPUT',
      match: [...toHostPort, ...local],
      target: dnat,
      comment: ruleComment(id, `publish-local-${tag}`),
      why: "the same for the host's own connections, which never pass PREROUTING",
    },
    {
      table: 'nat',
      chain: 'POSTROUTING',
      match: ['-s', address, '-d', address, ...toContainerPort],
      target: ['-j', 'MASQUERADE'],
      comment: ruleComment(id, `hairpin-${tag}`),
      why: 'hairpin: the container reaching its own published port must not see itself as the sender',
    },
    {
      table: 'filter',
      chain: 'FORWARD',
      insert: true,
      match: ['-d', address, '-o', bridge, ...toContainerPort],
      target: ['-j', 'ACCEPT'],
      comment: ruleComment(id, `accept-${tag}`),
      why: 'let the forwarded connections in, whatever the FORWARD policy',
    },
  ];
}
