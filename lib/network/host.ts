/**
 * Which network namespace is "the host", and how a command reaches the container's.
 *
 * A network namespace is a whole separate network stack: its own interfaces, addresses, routing table, iptables
 * rules, sysctls under /proc/sys/net, and list of open sockets. The machine's network is simply the namespace
 * PID 1 lives in; a container's is another one, empty but for a loopback interface that is down. Nothing in
 * either can see the other, so the only way to connect them is a link with one end in each (a veth pair).
 *
 * `ip netns add NAME` makes a namespace and keeps it alive by bind-mounting it on /run/netns/NAME, with no
 * process in it yet; a container then *joins it by path* (`nsenter --net=/run/netns/NAME`), as docker and CNI
 * plugins do. Making it first lets the host wire it up completely before the container's first process starts.
 *
 * Every command that changes "the host" here runs in the namespace the runner runs in — or, when `hostNetns` is
 * given, inside that named namespace instead (`ip -n NAME …`, `ip netns exec NAME …`). Tests use that to build a
 * throwaway "host" namespace per test and never touch the machine's own network; a lesson passes nothing and
 * works on the real host (or on whatever namespace its runner was started in: `unshare --net npm run lesson 08`).
 * Each such host has its own bridge, so each has its own bridge state too (hostKey).
 */
import fs from 'node:fs';
import path from 'node:path';
import { linkName, PREFIX } from '../names.ts';

/** Where `ip netns add` keeps named namespaces. */
export const NETNS_DIR = '/run/netns';

/** The container's network namespace: `scr<id>`, kept at /run/netns/scr<id>. */
export function netnsName(id: string): string {
  return `${PREFIX}${id}`;
}

export function netnsPath(name: string): string {
  return path.join(NETNS_DIR, name);
}

/** The veth end that stays on the host and is plugged into the bridge: `scr<id>h`. */
export function hostVethName(id: string): string {
  return linkName(id, 'h');
}

/** The veth end that goes into the container (and is renamed eth0 there): `scr<id>c` until then. */
export function peerVethName(id: string): string {
  return linkName(id, 'c');
}

/** The name the container sees for its interface, as on any machine with one network card. */
export const CONTAINER_IFNAME = 'eth0';

/**
 * A command as run on the host side: unchanged for the real host, or inside `hostNetns`. `ip` itself can switch
 * namespace (`ip -n NAME`); anything else (iptables, sysctl, cat of /proc/net/…) runs under `ip netns exec`, which
 * also gives it a /sys of that namespace.
 */
export function onHost(hostNetns: string | undefined, argv: readonly string[]): string[] {
  if (!hostNetns) return [...argv];
  if (argv[0] === 'ip') return ['ip', '-n', hostNetns, ...argv.slice(1)];
  return ['ip', 'netns', 'exec', hostNetns, ...argv];
}

/** An `ip` command inside the container's namespace: `ip -n scr<id> …`. */
export function ipInContainer(netns: string, args: readonly string[]): string[] {
  return ['ip', '-n', netns, ...args];
}

/** Any command inside the container's network namespace, joined by path as the container itself will join it. */
export function inContainerNetns(netnsFile: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=${netnsFile}`, '--', ...argv];
}

/**
 * Which host a bridge's state belongs to: the named host namespace, or else the namespace the runner runs in,
 * by its inode (`net4026531833`, as `readlink /proc/self/ns/net` shows it). Every namespace has its own scr0, so
 * the machine's bridge and one in a namespace `unshare --net` started the runner in never share leases. (PID 1's
 * namespace would tell "the machine" apart, but sandboxes hide it; the inode needs nothing but our own.)
 */
export function hostKey(hostNetns?: string): string | undefined {
  if (hostNetns) return hostNetns;
  try {
    return `net${fs.readlinkSync('/proc/self/ns/net').replace(/\D/g, '')}`;
  } catch {
    return undefined;
  }
}
