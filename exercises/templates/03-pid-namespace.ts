/**
 * Exercise 03 — the PID namespace.
 *
 * Two functions. `addPidNamespace` gives lesson 02's container its own PIDs and its own /proc; `unshareArgvFor`
 * writes the `unshare` part of the command that starts it. Lesson 03 runs both (`npm run lesson 03 -- --mine`) and
 * checks from the host that the container's command is PID 1 inside and an ordinary PID outside, that ps inside
 * lists only the container, that its /proc mount never reaches the host's mount table, and that killing PID 1
 * kills the whole namespace.
 *
 * What you need to know:
 * - A PID namespace is `{ type: 'pid' }` in `spec.linux.namespaces`. `ps` reads /proc, and a proc filesystem shows
 *   the PID namespace of whoever mounted it, so the container needs its own: a mount in `spec.mounts`,
 *   `{ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }` — and a mount
 *   namespace (`{ type: 'mount' }`), or that mount would land in the host's mount table.
 * - `unshare(1)` takes one flag per namespace: --mount --uts --ipc --net --pid --user --cgroup --time. unshare(2)
 *   cannot move a running process into a new PID namespace (its PID is fixed for life): only the children it
 *   starts afterwards enter it. So with --pid, `unshare` must --fork, and the init becomes PID 1; --kill-child makes
 *   the kernel kill that child if unshare dies, so a container never outlives its launcher.
 * - End the argv with `--`: what follows is the program unshare runs (the init).
 * - A namespace that has a `path` is joined (by nsenter), not made: leave it out.
 */
import type { Executor } from '../../lib/init/plan.ts';
import type { ContainerSpec } from '../../lib/spec.ts';

export function addPidNamespace(spec: ContainerSpec): ContainerSpec {
  // TODO: a pid and a mount namespace, and a proc filesystem mounted at /proc.
  throw new Error(`TODO: write addPidNamespace (for ${spec.id})`);
}

export function unshareArgvFor(spec: ContainerSpec, executor: Executor): string[] {
  // TODO: ['unshare', one flag per new namespace, and with a PID namespace '--fork', '--kill-child', then '--'].
  // (executor is 'sh' here; the TypeScript init of later lessons makes the cgroup namespace itself.)
  throw new Error(`TODO: write unshareArgvFor (${spec.linux.namespaces.length} namespaces, ${executor} init)`);
}
