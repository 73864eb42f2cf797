/**
 * What the reliability suite (test/reliability/) shares: a seeded random source (RELIABILITY_SEED, printed, so a
 * failure can be replayed exactly), a network namespace that plays the host for everything the suite starts, the
 * processes of a process group, and the list of run ids the suite used, which its final check (host-snapshot.ts)
 * holds the host to.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { execa } from 'execa';

/** The seed every random choice of the suite comes from: RELIABILITY_SEED, or a fixed default. */
export const SEED = Number(process.env.RELIABILITY_SEED ?? 1515);
/** How many signal points the lessons get (at least 30 by default; more with RELIABILITY_POINTS). */
export const POINTS = Math.max(1, Number(process.env.RELIABILITY_POINTS ?? 30));

/** mulberry32: a small, good-enough PRNG whose whole state is one number, so a seed replays a run exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from SEED and a label, so each test file's choices do not shift when another file changes. */
export function seedFor(label: string): number {
  return crypto.createHash('sha256').update(`${SEED}:${label}`).digest().readUInt32LE(0);
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** The file the suite's run ids are appended to (set by test/reliability/host-snapshot.ts's global setup). */
export const SUITE_IDS_ENV = 'SCRATCH_SUITE_IDS';

/** Note run ids this suite used: the final check makes sure nothing of them is left on the host. */
export function recordIds(...ids: string[]): void {
  const file = process.env[SUITE_IDS_ENV];
  if (file && ids.length > 0) fs.appendFileSync(file, `${ids.join('\n')}\n`);
}

export interface TestNetns {
  name: string;
  /** Links in it other than lo (a bridge or veth left behind). */
  links(): Promise<string[]>;
  /** iptables rules in it whose comment starts with scr: (both backends). */
  rules(): Promise<string[]>;
  /** net.ipv4.ip_forward inside it. */
  ipForward(): Promise<string>;
  destroy(): Promise<void>;
}

/** A network namespace that plays the host: everything the suite starts runs inside it, never in the machine's own. */
export async function createTestNetns(label: string): Promise<TestNetns> {
  const name = `scrt${label}${crypto.randomBytes(2).toString('hex')}`.slice(0, 15);
  await execa('ip', ['netns', 'add', name]);
  await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  recordIds(name);
  const inside = (argv: string[]) => execa('ip', ['netns', 'exec', name, ...argv], { reject: false });
  return {
    name,
    links: async () =>
      (await execa('ip', ['-n', name, '-o', 'link', 'show'])).stdout
        .split('\n')
        .map((l) => l.split(/[:@\s]+/)[1] ?? '')
        .filter((n) => n && n !== 'lo'),
    rules: async () => {
      const out: string[] = [];
      for (const save of ['iptables-nft-save', 'iptables-legacy-save']) {
        const r = await inside([save]);
        out.push(
          ...String(r.stdout)
            .split('\n')
            .filter((l) => l.includes('scr:')),
        );
      }
      return out;
    },
    ipForward: async () => String((await inside(['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout).trim(),
    destroy: async () => {
      await execa('ip', ['netns', 'delete', name], { reject: false });
    },
  };
}

/** The argv that runs `argv` in the test network namespace. */
export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv];
}

/** Live processes (not zombies) whose process group is `pgid`. */
export function processGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `4711 sleep 3600 (root /var/lib/scratch/…, HOSTNAME=scr05ab12)`: enough to tell what a stray process is. */
export function describeProcess(pid: number): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  let root = '';
  try {
    root = fs.readlinkSync(`/proc/${pid}/root`);
  } catch {
    root = '?';
  }
  const host =
    read('environ')
      .split('\0')
      .find((e) => e.startsWith('HOSTNAME=')) ?? 'no HOSTNAME';
  return `${pid} ${read('cmdline').replace(/\0/g, ' ').trim().slice(0, 80)} (root ${root}, ${host})`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `check` is true or `ms` have passed; returns its last answer. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(20);
  return check();
}
