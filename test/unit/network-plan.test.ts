/**
 * lib/network's plans and their order, recorded without root: every command a container's network runs, the
 * undo of each on the stack before it, the checks that refuse bad input before anything exists, and IPAM.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { UserError } from '../../lib/errors.ts';
import { belongsTo, removalArgv, scanLeftovers } from '../../lib/leftovers.ts';
import { parseCidr } from '../../lib/network/addresses.ts';
import { sharedRules } from '../../lib/network/nat.ts';
import { confinedChanges, outsideScratch } from '../../lib/network/changes.ts';
import {
  allStages,
  checkArgvs,
  connectContainer,
  detectArgvs,
  ensureBridge,
  ensureBridgeArgvs,
  parsePublish,
  planNetwork,
  releaseNetwork,
  reserveNetwork,
  addressStage,
  netnsStage,
  noneStage,
  publishStage,
  vethStage,
  type NetworkPlan,
  type PortMapping,
} from '../../lib/network/index.ts';
import { claimPort, leaseCount, leaseOf, releaseClaims, takeLease } from '../../lib/network/ipam.ts';
import { quoteArgv } from '../../lib/quote.ts';
import { RecordingRunner, type RunOptions, type RunResult } from '../../lib/runner.ts';

const ID = '08ab12';
const PROC_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-net-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** A recording runner that answers like a fresh Debian 12 host with nothing of ours on it yet. */
function freshHost(): RecordingRunner {
  return new RecordingRunner()
    .respondTo('iptables -V', 'iptables v1.8.9 (nf_tables)\n')
    .respondTo(
      'ip -j route',
      JSON.stringify([
        { dst: 'default', gateway: '10.0.2.2', dev: 'eth0' },
        { dst: '10.0.2.0/24', dev: 'eth0' },
      ]),
    )
    .respondTo('addr show dev scr0', '', 1)
    .respondTo('sysctl -n net.ipv4.ip_forward', '0\n')
    .respondTo('cat /proc/net/', PROC_HEADER);
}

/** A runner that also notes, for every command, what the cleanup stack would undo at that moment. */
class WatchingRunner extends RecordingRunner {
  readonly pendingAt: string[][] = [];
  constructor(private readonly stack: CleanupStack) {
    super();
  }
  override async run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.pendingAt.push(this.stack.pending);
    return super.run(argv, opts);
  }
}

function watchingFreshHost(stack: CleanupStack): WatchingRunner {
  const r = new WatchingRunner(stack);
  for (const [needle, out, code] of [
    ['iptables -V', 'iptables v1.8.9 (nf_tables)\n', 0],
    ['ip -j route', '[]', 0],
    ['addr show dev scr0', '', 1],
    ['sysctl -n net.ipv4.ip_forward', '0\n', 0],
    ['cat /proc/net/', PROC_HEADER, 0],
  ] as const) {
    r.respondTo(needle, out, code);
  }
  return r;
}

const CHANGES = /ip netns add|link add|link set|addr add|route add| -[AID] |sysctl -w/;

