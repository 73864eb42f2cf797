/**
 * A container's life as `ctr` (and docker) sees it: created, running, exited, removed.
 *
 * lib/container/start.ts starts a process; a *managed* container is more: a state directory with its state.json
 * and log, a unique name, a cgroup (always, as docker makes one, even without limits: it is how `exec` joins the
 * container and how `rm -f` finds every process in it), and its own root (an overlay on the rootfs, so the
 * rootfs itself never changes). This module makes and removes those, in an order that undoes cleanly: every
 * resource is registered for removal before it is made, and `remove` takes down whatever a container left, by
 * its id, whether the process that made it is still there or not.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import {
  Cgroup,
  createCgroup,
  detectLayout,
  DOCKER_DEVICE_RULES,
  limitsFromResources,
  planCgroup,
} from '../cgroups/index.ts';
import { UserError } from '../errors.ts';
import { build, withNetwork, withOverlay } from '../kit.ts';
import { STATE_ROOT, stateDir } from '../names.ts';
import {
  connectContainer,
  connectNone,
  disconnectContainer,
  formatPublish,
  type PortMapping,
} from '../network/index.ts';
import type { Runner } from '../runner.ts';
import { mappedRoot, type ContainerSpec } from '../spec.ts';
import { createOverlayRoot, overlayPaths, upperMountPoints } from './root.ts';
import {
  effectiveState,
  isSameProcess,
  listStates,
  logPath,
  processStartTime,
  readState,
  writeState,
  type ContainerState,
} from './state.ts';

/** Name reservations: one directory per name, made with mkdir, which only one process can win. */
const NAMES_DIR = path.join(STATE_ROOT, '.names');

/** docker's rule for names: a letter or digit, then letters, digits, `_`, `.` or `-`. */
export function checkName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name)) {
    throw new UserError(
      `invalid container name "${name}": use letters, digits, _ . - (start with a letter or digit)`,
      '--name web1',
    );
  }
}

/** Give a name back, and the reservations directory with it when no other name is held. */
function releaseName(name: string): void {
  fs.rmSync(path.join(NAMES_DIR, name), { recursive: true, force: true });
  try {
    fs.rmdirSync(NAMES_DIR);
  } catch {
    // Other names are held, or it is gone already.
  }
}

/**
 * Reserve a unique name: a directory `.names/<name>` holding one empty file named after its holder's id, put in
 * place whole by rename(2) — made and filled under a temporary name first, so that no one ever sees a reservation
 * without its holder (two `ctr run --name web` at the same moment: exactly one gets it). A reservation whose holder
 * has no state directory any more (a run killed before it could give the name back) is stale and taken over. The
 * undo is registered before the reservation is made, and returned, to keep the name.
 */
function reserveName(cleanup: CleanupStack, name: string, id: string): () => void {
  checkName(name);
  const dir = path.join(NAMES_DIR, name);
  fs.mkdirSync(NAMES_DIR, { recursive: true, mode: 0o700 });
  let mine = false;
  const drop = cleanup.push(`release the name ${name}`, () => mine && releaseName(name));
  for (let attempt = 0; attempt < 3 && !mine; attempt++) {
    const tmp = path.join(NAMES_DIR, `.${name}.${id}`);
    fs.mkdirSync(tmp);
    fs.writeFileSync(path.join(tmp, id), '');
    try {
      fs.renameSync(tmp, dir);
      mine = true;
      break;
    } catch (error) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    let holder: string | undefined;
    try {
      holder = fs.readdirSync(dir)[0];
    } catch {
      continue; // given back meanwhile: try again
    }
    if (holder && fs.existsSync(stateDir(holder))) {
      throw new UserError(
        `the name "${name}" is already in use by container ${holder}`,
        `ctr rm ${name}   (or choose another --name)`,
      );
    }
    // Stale: moved out of the way first, so that of two runs that both see it stale only one removes it.
    const stale = path.join(NAMES_DIR, `.stale.${name}.${id}`);
    try {
      fs.renameSync(dir, stale);
      fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      // another run took it over first
    }
  }
  if (!mine) throw new UserError(`could not reserve the name "${name}" (others kept taking it)`, 'try again');
  return drop;
}

export interface CreateRequest {
  spec: ContainerSpec;
  /** The image or rootfs as the user named it (shown by ps). */
  image: string;
  /** Read-only layers the root is made of, top first (a rootfs directory is one layer). */
  layers: string[];
  /** The image's id, when it comes from an image in the store. */
  imageId?: string;
  autoRemove: boolean;
  detached: boolean;
  /** docker's --network: `bridge` (scr0, NAT, published ports) or `none` (only lo). */
  network: 'bridge' | 'none';
  ports: PortMapping[];
}

