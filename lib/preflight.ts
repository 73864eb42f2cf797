/**
 * Preflight: is this machine able to run the lessons, and if not, what exactly fixes it?
 *
 * Containers are built from kernel features, and not every machine has them all: a macOS laptop has none, an old
 * kernel lacks some, a distribution may disable unprivileged user namespaces, and cgroups come in two versions
 * (v1: one hierarchy per controller; v2: one unified tree; "hybrid": both at once). Preflight gathers these facts
 * once, then judges them with pure functions, so the judgement is unit-tested on made-up machines and
 * `npm run doctor` prints the same table a lesson relies on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTROLLERS, describeDeviceEnforcement, detectLayout, type CgroupLayout } from './cgroups/index.ts';
import { UserError } from './errors.ts';
import { BRIDGE, CONTAINERS_ROOT, DEFAULT_ROOTFS } from './names.ts';
import { containerSubnet, DEFAULT_SUBNET, formatCidr } from './network/addresses.ts';
import { assertNoClash, parseProcNetRoute, SUBNET_ENV, type Route } from './network/routes.ts';
import { fsTypeOf, upperUnsupported } from './overlay.ts';
import { rootfsExists, BUILD_COMMAND } from './rootfs.ts';
import { findOnPath, toolPath } from './runner.ts';
import { BREAKOUT_FIX, breakoutIsFresh, canBuildBreakout } from './security/breakout.ts';
import {
  freeIdBlock,
  readSubids,
  subidRangeOf,
  SUBGID_FILE,
  SUBID_COUNT,
  SUBUID_FILE,
  type SubidRange,
} from './userns.ts';

export const MIN_KERNEL: readonly [number, number] = [4, 18];

/** The tools lessons run, and the Debian/Ubuntu package each comes from. */
export const TOOLS: Record<string, { pkg: string; required: boolean; usedBy: string }> = {
  unshare: { pkg: 'util-linux', required: true, usedBy: 'every container (enters new namespaces)' },
  nsenter: { pkg: 'util-linux', required: true, usedBy: 'lessons 02–04 and 10 (enter a running container)' },
  pivot_root: { pkg: 'util-linux', required: true, usedBy: 'lesson 04 (swap the root filesystem)' },
  ipcmk: { pkg: 'util-linux', required: true, usedBy: 'lesson 02 (SysV IPC objects)' },
  ipcs: { pkg: 'util-linux', required: true, usedBy: 'lesson 02 (list SysV IPC objects)' },
  hostname: { pkg: 'hostname', required: true, usedBy: 'lessons 02 and later (the host side of UTS)' },
  setpriv: { pkg: 'util-linux', required: true, usedBy: 'lesson 11 (capabilities, no_new_privs)' },
  mount: { pkg: 'mount', required: true, usedBy: 'lessons 03+ (proc, pivot_root, overlay)' },
  chroot: { pkg: 'coreutils', required: true, usedBy: 'lesson 01' },
  ps: { pkg: 'procps', required: true, usedBy: 'lessons 00 and 03 (the host view of processes)' },
  ip: { pkg: 'iproute2', required: true, usedBy: 'lesson 08 (veth, bridge, netns)' },
  iptables: { pkg: 'iptables', required: false, usedBy: 'lesson 08 (NAT out, port publish; it stops without)' },
  newuidmap: { pkg: 'uidmap', required: false, usedBy: 'lesson 09 (65,536 ids for a rootless container)' },
  newgidmap: { pkg: 'uidmap', required: false, usedBy: 'lesson 09 (65,536 ids for a rootless container)' },
  slirp4netns: { pkg: 'slirp4netns', required: false, usedBy: "lesson 09 (a rootless container's network)" },
  lsns: { pkg: 'util-linux', required: false, usedBy: "lesson 10 (a running container's namespaces)" },
  busybox: { pkg: 'busybox-static', required: true, usedBy: "the default rootfs, and lesson 08's ping and nc" },
  debootstrap: { pkg: 'debootstrap', required: false, usedBy: 'the optional Debian rootfs' },
  'docker-registry': {
    pkg: 'docker-registry',
    required: false,
    usedBy: 'lesson 07’s pull from a local registry, and the classroom mirror (npm run mirror)',
  },
  skopeo: { pkg: 'skopeo', required: false, usedBy: 'lesson 07 (pushes an image into its local registry)' },
  runc: { pkg: 'runc', required: false, usedBy: "lesson 12's oracle (runs ctr's exported OCI bundle)" },
};

