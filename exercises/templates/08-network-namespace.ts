/**
 * Exercise 08 — the network namespace: the cable and the address.
 *
 * Two stages of wiring a container up, each a list of commands with the command that undoes them. Lesson 08 runs
 * what you return (`npm run lesson 08 -- --mine`) — each undo registered before its command runs — and checks
 * from the host that the container has its address, that host and container ping each other, that the web
 * container answers on the published port, and that two containers talk across the bridge.
 *
 * `vethStage(plan)`: a veth pair is a cable with two ends, both made on the host. Return, in order:
 *   1. `ip link add <plan.hostVeth> type veth peer name <plan.peerVeth>` (undo: `ip link delete <plan.hostVeth>`:
 *      deleting one end deletes both);
 *   2. `ip link set <plan.peerVeth> netns <plan.netns>` — the other end into the container's namespace;
 *   3. `ip -n <plan.netns> link set <plan.peerVeth> name <plan.ifname>` — renamed eth0 in there;
 *   4. `ip link set <plan.hostVeth> master <plan.bridge>` — the host end plugged into the bridge;
 *   5. `ip link set <plan.hostVeth> type bridge_slave hairpin on` — so a container can reach its own published
 *      port through the host (the reply goes back out of the port it came in by);
 *   6. `ip link set <plan.hostVeth> up`.
 * `addressStage(plan)`: inside the namespace (`ip -n <plan.netns> …`; all of it goes with the namespace, no undo):
 *   `addr add <plan.addressCidr> dev <plan.ifname>`, `link set <plan.ifname> up`, `link set lo up`,
 *   `route add default via <plan.gateway>`.
 *
 * One thing more: the tests run the lesson inside a namespace that plays the host, named in `plan.hostNetns`.
 * When it is set, every host-side `ip …` becomes `ip -n <plan.hostNetns> …` (commands already inside the
 * container's namespace stay as they are). Only `ip` commands on links and namespaces named `scr…` are run.
 */
import type { HostChange } from '../../lib/network/changes.ts';
import type { NetworkPlan } from '../../lib/network/plan.ts';

export function vethStage(plan: NetworkPlan): HostChange[] {
  // TODO: the six changes above, in order, each { what, argv, undo? }.
  throw new Error(`TODO: write vethStage (for ${plan.hostVeth} <-> ${plan.peerVeth})`);
}

export function addressStage(plan: NetworkPlan): HostChange[] {
  // TODO: address, eth0 up, lo up, default route — all with ip -n <plan.netns>.
  throw new Error(`TODO: write addressStage (for ${plan.netns})`);
}
