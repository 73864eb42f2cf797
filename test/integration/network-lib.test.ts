/**
 * lib/network for real, as root, entirely inside network namespaces this file makes: a fake host with a LAN
 * neighbour (test/helpers/fake-host.ts) and containers wired to it. Nothing touches the machine's own network
 * namespace and no packet leaves the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupStack } from '../../lib/cleanup.ts';
import { UserError } from '../../lib/errors.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import {
  connectContainer,
  connectNone,
  disconnectContainer,
  inContainerNetns,
  parsePublish,
  type ContainerNetwork,
} from '../../lib/network/index.ts';
import { bridgeMac } from '../../lib/network/bridge.ts';
import { ruleArgv } from '../../lib/network/iptables.ts';
import { sharedRules } from '../../lib/network/nat.ts';
import { createRunner, type BackgroundProcess } from '../../lib/runner.ts';
import { createStateDir } from '../../lib/state.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { BUSYBOX, createFakeHost, LAN_HOST, NEIGHBOUR, type FakeHost } from '../helpers/fake-host.ts';
import { testId } from '../helpers/lesson.ts';

const runner = createRunner();
const GATEWAY = '10.30.0.1';
const ids = new Set<string>();
let host: FakeHost;
let www: string;

/** A fresh container id, distinct from every other one this file used. */
function newId(): string {
  for (;;) {
    const id = testId('08');
    if (!ids.has(id)) {
      ids.add(id);
      return id;
    }
  }
}

interface Wired {
  id: string;
  net: ContainerNetwork;
  stack: CleanupStack;
  /** A command inside the container's network namespace, joined by path as the runtime will. */
  inside(argv: readonly string[]): string[];
}

async function connect(ports: string[] = [], id = newId()): Promise<Wired> {
  const stack = new CleanupStack();
  try {
    const stateDir = createStateDir(stack, id);
    const net = await connectContainer(runner, stack, {
      id,
      hostNetns: host.netns,
      stateDir,
      ports: ports.map(parsePublish),
    });
    return { id, net, stack, inside: (argv) => inContainerNetns(net.netnsPath, argv) };
  } catch (error) {
    await stack.unwind();
    throw error;
  }
}

async function ok(argv: readonly string[]): Promise<boolean> {
  return (await runner.run(argv, { reject: false, timeoutMs: 5000 })).exitCode === 0;
}

const ping = (from: (argv: string[]) => string[], ip: string) => ok(from([BUSYBOX, 'ping', '-c', '1', '-W', '2', ip]));

/** The body an HTTP GET gets back ('' when nothing answered), with busybox nc (busybox wget crashes on Debian 12). */
async function httpGet(from: (argv: string[]) => string[], ip: string, port: number): Promise<string> {
  const r = await runner.run(from([BUSYBOX, 'nc', '-w', '2', ip, String(port)]), {
    input: 'GET / HTTP/1.0\r\n\r\n',
    reject: false,
    timeoutMs: 5000,
  });
  return r.stdout.split('\r\n\r\n')[1]?.trim() ?? '';
}

const onHost = (argv: string[]) => host.run(argv);
const onLan = (argv: string[]) => ['ip', 'netns', 'exec', host.lan, ...argv];