export interface HostFacts {
  platform: NodeJS.Platform;
  uid: number;
  /** Whether sudo is on this PATH: a normal user's lessons re-run themselves through it. */
  sudo: boolean;
  /** The PATH the lessons' commands run with (see runner.ts `toolPath`); tools are judged on it. */
  lessonPath: string;
  /** The directories `lessonPath` adds to this PATH. */
  pathAdded: string[];
  kernelRelease: string;
  tools: Record<string, boolean>;
  /** Where each cgroup controller is mounted (see lib/cgroups). */
  cgroups: CgroupLayout;
  filesystems: string;
  maxUserNamespaces: number | undefined;
  /** Debian's kernel.unprivileged_userns_clone; undefined where the kernel has no such switch. */
  unprivilegedUsernsClone: number | undefined;
  /** Ubuntu 24.04's AppArmor switch that blocks unprivileged user namespaces. */
  apparmorRestrictsUserns: number | undefined;
  /** Whether the workshop's AppArmor profile for unshare (vagrant/apparmor/scratch-unshare) is loaded. */
  apparmorUnshareProfile?: boolean;
  /** Lesson 09's user (the one who ran sudo) and their ranges in /etc/subuid and /etc/subgid, when known. */
  subids?: { user: string; uid: number; uids?: SubidRange; gids?: SubidRange; free: number };
  rootfs: string;
  rootfsReady: boolean;
  /** The filesystem of /var/lib/scratch/containers, where containers' upper and work directories go (06 on). */
  upperFs?: string;
  /** Lesson 08, read-only facts: where `iptables` points, br_netfilter's switch, ip_forward. */
  network?: NetworkFacts;
  /** Lesson 11 (and every `ctr run`): seccomp filters, and its attack kit. */
  security?: SecurityFacts;
}

export interface SecurityFacts {
  /** /proc/self/status has a Seccomp line: the kernel has seccomp at all. */
  seccompInStatus: boolean;
  /** /proc/sys/kernel/seccomp/actions_avail: what a filter may answer (kill_process, errno, allow, …). */
  seccompActions: string[];
  /** dist/breakout is built from this checkout's breakout.c. */
  breakoutBuilt: boolean;
  /** gcc and a static C library are there to build it. */
  breakoutBuildable: boolean;
}

export interface NetworkFacts {
  /** What `iptables` resolves to: `xtables-nft-multi` or `xtables-legacy-multi` (undefined: not installed). */
  iptablesTarget?: string;
  /** bridge-nf-call-iptables: 1 or 0 when br_netfilter is loaded, undefined when it is not. */
  brNetfilter?: number;
  ipForward?: number;
  /** The main routing table, from /proc/net/route: lesson 08's subnet must overlap none of it. */
  routes?: Route[];
  /** SCRATCH_SUBNET as given, if set. */
  subnetFromEnv?: string;
}

export interface Finding {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** A failed required finding stops the lessons; an optional one only limits some. */
  required: boolean;
}

export function parseKernelRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function kernelAtLeast(release: string, min: readonly [number, number] = MIN_KERNEL): boolean {
  const v = parseKernelRelease(release);
  return !!v && (v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]));
}

