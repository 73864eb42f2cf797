/**
 * Exercise 12 — docker's flags as a container spec: the function `ctr run` itself calls.
 *
 * `docker run --hostname web -m 48m --pids-limit 30 --read-only --tmpfs /tmp --cap-drop NET_RAW -e GREETING=hi
 * -w /tmp IMAGE CMD` is a list of wishes; the runtime needs one spec (lib/spec.ts, the OCI runtime spec's field
 * names). ctr reads the flags into plain data first (`runOptions`: every value checked, `-e NAME` copied from its
 * environment, an image's user looked up) and hands that to `specFromOptions` — yours, with `npm run lesson 12 --
 * --mine`. Lesson 12 starts a container from your spec with lib's own calls, next to `ctr run` with the same
 * flags, and reads both from the host: hostname, memory.max / memory.limit_in_bytes, pids.max, the mount flags of
 * / and /tmp in /proc/<pid>/mountinfo, CapBnd/CapEff/NoNewPrivs/Seccomp in /proc/<pid>/status, environ, cwd.
 * They must be the same container.
 *
 * Return the spec for `o`, built only with the lessons' transforms (lib/kit.ts), in this order — later transforms
 * read what earlier ones set:
 * - the isolation of lessons 02–04: isolatedSpec({ id, rootfs, args, hostname }); docker's hostname is the
 *   container's id unless --hostname says otherwise;
 * - lesson 05: a cgroup with the limits — withCgroup(resourcesFromLimits(parseLimits({ memory, memorySwap, cpus,
 *   pids }))); on a pure cgroup v2 host (`o.cgroupfs`) also withCgroupfs, so the container sees its own cgroup;
 * - lesson 11: docker's profile with --cap-add/--cap-drop and --security-opt, masking every CPU's
 *   thermal_throttle too, and the devices --device-cgroup-rule allows on top of docker's device rules —
 *   withSecurity({ add, drop, ...parseSecurityOpts(securityOpt), deviceRules: deviceCgroupRule parsed with
 *   parseDeviceRule (lib/cgroups/device-rules.ts), cpus: hostCpus });
 * - lesson 07: from an image, its process (Cmd, Env, WorkingDir, User) — withImageProcess(process, user);
 * - then only what was given: -w (withCwd), -u (withUser(parseUser(user))), --read-only (withReadOnlyRoot),
 *   --tmpfs (withTmpfs), and last the -e values (withEnvVars), so a flag wins over the image's Env;
 * - and `name` on the spec when --name was given.
 * A bad value (`-m 12q`) is a UserError from the parse functions: let it through.
 */
import type { RunOptions } from '../../lib/ctr/run-spec.ts';
import type { ContainerSpec } from '../../lib/spec.ts';
// Uncomment these as you use them (a correct answer uses them all):
// import { parseDeviceRule } from '../../lib/cgroups/device-rules.ts';
// import { parseLimits, resourcesFromLimits } from '../../lib/cgroups/limits.ts';
// import { parseSecurityOpts, parseUser } from '../../lib/ctr/run-spec.ts';
// import { build, isolatedSpec, withCgroup, withCgroupfs, withCwd, withEnvVars } from '../../lib/kit.ts';
// import { withImageProcess, withReadOnlyRoot, withSecurity, withTmpfs, withUser } from '../../lib/kit.ts';

export function specFromOptions(o: RunOptions): ContainerSpec {
  // TODO: isolatedSpec, then withCgroup, withSecurity, the image's process, and each flag that was given.
  throw new Error(`TODO: write specFromOptions (for ${o.id}: ${o.args.join(' ')})`);
}
