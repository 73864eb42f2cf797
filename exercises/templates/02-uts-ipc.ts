/**
 * Exercise 02 — UTS and IPC namespaces.
 *
 * Given the container spec of lesson 01 (a chroot, no namespaces), return the same spec with its own hostname
 * and its own System V IPC. Lesson 02 starts the container from what you return
 * (`npm run lesson 02 -- --mine`) and checks from the host that the container has the hostname, that the host's
 * did not change, that exactly the uts and ipc namespace links differ, and that no message queue is seen across.
 *
 * What you need to know:
 * - `spec.linux.namespaces` lists the namespaces the container gets new, as `{ type: 'uts' }`; the types are the
 *   OCI runtime spec's names: 'uts', 'ipc', 'pid', 'mount', 'network', 'user', 'cgroup'.
 * - `spec.hostname` is what the init sets with sethostname(2) — inside the new UTS namespace only; without one it
 *   would rename the host (the plan refuses that).
 * - docker also puts `HOSTNAME=<name>` in the container's environment: `spec.process.env` is a list of
 *   `NAME=value` strings, and the command starts with exactly those.
 * - Return a new object; leave the spec you were given as it was.
 */
import type { ContainerSpec } from '../../lib/spec.ts';

export function addUtsIpc(spec: ContainerSpec, hostname: string): ContainerSpec {
  // TODO: add the uts and ipc namespaces, set the hostname, and HOSTNAME in the environment.
  throw new Error(`TODO: write addUtsIpc (for ${spec.id}, hostname ${hostname})`);
}