function readNumber(file: string): number | undefined {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Read without running anything: iptables is a link (through /etc/alternatives) to the multi-call binary of its backend. */
function gatherNetworkFacts(): NetworkFacts {
  const iptables = findOnPath('iptables', toolPath(process.env.PATH));
  let iptablesTarget: string | undefined;
  try {
    iptablesTarget = iptables && path.basename(fs.realpathSync(iptables));
  } catch {
    iptablesTarget = undefined;
  }
  let routes: Route[] | undefined;
  try {
    routes = parseProcNetRoute(fs.readFileSync('/proc/net/route', 'utf8'));
  } catch {
    routes = undefined;
  }
  return {
    iptablesTarget,
    brNetfilter: readNumber('/proc/sys/net/bridge/bridge-nf-call-iptables'),
    ipForward: readNumber('/proc/sys/net/ipv4/ip_forward'),
    routes,
    subnetFromEnv: process.env[SUBNET_ENV] || undefined,
  };
}

/** Lesson 08's subnet against this host's routes: the check its step 2 makes, ahead of time. */
function subnetFinding(n: NetworkFacts): Finding | undefined {
  if (!n.routes) return undefined;
  const name = 'lesson 08 subnet';
  try {
    const subnet = containerSubnet(n.subnetFromEnv ?? DEFAULT_SUBNET);
    assertNoClash(subnet, n.routes, BRIDGE);
    return {
      name,
      ok: true,
      required: false,
      detail: `${formatCidr(subnet)}${n.subnetFromEnv ? ` (${SUBNET_ENV})` : ''} overlaps none of this host's routes`,
    };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { name, ok: false, required: false, detail: `${error.message}: lesson 08 would stop`, fix: error.fix };
  }
}

/** The AppArmor profile that lets util-linux's unshare make user namespaces under Ubuntu 24.04's restriction. */
export const APPARMOR_PROFILE = 'scratch-unshare';
/** How to install it (provision.sh does this in the workshop VM). */
export const APPARMOR_FIX =
  'sudo install -m 644 vagrant/apparmor/scratch-unshare /etc/apparmor.d/ && ' +
  'sudo apparmor_parser -r /etc/apparmor.d/scratch-unshare';

/** Loaded profiles are listed in securityfs (readable by root); elsewhere, the installed file stands for it. */
function apparmorProfileLoaded(name: string): boolean {
  try {
    return fs
      .readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8')
      .split('\n')
      .some((l) => l.startsWith(`${name} (`));
  } catch {
    return fs.existsSync(path.join('/etc/apparmor.d', name));
  }
}

/** The learner (who ran sudo; else whoever runs this, unless root) and their subordinate ranges. */
function learnerSubids(env: NodeJS.ProcessEnv): HostFacts['subids'] {
  const sudoUid = Number(env.SUDO_UID);
  const uid = Number.isInteger(sudoUid) && sudoUid > 0 ? sudoUid : (process.getuid?.() ?? 0);
  const user = uid === sudoUid ? env.SUDO_USER : os.userInfo().username;
  if (uid === 0 || !user) return undefined;
  const uids = readSubids(SUBUID_FILE);
  const gids = readSubids(SUBGID_FILE);
  return {
    user,
    uid,
    uids: subidRangeOf(uids, { name: user, id: uid }),
    gids: subidRangeOf(gids, { name: user, id: uid }),
    free: freeIdBlock([...uids, ...gids], 100_000),
  };
}

/**
 * Facts about this machine. Tools are looked up on the PATH the lessons' commands really get (the runner's
 * `toolPath`: this PATH — which sudo keeps for the lessons — plus the system directories), so doctor's ✔ is
 * the lessons' ✔.
 */
export function gatherFacts(rootfs: string = DEFAULT_ROOTFS, env: NodeJS.ProcessEnv = process.env): HostFacts {
  const linux = process.platform === 'linux';
  const lessonPath = toolPath(env.PATH);
  return {
    platform: process.platform,
    uid: process.getuid?.() ?? -1,
    sudo: findOnPath('sudo', env.PATH ?? '') !== undefined,
    lessonPath,
    pathAdded: lessonPath.split(':').filter((d) => !(env.PATH ?? '').split(':').includes(d)),
    kernelRelease: os.release(),
    tools: Object.fromEntries(Object.keys(TOOLS).map((t) => [t, findOnPath(t, lessonPath) !== undefined])),
    cgroups: linux ? detectLayout() : { v1: [] },
    filesystems: linux ? fs.readFileSync('/proc/filesystems', 'utf8') : '',
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserns: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    apparmorUnshareProfile: linux ? apparmorProfileLoaded(APPARMOR_PROFILE) : undefined,
    subids: linux ? learnerSubids(env) : undefined,
    rootfs,
    rootfsReady: linux && rootfsExists(rootfs),
    upperFs: linux ? fsTypeOf(CONTAINERS_ROOT) : undefined,
    network: linux ? gatherNetworkFacts() : undefined,
    security: linux ? gatherSecurityFacts(lessonPath) : undefined,
  };
}

/** Read without running anything: the seccomp lines of /proc, and whether the attack kit is or can be built. */
function gatherSecurityFacts(lessonPath: string): SecurityFacts {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    seccompInStatus: /^Seccomp:/m.test(read('/proc/self/status')),
    seccompActions: read('/proc/sys/kernel/seccomp/actions_avail').trim().split(/\s+/).filter(Boolean),
    breakoutBuilt: breakoutIsFresh(),
    breakoutBuildable: canBuildBreakout(lessonPath),
  };
}

