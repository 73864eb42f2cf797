/**
 * Lesson 08, run for real — never in this machine's own network namespace: each run happens in a child process
 * whose network namespace is one this file makes to play the host (test/helpers/lesson.ts), so the bridge, the
 * iptables rules and ip_forward are that namespace's. From here, the host's side is read in it while the lesson
 * runs (`iptables -S`, `iptables -t nat -S`) and again after. No packet leaves the machine: every address the
 * lesson talks to is the fake host's or a container's.
 *
 * Twenty containers at once getting twenty distinct addresses is a property of the IPAM, proved at the lib level
 * by network-lib.test.ts ("twenty containers set up at once…"); it is not repeated here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import lesson from '../../lessons/08-network-namespace.ts';
import type { LessonResult } from '../../lib/lesson.ts';
import { leftoversOf } from '../../lib/leftovers.ts';
import { canRunIntegration } from '../helpers/env.ts';
import { createOwnHostNetns, runLessonInNetns, testId, type OwnHostNetns } from '../helpers/lesson.ts';

type State = typeof lesson extends { initialState: () => infer S } ? S : never;
type Run = LessonResult<State> & { output: string; id: string };

/** The fake host's rules in one backend, both tables, as iptables -S prints them. */
async function rules(host: OwnHostNetns, binary = 'iptables'): Promise<string> {
  const out: string[] = [];
  for (const table of ['filter', 'nat']) out.push((await host.run([binary, '-t', table, '-S'])).stdout);
  return out.join('\n');
}

/**
 * Run the lesson in `host`, reading the host's rules in `binary` every few milliseconds meanwhile: every rule
 * line of ours seen while it ran.
 */
