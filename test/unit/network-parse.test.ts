/**
 * lib/network's pure parts: subnets, routes, iptables backends and listings, -p, /proc/net, resolv.conf.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import {
  containerAddresses,
  containerSubnet,
  DEFAULT_SUBNET,
  formatIp,
  gatewayOf,
  KNOWN_NETWORKS,
  overlaps,
  parseCidr,
} from '../../lib/network/addresses.ts';
import { bridgeMac, parseBridgeState } from '../../lib/network/bridge.ts';
import { containerResolvConf, FALLBACK_NAMESERVERS, hostsFile } from '../../lib/network/dns.ts';
import { onHost } from '../../lib/network/host.ts';
import {
  chooseBackend,
  deleteListedArgv,
  ourRules,
  parseIptablesVersion,
  parseRules,
  splitRuleLine,
} from '../../lib/network/iptables.ts';
import { dnatOnPort, parseProcNet, parsePublish, socketOnPort, assertPublishable } from '../../lib/network/ports.ts';
import { networkFindings } from '../../lib/preflight.ts';
import { parseProcNetRoute } from '../../lib/network/routes.ts';
import { assertNoClash, clashingRoutes, freeSubnet, parseRoutes, subnetFromEnv } from '../../lib/network/routes.ts';

const cidr = (t: string) =>
  parseCidr(t) ??
  (() => {
    throw new Error(t);
  })();

/** The message and fix of the UserError `fn` throws. */
function userError(fn: () => unknown): { message: string; fix?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return { message: e.message, fix: e.fix };
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('subnets', () => {
  it('the default subnet overlaps none of the networks a workshop VM is known to meet', () => {
    const ours = cidr(DEFAULT_SUBNET);
    const clashes = KNOWN_NETWORKS.filter((k) => overlaps(cidr(k.cidr), ours)).map((k) => k.owner);
    expect(clashes).toEqual([]);
    // The check itself can fail: docker's range does overlap a subnet inside it.
    expect(overlaps(cidr('172.17.0.0/16'), cidr('172.17.5.0/24'))).toBe(true);
  });

  it('gives the bridge the first address and containers .2 to .254 of a /24', () => {
    const s = cidr('10.30.0.0/24');
    expect(formatIp(gatewayOf(s))).toBe('10.30.0.1');
    const pool = containerAddresses(s).map(formatIp);
    expect(pool).toHaveLength(253);
    expect([pool[0], pool.at(-1)]).toEqual(['10.30.0.2', '10.30.0.254']);
  });

  it('refuses a subnet with host bits set, a bad prefix or no CIDR at all, in one line with a fix', () => {
    expect(userError(() => containerSubnet('10.30.0.1/24')).message).toContain('host bits zero');
    expect(userError(() => containerSubnet('10.30.0.0/31')).message).toContain('/8 to /29');
    expect(userError(() => containerSubnet('tenthirty')).fix).toContain(DEFAULT_SUBNET);
    expect(containerSubnet('192.168.200.0/24')).toEqual({
      network: cidr('192.168.200.0/24').network,
      prefixLength: 24,
    });
  });

  it('SCRATCH_SUBNET picks another subnet, and a bad value is a user error', () => {
    expect(subnetFromEnv({})).toBeUndefined();
    expect(subnetFromEnv({ SCRATCH_SUBNET: '10.99.0.0/24' })).toBe('10.99.0.0/24');
    expect(() => subnetFromEnv({ SCRATCH_SUBNET: '10.99.0.0' })).toThrow(UserError);
  });
});

describe('routes', () => {
  const routes = parseRoutes(
    JSON.stringify([
      { dst: 'default', gateway: '10.0.2.2', dev: 'eth0' },
      { dst: '10.0.2.0/24', dev: 'eth0' },
      { dst: '10.30.0.0/16', gateway: '10.0.2.9', dev: 'eth0' },
      { dst: '10.31.0.0/24', dev: 'scr0' },
    ]),
  );

  it('a route overlapping the subnet clashes; the default route and our own bridge do not', () => {
    expect(clashingRoutes(cidr('10.30.0.0/24'), routes, 'scr0').map((r) => r.dst)).toEqual(['10.30.0.0/16']);
    expect(clashingRoutes(cidr('10.31.0.0/24'), routes, 'scr0')).toEqual([]);
    expect(clashingRoutes(cidr('10.31.0.0/24'), routes, 'scr1').map((r) => r.dst)).toEqual(['10.31.0.0/24']);
  });

  it('a clash is one line naming the route, and the fix names a subnet that is free', () => {
    const e = userError(() => assertNoClash(cidr('10.30.0.0/24'), routes, 'scr1'));
    expect(e.message).toBe(
      "the containers' subnet 10.30.0.0/24 overlaps the host's route 10.30.0.0/16 via 10.0.2.9 dev eth0",
    );
    expect(e.fix).toBe('pick a free subnet: SCRATCH_SUBNET=10.32.0.0/24 (then run it again)');
    expect(freeSubnet(routes, 'scr0')).toBe('10.31.0.0/24');
  });
});

describe('iptables', () => {
  it('reads the backend from iptables -V; before 1.8 there was only legacy', () => {
    expect(parseIptablesVersion('iptables v1.8.9 (nf_tables)')).toEqual({ version: '1.8.9', mode: 'nft' });
    expect(parseIptablesVersion('iptables v1.8.7 (legacy)')).toEqual({ version: '1.8.7', mode: 'legacy' });
    expect(parseIptablesVersion('iptables v1.6.1')).toEqual({ version: '1.6.1', mode: 'legacy' });
    expect(parseIptablesVersion('sh: iptables: not found')).toBeUndefined();
  });

  it("uses the default backend unless it is empty while the other holds the host's rules", () => {
    const nft = { version: '1.8.9', mode: 'nft' as const };
    expect(chooseBackend(nft, { nft: 0, legacy: 0 }).binary).toBe('iptables');
    expect(chooseBackend(nft, { nft: 4, legacy: 30 }).binary).toBe('iptables');
    const moved = chooseBackend(nft, { nft: 0, legacy: 23 });
    expect(moved).toMatchObject({ binary: 'iptables-legacy', mode: 'legacy' });
    expect(moved.reason).toContain("the host's 23 rules live in legacy");
    expect(chooseBackend({ version: '1.8.7', mode: 'legacy' }, { nft: 5, legacy: 0 }).binary).toBe('iptables-nft');
  });

  const SAVE = `# Generated by iptables-nft-save v1.8.9
*filter
:FORWARD DROP [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -i scr0 -o scr0 -m comment --comment "scr:scr0:accept-between" -j ACCEPT
COMMIT
*nat
-A POSTROUTING -s 10.30.0.2/32 -d 10.30.0.2/32 -p tcp -m tcp --dport 80 -m comment --comment "scr:08ab12:hairpin-8080/tcp" -j MASQUERADE
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5000 -m comment --comment "a \\"quoted\\" note" -j DNAT --to-destination 172.17.0.2:5000
COMMIT`;

  it('reads rules back from iptables-save, with their table and unquoted comment', () => {
    const rules = parseRules(SAVE);
    expect(rules.map((r) => [r.table, r.chain, r.comment])).toEqual([
      ['filter', 'FORWARD', undefined],
      ['filter', 'FORWARD', 'scr:scr0:accept-between'],
      ['nat', 'POSTROUTING', 'scr:08ab12:hairpin-8080/tcp'],
      ['nat', 'DOCKER', 'a "quoted" note'],
    ]);
    expect(ourRules(rules).map((r) => r.comment)).toEqual(['scr:scr0:accept-between', 'scr:08ab12:hairpin-8080/tcp']);
    expect(ourRules(rules, '08ab12')).toHaveLength(1);
    expect(splitRuleLine('-A X -m comment --comment "two words" -j ACCEPT')).toEqual([
      '-A',
      'X',
      '-m',
      'comment',
      '--comment',
      'two words',
      '-j',
      'ACCEPT',
    ]);
  });

  it('deletes a listed rule by its own words after -D', () => {
    const [rule] = ourRules(parseRules(SAVE), '08ab12');
    expect(rule && onHost('scrX-host', deleteListedArgv('iptables', rule))).toEqual([
      ...['ip', 'netns', 'exec', 'scrX-host', 'iptables', '-w', '-t', 'nat', '-D', 'POSTROUTING'],
      ...['-s', '10.30.0.2/32', '-d', '10.30.0.2/32', '-p', 'tcp', '-m', 'tcp', '--dport', '80'],
      ...['-m', 'comment', '--comment', 'scr:08ab12:hairpin-8080/tcp', '-j', 'MASQUERADE'],
    ]);
  });
});

describe('published ports', () => {
  it('parses HOST:CONTAINER[/tcp|udp], tcp by default', () => {
    expect(parsePublish('8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('5353:53/udp')).toEqual({ hostPort: 5353, containerPort: 53, protocol: 'udp' });
  });

  it('a port out of range or a malformed -p is one line with the form to use', () => {
    expect(userError(() => parsePublish('70000:80')).message).toBe('-p 70000:80: port 70000 is out of range (1-65535)');
    expect(userError(() => parsePublish('8080:0')).message).toContain('port 0 is out of range');
    expect(userError(() => parsePublish('80')).message).toContain('expected HOST:CONTAINER[/tcp|udp]');
    expect(userError(() => parsePublish('8080:80/sctp')).fix).toBe('write it as -p 8080:80');
    expect(() => assertPublishable([parsePublish('8080:80'), parsePublish('8080:81')])).toThrow(/published twice/);
    expect(() => assertPublishable([parsePublish('53:53/tcp'), parsePublish('53:53/udp')])).not.toThrow();
  });

  // From a real /proc/net/tcp: a listener on 0.0.0.0:8080, a listener on 127.0.0.1:5432, and a client
  // connection whose own (local) port happens to be 9000.
  const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 2 1 0 100 0 0 10 0
   2: 0F02000A:2328 0202000A:0016 01 00000000:00000000 02:0009A8F3 00000000     0        0 3 2 0 20 4 30 10 -1`;
  const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000`;
  const sockets = [...parseProcNet(TCP, 'tcp'), ...parseProcNet(TCP6, 'tcp')];

  it('finds the program listening on a host port in /proc/net/tcp, IPv4 and IPv6, but not a client socket', () => {
    expect(sockets.map((s) => `${s.address}:${s.port} ${s.state}`)).toEqual([
      '0.0.0.0:8080 0A',
      '127.0.0.1:5432 0A',
      '10.0.2.15:9000 01',
      '::1:80 0A',
    ]);
    expect(socketOnPort(sockets, parsePublish('8080:80'))?.address).toBe('0.0.0.0');
    expect(socketOnPort(sockets, parsePublish('80:80'))?.address).toBe('::1');
    expect(socketOnPort(sockets, parsePublish('9000:80'))).toBeUndefined();
    expect(socketOnPort(sockets, parsePublish('8080:80/udp'))).toBeUndefined();
  });

  it("finds another program's DNAT rule for the port (docker without its proxy)", () => {
    const nat = parseRules(
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 172.17.0.2:5000',
      'nat',
    );
    expect(dnatOnPort(nat, parsePublish('5000:80'))).toBeDefined();
    expect(dnatOnPort(nat, parsePublish('5000:80/udp'))).toBeUndefined();
    expect(dnatOnPort(nat, parsePublish('5001:80'))).toBeUndefined();
  });
});

describe('names inside the container', () => {
  it('a stub resolver on 127.0.0.53 is replaced by the servers systemd-resolved forwards to', () => {
    const stub = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n';
    const upstream = '# upstream\nnameserver 10.0.2.3\nnameserver fe80::1\nsearch lan\n';
    const r = containerResolvConf(stub, upstream);
    expect(r.source).toBe('/run/systemd/resolve/resolv.conf');
    expect(r.content).toContain('nameserver 10.0.2.3\nsearch lan\n');
    expect(r.content).not.toContain('127.0.0.53');
    expect(r.content).not.toContain('fe80::1');
  });

  it("keeps the host's own servers when they are reachable, with its search and options", () => {
    const r = containerResolvConf('nameserver 192.168.5.3\nsearch example.org\noptions ndots:2\n');
    expect(r.source).toBe('/etc/resolv.conf');
    expect(r.content.split('\n').slice(1)).toEqual([
      'nameserver 192.168.5.3',
      'search example.org',
      'options ndots:2',
      '',
    ]);
  });

  it('falls back to public DNS, saying why, when the host offers only loopback servers', () => {
    const r = containerResolvConf('nameserver 127.0.0.1\n', undefined);
    expect(r.source).toBe('fallback');
    expect(r.content).toContain('only loopback');
    for (const s of FALLBACK_NAMESERVERS) expect(r.content).toContain(`nameserver ${s}`);
  });

  it("/etc/hosts names the container's own address", () => {
    expect(hostsFile('web', '10.30.0.7')).toContain('10.30.0.7\tweb\n');
    expect(hostsFile('web', '10.30.0.7')).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
  });

  it('reads the bridge: its IPv4 address and whether it is up', () => {
    const json = JSON.stringify([
      {
        ifname: 'scr0',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        addr_info: [
          { family: 'inet', local: '10.30.0.1', prefixlen: 24 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
    ]);
    expect(parseBridgeState(json)).toEqual({ addresses: ['10.30.0.1/24'], up: true, mac: undefined });
    expect(bridgeMac('10.30.0.1')).toBe('02:73:63:1e:00:01');
    expect(bridgeMac('192.168.200.1')).toBe('02:73:63:a8:c8:01');
    expect(parseBridgeState('[]')).toBeUndefined();
  });
});

describe('doctor, for lesson 08', () => {
  const PROC_NET_ROUTE = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'tun0\t00001E0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    '',
  ].join('\n');

  it('reads the routing table from /proc/net/route, little-endian hex and all', () => {
    expect(parseProcNetRoute(PROC_NET_ROUTE)).toEqual([
      { dst: 'default', dev: 'eth0', gateway: '10.0.2.2' },
      { dst: '10.0.2.0/24', dev: 'eth0', gateway: undefined },
      { dst: '10.30.0.0/16', dev: 'tun0', gateway: undefined },
    ]);
  });

  it("says ahead of time when lesson 08's subnet overlaps a host route, and which one would be free", () => {
    const routes = parseProcNetRoute(PROC_NET_ROUTE);
    const [clash] = networkFindings({ routes });
    expect(clash).toMatchObject({ name: 'lesson 08 subnet', ok: false, required: false });
    expect(clash?.detail).toBe(
      "the containers' subnet 10.30.0.0/24 overlaps the host's route 10.30.0.0/16 dev tun0: lesson 08 would stop",
    );
    expect(clash?.fix).toContain('SCRATCH_SUBNET=10.31.0.0/24');
    // The control: another subnet, or a host without that route, is fine.
    expect(networkFindings({ routes, subnetFromEnv: '10.31.0.0/24' })[0]).toMatchObject({ ok: true });
    expect(networkFindings({ routes: routes.slice(0, 2) })[0]?.detail).toBe(
      "10.30.0.0/24 overlaps none of this host's routes",
    );
    expect(networkFindings({ routes, subnetFromEnv: '10.30.0.1/24' })[0]).toMatchObject({ ok: false });
  });

  it('names the iptables backend, br_netfilter and ip_forward as information that stops nothing', () => {
    const found = networkFindings({ iptablesTarget: 'xtables-legacy-multi', brNetfilter: undefined, ipForward: 1 });
    expect(found.map((f) => [f.name, f.ok, f.required])).toEqual([
      ['iptables backend', true, false],
      ['br_netfilter', true, false],
      ['ip_forward', true, false],
    ]);
    expect(found.map((f) => f.detail)).toEqual([
      "legacy by default (xtables-legacy-multi); lesson 08 follows the host's rules",
      'not loaded: frames bridged between containers skip iptables',
      'on: this host already routes between interfaces (as docker needs)',
    ]);
    expect(networkFindings({ brNetfilter: 1, ipForward: 0 }).map((f) => f.detail)).toEqual([
      'loaded: frames bridged between containers pass iptables FORWARD too',
      'off: lesson 08 turns it on while its containers run, then back off',
    ]);
  });
});