/** Lesson 11's facts: the filter actions its seccomp profile uses, and its attack kit. */
export function securityFindings(f: SecurityFacts): Finding[] {
  const needed = ['kill_process', 'errno', 'allow'];
  const missing = needed.filter((a) => !f.seccompActions.includes(a));
  const seccompOk = f.seccompInStatus && missing.length === 0;
  return [
    {
      name: 'seccomp',
      ok: seccompOk,
      required: false,
      detail: seccompOk
        ? 'filters available (lesson 11; ctr run applies docker’s profile)'
        : !f.seccompInStatus
          ? 'this kernel has no seccomp (no Seccomp line in /proc/self/status): lesson 11 and ctr run need it'
          : `this kernel’s filters lack ${missing.join(', ')} (lesson 11 and ctr run need them)`,
      fix: 'use a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel is): cd vagrant && vagrant up',
    },
    {
      name: 'attack kit',
      ok: f.breakoutBuilt || f.breakoutBuildable,
      required: false,
      detail: f.breakoutBuilt
        ? 'dist/breakout is built (lesson 11)'
        : f.breakoutBuildable
          ? 'gcc and a static libc are here: lesson 11 builds dist/breakout when it starts'
          : 'lesson 11 compiles its attack kit with gcc and a static libc, and this machine lacks them',
      fix: BREAKOUT_FIX,
    },
  ];
}

/**
 * Lesson 08's facts, as information (none of them stops the other lessons): its subnet against the host's routes,
 * the iptables backend, br_netfilter, ip_forward.
 */
export function networkFindings(n: NetworkFacts): Finding[] {
  const out: Finding[] = [];
  const subnet = subnetFinding(n);
  if (subnet) out.push(subnet);
  if (n.iptablesTarget) {
    const mode = /nft/.test(n.iptablesTarget) ? 'nf_tables' : /legacy/.test(n.iptablesTarget) ? 'legacy' : undefined;
    out.push({
      name: 'iptables backend',
      ok: true,
      required: false,
      detail: `${mode ?? 'unknown'} by default (${n.iptablesTarget}); lesson 08 follows the host's rules`,
    });
  }
  out.push({
    name: 'br_netfilter',
    ok: true,
    required: false,
    detail:
      n.brNetfilter === undefined
        ? 'not loaded: frames bridged between containers skip iptables'
        : n.brNetfilter === 1
          ? 'loaded: frames bridged between containers pass iptables FORWARD too'
          : 'loaded, but bridge-nf-call-iptables=0: bridged frames skip iptables',
  });
  out.push({
    name: 'ip_forward',
    ok: true,
    required: false,
    detail:
      n.ipForward === 1
        ? 'on: this host already routes between interfaces (as docker needs)'
        : 'off: lesson 08 turns it on while its containers run, then back off',
  });
  return out;
}

/**
 * What kind of cgroup host this is, by what is mounted: v1 trees only, the v2 tree only, or both ("hybrid",
 * e.g. Debian 12 booted with systemd's hybrid layout: v1 trees for the controllers, and a v2 tree at
 * /sys/fs/cgroup/unified that systemd uses to track services, often with no controller in it).
 */
export function cgroupHostKind(layout: CgroupLayout): 'v1' | 'v2' | 'hybrid' {
  if (layout.v1.length > 0 && layout.v2) return 'hybrid';
  return layout.v1.length > 0 ? 'v1' : 'v2';
}

/** One line naming the kind of host and what each tree holds of the controllers the lessons use. */
export function describeCgroupHost(layout: CgroupLayout): string {
  const kind = cgroupHostKind(layout);
  const v2 = layout.v2;
  const onV2 = CONTROLLERS.filter(
    (c) => v2?.available.includes(c) && !layout.v1.some((m) => m.controllers.includes(c)),
  );
  if (kind === 'v2') return `cgroup v2: one unified tree at ${v2?.mountPoint} holds ${CONTROLLERS.join(', ')}`;
  const v1Trees = CONTROLLERS.flatMap((c) => {
    const m = layout.v1.find((t) => t.controllers.includes(c));
    return m ? [`${c} at ${m.mountPoint}`] : [];
  });
  const v1Part = `v1 trees, one per controller: ${v1Trees.join(', ')}`;
  if (kind === 'v1') return `cgroup v1: ${v1Part}`;
  const holds = onV2.length > 0 ? `holds ${onV2.join(', ')}` : 'holds none of them (systemd tracks services there)';
  return `hybrid: ${v1Part}; the v2 tree at ${v2?.mountPoint} ${holds}`;
}

