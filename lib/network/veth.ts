/**
 * The container's side: its network namespace, a veth pair into it, its address and its route.
 *
 * A veth pair is a virtual Ethernet cable with a network interface at each end: a frame sent into one end comes
 * out of the other. Made on the host, one end (`scr<id>c`) is moved into the container's namespace — and
 * disappears from the host's `ip link` — where it is renamed `eth0`; the other end (`scr<id>h`) stays on the
 * host and is plugged into the bridge. That cable is the container's only way out.
 *
 * Inside, the interface needs what any machine's network card needs: an address in the subnet, to be up, and a
 * default route that sends everything not on the subnet to the gateway (the bridge's address). `lo` starts out
 * down in a new namespace, so even 127.0.0.1 does not work until it is brought up.
 *
 * The commands inside the container's namespace are `ip -n scr<id> …`: the namespace is entered by name, from
 * the host, before the container's first process even exists. (The host's end is moved and attached with the
 * host's own `ip`, which may itself be run in a test's "host" namespace: see host.ts.)
 */
import type { HostChange } from './changes.ts';
import { CONTAINER_IFNAME, ipInContainer, onHost } from './host.ts';

export interface VethNames {
  netns: string;
  hostVeth: string;
  peerVeth: string;
  bridge: string;
}

/** `ip netns add scr<id>`: the namespace, kept at /run/netns/scr<id> until deleted. */
export function netnsChanges(netns: string): HostChange[] {
  // Never run under `ip netns exec`: that command works in a private mount namespace, where the bind mount on
  // /run/netns/NAME would vanish with it. Namespaces are not nested, so it does not matter where it is made.
  return [
    {
      what: `create the network namespace ${netns}`,
      argv: ['ip', 'netns', 'add', netns],
      undo: ['ip', 'netns', 'delete', netns],
    },
  ];
}

/** The cable: make the pair, move one end in and rename it eth0, plug the other into the bridge. */
export function vethChanges(n: VethNames, hostNetns?: string): HostChange[] {
  return [
    {
      what: `create a veth pair ${n.hostVeth} <-> ${n.peerVeth}`,
      argv: onHost(hostNetns, ['ip', 'link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.peerVeth]),
      // Deleting either end deletes both; the container's end also goes when its namespace is deleted.
      undo: onHost(hostNetns, ['ip', 'link', 'delete', n.hostVeth]),
    },
    {
      what: `move ${n.peerVeth} into the container's namespace`,
      argv: onHost(hostNetns, ['ip', 'link', 'set', n.peerVeth, 'netns', n.netns]),
    },
    {
      what: `rename it ${CONTAINER_IFNAME} in there`,
      argv: ipInContainer(n.netns, ['link', 'set', n.peerVeth, 'name', CONTAINER_IFNAME]),
    },
    {
      what: `plug ${n.hostVeth} into the bridge ${n.bridge}`,
      argv: onHost(hostNetns, ['ip', 'link', 'set', n.hostVeth, 'master', n.bridge]),
    },
    {
      // With br_netfilter, a container reaching its own published port has the rewritten frame sent back out of
      // the bridge port it came in by; a bridge refuses that unless the port is in hairpin mode.
      what: `let frames go back out of the port they came in by (hairpin)`,
      argv: onHost(hostNetns, ['ip', 'link', 'set', n.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']),
    },
    { what: `bring ${n.hostVeth} up`, argv: onHost(hostNetns, ['ip', 'link', 'set', n.hostVeth, 'up']) },
  ];
}

/** Address, up, loopback, default route: everything inside the namespace (all of it goes with the namespace). */
export function addressChanges(netns: string, addressCidr: string, gateway: string): HostChange[] {
  return [
    {
      what: `give ${CONTAINER_IFNAME} the address ${addressCidr}`,
      argv: ipInContainer(netns, ['addr', 'add', addressCidr, 'dev', CONTAINER_IFNAME]),
    },
    { what: `bring ${CONTAINER_IFNAME} up`, argv: ipInContainer(netns, ['link', 'set', CONTAINER_IFNAME, 'up']) },
    { what: 'bring lo up (127.0.0.1 inside)', argv: ipInContainer(netns, ['link', 'set', 'lo', 'up']) },
    {
      what: `send everything else to the gateway ${gateway}`,
      argv: ipInContainer(netns, ['route', 'add', 'default', 'via', gateway]),
    },
  ];
}
