/**
 * A throwaway "host" for network tests, so they never touch the machine's own network namespace.
 *
 *   scr<id>-lan                 scr<id>-host                              containers
 *   ┌──────────────────┐        ┌──────────────────────────────┐
 *   │ 198.51.100.2     │ veth   │ 198.51.100.1 (its "eth0")    │  veth   ┌──────────┐
 *   │ (a neighbour,    ├────────┤ scr0 10.30.0.1  ──────────── ├─────────┤ eth0 .2  │ …
 *   │  no route back)  │        │ iptables, ip_forward, …      │         └──────────┘
 *   └──────────────────┘        └──────────────────────────────┘
 *
 * The neighbour has no route to the containers' subnet: only masqueraded traffic can be answered, which proves
 * the masquerade without sending anything off the machine. 198.51.100.0/24 is TEST-NET-2 (RFC 5737).
 */
import fs from 'node:fs';
import { DEFAULT_ROOTFS } from '../../lib/names.ts';
import type { Runner } from '../../lib/runner.ts';

export const LAN_HOST = '198.51.100.1';
export const NEIGHBOUR = '198.51.100.2';

/** busybox from the workshop's rootfs (its httpd, nc, ping), or the host's busybox-static. */
export const BUSYBOX = fs.existsSync(`${DEFAULT_ROOTFS}/bin/busybox`) ? `${DEFAULT_ROOTFS}/bin/busybox` : 'busybox';

export interface FakeHost {
  /** The namespace that plays the host. */
  netns: string;
  /** The neighbour machine on its LAN. */
  lan: string;
  /** A command inside the fake host. */
  run(argv: readonly string[]): string[];
  remove(): Promise<void>;
}

export async function createFakeHost(runner: Runner, id: string): Promise<FakeHost> {
  const netns = `scr${id}-host`;
  const lan = `scr${id}-lan`;
  const host: FakeHost = {
    netns,
    lan,
    run: (argv) => ['ip', 'netns', 'exec', netns, ...argv],
    async remove() {
      for (const n of [lan, netns]) await runner.run(['ip', 'netns', 'delete', n], { reject: false });
    },
  };
  try {
    for (const n of [netns, lan]) {
      await runner.run(['ip', 'netns', 'add', n]);
      await runner.run(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    const [eth, peer] = [`scr${id}e`, `scr${id}f`];
    await runner.run(['ip', '-n', netns, 'link', 'add', eth, 'type', 'veth', 'peer', 'name', peer, 'netns', lan]);
    await runner.run(['ip', '-n', netns, 'addr', 'add', `${LAN_HOST}/24`, 'dev', eth]);
    await runner.run(['ip', '-n', netns, 'link', 'set', eth, 'up']);
    await runner.run(['ip', '-n', lan, 'addr', 'add', `${NEIGHBOUR}/24`, 'dev', peer]);
    await runner.run(['ip', '-n', lan, 'link', 'set', peer, 'up']);
  } catch (error) {
    await host.remove();
    throw error;
  }
  return host;
}