describe('the plan', () => {
  it('explains every command for a lone container on the real host, in order, nothing prefixed', () => {
    const plan = planNetwork({ id: ID, ports: [parsePublish('8080:80')] });
    expect(allStages(plan).map((c) => quoteArgv(c.argv))).toEqual([
      'ip netns add scr08ab12',
      'ip link add scr0 address 02:73:63:1e:00:01 type bridge',
      'ip addr add 10.30.0.1/24 dev scr0',
      'ip link set scr0 up',
      'sysctl -w net.ipv4.conf.scr0.route_localnet=1',
      'sysctl -w net.ipv4.ip_forward=1',
      "iptables -w -t filter -I FORWARD -i scr0 '!' -o scr0 -m comment --comment scr:scr0:accept-out -j ACCEPT",
      'iptables -w -t filter -I FORWARD -o scr0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment scr:scr0:accept-replies -j ACCEPT',
      'iptables -w -t filter -I FORWARD -i scr0 -o scr0 -m comment --comment scr:scr0:accept-between -j ACCEPT',
      "iptables -w -t filter -I INPUT -i scr0 -d 127.0.0.0/8 -m conntrack '!' --ctstate RELATED,ESTABLISHED -m comment --comment scr:scr0:no-localhost -j DROP",
      "iptables -w -t nat -A POSTROUTING -s 10.30.0.0/24 '!' -o scr0 -m comment --comment scr:scr0:masquerade -j MASQUERADE",
      'iptables -w -t nat -A POSTROUTING -s 127.0.0.0/8 -o scr0 -m comment --comment scr:scr0:masquerade-localhost -j MASQUERADE',
      'ip link add scr08ab12h type veth peer name scr08ab12c',
      'ip link set scr08ab12c netns scr08ab12',
      'ip -n scr08ab12 link set scr08ab12c name eth0',
      'ip link set scr08ab12h master scr0',
      'ip link set scr08ab12h type bridge_slave hairpin on',
      'ip link set scr08ab12h up',
      'ip -n scr08ab12 addr add 10.30.0.2/24 dev eth0',
      'ip -n scr08ab12 link set eth0 up',
      'ip -n scr08ab12 link set lo up',
      'ip -n scr08ab12 route add default via 10.30.0.1',
      'iptables -w -t nat -A PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment scr:08ab12:publish-8080/tcp -j DNAT --to-destination 10.30.0.2:80',
      'iptables -w -t nat -A OUTPUT -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment scr:08ab12:publish-local-8080/tcp -j DNAT --to-destination 10.30.0.2:80',
      'iptables -w -t nat -A POSTROUTING -s 10.30.0.2 -d 10.30.0.2 -p tcp -m tcp --dport 80 -m comment --comment scr:08ab12:hairpin-8080/tcp -j MASQUERADE',
      'iptables -w -t filter -I FORWARD -d 10.30.0.2 -o scr0 -p tcp -m tcp --dport 80 -m comment --comment scr:08ab12:accept-8080/tcp -j ACCEPT',
    ]);
    expect(plan).toMatchObject({ netnsPath: '/run/netns/scr08ab12', gateway: '10.30.0.1', ifname: 'eth0' });
  });

  it('with a host namespace, ip switches with -n, other tools run under ip netns exec, ip netns add never', () => {
    const plan = planNetwork({ id: ID, hostNetns: 'scr08ffff-host', ports: [parsePublish('8080:80')] });
    const lines = allStages(plan).map((c) => quoteArgv(c.argv));
    expect(lines[0]).toBe('ip netns add scr08ab12');
    const hostSide = lines.filter((l) => !l.startsWith('ip netns add') && !l.startsWith('ip -n scr08ab12 '));
    for (const l of hostSide)
      expect(l).toMatch(/^ip -n scr08ffff-host |^ip netns exec scr08ffff-host (iptables|sysctl) /);
    expect(hostSide).toHaveLength(lines.length - 6);
    expect(plan.netDir).toBe('/run/scratch/scr0.scr08ffff-host');
  });

  it('every iptables rule carries an scr: comment, and everything that creates has its undo', () => {
    const changes = allStages(planNetwork({ id: ID, ports: [parsePublish('8080:80'), parsePublish('53:53/udp')] }));
    for (const c of changes.filter((c) => c.argv[0] === 'iptables')) {
      expect(c.argv[c.argv.indexOf('--comment') + 1]).toMatch(/^scr:(scr0|08ab12):/);
      expect(c.undo?.[4]).toBe('-D');
    }
    const creating = changes.filter((c) => /ip netns add|link add|-[AI]$/.test(quoteArgv(c.argv.slice(0, 5))));
    expect(creating.filter((c) => !c.undo)).toEqual([]);
    expect(creating.length).toBe(1 + 1 + 1 + 6 + 8);
  });

  it('--network none is a namespace with only lo, brought up', () => {
    expect(noneStage(ID).map((c) => quoteArgv(c.argv))).toEqual([
      'ip netns add scr08ab12',
      'ip -n scr08ab12 link set lo up',
    ]);
    expect(noneStage(ID)[0]?.undo).toEqual(['ip', 'netns', 'delete', 'scr08ab12']);
  });

  it('a run id too long for an interface name is refused before anything is planned', () => {
    expect(() => planNetwork({ id: '08abcdef1234' })).toThrow(/longer than 15/);
  });
});

