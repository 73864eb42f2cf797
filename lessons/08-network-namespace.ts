/**
 * Lesson 08 — the network namespace: veth, bridge, NAT, a published port, two containers talking.
 *
 * Every container so far shared the host's network. A network namespace is a whole network stack of its own —
 * interfaces, addresses, routes, iptables rules — and a new one holds nothing but a loopback interface that is
 * down. Here the host wires one up the way docker's default bridge network does: the namespace is made first
 * and the container joins it by path (as runc does with the one a CNI plugin or docker hands it); a bridge
 * `scr0` is the containers' switch and its address their gateway; a veth pair is the cable; a small IPAM hands
 * out addresses; ip_forward and a masquerade make the host their router; DNAT publishes a port. Then a second
 * container joins the bridge, and the two talk. Every command is iproute2 or iptables, as you would type it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBundle } from '../lib/bundle.ts';
import { CleanupStack } from '../lib/cleanup.ts';
import { nsenterExecArgv } from '../lib/container/launch.ts';
import { overlayPaths, overlayRootOps, createOverlayRoot } from '../lib/container/root.ts';
import { containerCommands } from '../lib/container/shown.ts';
import { startContainer, type Container } from '../lib/container/start.ts';
import { build, isolatedSpec, withNetwork, withOverlay } from '../lib/kit.ts';
import { defineLesson, step, type LessonContext, type Shown } from '../lib/lesson.ts';
import { containerAddresses, containerSubnet, DEFAULT_SUBNET, formatIp } from '../lib/network/addresses.ts';
import { applyChanges, confinedChanges } from '../lib/network/changes.ts';
import { claims, LEASES } from '../lib/network/ipam.ts';
import {
  addressStage,
  checkArgvs,
  createNetns,
  detectArgvs,
  detectBackend,
  ensureBridge,
  ensureBridgeArgvs,
  hostResolver,
  nameFiles,
  netnsStage,
  parsePublish,
  planNetwork,
  publishPorts,
  publishStage,
  reserveNetwork,
  subnetFromEnv,
  vethStage,
  type IptablesBackend,
  type NetworkPlan,
  type NetworkRequest,
} from '../lib/network/index.ts';
import type { ContainerSpec } from '../lib/spec.ts';

/** docker run -p 8080:80: the web container's port 80 as the host's port 8080. */
const PUBLISH = '8080:80';
const PORT = parsePublish(PUBLISH);
/**
 * The web container: its page says its hostname, so an answer shows which container gave it. busybox's httpd,
 * by that name: no Debian package installs a plain `httpd`, and any rootfs can get busybox.
 */
const WEB = ['sh', '-c', 'hostname >/tmp/index.html; exec busybox httpd -f -p 80 -h /tmp'];
const SLEEPER = ['sleep', '3600'];
const BRIDGE_NETFILTER = '/proc/sys/net/bridge/bridge-nf-call-iptables';

interface Side {
  plan?: NetworkPlan;
  container?: Container;
}

interface Probe {
  ok: boolean;
  output: string;
}

interface State {
  iptables?: IptablesBackend;
  /** bridge-nf-call-iptables: '1' when br_netfilter shows bridged frames to iptables, undefined without it. */
  brNetfilter?: string;
  routes?: string;
  /** The web container (A) and the second one (B). */
  a: Side;
  b: Side;
  /** Step 3: `ip -n scr<id> addr` of the fresh namespace. */
  fresh?: string;
  /** Step 4: the same question asked inside the container, and whose namespace it is in. */
  joined?: { inside: string; identify: string; sameInode: boolean };
  bridgeAddr?: string;
  /** Steps 6–7: the container's view of its links, then addresses and routes. */
  afterVeth?: { host: string; inside: string };
  afterAddress?: { addr: string; route: string; names: string };
  pings?: { hostToContainer: Probe; containerToGateway: Probe };
  router?: { forward: string; forwardRules: string; policy?: string; natRules: string };
  published?: { natRules: string; viaBridge: Probe; viaLocalhost: Probe; hairpin: Probe; body: string };
  twoContainers?: { aToB: Probe; bToA: Probe; page: Probe; ports: string; between?: number };
  bGone?: { ports: string; netns: Probe; leases: string[] };
  /** B's own cleanup stack: unwound in step 11, while A stays. */
  bStack?: CleanupStack;
}

type Ctx = LessonContext<State>;

// ---- the two containers' requests, plans and specs ---------------------------------------------------------

const idOf = (ctx: Ctx, who: 'a' | 'b') => (who === 'a' ? ctx.id : `${ctx.id}b`);

function request(ctx: Ctx, who: 'a' | 'b'): NetworkRequest {
  return {
    id: idOf(ctx, who),
    ports: who === 'a' ? [PORT] : [],
    subnet: subnetFromEnv(),
    iptables: ctx.state.iptables,
  };
}

/** The plan once reserved; before that (and in --explain) what it will be: A gets the first address, B the next. */
function planOf(ctx: Ctx, who: 'a' | 'b'): NetworkPlan {
  const reserved = ctx.state[who].plan;
  if (reserved) return reserved;
  const order = who === 'a' ? 0 : 1;
  const address = containerAddresses(containerSubnet(subnetFromEnv() ?? DEFAULT_SUBNET))[order];
  return planNetwork(request(ctx, who), {
    address: address === undefined ? undefined : formatIp(address),
    iptables: ctx.state.iptables,
  });
}

