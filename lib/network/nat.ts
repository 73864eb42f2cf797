/**
 * The host as the containers' router: IP forwarding, masquerade, and the filter rules that let their traffic by.
 *
 * A container's packets for the world arrive at the host on the bridge and must leave by another interface.
 * Passing packets from one interface to another is *forwarding*, and a Linux host does it only when
 * `net.ipv4.ip_forward` is 1 (a sysctl of each network namespace). The world cannot answer 10.30.0.2 — only the
 * host knows where that is — so on the way out the source address is replaced by the host's own (MASQUERADE in
 * nat POSTROUTING, for packets from the subnet not leaving by the bridge itself), and conntrack turns the answers
 * back.
 *
 * Forwarded packets also pass the filter table's FORWARD chain, whose policy may be DROP: docker sets it, and so
 * do firewalls. Explicit ACCEPT rules for the bridge, inserted at the top, keep the containers working whatever
 * the policy is: out to the world, the answers back in, and from one container to another. That last one only
 * matters with `br_netfilter` loaded (docker loads it): frames *bridged* between two ports of scr0 are then shown
 * to iptables too, as packets in FORWARD coming in on scr0 and going out on scr0, and a DROP policy would drop
 * them. Without the module bridged frames never reach iptables, and the rule is simply never used.
 *
 * One more rule guards the host. Published ports need `route_localnet` on the bridge (see ports.ts), which also
 * lets a packet addressed to 127.0.0.1 be accepted when it *arrives* on the bridge — from a container that points
 * a route for 127.0.0.0/8 at the host, and so reaches services the host meant only for itself
 * (CVE-2020-8558, the same mistake in kube-proxy). New connections to 127.0.0.0/8 arriving on the bridge are dropped.
 */
import type { HostChange } from './changes.ts';
import { onHost } from './host.ts';
import { ruleComment, type Rule } from './iptables.ts';

export const IP_FORWARD = 'net.ipv4.ip_forward';

/** The rules one bridge needs, whatever the number of containers on it; owned by the bridge (`scr:scr0:…`). */
export function sharedRules(bridge: string, subnetCidr: string): Rule[] {
  const accept = ['-j', 'ACCEPT'];
  const masquerade = ['-j', 'MASQUERADE'];
  const tag = (purpose: string) => ruleComment(bridge, purpose);
  return [
    {
      table: 'filter',
      chain: 'FORWARD',
      insert: true,
      match: ['-i', bridge, '!', '-o', bridge],
      target: accept,
      comment: tag('accept-out'),
      why: 'let the containers out, whatever the FORWARD policy',
    },
    {
      table: 'filter',
      chain: 'FORWARD',
      insert: true,
      match: ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'],
      target: accept,
      comment: tag('accept-replies'),
      why: 'let the answers back in',
    },
    {
      table: 'filter',
      chain: 'FORWARD',
      insert: true,
      match: ['-i', bridge, '-o', bridge],
      target: accept,
      comment: tag('accept-between'),
      why: 'container to container (with br_netfilter, bridged frames pass FORWARD too)',
    },
    {
      table: 'filter',
      chain: 'INPUT',
      insert: true,
      match: ['-i', bridge, '-d', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED'],
      target: ['-j', 'DROP'],
      comment: tag('no-localhost'),
      why: "keep containers away from the host's 127.0.0.1 services (route_localnet is on)",
    },
    {
      table: 'nat',
      chain: 'POSTROUTING',
      match: ['-s', subnetCidr, '!', '-o', bridge],
      target: masquerade,
      comment: tag('masquerade'),
      why: "leaving the host, containers' packets take the host's address",
    },
    {
      table: 'nat',
      chain: 'POSTROUTING',
      match: ['-s', '127.0.0.0/8', '-o', bridge],
      target: masquerade,
      comment: tag('masquerade-localhost'),
      why: "the host's own 127.0.0.1 connections reach a container from the bridge address",
    },
  ];
}

/** `sysctl -n net.ipv4.ip_forward`: 1 when the host forwards packets. */
export function readIpForwardArgv(hostNetns?: string): string[] {
  return onHost(hostNetns, ['sysctl', '-n', IP_FORWARD]);
}

/** Turning forwarding on; its undo puts back what was there (done by the last container, see index.ts). */
export function ipForwardChange(hostNetns: string | undefined, before: string): HostChange {
  return {
    what: 'let the host forward packets between interfaces',
    argv: onHost(hostNetns, ['sysctl', '-w', `${IP_FORWARD}=1`]),
    undo: onHost(hostNetns, ['sysctl', '-w', `${IP_FORWARD}=${before}`]),
  };
}