describe('reserving, connecting and releasing', () => {
  it('runs the checks, then each stage, with every undo on the stack before its command; unwinding removes all', async () => {
    const stack = new CleanupStack();
    const runner = watchingFreshHost(stack);
    const stateDir = path.join(root, ID);
    fs.mkdirSync(stateDir);
    const net = await connectContainer(runner, stack, {
      id: ID,
      stateRoot: root,
      stateDir,
      hostname: 'web',
      ports: [parsePublish('8080:80')],
    });
    const lines = runner.lines;
    const firstChange = lines.findIndex((l) => CHANGES.test(l));
    // Everything read before anything changed: the backend, routes, the bridge, sockets, DNAT rules.
    expect(lines.slice(0, firstChange)).toEqual([
      'iptables -V',
      'iptables-nft-save',
      'iptables-legacy-save',
      'ip -j route',
      'ip -j addr show dev scr0',
      'cat /proc/net/tcp',
      'cat /proc/net/tcp6',
      'cat /proc/net/udp',
      'cat /proc/net/udp6',
      'iptables -w -t nat -S',
    ]);
    expect(lines[firstChange]).toBe('ip netns add scr08ab12');

    // The container's own changes: each one's undo was the newest entry on the stack when it ran.
    const own = [...netnsStage(net.plan), ...vethStage(net.plan), ...addressStage(net.plan), ...publishStage(net.plan)];
    for (const change of own.filter((c) => c.undo)) {
      const at = lines.indexOf(quoteArgv(change.argv));
      expect(runner.pendingAt[at]?.[0], quoteArgv(change.argv)).toBe(`undo: ${change.what}`);
    }
    // The shared ones (bridge, forwarding, NAT): the release, registered before anything, undoes them.
    for (const change of allStages(net.plan).filter((c) => !own.includes(c))) {
      const at = lines.indexOf(quoteArgv(change.argv));
      expect(at, quoteArgv(change.argv)).toBeGreaterThan(0);
      expect(runner.pendingAt[at]?.at(-1)).toMatch(/^give back 08ab12's address and ports; remove scr0 if/);
    }
    expect(fs.readlinkSync(path.join(net.plan.netDir, 'leases', '10.30.0.2'))).toBe(ID);
    expect(fs.readFileSync(path.join(stateDir, 'hosts'), 'utf8')).toContain('10.30.0.2\tweb');
    expect(net.mounts.map((m) => [m.destination, m.source, m.type, m.options])).toEqual([
      ['/etc/hosts', path.join(stateDir, 'hosts'), 'bind', ['bind', 'ro']],
      ['/etc/resolv.conf', path.join(stateDir, 'resolv.conf'), 'bind', ['bind', 'ro']],
    ]);

    // The shared rules are found again by their comment when the last container goes.
    runner.respondTo(
      'iptables -w -t nat -S',
      '-A POSTROUTING -s 10.30.0.0/24 ! -o scr0 -m comment --comment "scr:scr0:masquerade" -j MASQUERADE\n',
    );
    const before = runner.lines.length;
    await stack.unwind();
    expect(runner.lines.slice(before)).toEqual([
      'iptables -w -t filter -D FORWARD -d 10.30.0.2 -o scr0 -p tcp -m tcp --dport 80 -m comment --comment scr:08ab12:accept-8080/tcp -j ACCEPT',
      'iptables -w -t nat -D POSTROUTING -s 10.30.0.2 -d 10.30.0.2 -p tcp -m tcp --dport 80 -m comment --comment scr:08ab12:hairpin-8080/tcp -j MASQUERADE',
      'iptables -w -t nat -D OUTPUT -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment scr:08ab12:publish-local-8080/tcp -j DNAT --to-destination 10.30.0.2:80',
      'iptables -w -t nat -D PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment scr:08ab12:publish-8080/tcp -j DNAT --to-destination 10.30.0.2:80',
      'ip link delete scr08ab12h',
      'ip netns delete scr08ab12',
      'iptables -w -t filter -S',
      'iptables -w -t nat -S',
      "iptables -w -t nat -D POSTROUTING -s 10.30.0.0/24 '!' -o scr0 -m comment --comment scr:scr0:masquerade -j MASQUERADE",
      'ip link delete scr0',
      'sysctl -w net.ipv4.ip_forward=0',
    ]);
    expect(fs.existsSync(net.plan.netDir)).toBe(false);
  });

  it('a second container finds the bridge and its rules in place and changes nothing shared', async () => {
    const listed = (table: string) =>
      sharedRules('scr0', '10.30.0.0/24')
        .filter((r) => r.table === table)
        .map((r) => ['-A', r.chain, ...r.match, '-m', 'comment', '--comment', `"${r.comment}"`, ...r.target].join(' '))
        .join('\n');
    const runner = freshHost()
      .respondTo(
        'addr show dev scr0',
        JSON.stringify([
          {
            address: '02:73:63:1e:00:01',
            flags: ['UP'],
            addr_info: [{ family: 'inet', local: '10.30.0.1', prefixlen: 24 }],
          },
        ]),
      )
      .respondTo('route_localnet', '1\n')
      .respondTo('sysctl -n net.ipv4.ip_forward', '1\n')
      .respondTo('iptables -w -t filter -S', listed('filter'))
      .respondTo('iptables -w -t nat -S', listed('nat'));
    const plan = planNetwork({ id: ID, stateRoot: root });
    expect(await ensureBridge(runner, plan)).toEqual([]);
    expect(runner.lines.filter((l) => CHANGES.test(l))).toEqual([]);
    // The control: with one rule gone (a run killed half-way), exactly that one is added again.
    runner.respondTo('iptables -w -t nat -S', listed('nat').split('\n')[0] ?? '');
    const made = await ensureBridge(runner, plan);
    expect(made.map((c) => c.what)).toEqual([
      sharedRules('scr0', '10.30.0.0/24').find((r) => r.comment === 'scr:scr0:masquerade-localhost')?.why,
    ]);
  });

  it('a half-made bridge (killed before its address) is finished, not made again', async () => {
    const runner = freshHost().respondTo('addr show dev scr0', JSON.stringify([{ flags: [], addr_info: [] }]));
    const made = await ensureBridge(runner, planNetwork({ id: ID, stateRoot: root }));
    expect(made.map((c) => quoteArgv(c.argv)).slice(0, 5)).toEqual([
      'ip link set scr0 address 02:73:63:1e:00:01',
      'ip addr add 10.30.0.1/24 dev scr0',
      'ip link set scr0 up',
      'sysctl -w net.ipv4.conf.scr0.route_localnet=1',
      'sysctl -w net.ipv4.ip_forward=1',
    ]);
  });

  it('the bridge stays while another container still holds an address', async () => {
    const plan: NetworkPlan = planNetwork({ id: ID, stateRoot: root });
    takeLease(plan.netDir, parseCidr(plan.subnet) ?? fail(), ID);
    takeLease(plan.netDir, parseCidr(plan.subnet) ?? fail(), '08cdef');
    const runner = freshHost();
    await releaseNetwork(runner, plan);
    expect(runner.lines).toEqual([]);
    expect(leaseOf(plan.netDir, '08cdef')).toBe('10.30.0.3');
    expect(leaseOf(plan.netDir, ID)).toBeUndefined();
  });

  it('--explain reads nothing and changes nothing: the plan shows the first address', async () => {
    const runner = new RecordingRunner();
    Object.defineProperty(runner, 'dryRun', { value: true });
    const plan = await reserveNetwork(runner, new CleanupStack(), { id: ID, stateRoot: root });
    expect(plan.address).toBe('10.30.0.2');
    expect(runner.lines).toEqual([]);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});

describe('what a lesson shows before each call is what the call runs', () => {
  const NFT = { binary: 'iptables', mode: 'nft' as const, reason: 'detected' };
  const listed = (argvs: string[][]) => argvs.map((a) => quoteArgv(a));

  it('reserveNetwork runs the detection, then exactly the checks checkArgvs lists; with a backend given, only those', async () => {
    const req = { id: ID, stateRoot: root, ports: [parsePublish('8080:80')] };
    const runner = freshHost();
    await reserveNetwork(runner, new CleanupStack(), req);
    expect(runner.lines).toEqual(listed([...detectArgvs(), ...checkArgvs(req, NFT)]));
    const given = freshHost();
    await reserveNetwork(given, new CleanupStack(), { ...req, stateRoot: path.join(root, 'b'), iptables: NFT });
    expect(given.lines).toEqual(listed(checkArgvs(req, NFT)));
    // Without ports neither the sockets nor the DNAT rules are read.
    expect(listed(checkArgvs({ id: ID }, NFT))).toEqual(['ip -j route', 'ip -j addr show dev scr0']);
  });

  it('ensureBridge, half by half, runs only commands ensureBridgeArgvs lists for that half', async () => {
    const plan = planNetwork({ id: ID, stateRoot: root }, { iptables: NFT });
    const bridgeOnly = freshHost();
    await ensureBridge(bridgeOnly, plan, ['bridge']);
    const bridgeArgvs = listed(ensureBridgeArgvs(plan, ['bridge']));
    expect(bridgeOnly.lines.length).toBeGreaterThan(0);
    for (const l of bridgeOnly.lines) expect(bridgeArgvs).toContain(l);
    expect(bridgeOnly.lines.filter((l) => /iptables|ip_forward/.test(l))).toEqual([]);

    const routerOnly = freshHost();
    await ensureBridge(routerOnly, plan, ['router']);
    const routerArgvs = listed(ensureBridgeArgvs(plan, ['router']));
    for (const l of routerOnly.lines) expect(routerArgvs).toContain(l);
    expect(routerOnly.lines.filter((l) => /scr0 (up|address)|route_localnet/.test(l))).toEqual([]);
    expect(routerOnly.lines).toContain('sysctl -w net.ipv4.ip_forward=1');

    // A bridge an older run left with another MAC and no route_localnet: what is read and fixed is listed too.
    const old = freshHost()
      .respondTo('addr show dev scr0', JSON.stringify([{ address: '02:00:00:00:00:09', flags: ['UP'], addr_info: [] }]))
      .respondTo('route_localnet', '0\n');
    await ensureBridge(old, plan, ['bridge']);
    expect(old.lines).toContain('sysctl -n net.ipv4.conf.scr0.route_localnet');
    expect(old.lines).toContain('ip link set scr0 address 02:73:63:1e:00:01');
    for (const l of old.lines) expect(bridgeArgvs).toContain(l);
  });
});

describe('bad input is one line, before anything is set up', () => {
  async function refused(
    runner: RecordingRunner,
    ports = ['8080:80'],
    over: { subnet?: string } = {},
    raw: PortMapping[] = [],
  ) {
    const stack = new CleanupStack();
    let error: unknown;
    try {
      await reserveNetwork(runner, stack, {
        id: ID,
        stateRoot: root,
        hostKey: 'unit',
        ports: [...ports.map(parsePublish), ...raw],
        ...over,
      });
    } catch (e) {
      error = e;
    }
    await stack.unwind();
    expect(error).toBeInstanceOf(UserError);
    expect(runner.lines.filter((l) => CHANGES.test(l))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'scr0.unit', 'leases', '10.30.0.2'))).toBe(false);
    return error as UserError;
  }

  it('iptables missing', async () => {
    const e = await refused(freshHost().respondTo('iptables -V', '', 127));
    expect(e.message).toContain('iptables is not installed');
    expect(e.fix).toBe('apt-get install -y iptables');
  });

  it('a subnet that overlaps a host route', async () => {
    const runner = freshHost().respondTo('ip -j route', JSON.stringify([{ dst: '10.0.0.0/8', dev: 'tun0' }]));
    const e = await refused(runner);
    expect(e.message).toBe("the containers' subnet 10.30.0.0/24 overlaps the host's route 10.0.0.0/8 dev tun0");
  });

  it('a host port a program listens on', async () => {
    const runner = freshHost().respondTo(
      'cat /proc/net/tcp6',
      `${PROC_HEADER}   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0\n`,
    );
    const e = await refused(runner);
    expect(e.message).toBe('host port 8080/tcp is already in use: a program on the host listens on [::]:8080');
    expect(e.fix).toBe('publish on another host port, e.g. -p 8081:80 (ss -ltnp shows who has 8080)');
  });

  it('a host port another container published through us, however it is found', async () => {
    const byRule = freshHost().respondTo(
      '-t nat -S',
      '-A PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL -m comment --comment "scr:08cdef:publish-8080/tcp" -j DNAT --to-destination 10.30.0.2:80',
    );
    expect((await refused(byRule)).message).toBe('host port 8080/tcp is already published by container 08cdef');

    // At the same instant, before its rule exists: the claim, taken atomically, decides.
    const netDir = path.join(root, 'scr0.unit');
    takeLease(netDir, parseCidr('10.30.0.0/24') ?? fail(), '08cdef');
    expect(claimPort(netDir, 'tcp-8080', '08cdef')).toBe(true);
    expect((await refused(freshHost())).message).toBe('host port 8080/tcp is already published by container 08cdef');
    expect(leaseCount(netDir)).toBe(1);
  });

  it('a port out of range, even one built in code rather than parsed, never reaches the host', async () => {
    const runner = freshHost();
    const e = await refused(runner, [], {}, [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
    expect(e.message).toBe('-p 0:80/tcp: port 0 is out of range (1-65535)');
    expect(runner.lines).toEqual([]);
  });
});

describe('IPAM', () => {
  const subnet = parseCidr('10.30.0.0/29') ?? fail();

  it('leases the lowest free address, gives it back on release, and never the same one twice', () => {
    const dir = path.join(root, 'scr0');
    expect(['a1', 'a2', 'a3'].map((id) => takeLease(dir, subnet, id))).toEqual(['10.30.0.2', '10.30.0.3', '10.30.0.4']);
    expect(takeLease(dir, subnet, 'a2')).toBe('10.30.0.3');
    releaseClaims(dir, 'a2');
    expect(takeLease(dir, subnet, 'a4')).toBe('10.30.0.3');
    expect(['a5', 'a6'].map((id) => takeLease(dir, subnet, id))).toEqual(['10.30.0.5', '10.30.0.6']);
    expect(() => takeLease(dir, subnet, 'a7')).toThrow(/no free address left in 10.30.0.0\/29/);
    expect(leaseCount(dir)).toBe(5);
  });
});

describe('leftovers of the network', () => {
  it.skipIf(process.platform !== 'linux')(
    "finds our rules in either backend by their scr: comment, no one else's",
    async () => {
      const runner = new RecordingRunner()
        .respondTo(
          'iptables-legacy-save',
          [
            '*nat',
            '-A POSTROUTING -s 10.30.0.0/24 ! -o scr0 -m comment --comment "scr:scr0:masquerade" -j MASQUERADE',
            '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
            'COMMIT',
          ].join('\n'),
        )
        .respondTo('iptables-nft-save', '', 127);
      const rules = (await scanLeftovers(runner)).filter((l) => l.kind === 'rule');
      expect(rules).toEqual([
        {
          kind: 'rule',
          name: 'iptables-legacy -t nat -A POSTROUTING -s 10.30.0.0/24 ! -o scr0 -m comment --comment scr:scr0:masquerade -j MASQUERADE',
        },
      ]);
      expect(rules.filter((l) => belongsTo(l, ID))).toEqual([]);
    },
  );

  it('a leftover rule is removed by its own words after -D, in its own backend; a lease by rm', () => {
    const name =
      'iptables-legacy -t nat -A POSTROUTING -s 10.30.0.0/24 ! -o scr0 -m comment --comment scr:scr0:masquerade -j MASQUERADE';
    expect(removalArgv({ kind: 'rule', name })).toEqual([
      ...['iptables-legacy', '-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', '10.30.0.0/24', '!', '-o', 'scr0'],
      ...['-m', 'comment', '--comment', 'scr:scr0:masquerade', '-j', 'MASQUERADE'],
    ]);
    expect(removalArgv({ kind: 'lease', name: '/run/scratch/scr0/leases/10.30.0.2', via: ID })).toEqual([
      'rm',
      '-f',
      '/run/scratch/scr0/leases/10.30.0.2',
    ]);
  });
});

function fail(): never {
  throw new Error('unreachable');
}

describe("lesson 08's exercise: a learner's commands stay inside what the lesson made", () => {
  it("lib's own veth and address stages pass, on the host and in a test's host namespace", () => {
    for (const hostNetns of [undefined, 'scr08ffff-host']) {
      const plan = planNetwork({ id: ID, hostNetns, ports: [] });
      expect(confinedChanges('vethStage')(vethStage(plan))).toBeUndefined();
      expect(confinedChanges('addressStage')(addressStage(plan))).toBeUndefined();
    }
  });

  it('anything else is refused with its reason: other programs, host addresses, links and namespaces not ours', () => {
    expect(outsideScratch(['rm', '-rf', '/'])).toBe('only ip commands are run for this exercise');
    expect(outsideScratch(['ip', 'link', 'delete', 'eth0'])).toMatch(/^eth0 is not a link or namespace/);
    expect(outsideScratch(['ip', 'addr', 'add', '10.0.0.1/8', 'dev', 'scr0'])).toMatch(/only ip link/);
    expect(outsideScratch(['ip', '-n', 'default', 'link', 'set', 'lo', 'down'])).toMatch(/^ip -n takes a namespace/);
    expect(outsideScratch(['ip', '-n', 'scr08ffff', 'link', 'set', 'eth0', 'netns', '1'])).toMatch(/scr…$/);
    expect(outsideScratch(['ip', '-n', 'scr08ffff', 'netns', 'add', 'x'])).toMatch(/not needed here/);
    expect(outsideScratch(['ip', '-n', 'scr08ffff', 'route', 'add', 'default', 'via', '10.30.0.1'])).toBeUndefined();
    const wrong = [
      { what: 'x', argv: ['ip', 'link', 'set', 'scr08ffffh', 'up'], undo: ['ip', 'link', 'delete', 'eth0'] },
    ];
    expect(confinedChanges('vethStage')(wrong)).toMatch(/^vethStage: not run: ip link delete eth0 — /);
    expect(confinedChanges('vethStage')('ip link')).toMatch(/must return a list/);
  });
});