/** A has a root of its own (an overlay, lesson 06) where the web page and the name files can be written. */
const overlayOf = (ctx: Ctx) => overlayPaths(ctx.id, [ctx.rootfs]);

function namesOf(ctx: Ctx) {
  const plan = planOf(ctx, 'a');
  return nameFiles(overlayOf(ctx).dir, `scr${ctx.id}`, plan.address, hostResolver());
}

/** Lessons 02–04's container on its own overlay root, in the namespace the host made and wired. */
function specA(ctx: Ctx): ContainerSpec {
  const o = overlayOf(ctx);
  return build(
    isolatedSpec({ id: ctx.id, rootfs: ctx.rootfs, args: WEB }),
    withOverlay(o.root, o.rootfs),
    withNetwork(planOf(ctx, 'a').netnsPath, namesOf(ctx).mounts),
  );
}

/** B is kept bare: the rootfs as it is (nothing is written in it), no name files — only the network. */
function specB(ctx: Ctx): ContainerSpec {
  return build(
    isolatedSpec({ id: idOf(ctx, 'b'), rootfs: ctx.rootfs, args: SLEEPER }),
    withNetwork(planOf(ctx, 'b').netnsPath),
  );
}

/** A's PID: "$PID" until B's start redefines $PID, then "$WEB" (set from it just before). */
const pidA = (ctx: Ctx, afterB = false) => ctx.state.a.container?.hostPid ?? (afterB ? '$WEB' : '$PID');
const pidB = (ctx: Ctx) => ctx.state.b.container?.hostPid ?? '$PID';
const inA = (ctx: Ctx, argv: readonly string[], afterB = false) => nsenterExecArgv(specA(ctx), pidA(ctx, afterB), argv);
const inB = (ctx: Ctx, argv: readonly string[]) => nsenterExecArgv(specB(ctx), pidB(ctx), argv);

// ---- evidence ----------------------------------------------------------------------------------------------

const ping = (address: string, bin: string[] = []) => [...bin, 'ping', '-c', '1', '-W', '2', address];
/** An HTTP GET with nc (busybox's wget crashes on some hosts); double quotes only, so it wraps cleanly. */
const httpGet = (address: string, port: number, nc = ['nc']) => [
  'sh',
  '-c',
  `printf "GET / HTTP/1.0\\r\\n\\r\\n" | ${nc.join(' ')} -w 3 ${address} ${port}`,
];
/** On the host, ping and nc are busybox's (busybox-static, which setup installs): iputils may be missing. */
const HOST_BUSYBOX = ['busybox'];
const iptables = (ctx: Ctx, ...args: string[]) => [ctx.state.iptables?.binary ?? 'iptables', '-w', ...args];

/** A list of commands as a step's shown record, in order. */
const listed = (prefix: string, argvs: readonly (readonly string[])[]): Record<string, Shown> =>
  Object.fromEntries(argvs.map((a, i) => [`${prefix}${i}`, a]));

async function probe(ctx: Ctx, argv: readonly string[]): Promise<Probe> {
  const r = await ctx.runner.run(argv, { reject: false, timeoutMs: 8000 });
  return { ok: r.exitCode === 0, output: (r.stdout || r.stderr).trim() };
}

async function show(ctx: Ctx, argv: readonly string[]): Promise<string> {
  const r = await ctx.runner.run(argv, { reject: false });
  return (r.stdout || r.stderr).trimEnd();
}

/** The body of an HTTP answer ('' when nothing answered). */
const bodyOf = (answer: string) => answer.split(/\r?\n\r?\n/)[1]?.trim() ?? '';
const answered = (p: Probe, body: string) => p.ok && bodyOf(p.output) === body;
/** Only the lines of an iptables listing that are ours (and, for a chain given, its policy). */
const ours = (text: string, policyOf?: string) =>
  text
    .split('\n')
    .filter((l) => l.includes('scr:') || (policyOf !== undefined && l.startsWith(`-P ${policyOf} `)))
    .join('\n');
/** Interface names in `ip link`/`ip addr` output: `2: eth0@if7: <…>` → eth0. */
const linkNames = (text: string) => [...text.matchAll(/^\d+: ([^:@\s]+)/gm)].map((m) => m[1] ?? '');
const pingSummary = (p: Probe) => p.output.split('\n').find((l) => /packets transmitted/.test(l)) ?? p.output;
/** The bridge's leases, read from its state directory (ipam.ts): `10.30.0.2 → 08ab12`. */
const leasesOf = (plan: NetworkPlan) =>
  [...claims(path.join(plan.netDir, LEASES))].map(([ip, owner]) => `${ip} → ${owner}`).sort();
const inodeOf = (file: string) => {
  try {
    return fs.statSync(file).ino;
  } catch {
    return -1;
  }
};