/** busybox httpd serving `body`, in the foreground of a background command; resolves once it answers. */
async function serve(where: (argv: string[]) => string[], listen: string, body: string): Promise<BackgroundProcess> {
  const dir = fs.mkdtempSync(path.join(www, 'site-'));
  fs.writeFileSync(path.join(dir, 'index.html'), `${body}\n`);
  const proc = runner.start(where([BUSYBOX, 'httpd', '-f', '-p', listen, '-h', dir]));
  const [ip = '127.0.0.1', port = listen] = listen.includes(':') ? listen.split(':') : [];
  const deadline = Date.now() + 5000;
  while ((await httpGet(where, ip, Number(port))) !== body) {
    if (Date.now() > deadline) throw new Error(`httpd on ${listen} did not answer`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc;
}

async function stop(proc: BackgroundProcess) {
  proc.kill('SIGKILL');
  await proc.wait();
}

/** `iptables -S` of both tables in the fake host. */
async function hostRules(): Promise<string> {
  const out = [];
  for (const table of ['filter', 'nat']) out.push((await runner.run(onHost(['iptables', '-t', table, '-S']))).stdout);
  return out.join('\n');
}

describe.skipIf(!canRunIntegration)('container networking (lib/network), inside a fake host', () => {
  const hostId = testId('08');
  ids.add(hostId);

  beforeAll(async () => {
    host = await createFakeHost(runner, hostId);
    www = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-www-'));
  });

  afterAll(async () => {
    await host?.remove();
    fs.rmSync(www, { recursive: true, force: true });
    expect(await leftoversOf(...ids)).toEqual([]);
  });

  it("the container's namespace holds only lo and its eth0, with an address and a default route via the bridge", async () => {
    const a = await connect();
    try {
      const links = JSON.parse((await runner.run(['ip', '-n', a.net.plan.netns, '-j', 'link'])).stdout) as Array<{
        ifname: string;
        operstate: string;
      }>;
      expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
      const addr = (await runner.run(['ip', '-n', a.net.plan.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
      expect(addr).toContain(`inet ${a.net.plan.addressCidr}`);
      const routes = (await runner.run(['ip', '-n', a.net.plan.netns, 'route'])).stdout;
      expect(routes).toMatch(new RegExp(`^default via ${GATEWAY} dev eth0`, 'm'));
      // On the host: its end is a port of scr0, and the other end is gone from the host's links.
      const ports = (await runner.run(['ip', '-n', host.netns, '-o', 'link', 'show', 'master', 'scr0'])).stdout;
      expect(ports).toContain(`${a.net.plan.hostVeth}@`);
      expect(await ok(['ip', '-n', host.netns, 'link', 'show', a.net.plan.peerVeth])).toBe(false);
      // The files the runtime bind-mounts over /etc/hosts and /etc/resolv.conf.
      const hosts = a.net.mounts.find((m) => m.destination === '/etc/hosts');
      expect(fs.readFileSync(hosts?.source ?? '', 'utf8')).toContain(`${a.net.plan.address}\tscr${a.id}`);
      expect(fs.readFileSync(a.net.mounts[1]?.source ?? '', 'utf8')).toMatch(/^nameserver (?!127\.)/m);
    } finally {
      await a.stack.unwind();
    }
    expect(await ok(['ip', 'netns', 'pids', a.net.plan.netns])).toBe(false);
    expect(await leftoversOf(a.id)).toEqual([]);
  });

  it('the host and a container ping each other, and two containers ping each other by address', async () => {
    const a = await connect();
    const b = await connect();
    try {
      expect(a.net.plan.address).not.toBe(b.net.plan.address);
      expect(await ping(onHost, a.net.plan.address)).toBe(true);
      expect(await ping(a.inside, GATEWAY)).toBe(true);
      expect(await ping(a.inside, b.net.plan.address)).toBe(true);
      expect(await ping(b.inside, a.net.plan.address)).toBe(true);
      // The control: an address nobody has does not answer.
      expect(await ping(a.inside, '10.30.0.250')).toBe(false);
    } finally {
      await b.stack.unwind();
      await a.stack.unwind();
    }
  });

  it('a published port answers from the host (bridge address, 127.0.0.1), a neighbour, another container and itself (hairpin)', async () => {
    const c = await connect(['8080:80']);
    const b = await connect();
    const body = `hello from ${c.id}`;
    const httpd = await serve(c.inside, '80', body);
    try {
      expect(await httpGet(onHost, GATEWAY, 8080)).toBe(body);
      expect(await httpGet(onHost, '127.0.0.1', 8080)).toBe(body);
      expect(await httpGet(onHost, LAN_HOST, 8080)).toBe(body);
      expect(await httpGet(onLan, LAN_HOST, 8080)).toBe(body);
      expect(await httpGet(b.inside, LAN_HOST, 8080)).toBe(body);
      expect(await httpGet(c.inside, LAN_HOST, 8080)).toBe(body);
      expect(await httpGet(c.inside, GATEWAY, 8080)).toBe(body);
      // The control: a port nobody published.
      expect(await httpGet(onHost, GATEWAY, 8081)).toBe('');

      const rules = await hostRules();
      for (const purpose of ['publish-8080/tcp', 'publish-local-8080/tcp', 'hairpin-8080/tcp', 'accept-8080/tcp']) {
        expect(rules).toContain(`--comment "scr:${c.id}:${purpose}"`);
      }
      expect(rules).toContain(`-A PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL`);
      expect(rules).toContain(`-j DNAT --to-destination ${c.net.plan.address}:80`);
      expect(rules).toContain(
        '-A POSTROUTING -s 10.30.0.0/24 ! -o scr0 -m comment --comment "scr:scr0:masquerade" -j MASQUERADE',
      );
    } finally {
      await stop(httpd);
      await c.stack.unwind();
    }
    try {
      const rules = await hostRules();
      expect(rules).not.toContain(`scr:${c.id}:`);
      // b still runs: the bridge and its shared rules stay.
      expect(rules).toContain('scr:scr0:masquerade');
      expect(await ok(['ip', '-n', host.netns, 'link', 'show', 'scr0'])).toBe(true);
    } finally {
      await b.stack.unwind();
    }
    expect(await hostRules()).not.toContain('scr:');
    expect(await ok(['ip', '-n', host.netns, 'link', 'show', 'scr0'])).toBe(false);
    expect((await runner.run(onHost(['sysctl', '-n', 'net.ipv4.ip_forward']))).stdout.trim()).toBe('0');
  });

  it('traffic leaving the subnet is masqueraded: a neighbour with no route back to the containers answers', async () => {
    const a = await connect();
    const neighbour = await serve(onLan, `${NEIGHBOUR}:80`, 'neighbour');
    const masquerade = sharedRules('scr0', '10.30.0.0/24').find((r) => r.comment === 'scr:scr0:masquerade');
    try {
      expect(await httpGet(a.inside, NEIGHBOUR, 80)).toBe('neighbour');
      // Without the masquerade the neighbour gets a packet from 10.30.0.x and has nowhere to send the answer.
      if (!masquerade) throw new Error('no masquerade rule');
      await runner.run(onHost(ruleArgv('iptables', masquerade, 'delete')));
      try {
        expect(await httpGet(a.inside, NEIGHBOUR, 80)).toBe('');
      } finally {
        await runner.run(onHost(ruleArgv('iptables', masquerade, 'add')));
      }
      expect(await httpGet(a.inside, NEIGHBOUR, 80)).toBe('neighbour');
    } finally {
      await stop(neighbour);
      await a.stack.unwind();
    }
  });

  it('with the FORWARD policy DROP (as docker sets it), containers still talk: out, to each other, and published', async () => {
    const a = await connect();
    const c = await connect(['8080:80']);
    const httpd = await serve(c.inside, '80', 'published');
    const neighbour = await serve(onLan, `${NEIGHBOUR}:80`, 'neighbour');
    const brNetfilter = await runner.run(onHost(['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables']), {
      reject: false,
    });
    await runner.run(onHost(['iptables', '-P', 'FORWARD', 'DROP']));
    try {
      expect(await ping(a.inside, c.net.plan.address)).toBe(true);
      expect(await httpGet(a.inside, NEIGHBOUR, 80)).toBe('neighbour');
      expect(await httpGet(onLan, LAN_HOST, 8080)).toBe('published');
      expect(await httpGet(c.inside, LAN_HOST, 8080)).toBe('published');
      if (brNetfilter.stdout.trim() === '1') {
        // br_netfilter: the ping between two ports of scr0 was shown to FORWARD, and our rule let it by.
        const counters = (await runner.run(onHost(['iptables', '-v', '-x', '-n', '-L', 'FORWARD']))).stdout;
        const between = counters.split('\n').find((l) => l.includes('scr:scr0:accept-between')) ?? '';
        expect(Number(between.trim().split(/\s+/)[0])).toBeGreaterThan(0);
      } else if (process.env.CI === 'true') {
        throw new Error('br_netfilter is not loaded: CI must prove the FORWARD path (modprobe br_netfilter)');
      }
    } finally {
      await runner.run(onHost(['iptables', '-P', 'FORWARD', 'ACCEPT']));
      await stop(neighbour);
      await stop(httpd);
      await c.stack.unwind();
      await a.stack.unwind();
    }
  });

  it('a container cannot reach a service the host binds to 127.0.0.1, though route_localnet is on for scr0', async () => {
    const a = await connect();
    const secret = await serve(onHost, '127.0.0.1:9999', 'host-only');
    const guard = sharedRules('scr0', '10.30.0.0/24').find((r) => r.comment === 'scr:scr0:no-localhost');
    try {
      // The container aims 127.0.0.0/8 at the host, as an attacker inside would (CVE-2020-8558).
      await runner.run(['ip', '-n', a.net.plan.netns, 'addr', 'flush', 'dev', 'lo']);
      await runner.run(['ip', '-n', a.net.plan.netns, 'route', 'add', '127.0.0.0/8', 'via', GATEWAY]);
      for (const dev of ['all', 'eth0']) {
        await runner.run(a.inside(['sysctl', '-qw', `net.ipv4.conf.${dev}.route_localnet=1`]));
      }
      expect(await httpGet(a.inside, '127.0.0.1', 9999)).toBe('');
      // The control: without the guard the same request gets the host's answer.
      if (!guard) throw new Error('no guard rule');
      await runner.run(onHost(ruleArgv('iptables', guard, 'delete')));
      try {
        expect(await httpGet(a.inside, '127.0.0.1', 9999)).toBe('host-only');
      } finally {
        await runner.run(onHost(ruleArgv('iptables', guard, 'add')));
      }
    } finally {
      await stop(secret);
      await a.stack.unwind();
    }
  });

  it(
    'twenty containers set up at once get twenty distinct addresses, and all of it goes when they end',
    { timeout: 180_000 },
    async () => {
      const wired = await Promise.all(Array.from({ length: 20 }, () => connect()));
      try {
        const addresses = wired.map((w) => w.net.plan.address);
        expect(new Set(addresses).size).toBe(20);
        for (const w of wired) {
          const addr = (await runner.run(['ip', '-n', w.net.plan.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']))
            .stdout;
          expect(addr).toContain(`inet ${w.net.plan.addressCidr}`);
        }
        const leases = fs.readdirSync(path.join(wired[0]?.net.plan.netDir ?? '', 'leases'));
        expect(leases.sort()).toEqual([...addresses].sort());
        expect(await ping(wired[0]?.inside ?? onHost, wired[19]?.net.plan.address ?? '')).toBe(true);
        // Twenty ports joined, and the gateway's MAC is still its own, not the lowest of theirs.
        const bridge = JSON.parse(
          (await runner.run(['ip', '-n', host.netns, '-j', 'link', 'show', 'scr0'])).stdout,
        ) as Array<{
          address: string;
        }>;
        expect(bridge[0]?.address).toBe(bridgeMac(GATEWAY));
      } finally {
        await Promise.all(wired.map((w) => w.stack.unwind()));
      }
      expect(await ok(['ip', '-n', host.netns, 'link', 'show', 'scr0'])).toBe(false);
      expect(await hostRules()).not.toContain('scr:');
      expect(fs.existsSync(wired[0]?.net.plan.netDir ?? '/nonexistent')).toBe(false);
      expect(await leftoversOf(...wired.map((w) => w.id))).toEqual([]);
    },
  );

  it('refuses a taken host port or a subnet over a host route in one line, with nothing made', async () => {
    const refused = async (ports: string[]) => {
      // Only this attempt's own namespace is looked for: other tests make theirs at the same time.
      const id = newId();
      const error = await connect(ports, id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      const netns = (await runner.run(['ip', 'netns', 'list'])).stdout.split('\n');
      expect(netns.filter((l) => l.includes(id))).toEqual([]);
      expect(await leftoversOf(id)).toEqual([]);
      return (error as UserError).message;
    };
    const listener = await serve(onHost, '8081', 'a host program');
    try {
      expect(await refused(['8081:80'])).toBe(
        'host port 8081/tcp is already in use: a program on the host listens on [::]:8081',
      );
    } finally {
      await stop(listener);
    }
    const c = await connect(['8080:80']);
    try {
      expect(await refused(['8080:80'])).toBe(`host port 8080/tcp is already published by container ${c.id}`);
    } finally {
      await c.stack.unwind();
    }
    await runner.run(['ip', '-n', host.netns, 'route', 'add', '10.30.0.0/16', 'via', NEIGHBOUR]);
    try {
      expect(await refused([])).toBe(
        `the containers' subnet 10.30.0.0/24 overlaps the host's route 10.30.0.0/16 via ${NEIGHBOUR} dev scr${hostId}e`,
      );
    } finally {
      await runner.run(['ip', '-n', host.netns, 'route', 'del', '10.30.0.0/16']);
    }
    expect(await ok(['ip', '-n', host.netns, 'link', 'show', 'scr0'])).toBe(false);
  });

  it('--network none: a namespace with only lo, up; 127.0.0.1 answers inside and nothing else is reachable', async () => {
    const id = newId();
    const stack = new CleanupStack();
    try {
      const file = await connectNone(runner, stack, id);
      const inside = (argv: string[]) => inContainerNetns(file, argv);
      const links = JSON.parse((await runner.run(['ip', '-n', `scr${id}`, '-j', 'link'])).stdout) as Array<{
        ifname: string;
        flags: string[];
      }>;
      expect(links.map((l) => [l.ifname, l.flags.includes('UP')])).toEqual([['lo', true]]);
      expect(await ping(inside, '127.0.0.1')).toBe(true);
      expect(await ping(inside, GATEWAY)).toBe(false);
    } finally {
      await stack.unwind();
    }
    expect(await leftoversOf(id)).toEqual([]);
  });

  it('with no host namespace named, the one the runner runs in is the host (a lesson started under unshare --net)', async () => {
    const id = newId();
    const fixture = 'test/integration/fixtures/network-own-netns.ts';
    const r = await runner.run(['unshare', '--net', process.execPath, '--import', 'tsx', fixture, id], {
      reject: false,
      timeoutMs: 30_000,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(seen.body).toBe(`hello from ${id}`);
    // Its own scr0, with its own leases: never mixed up with a bridge on the machine itself.
    expect(seen.netDir).toMatch(/^\/run\/scratch\/scr0\.net\d+$/);
    expect(seen.netDir).not.toBe(`/run/scratch/scr0.net${fs.readlinkSync('/proc/self/ns/net').replace(/\D/g, '')}`);
    expect(seen.rulesAfter).toBe(0);
    expect(await leftoversOf(id)).toEqual([]);
    expect(fs.existsSync(String(seen.netDir))).toBe(false);
  });

  it('disconnectContainer removes a container knowing only its id, and the stack after it finds nothing left', async () => {
    const c = await connect(['8080:80']);
    await disconnectContainer(runner, { id: c.id, hostNetns: host.netns });
    expect(await hostRules()).not.toContain('scr:');
    expect(await ok(['ip', 'netns', 'pids', c.net.plan.netns])).toBe(false);
    expect(await ok(['ip', '-n', host.netns, 'link', 'show', 'scr0'])).toBe(false);
    await c.stack.unwind().then((reports) => expect(reports.filter((r) => r.error)).toEqual([]));
    expect(await leftoversOf(c.id)).toEqual([]);
  });

  it('a run killed with kill -9 leaves its netns, lease and port claim, and npm run clean --only ID removes them', async () => {
    const c = await connect(['8080:80']);
    // Killed: its cleanup stack never runs.
    const killed = await leftoversOf(c.id);
    expect(killed).toEqual(
      expect.arrayContaining([
        `netns ${c.net.plan.netns}`,
        `lease ${c.net.plan.netDir}/leases/${c.net.plan.address}`,
        `lease ${c.net.plan.netDir}/ports/tcp-8080`,
        `state /run/scratch/${c.id}`,
      ]),
    );
    const clean = await runner.run([process.execPath, '--import', 'tsx', 'lib/cli/clean.ts', '--only', c.id], {
      reject: false,
      env: { FORCE_COLOR: '0' },
    });
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`$ rm -f ${c.net.plan.netDir}/leases/${c.net.plan.address}`);
    expect(await leftoversOf(c.id)).toEqual([]);
    // The address and port are free again. (Its rules lived in the fake host, which clean cannot see into:
    // the id's own teardown removes them, and with the last lease gone, the bridge.)
    await disconnectContainer(runner, { id: c.id, hostNetns: host.netns });
    expect(await hostRules()).not.toContain('scr:');
    const again = await connect(['8080:80']);
    expect(again.net.plan.address).toBe(c.net.plan.address);
    await again.stack.unwind();
  });
});