/** Judge the facts. Pure: the same facts always give the same table. */
export function evaluate(f: HostFacts): Finding[] {
  if (f.platform !== 'linux') {
    return [
      {
        name: 'Linux',
        ok: false,
        required: true,
        detail: `this is ${f.platform}; containers are a Linux kernel feature`,
        fix: 'cd vagrant && vagrant up && vagrant ssh   (or: npm run lesson 01 -- --explain)',
      },
    ];
  }
  const out: Finding[] = [
    { name: 'Linux', ok: true, required: true, detail: `kernel ${f.kernelRelease}` },
    {
      name: 'root',
      // A normal user with sudo is fine: every lesson re-runs itself through sudo, saying so.
      ok: f.uid === 0 || f.sudo,
      required: true,
      detail:
        f.uid === 0
          ? 'running as root'
          : f.sudo
            ? `running as uid ${f.uid}; lessons re-run themselves with sudo (they need root)`
            : `running as uid ${f.uid} without sudo; namespaces, mounts and cgroups need root`,
      fix: 'apt-get install -y sudo   (as root), or run the lessons as root',
    },
    {
      name: 'kernel version',
      ok: kernelAtLeast(f.kernelRelease),
      required: true,
      detail: `${f.kernelRelease} (need ${MIN_KERNEL.join('.')} or newer)`,
      fix: 'use the workshop VM: cd vagrant && vagrant up',
    },
    {
      name: 'PATH',
      ok: true,
      required: false,
      detail:
        f.pathAdded.length > 0
          ? `lessons run their commands with your PATH plus ${f.pathAdded.join(':')} (where root's tools, ` +
            'chroot and pivot_root among them, live): the tools below are looked up there'
          : "lessons run their commands with your PATH, which has root's tools (the sbin directories)",
    },
  ];
  for (const [tool, info] of Object.entries(TOOLS)) {
    const ok = f.tools[tool] ?? false;
    out.push({
      name: tool,
      ok,
      required: info.required,
      detail: ok ? `found · ${info.usedBy}` : `missing · needed for ${info.usedBy}`,
      fix: `apt-get install -y ${info.pkg}`,
    });
  }
  // Lesson 05 needs memory, pids and cpu, each on v1 or v2; which version does not matter, missing ones do.
  const missing = CONTROLLERS.filter(
    (c) => !f.cgroups.v1.some((m) => m.controllers.includes(c)) && !f.cgroups.v2?.available.includes(c),
  );
  out.push({
    name: 'cgroups',
    ok: missing.length === 0,
    required: true,
    detail:
      missing.length > 0
        ? `no ${missing.join(', ')} controller mounted (lesson 05 needs memory, pids and cpu)`
        : describeCgroupHost(f.cgroups),
    fix: f.cgroups.v2
      ? `echo +${missing[0] ?? 'memory'} > ${f.cgroups.v2.mountPoint}/cgroup.subtree_control`
      : 'mount -t cgroup2 none /sys/fs/cgroup',
  });
  const devices = describeDeviceEnforcement(f.cgroups);
  out.push({
    name: 'device cgroup',
    ok: devices !== undefined,
    required: false,
    detail: devices
      ? `${devices} (lesson 11, ctr run)`
      : 'no v1 devices controller and no v2 tree: a container could open any device node it makes (lesson 11)',
    fix: 'mount -t cgroup2 none /sys/fs/cgroup',
  });
  const overlay = /\toverlay\n/.test(f.filesystems);
  out.push({
    name: 'overlayfs',
    ok: overlay,
    required: false,
    detail: overlay ? 'available (lessons 06–07)' : 'not loaded (needed by lessons 06–07)',
    fix: 'modprobe overlay',
  });
  if (f.upperFs !== undefined) {
    const why = upperUnsupported(f.upperFs);
    out.push({
      name: 'upper dirs',
      ok: why === undefined,
      required: false,
      detail:
        why === undefined
          ? `${CONTAINERS_ROOT} is on ${f.upperFs}: containers' upper and work directories can live there`
          : `${CONTAINERS_ROOT}: ${why} (containers' upper directories live there, lesson 06 on)`,
      fix: `mkdir -p ${CONTAINERS_ROOT} && mount -t tmpfs scratch ${CONTAINERS_ROOT}   (or a volume there)`,
    });
  }
  out.push(...usernsFindings(f));
  out.push({
    name: 'rootfs',
    ok: f.rootfsReady,
    required: false,
    detail: f.rootfsReady ? `${f.rootfs}` : `${f.rootfs} not built yet (lessons build it when missing)`,
    fix: BUILD_COMMAND,
  });
  if (f.network) out.push(...networkFindings(f.network));
  if (f.security) out.push(...securityFindings(f.security));
  return out;
}