export default defineLesson<State>({
  number: '08',
  title: 'Network namespace: veth, bridge, NAT and a published port',
  summary:
    'A container gets a network stack of its own, and the host wires it up as docker does: a namespace made ' +
    'first and joined by path, a bridge scr0 as the switch and gateway, a veth pair as the cable, an address ' +
    'from a small IPAM, forwarding and masquerade out, DNAT for -p 8080:80. A second container joins, and the ' +
    'two talk. The containers use the TypeScript init that lesson 07 introduces.',
  docker: `docker run -d -p ${PUBLISH} busybox httpd -f -p 80   (on docker's default bridge network)`,
  needsRoot: true,
  needsRootfs: true,
  changesHostNetwork: true,
  // What the two containers run, and what the lesson runs inside them as evidence.
  rootfsCommands: ['sh', 'hostname', 'busybox', 'sleep', 'ip', 'ping', 'nc', 'printf', 'cat'],
  initialState: () => ({ a: {}, b: {} }),

  steps: [
    step({
      title: 'Which iptables does this host keep its rules in?',
      explain:
        'Real hosts are messy, and this is the first mess. The iptables command has two backends that keep ' +
        'separate rule sets in the kernel: legacy, and nft (nf_tables, the default on current distributions). ' +
        'Rules added through one are invisible to the other, and a host whose firewall or docker lives in one ' +
        'while we add ours to the other ends up with two rule sets that both apply and that no one listing ' +
        'shows. So we look first: `iptables -V` says which backend the plain command uses, and each ' +
        "backend's -save lists what is there (they only read). Every rule of this lesson then goes into the " +
        "backend the host's rules are in — and only that one.",
      docker: 'docker info --format "{{.Driver}}"   (dockerd picks its backend the same way: iptables -V)',
      commands: () => listed('detect', detectArgvs()),
      async run(ctx) {
        ctx.state.iptables = await detectBackend(ctx.runner);
        try {
          ctx.state.brNetfilter = fs.readFileSync(BRIDGE_NETFILTER, 'utf8').trim();
        } catch {
          ctx.state.brNetfilter = undefined;
        }
        ctx.out.evidence('the backend this lesson uses:', `${ctx.state.iptables.binary}: ${ctx.state.iptables.reason}`);
        ctx.out.note(
          ctx.state.brNetfilter === undefined
            ? 'br_netfilter is not loaded: frames bridged between containers never meet iptables.'
            : `br_netfilter is loaded (bridge-nf-call-iptables=${ctx.state.brNetfilter}): frames bridged ` +
                'between two containers pass iptables FORWARD too. Step 8 handles it.',
        );
      },
    }),

    step({
      title: 'Check the host, then lease an address (IPAM)',
      explain:
        'Before anything is made, everything that could go wrong is checked, only by reading: the subnet ' +
        "must not overlap any of the host's routes (10.30.0.0/24 by default, clear of docker's " +
        "172.17.0.0/16, VirtualBox's 10.0.2.0/24 and 192.168.56.0/21, Lima's and Vagrant's networks; " +
        'SCRATCH_SUBNET picks another); a bridge scr0 that exists must be on that subnet; and host port 8080 ' +
        'must be free — no program listening on it (/proc/net/tcp lists every socket) and no DNAT rule ' +
        "forwarding it already. Then the IPAM leases the first free address: a file per address in the bridge's " +
        'state directory, made under a lock, so two containers starting at once never get the same one. ' +
        'The bridge itself takes .1, the gateway.',
      docker: 'docker network inspect bridge   # Subnet, Gateway, and each container’s IPv4Address',
      commands: (ctx) => ({
        ...listed('check', checkArgvs(request(ctx, 'a'), planOf(ctx, 'a').iptables)),
        routes: ['ip', 'route'],
      }),
      async run(ctx, cmd) {
        const plan = await reserveNetwork(ctx.runner, ctx.cleanup, request(ctx, 'a'));
        ctx.state.a.plan = plan;
        ctx.state.routes = await show(ctx, cmd.routes as string[]);
        ctx.out.evidence("the host's routes: none overlaps the containers' subnet", ctx.state.routes || '(none)');
        ctx.out.evidence(`the lease, in ${plan.netDir}/leases/:`, leasesOf(plan).join('\n') || '(none)');
        ctx.out.note(
          `Subnet ${plan.subnet}: gateway ${plan.gateway}, this container ${plan.address}. Host port ` +
            `${PORT.hostPort}/${PORT.protocol} is free and claimed for it.`,
        );
      },
    }),

    step({
      title: 'A network namespace first: lo, down, and nothing else',
      explain:
        '`ip netns add` makes a network namespace and keeps it alive with no process in it, by bind-mounting ' +
        'it on /run/netns/scr<id>. The host can then wire it up completely before the container starts — ' +
        'which is what docker and every CNI plugin do: the runtime is handed a path, and the container ' +
        'joins the finished namespace. (The other way, the container making its own namespace and waiting at ' +
        'its sync point while the host wires it, works too; joining by path is simpler to show.) `ip -n NAME` ' +
        'runs ip inside it. A fresh network stack: one loopback interface, down — not even 127.0.0.1 works yet.',
      docker: 'docker run --network none busybox ip addr   # what a namespace has before it is wired (lo, up)',
      commands: (ctx) => ({
        ...listed(
          'netns',
          netnsStage(planOf(ctx, 'a')).map((c) => c.argv),
        ),
        look: ['ip', '-n', planOf(ctx, 'a').netns, 'addr'],
      }),
      async run(ctx, cmd) {
        await createNetns(ctx.runner, ctx.cleanup, planOf(ctx, 'a'));
        ctx.state.fresh = await show(ctx, cmd.look as string[]);
        ctx.out.evidence(`ip -n ${planOf(ctx, 'a').netns} addr: the namespace's whole network`, ctx.state.fresh);
      },
    }),

    step({
      title: 'The container joins it by path',
      explain:
        'The web container is lessons 02–04’s, on an overlay root of its own (lesson 06), where it writes its ' +
        'page: its hostname. Its /etc/hosts and /etc/resolv.conf are written by the host, next to the ' +
        'overlay’s directories, and bind-mounted over the rootfs’s — as docker does. resolv.conf takes the ' +
        "host's name servers, except loopback ones (127.0.0.53 of systemd-resolved would be the container's " +
        'own lo). The launcher joins the namespace with `nsenter --net=/run/netns/scr<id>` before `unshare` ' +
        'makes the others. Inside, `ip addr` sees exactly what the host saw with `ip -n`: the same namespace. ' +
        'httpd is already listening on port 80 — of an interface nobody can reach.',
      docker: 'docker run -d busybox httpd -f -p 80   # docker (runc) joins the path its network code made',
      commands: (ctx) => ({
        ...Object.fromEntries(overlayRootOps(overlayOf(ctx)).map((op, i) => [`dir${i}`, { op }])),
        ...Object.fromEntries(namesOf(ctx).writes.map((op, i) => [`names${i}`, { op }])),
        ...containerCommands(specA(ctx), { executor: 'ts', background: true }),
        inside: inA(ctx, ['ip', 'addr']),
        identify: ['ip', 'netns', 'identify', String(pidA(ctx))],
      }),
      async run(ctx) {
        createOverlayRoot(ctx.runner, ctx.cleanup, ctx.id, [ctx.rootfs]);
        for (const op of namesOf(ctx).writes) ctx.runner.apply(op);
        const c = await startContainer(ctx.runner, ctx.cleanup, specA(ctx), {
          executor: 'ts',
          init: await initBundle(),
        });
        ctx.state.a.container = c;
        const inside = await show(ctx, inA(ctx, ['ip', 'addr']));
        const identify = await show(ctx, ['ip', 'netns', 'identify', String(c.hostPid)]);
        const sameInode = inodeOf(planOf(ctx, 'a').netnsPath) === inodeOf(`/proc/${c.hostPid}/ns/net`);
        ctx.state.joined = { inside, identify, sameInode };
        ctx.out.compare(
          `the namespace's links: ip -n ${planOf(ctx, 'a').netns} addr, and ip addr inside`,
          ctx.state.fresh ?? '',
          inside,
        );
        ctx.out.evidence(`ip netns identify ${c.hostPid}: the namespace the container's PID 1 is in`, identify);
        ctx.out.note(
          sameInode
            ? `/run/netns/${planOf(ctx, 'a').netns} and /proc/${c.hostPid}/ns/net are one inode: one namespace.`
            : `/run/netns/${planOf(ctx, 'a').netns} and /proc/${c.hostPid}/ns/net differ!`,
        );
      },
    }),

    step({
      title: 'The bridge scr0: the containers’ switch, and their gateway',
      explain:
        'A bridge is a virtual Ethernet switch in the host kernel: it forwards frames between the interfaces ' +
        "plugged into it, learning which MAC is behind which port. It is also an interface of the host's own: " +
        "given 10.30.0.1/24, it is the host's foot on the containers' segment — their gateway — and the host " +
        'gets a route to the subnet through it. It gets a fixed MAC of its own (else it would take its lowest ' +
        "port's, and change as containers come and go) and route_localnet, which step 9 needs. The bridge is " +
        'shared: the first container makes it, the others find it (what is true already is skipped — the ' +
        'first two commands only read), and it goes with the last one.',
      docker: 'docker network create --subnet 10.30.0.0/24 scrnet   # docker0 is the default one',
      commands: (ctx) => ({
        ...listed('bridge', ensureBridgeArgvs(planOf(ctx, 'a'), ['bridge'])),
        look: ['ip', 'addr', 'show', 'dev', planOf(ctx, 'a').bridge],
      }),
      async run(ctx, cmd) {
        await ensureBridge(ctx.runner, planOf(ctx, 'a'), ['bridge']);
        ctx.state.bridgeAddr = await show(ctx, cmd.look as string[]);
        ctx.out.evidence(
          `the host's new interface, ${planOf(ctx, 'a').bridge}: no port plugged in yet`,
          ctx.state.bridgeAddr,
        );
      },
    }),

    step({
      title: 'A veth pair: one end in the container, one on the bridge',
      explain:
        'A veth pair is a virtual cable with an interface at each end: a frame sent into one comes out of ' +
        'the other. Both ends are made on the host; one is moved into the container’s namespace — and ' +
        'vanishes from the host’s `ip link` — and renamed eth0 there; the other is plugged into scr0 and ' +
        'brought up. Hairpin mode lets a frame go back out of the port it came in by (step 9 needs it). Each ' +
        'side names its peer by index: eth0@ifN on one side, N is the host end’s number, and the other way ' +
        'round. eth0 is still down, with no address.',
      docker: 'docker network connect scrnet CONTAINER   # docker names its ends vethXXXX and eth0',
      commands: (ctx) => ({
        ...listed(
          'veth',
          ctx
            .use(vethStage)(planOf(ctx, 'a'))
            .map((c) => c.argv),
        ),
        host: ['ip', '-br', 'link', 'show', 'master', planOf(ctx, 'a').bridge],
        inside: inA(ctx, ['ip', 'link']),
      }),
      async run(ctx, cmd) {
        await applyChanges(ctx.runner, ctx.cleanup, ctx.use(vethStage)(planOf(ctx, 'a')));
        const host = await show(ctx, cmd.host as string[]);
        const inside = await show(ctx, cmd.inside as string[]);
        ctx.state.afterVeth = { host, inside };
        ctx.out.evidence('the host: its end of the cable, a port of scr0', host);
        ctx.out.evidence('the container: lo, and the other end, now eth0 (ip link)', inside);
      },
    }),

    step({
      title: 'An address, lo up, a default route — and names',
      explain:
        'Inside, eth0 needs what any network card needs: an address in the subnet (the leased one), to be ' +
        'up, and a default route that sends everything not on the subnet to the gateway, the bridge. lo comes ' +
        'up too, so 127.0.0.1 works. All of it is done from the host with `ip -n`, in the namespace. Now the ' +
        'host and the container reach each other: a ping each way. The files the host wrote in step 4 are ' +
        'what the container sees as /etc/hosts (its name and address) and /etc/resolv.conf.',
      docker: 'docker exec CONTAINER sh -c "ip addr; ip route; cat /etc/hosts /etc/resolv.conf"',
      commands: (ctx) => {
        const plan = planOf(ctx, 'a');
        return {
          ...listed(
            'addr',
            ctx
              .use(addressStage)(plan)
              .map((c) => c.argv),
          ),
          addr: inA(ctx, ['ip', 'addr', 'show', 'eth0']),
          route: inA(ctx, ['ip', 'route']),
          hostRoute: ['ip', 'route', 'show', 'dev', plan.bridge],
          names: inA(ctx, ['cat', '/etc/hosts', '/etc/resolv.conf']),
          toContainer: ping(plan.address, HOST_BUSYBOX),
          toGateway: inA(ctx, ping(plan.gateway)),
        };
      },
      async run(ctx, cmd) {
        await applyChanges(ctx.runner, ctx.cleanup, ctx.use(addressStage)(planOf(ctx, 'a')));
        const addr = await show(ctx, cmd.addr as string[]);
        const route = await show(ctx, cmd.route as string[]);
        const hostRoute = await show(ctx, cmd.hostRoute as string[]);
        const names = await show(ctx, cmd.names as string[]);
        ctx.state.afterAddress = { addr, route, names };
        ctx.out.compare('routes: the host’s through scr0, and the container’s', hostRoute, route);
        ctx.out.evidence('ip addr show eth0, inside', addr);
        ctx.out.evidence('/etc/hosts and /etc/resolv.conf, inside', names);
        const hostToContainer = await probe(ctx, cmd.toContainer as string[]);
        const containerToGateway = await probe(ctx, cmd.toGateway as string[]);
        ctx.state.pings = { hostToContainer, containerToGateway };
        ctx.out.compare(
          'ping, host → container and container → gateway',
          pingSummary(hostToContainer),
          pingSummary(containerToGateway),
        );
      },
    }),

    step({
      title: 'The host as a router: forwarding and masquerade',
      explain:
        'To reach anything beyond the host, a container’s packets arrive on scr0 and must leave by another ' +
        'interface: forwarding, which a host does only with net.ipv4.ip_forward=1 (a setting of each network ' +
        'namespace; it is put back as it was when the last container goes). Nobody out there can answer ' +
        '10.30.0.2, so on the way out its source becomes the host’s address: MASQUERADE in nat POSTROUTING. ' +
        'More mess: a FORWARD policy of DROP (docker sets it; firewalls do) would drop it all, so explicit ' +
        'ACCEPTs for scr0 go at the top of FORWARD — out, the answers back, and between two containers, ' +
        'which only matters with br_netfilter. One DROP guards the host: route_localnet must not let a ' +
        'container reach the host’s 127.0.0.1 services. Every rule carries an scr: comment (npm run clean ' +
        'finds them). Masquerade is shown by reading the rules: no packet leaves this machine.',
      docker: 'sysctl net.ipv4.ip_forward; iptables -t nat -S POSTROUTING   # on a docker host: docker0’s rules',
      commands: (ctx) => ({
        ...listed('router', ensureBridgeArgvs(planOf(ctx, 'a'), ['router'])),
        forward: ['sysctl', 'net.ipv4.ip_forward'],
        filter: iptables(ctx, '-S', 'FORWARD'),
        nat: iptables(ctx, '-t', 'nat', '-S', 'POSTROUTING'),
      }),
      async run(ctx, cmd) {
        await ensureBridge(ctx.runner, planOf(ctx, 'a'), ['router']);
        const forward = await show(ctx, cmd.forward as string[]);
        const forwardRules = await show(ctx, cmd.filter as string[]);
        const natRules = await show(ctx, cmd.nat as string[]);
        const policy = /^-P FORWARD (\S+)/m.exec(forwardRules)?.[1];
        ctx.state.router = { forward, forwardRules, policy, natRules };
        ctx.out.evidence('forwarding, now:', forward);
        ctx.out.evidence('FORWARD: its policy and our rules, at the top', ours(forwardRules, 'FORWARD'));
        ctx.out.evidence('nat POSTROUTING: the masquerades', ours(natRules));
        ctx.out.note(
          policy === 'DROP'
            ? 'This host’s FORWARD policy is DROP: without the ACCEPTs above, the containers would be cut off.'
            : `This host’s FORWARD policy is ${policy ?? 'unknown'}; the ACCEPTs keep working if it becomes DROP.`,
        );
      },
    }),

    step({
      title: 'Publish a port: -p 8080:80 is DNAT',
      explain:
        'Nothing listens on the host’s port 8080. A DNAT rule in nat PREROUTING rewrites the destination of ' +
        'every packet for a host address on port 8080 to 10.30.0.2:80, and conntrack rewrites the answers ' +
        'back. The host’s own connections never pass PREROUTING, so the same rule goes in OUTPUT. Two more ' +
        'details make 127.0.0.1:8080 work: a packet from 127.0.0.1 may not leave by a real interface (the ' +
        'bridge’s route_localnet allows it), and the container cannot answer 127.0.0.1 — that is its own lo ' +
        '— so those get the bridge’s address as source (the masquerade for 127.0.0.0/8 of step 8). Last, ' +
        'hairpin: the container asking its own published port through the host’s address gets its packet ' +
        'back from itself, which it would drop; that one is masqueraded too. And an ACCEPT for FORWARD.',
      docker: `docker run -d -p ${PUBLISH} busybox httpd -f -p 80; curl http://127.0.0.1:8080/`,
      commands: (ctx) => {
        const plan = planOf(ctx, 'a');
        return {
          ...listed(
            'publish',
            publishStage(plan).map((c) => c.argv),
          ),
          nat: iptables(ctx, '-t', 'nat', '-S'),
          viaBridge: httpGet(plan.gateway, PORT.hostPort, HOST_BUSYBOX.concat('nc')),
          viaLocalhost: httpGet('127.0.0.1', PORT.hostPort, HOST_BUSYBOX.concat('nc')),
          hairpin: inA(ctx, httpGet(plan.gateway, PORT.hostPort)),
        };
      },
      async run(ctx, cmd) {
        await publishPorts(ctx.runner, ctx.cleanup, planOf(ctx, 'a'));
        const natRules = await show(ctx, cmd.nat as string[]);
        const viaBridge = await probe(ctx, cmd.viaBridge as string[]);
        const viaLocalhost = await probe(ctx, cmd.viaLocalhost as string[]);
        const hairpin = await probe(ctx, cmd.hairpin as string[]);
        ctx.state.published = { natRules, viaBridge, viaLocalhost, hairpin, body: `scr${ctx.id}` };
        ctx.out.evidence('the nat table: our rules', ours(natRules));
        const gw = planOf(ctx, 'a').gateway;
        const said = (p: Probe) => (p.ok ? bodyOf(p.output) || '(an answer without a page)' : `nothing: ${p.output}`);
        ctx.out.evidence(
          'GET / on port 8080 — the page is the web container’s hostname:',
          [
            [`host → ${gw}:8080`, said(viaBridge)],
            ['host → 127.0.0.1:8080', said(viaLocalhost)],
            [`container → ${gw}:8080`, `${said(hairpin)}   (hairpin)`],
          ]
            .map(([from = '', answer = '']) => `${from.padEnd(27)}${answer}`)
            .join('\n'),
        );
      },
    }),

    step({
      title: 'A second container on the bridge: the two talk',
      explain:
        'Container B gets the same treatment, without the shared part — the bridge and the router are there ' +
        'already, and A’s lease keeps them: its checks and lease (the next address), its namespace, its ' +
        'cable, its address. B is kept bare: the rootfs as it is, no published port, no name files. Then ' +
        'the two reach each other by address, through scr0 — frames switched by the bridge, never routed. ' +
        'With br_netfilter they still pass FORWARD, and the accept-between rule of step 8 counts them.',
      docker: 'docker run -d --name b busybox sleep 3600; docker exec b ping -c 1 WEB-CONTAINER-IP',
      commands: (ctx) => {
        const b = planOf(ctx, 'b');
        const a = planOf(ctx, 'a');
        return {
          ...listed('check', checkArgvs(request(ctx, 'b'), b.iptables)),
          ...listed(
            'netns',
            netnsStage(b).map((c) => c.argv),
          ),
          ...listed(
            'veth',
            ctx
              .use(vethStage)(b)
              .map((c) => c.argv),
          ),
          ...listed(
            'addr',
            ctx
              .use(addressStage)(b)
              .map((c) => c.argv),
          ),
          web: { shell: 'WEB=$PID   # the web container’s PID, before $PID becomes B’s' },
          ...containerCommands(specB(ctx), { executor: 'ts', background: true }),
          bToA: inB(ctx, ping(a.address)),
          aToB: inA(ctx, ping(b.address), true),
          page: inB(ctx, httpGet(a.address, PORT.containerPort)),
          ports: ['ip', '-br', 'link', 'show', 'master', b.bridge],
          counters: iptables(ctx, '-L', 'FORWARD', '-v', '-x', '-n'),
        };
      },
      async run(ctx, cmd) {
        // B's own stack, unwound in the next step: its container, cable, namespace and lease, and no more.
        const stack = new CleanupStack();
        ctx.cleanup.push(`stop container ${idOf(ctx, 'b')} and take down its network`, () => unwindAll(stack));
        const plan = await reserveNetwork(ctx.runner, stack, request(ctx, 'b'));
        ctx.state.b.plan = plan;
        await createNetns(ctx.runner, stack, plan);
        await applyChanges(ctx.runner, stack, [...ctx.use(vethStage)(plan), ...ctx.use(addressStage)(plan)]);
        ctx.state.bStack = stack;
        const c = await startContainer(ctx.runner, stack, specB(ctx), { executor: 'ts', init: await initBundle() });
        ctx.state.b.container = c;
        const bToA = await probe(ctx, inB(ctx, ping(planOf(ctx, 'a').address)));
        const aToB = await probe(ctx, inA(ctx, ping(plan.address), true));
        const page = await probe(ctx, inB(ctx, httpGet(planOf(ctx, 'a').address, PORT.containerPort)));
        const ports = await show(ctx, cmd.ports as string[]);
        const counters = await show(ctx, cmd.counters as string[]);
        const between = counters.split('\n').find((l) => l.includes(`scr:${plan.bridge}:accept-between`));
        ctx.state.twoContainers = {
          aToB,
          bToA,
          page,
          ports,
          between: between === undefined ? undefined : Number(between.trim().split(/\s+/)[0]),
        };
        ctx.out.evidence(`scr0's ports now: two cables`, ports);
        ctx.out.evidence(
          'ping, from one container to the other:',
          [
            `B → A ${planOf(ctx, 'a').address}: ${pingSummary(bToA)}`,
            `A → B ${plan.address}: ${pingSummary(aToB)}`,
          ].join('\n'),
        );
        ctx.out.evidence(
          `B asks A's port 80 directly (no NAT between containers):`,
          page.ok ? bodyOf(page.output) : page.output,
        );
        ctx.out.note(
          ctx.state.brNetfilter === '1'
            ? `br_netfilter: FORWARD saw ${ctx.state.twoContainers.between ?? 0} packets between the two, ` +
                'let by scr:scr0:accept-between.'
            : 'Without br_netfilter the bridge switches these frames without iptables seeing them.',
        );
      },
    }),

    step({
      title: 'B goes; the bridge stays for A',
      explain:
        'Each container’s undo was registered before each thing was made; B’s are run now: the container is ' +
        'killed, its veth deleted (deleting one end deletes both), its namespace deleted, its lease given ' +
        'back. scr0, the router’s rules and ip_forward stay: A still holds a lease. When the lesson ends, A ' +
        'goes the same way — its published port’s rules with it — and, being the last, takes the bridge, ' +
        'the shared rules and ip_forward along.',
      docker: 'docker rm -f b   # and scr0 goes with the last container here; docker keeps docker0',
      commands: (ctx) => {
        const b = planOf(ctx, 'b');
        const undos = [...ctx.use(vethStage)(b), ...netnsStage(b)].flatMap((c) => (c.undo ? [c.undo] : []));
        return {
          kill: { op: { kind: 'kill' as const, pid: pidB(ctx), signal: 'SIGKILL' as const } },
          ...listed('undo', undos),
          ports: ['ip', '-br', 'link', 'show', 'master', b.bridge],
          gone: ['ip', '-n', b.netns, 'link'],
        };
      },
      async run(ctx, cmd) {
        if (ctx.state.bStack) await unwindAll(ctx.state.bStack);
        const plan = planOf(ctx, 'a');
        const ports = await show(ctx, cmd.ports as string[]);
        const netns = await probe(ctx, cmd.gone as string[]);
        ctx.state.bGone = { ports, netns, leases: leasesOf(plan) };
        ctx.out.evidence(`scr0's ports: A's cable only`, ports);
        ctx.out.evidence(`ip -n ${planOf(ctx, 'b').netns} link`, netns.output);
        ctx.out.evidence('the leases left: A holds the bridge', ctx.state.bGone.leases.join('\n') || '(none)');
      },
    }),
  ],

  shell: (ctx) => ({
    explain:
      'A shell in the web container (docker exec -it): try `ip addr`, `ip route`, `ping -c 1 10.30.0.1`, ' +
      '`cat /etc/hosts`; from another terminal on the host, `ip link show master scr0`, `iptables -t nat -S`, ' +
      '`busybox nc 127.0.0.1 8080`. Type `exit` to leave; everything goes when it ends.',
    argv: inA(ctx, ['sh'], true),
  }),

  checks: (s) => {
    const a = s.a.plan;
    const b = s.b.plan;
    const p = s.published;
    const t = s.twoContainers;
    const inside = linkNames(s.afterAddress?.addr ?? '');
    return [
      {
        claim: 'a new network namespace had only lo, and lo was down',
        ok: linkNames(s.fresh ?? '').join() === 'lo' && !/<[^>]*\bUP\b[^>]*>/.test(s.fresh ?? ''),
      },
      {
        claim: "the container's PID 1 was in that very namespace, joined by its path",
        ok:
          !!s.joined?.sameInode && s.joined.identify.trim() === a?.netns && linkNames(s.joined.inside).join() === 'lo',
      },
      {
        claim: 'inside, the container saw only lo and its end of the veth, eth0, with the leased address',
        ok:
          linkNames(s.afterVeth?.inside ?? '')
            .sort()
            .join() === 'eth0,lo' &&
          inside.join() === 'eth0' &&
          !!a &&
          (s.afterAddress?.addr.includes(`inet ${a.addressCidr}`) ?? false),
        detail: a?.addressCidr,
      },
      {
        claim: 'its default route went via the bridge, and the host and it pinged each other',
        ok:
          !!a &&
          new RegExp(`^default via ${a.gateway.replace(/\./g, '\\.')}`, 'm').test(s.afterAddress?.route ?? '') &&
          !!s.pings?.hostToContainer.ok &&
          !!s.pings.containerToGateway.ok,
      },
      {
        claim: 'forwarding was on, with the masquerade and the FORWARD accepts for scr0 in place',
        ok:
          /= 1$/.test(s.router?.forward ?? '') &&
          (s.router?.natRules.includes('scr:scr0:masquerade') ?? false) &&
          (s.router?.forwardRules.includes('scr:scr0:accept-out') ?? false),
        detail: s.router?.policy ? `FORWARD policy ${s.router.policy}` : undefined,
      },
      {
        claim: '-p 8080:80 was DNAT in PREROUTING and OUTPUT, to the container’s port 80',
        ok:
          !!a &&
          ['PREROUTING', 'OUTPUT'].every((chain) =>
            (p?.natRules ?? '')
              .split('\n')
              .some((l) => l.startsWith(`-A ${chain} `) && l.includes(`--to-destination ${a.address}:80`)),
          ),
      },
      {
        claim: 'the web page answered the host on the bridge address and on 127.0.0.1, and itself (hairpin)',
        ok: !!p && answered(p.viaBridge, p.body) && answered(p.viaLocalhost, p.body) && answered(p.hairpin, p.body),
      },
      {
        claim: 'two containers on the bridge reached each other by address',
        ok: !!t && t.aToB.ok && t.bToA.ok && !!p && answered(t.page, p.body) && a?.address !== b?.address,
        detail: a && b ? `${a.address} ↔ ${b.address}` : undefined,
      },
      {
        claim: 'B’s cable and namespace went with it, and the bridge stayed while A held its lease',
        ok:
          !!s.bGone &&
          !!b &&
          !s.bGone.ports.includes(b.hostVeth) &&
          !!a &&
          s.bGone.ports.includes(a.hostVeth) &&
          !s.bGone.netns.ok &&
          s.bGone.leases.length > 0 &&
          s.bGone.leases.every((l) => !l.endsWith(b.id)),
      },
    ];
  },

  exercise: {
    file: '08-network-namespace.ts',
    functions: { vethStage, addressStage },
    solutionIn: ['lib/network/plan.ts', 'lib/network/veth.ts'],
    contract:
      'write vethStage(plan) and addressStage(plan): the ip commands (with their undo) that make the veth cable ' +
      "into the bridge, and give the container's end its address, its loopback and its default route.",
    hints: [
      'Each change is { what: "…", argv: ["ip", "link", …], undo?: [...] }; only the first (ip link add) needs an undo.',
      'The container end is renamed inside its namespace, so that command is ip -n <plan.netns> link set <plan.peerVeth> name <plan.ifname>.',
      'With plan.hostNetns set, a host command ["ip", ...rest] becomes ["ip", "-n", plan.hostNetns, ...rest]: write a small helper and use it for 1, 2 and 4–6 (and the undo).',
    ],
    minutes: 20,
    shape: { vethStage: confinedChanges('vethStage'), addressStage: confinedChanges('addressStage') },
  },

  recap: {
    saw: [
      'A network namespace is a whole network stack; a new one has only lo, down. Made first with ' +
        '`ip netns add`, it is wired by the host and joined by the container by path, as CNI plugins do.',
      'A veth pair is the cable, a bridge the switch whose address is the gateway; an address, lo and a ' +
        'default route inside, and the host and container reach each other.',
      'ip_forward makes the host a router, MASQUERADE hides the containers behind its address, explicit ' +
        'FORWARD accepts survive a DROP policy, and all rules go into the backend the host uses.',
      '-p 8080:80 is DNAT in PREROUTING and OUTPUT; 127.0.0.1 needs route_localnet and a masquerade, the ' +
        'container reaching itself needs hairpin.',
      'Containers on one bridge talk directly; each one’s undo takes its own parts, the last one the bridge.',
    ],
    next:
      'Lesson 09 drops root: a user namespace where uid 0 inside is an unprivileged uid outside — rootless ' +
      'containers.',
  },
});

/** Unwind a container's own stack; an undo that failed fails the whole, so the lesson's cleanup reports it. */
async function unwindAll(stack: CleanupStack): Promise<void> {
  const failed = (await stack.unwind()).filter((r) => r.error !== undefined);
  if (failed.length > 0) throw new Error(failed.map((f) => `${f.description}: ${String(f.error)}`).join('; '));
}