export interface Created {
  state: ContainerState;
  cgroup: Cgroup;
  /**
   * Keep the container after it exits (no --rm): drops the removal of its state, name and own directory from
   * the cleanup stack. Its cgroup still goes when it exits, as docker's does; `ctr rm` removes the rest.
   */
  keep(): void;
}

/**
 * Make everything the container needs before its process starts: state dir, name, cgroup, root. Each is
 * registered on `cleanup` first; a detached container's waiter takes over the same removals later.
 */
export async function createContainer(runner: Runner, cleanup: CleanupStack, req: CreateRequest): Promise<Created> {
  const { id } = req.spec;
  const dir = stateDir(id);
  // With a user namespace, the container's root is an ordinary host uid that must reach the files bound in
  // from here (resolv.conf, hosts): the directories let it pass (x), never list (r).
  const owner = mappedRoot(req.spec);
  const drops: Array<() => void> = [];
  // The state directory is made exclusively (never `mkdir -p`): an id another container holds is refused, and
  // the undo, registered first as always, removes the directory only if this call made it.
  let made = false;
  drops.push(cleanup.push(`remove ${dir}`, () => made && runner.apply({ kind: 'remove', path: dir })));
  runner.apply({ kind: 'mkdir', path: STATE_ROOT, parents: true });
  try {
    runner.apply({ kind: 'mkdir', path: dir, mode: owner ? 0o711 : 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new UserError(`container id ${id} is in use by another container`, 'ctr ps -a   (unset SCRATCH_RUN_ID)');
  }
  made = true;
  if (owner) runner.apply({ kind: 'chmod', path: STATE_ROOT, mode: 0o711 });
  if (req.spec.name) drops.push(reserveName(cleanup, req.spec.name, id));
  const { resources } = req.spec.linux;
  const cgroup = createCgroup(cleanup, id, limitsFromResources(resources), { runner, devices: resources?.devices });
  const root = createOverlayRoot(runner, cleanup, id, req.layers, owner);
  drops.push(root.dropRemoval);
  // The network namespace is made and wired first; the container joins it by path (as CNI plugins do).
  const net =
    req.network === 'bridge'
      ? await connectContainer(runner, cleanup, { id, stateDir: dir, hostname: req.spec.hostname, ports: req.ports })
      : { netnsPath: await connectNone(runner, cleanup, id), mounts: [] };
  const spec: ContainerSpec = build(
    req.spec,
    withOverlay(root.root, root.rootfs),
    withNetwork(net.netnsPath, net.mounts),
  );
  if (owner) for (const op of upperMountPoints(root, spec.mounts, owner)) runner.apply(op);
  const state: ContainerState = {
    id,
    name: req.spec.name,
    image: req.image,
    ...(req.imageId ? { imageId: req.imageId } : {}),
    spec,
    status: 'created',
    createdAt: new Date().toISOString(),
    cgroupDirs: cgroup.dirs,
    containerDir: root.dir,
    logPath: logPath(id),
    autoRemove: req.autoRemove,
    detached: req.detached,
    ports: req.ports.map(formatPublish),
  };
  writeState(state);
  return { state, cgroup, keep: () => drops.forEach((d) => d()) };
}

/** Record that the container's command runs: its PID and that PID's start time (state.ts says why both). */
export function markRunning(state: ContainerState, pid: number): ContainerState {
  const next: ContainerState = {
    ...state,
    status: 'running',
    pid,
    pidStartTime: processStartTime(pid),
    startedAt: new Date().toISOString(),
  };
  writeState(next);
  return next;
}

export function markExited(
  id: string,
  exitCode: number,
  exitReason?: string,
  oomKilled = false,
): ContainerState | undefined {
  const state = readState(id);
  if (!state) return undefined;
  const next: ContainerState = {
    ...state,
    status: 'exited',
    exitCode,
    exitReason,
    ...(oomKilled ? { oomKilled } : {}),
    finishedAt: new Date().toISOString(),
  };
  writeState(next);
  return next;
}

/** Whether the OOM killer killed anything in the container's cgroup: read before the cgroup is removed. */
export function oomKilledIn(cgroup: Cgroup): boolean {
  try {
    return (cgroup.stats().memory?.oomKills ?? 0) > 0;
  } catch {
    return false; // a cgroup without the memory controller, or already gone
  }
}

/** The container, looked up by id, id prefix or name; one clear line when there is none. */
export function lookup(ref: string): ContainerState {
  const states = listStates();
  const exact = states.find((s) => s.id === ref || s.name === ref);
  const byPrefix = states.filter((s) => ref.length >= 3 && s.id.startsWith(ref));
  const found = exact ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
  if (!found) {
    const why = byPrefix.length > 1 ? `"${ref}" matches ${byPrefix.length} containers` : `no such container: ${ref}`;
    throw new UserError(why, 'ctr ps -a');
  }
  return effectiveState(found);
}

/**
 * The cgroup of a container, from its id (the same plan that made it: on v1, its devices tree too). Every container
 * ctr runs has device rules (withSecurity); one not recorded yet — a lesson showing `ctr exec` before the container
 * runs — is planned as ctr will make it.
 */
export function cgroupOf(id: string, runner?: Runner): Cgroup {
  const devices = readState(id)?.spec.linux.resources?.devices ?? DOCKER_DEVICE_RULES;
  return new Cgroup(planCgroup(id, {}, { layout: detectLayout(), devices }), undefined, runner).adopt();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * docker stop: SIGTERM to the container's first process, then SIGKILL after `graceSec`. A PID 1 with no handler
 * for SIGTERM ignores it (the kernel protects a namespace's init from signals it did not ask for), which is why
 * the grace period exists. Returns once the process is gone.
 */
export async function stopContainer(runner: Runner, state: ContainerState, graceSec: number): Promise<void> {
  const live = () => isSameProcess(state.pid, state.pidStartTime);
  if (!live() || state.pid === undefined) {
    throw new UserError(`container ${state.name ?? state.id} is not running`, `ctr ps -a`);
  }
  runner.apply({ kind: 'kill', pid: state.pid, signal: 'SIGTERM' });
  const deadline = Date.now() + graceSec * 1000;
  while (live() && Date.now() < deadline) await sleep(20);
  if (live()) runner.apply({ kind: 'kill', pid: state.pid, signal: 'SIGKILL' });
  while (live()) await sleep(10);
  // Return once the waiter has written down how it ended (and taken down its cgroup and network), as docker does.
  const recorded = Date.now() + 10_000;
  const waiterAlive = () => isSameProcess(state.shimPid, state.shimStartTime);
  while (readState(state.id)?.status === 'running' && waiterAlive() && Date.now() < recorded) await sleep(10);
}

/**
 * docker rm: take down everything the container has on the host, by id — processes left in its cgroup, the
 * cgroup, its own directory, its name, its state. Refuses a running container unless `force` (rm -f).
 */
export async function removeContainer(runner: Runner, state: ContainerState, force: boolean): Promise<void> {
  const s = effectiveState(state);
  if (s.status === 'running' && !force) {
    throw new UserError(
      `container ${s.name ?? s.id} is running: stop it first, or force it`,
      `ctr rm -f ${s.name ?? s.id}`,
    );
  }
  if (s.status === 'running' && s.pid !== undefined) {
    runner.apply({ kind: 'kill', pid: s.pid, signal: 'SIGKILL' });
  }
  await removeParts(runner, s.id, s.name, s.containerDir);
}

async function removeParts(runner: Runner, id: string, name: string | undefined, containerDir?: string) {
  await cgroupOf(id, runner).remove();
  await disconnectContainer(runner, { id });
  runner.apply({ kind: 'remove', path: containerDir ?? overlayPaths(id, []).dir });
  if (name) runner.apply({ kind: 'remove', path: path.join(NAMES_DIR, name) }, () => releaseName(name));
  runner.apply({ kind: 'remove', path: stateDir(id) });
}

/**
 * A container whose maker was killed before it wrote its state (a SIGKILL while `ctr run` was making it): its
 * name is reserved, and its state directory, cgroup, root and network may exist, but there is no state to look
 * it up by. Found by its name (the reservation holds its id) or its id; undefined for anything else.
 */
export function halfMade(ref: string): { id: string; name?: string } | undefined {
  const isId = (x: string | undefined): x is string => x !== undefined && /^[0-9a-f]{10}$/.test(x);
  let found: { id: string; name?: string } | undefined;
  try {
    const held = fs.readdirSync(path.join(NAMES_DIR, ref));
    if (held.length === 1 && isId(held[0])) found = { id: held[0], name: ref };
  } catch {
    // not a reserved name
  }
  if (!found && isId(ref) && fs.existsSync(stateDir(ref))) {
    // Its name, if it had one: the reservation that holds this id.
    const names = fs.existsSync(NAMES_DIR) ? fs.readdirSync(NAMES_DIR) : [];
    found = { id: ref, name: names.find((n) => !n.startsWith('.') && fs.existsSync(path.join(NAMES_DIR, n, ref))) };
  }
  return found && !readState(found.id) ? found : undefined;
}

/** `rm -f` of a half-made container: whatever of it is there, taken down by its id. */
export async function removeHalfMade(runner: Runner, h: { id: string; name?: string }): Promise<void> {
  await removeParts(runner, h.id, h.name);
}