/**
 * Lesson 09's needs, one finding per setting that can stop an unprivileged user namespace, each naming the
 * setting and the command that changes it. None of them stops the other lessons.
 */
export type UsernsFacts = Pick<
  HostFacts,
  'maxUserNamespaces' | 'unprivilegedUsernsClone' | 'apparmorRestrictsUserns' | 'apparmorUnshareProfile' | 'subids'
>;

/** The user-namespace facts alone (what `ctr run --userns` checks before it makes anything). */
export function gatherUsernsFacts(): UsernsFacts {
  return {
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserns: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    apparmorUnshareProfile: apparmorProfileLoaded(APPARMOR_PROFILE),
  };
}

export function usernsFindings(f: UsernsFacts): Finding[] {
  const out: Finding[] = [];
  const max = f.maxUserNamespaces;
  out.push({
    name: 'user namespaces',
    ok: max !== 0,
    required: false,
    detail:
      max === 0
        ? 'user.max_user_namespaces=0: no user namespace can be made ("No space left on device")'
        : `up to ${max ?? 'an unknown number of'} per user (lesson 09, ctr run --userns)`,
    fix: 'sysctl -w user.max_user_namespaces=15000',
  });
  if (f.unprivilegedUsernsClone !== undefined) {
    out.push({
      name: 'userns_clone',
      ok: f.unprivilegedUsernsClone !== 0,
      required: false,
      detail:
        f.unprivilegedUsernsClone === 0
          ? 'kernel.unprivileged_userns_clone=0 (Debian before 11): only root may make a user namespace'
          : 'kernel.unprivileged_userns_clone=1: users may make user namespaces',
      fix: 'sysctl -w kernel.unprivileged_userns_clone=1',
    });
  }
  if (f.apparmorRestrictsUserns !== undefined) {
    const restricted = f.apparmorRestrictsUserns === 1;
    out.push({
      name: 'AppArmor userns',
      ok: !restricted || !!f.apparmorUnshareProfile,
      required: false,
      detail: !restricted
        ? 'kernel.apparmor_restrict_unprivileged_userns=0: not restricted'
        : f.apparmorUnshareProfile
          ? `restricted, but the ${APPARMOR_PROFILE} profile lets util-linux's unshare make them (lesson 09)`
          : 'kernel.apparmor_restrict_unprivileged_userns=1: a user namespace gets no capabilities (lesson 09)',
      fix: APPARMOR_FIX,
    });
  }
  if (f.subids) {
    const { user, uids, gids, free } = f.subids;
    const ok = !!uids && !!gids && uids.count >= SUBID_COUNT && gids.count >= SUBID_COUNT;
    out.push({
      name: 'subuid range',
      ok,
      required: false,
      detail: ok
        ? `${user}: uids ${uids.start}+${uids.count}, gids ${gids.start}+${gids.count} (lesson 09's 65,536 ids)`
        : `${user} has no range of ${SUBID_COUNT} ids in /etc/subuid and /etc/subgid: lesson 09 lends one while it runs`,
      fix: `usermod --add-subuids ${free}-${free + SUBID_COUNT - 1} --add-subgids ${free}-${free + SUBID_COUNT - 1} ${user}`,
    });
  }
  return out;
}

/** The first setting that stops an unprivileged user namespace here, as the error lesson 09 and ctr stop with. */
export function usernsBlocker(f: UsernsFacts = gatherUsernsFacts()): UserError | undefined {
  const names = ['user namespaces', 'userns_clone', 'AppArmor userns'];
  const bad = usernsFindings(f).find((x) => names.includes(x.name) && !x.ok);
  return bad ? new UserError(bad.detail, bad.fix) : undefined;
}

/** Throws the one-line explanation when not root. */
export function requireRoot(why: string, uid: number = process.getuid?.() ?? -1): void {
  if (uid !== 0) throw new UserError(`${why} needs root`, 'run it again with sudo');
}

/** Throws the one-line explanation when not on Linux. */
export function requireLinux(platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'linux') {
    throw new UserError(
      `containers are a Linux kernel feature and this is ${platform}`,
      'cd vagrant && vagrant up && vagrant ssh   (or add --explain to read the lesson here)',
    );
  }
}