async function runWatching(
  host: OwnHostNetns,
  opts: { id: string; implFile?: string },
  binary = 'iptables',
): Promise<{ run: Run; seen: Set<string> }> {
  const seen = new Set<string>();
  let done = false;
  const run = runLessonInNetns(lesson, host.name, opts).finally(() => (done = true));
  while (!done) {
    for (const line of (await rules(host, binary)).split('\n')) if (line.includes('scr:')) seen.add(line);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { run: await run, seen };
}

const failed = (r: Run) => r.checks.filter((c) => !c.ok);
const bodyOf = (answer: string) => answer.split(/\r?\n\r?\n/)[1]?.trim();

describe.skipIf(!canRunIntegration)('lesson 08, in a network namespace that plays the host', () => {
  let host: OwnHostNetns;
  let r: Run;
  let seen: Set<string>;
  const id = testId('08');

  beforeAll(async () => {
    host = await createOwnHostNetns();
    ({ run: r, seen } = await runWatching(host, { id }));
  }, 120_000);
  afterAll(async () => {
    await host?.remove();
    expect(await leftoversOf(id, host.name)).toEqual([]);
  });

  it('runs to the end: every check passes, and every command it ran was one it showed', () => {
    expect(failed(r), r.output.slice(-3000)).toEqual([]);
    expect(r.completed).toBe(true);
    expect(r.unshown).toEqual([]);
  });

  it('a new namespace has only lo, down; the container joins it by path and sees only lo, then lo and its veth', () => {
    const s = r.state;
    expect(s.fresh).toMatch(/^1: lo: <LOOPBACK> .*state DOWN/);
    expect(s.fresh?.match(/^\d+: /gm)).toHaveLength(1);
    expect(s.joined?.identify.trim()).toBe(`scr${id}`);
    expect(s.joined?.sameInode).toBe(true);
    expect(s.afterVeth?.inside.match(/^\d+: (\S+?)[:@]/gm)?.map((l) => l.replace(/^\d+: /, ''))).toEqual([
      'lo:',
      'eth0@',
    ]);
    // The host's end left the container's side: only the host lists it, as a port of scr0.
    expect(s.afterVeth?.host).toMatch(new RegExp(`^scr${id}h@`));
    expect(s.afterVeth?.inside).not.toContain(`scr${id}`);
    expect(s.afterAddress?.addr).toContain(`inet ${s.a.plan?.addressCidr}`);
    expect(s.afterAddress?.route).toMatch(/^default via 10\.30\.0\.1 dev eth0/m);
    expect(s.afterAddress?.names).toMatch(new RegExp(`^${s.a.plan?.address?.replace(/\./g, '\\.')}\\s+scr${id}$`, 'm'));
    expect(s.afterAddress?.names).toMatch(/^nameserver (?!127\.)/m);
  });

  it('the host pings the container and the container its gateway; the two containers ping each other', () => {
    const s = r.state;
    expect(s.pings?.hostToContainer.output).toMatch(/1 packets received/);
    expect(s.pings?.containerToGateway.output).toMatch(/1 packets received/);
    expect(s.twoContainers?.aToB.output).toMatch(/1 packets received/);
    expect(s.twoContainers?.bToA.output).toMatch(/1 packets received/);
    expect(s.a.plan?.address).toBe('10.30.0.2');
    expect(s.b.plan?.address).toBe('10.30.0.3');
  });

  it('httpd in the container answers the host on the bridge address and 127.0.0.1, and itself (hairpin)', () => {
    const p = r.state.published;
    for (const answer of [p?.viaBridge, p?.viaLocalhost, p?.hairpin, r.state.twoContainers?.page]) {
      expect(answer?.ok).toBe(true);
      expect(bodyOf(answer?.output ?? '')).toBe(`scr${id}`);
    }
  });

  it('the NAT, DNAT and FORWARD rules were in the host namespace while it ran (iptables -S), and are gone after', async () => {
    const line = (start: string, purpose: string) =>
      [...seen].some((l) => l.startsWith(start) && l.includes(`--comment "scr:${purpose}"`));
    expect(line('-A POSTROUTING -s 10.30.0.0/24 ! -o scr0', 'scr0:masquerade')).toBe(true);
    expect(line('-A POSTROUTING -s 127.0.0.0/8 -o scr0', 'scr0:masquerade-localhost')).toBe(true);
    expect(line('-A FORWARD -i scr0 ! -o scr0', 'scr0:accept-out')).toBe(true);
    expect(line('-A FORWARD -i scr0 -o scr0', 'scr0:accept-between')).toBe(true);
    expect(
      line('-A PREROUTING -p tcp -m tcp --dport 8080 -m addrtype --dst-type LOCAL', `${id}:publish-8080/tcp`),
    ).toBe(true);
    expect(line('-A OUTPUT -p tcp -m tcp --dport 8080', `${id}:publish-local-8080/tcp`)).toBe(true);
    expect(line('-A POSTROUTING -s 10.30.0.2/32 -d 10.30.0.2/32', `${id}:hairpin-8080/tcp`)).toBe(true);
    expect(
      [...seen].filter((l) => l.includes('-j DNAT')).every((l) => l.endsWith('--to-destination 10.30.0.2:80')),
    ).toBe(true);
    expect(await rules(host)).not.toContain('scr:');
  });

  it('nothing is left: no link, rule, namespace, lease or state of the run, and ip_forward is back to 0', async () => {
    expect(await host.leftovers()).toEqual([]);
    expect(await leftoversOf(id)).toEqual([]);
    expect(fs.existsSync(`/var/lib/scratch/containers/${id}`)).toBe(false);
    expect(fs.existsSync(r.state.a.plan?.netDir ?? '/nonexistent')).toBe(false);
  });
});

describe.skipIf(!canRunIntegration)('lesson 08 on a messy host: rules in iptables-legacy, FORWARD policy DROP', () => {
  let host: OwnHostNetns;
  let r: Run;
  let legacy: Set<string>;
  const id = testId('08');
  const FIREWALL = '-A INPUT -i lo -m comment --comment "the host firewall" -j ACCEPT';

  beforeAll(async () => {
    host = await createOwnHostNetns();
    // A host whose firewall lives in the legacy backend, with docker's FORWARD policy.
    await host.run(['iptables-legacy', '-P', 'FORWARD', 'DROP']);
    await host.run([
      'iptables-legacy',
      '-A',
      'INPUT',
      '-i',
      'lo',
      '-m',
      'comment',
      '--comment',
      'the host firewall',
      '-j',
      'ACCEPT',
    ]);
    ({ run: r, seen: legacy } = await runWatching(host, { id }, 'iptables-legacy'));
  }, 120_000);
  afterAll(async () => {
    await host?.remove();
    expect(await leftoversOf(id, host.name)).toEqual([]);
  });

  it('detects the legacy backend and puts every rule there, none in nft', async () => {
    expect(r.state.iptables?.binary).toBe('iptables-legacy');
    expect(r.state.iptables?.reason).toContain("the host's 1 rules live in legacy: using iptables-legacy");
    expect(r.output).toContain('the backend this lesson uses:');
    expect([...legacy].some((l) => l.includes('scr:scr0:masquerade'))).toBe(true);
    expect([...legacy].some((l) => l.includes(`scr:${id}:publish-8080/tcp`))).toBe(true);
    expect((await host.run(['iptables-nft-save'])).stdout).not.toContain('scr:');
  });

  it('with the FORWARD policy DROP, the containers still talk: to the host, to each other, published', () => {
    expect(failed(r), r.output.slice(-3000)).toEqual([]);
    expect(r.state.router?.policy).toBe('DROP');
    expect(r.state.twoContainers?.aToB.ok).toBe(true);
    expect(bodyOf(r.state.published?.viaLocalhost.output ?? '')).toBe(`scr${id}`);
    if (r.state.brNetfilter === '1') {
      // br_netfilter: the frames between the two containers passed FORWARD, where the DROP policy would have
      // dropped them but for scr:scr0:accept-between.
      expect(r.state.twoContainers?.between).toBeGreaterThan(0);
    }
  });

  it("leaves the host's own firewall as it found it, and nothing of its own", async () => {
    const after = (await host.run(['iptables-legacy', '-S'])).stdout;
    expect(after).toContain('-P FORWARD DROP');
    expect(after).toContain(FIREWALL);
    expect(await host.leftovers()).toEqual([]);
    expect(await leftoversOf(id)).toEqual([]);
  });
});

describe.skipIf(!canRunIntegration)('lesson 08 with the learner’s vethStage (--mine)', () => {
  it('a cable whose host end is never brought up fails the checks, shows the learner’s commands, leaves nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-mine-'));
    const host = await createOwnHostNetns();
    const id = testId('08');
    try {
      const implFile = path.join(dir, 'mine.ts');
      const lib = path.resolve(import.meta.dirname, '../../lib/network/plan.ts');
      fs.writeFileSync(
        implFile,
        `import { vethStage as lib, type NetworkPlan } from ${JSON.stringify(lib)};\n` +
          'export function vethStage(p: NetworkPlan) {\n' +
          "  return lib(p).filter((c) => c.argv.at(-1) !== 'up');\n" +
          '}\n',
      );
      const { run } = await runWatching(host, { id, implFile });
      const veth = run.steps.find((s) => s.title.startsWith('A veth pair'));
      expect(veth?.shown.some((l) => l.endsWith(`scr${id}h up`))).toBe(false);
      expect(run.ok).toBe(false);
      expect(failed(run).map((c) => c.claim)).toEqual(
        expect.arrayContaining([
          'its default route went via the bridge, and the host and it pinged each other',
          'two containers on the bridge reached each other by address',
        ]),
      );
      expect(await host.leftovers()).toEqual([]);
      expect(await leftoversOf(id)).toEqual([]);
    } finally {
      await host.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!canRunIntegration)('lesson 08 on a rootfs without its tools', () => {
  it('says in one line what is missing and how to get it, before anything is made', async () => {
    // A static busybox as sh and nothing else: no ip, ping, nc (a Debian minbase lacks the same).
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scr-tiny-'));
    const host = await createOwnHostNetns();
    const id = testId('08');
    try {
      fs.mkdirSync(path.join(root, 'bin'));
      fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
      fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
      fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
      const r = await execa(
        'nsenter',
        [`--net=/run/netns/${host.name}`, '--', process.execPath, '--import', 'tsx', 'lib/cli/lesson.ts', '08'],
        {
          cwd: path.resolve(import.meta.dirname, '../..'),
          reject: false,
          input: '',
          env: { FORCE_COLOR: '0', SCRATCH_RUN_ID: id, SCRATCH_ROOTFS: root },
        },
      );
      expect(r.exitCode).toBe(1);
      const said = r.stderr.trim() || r.stdout.trim().split('\n').at(-1) || '';
      expect(said).toMatch(
        /has no hostname, sleep, ip, ping, nc, printf, cat, which lesson 08 runs inside the container/,
      );
      expect(r.stdout).not.toContain('Step 1/');
      expect(await host.leftovers()).toEqual([]);
      expect(await leftoversOf(id)).toEqual([]);
    } finally {
      await host.remove();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
