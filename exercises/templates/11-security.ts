/**
 * Exercise 11 — capabilities: what root in a container keeps.
 *
 * Root's power is split into about 41 capabilities. docker starts every container with 14 of them, and
 * `--cap-add` / `--cap-drop` change the list. Lesson 11 gives the container the sets you return (`npm run lesson
 * 11 -- --mine`) and checks from the host, in /proc/<pid>/status (CapBnd, CapPrm, CapEff, CapInh, CapAmb), that
 * they are docker's, that `mount` and `settimeofday` fail, that `chown` still works, and that dropping
 * SYS_CHROOT stops the chroot escape.
 *
 * Return the OCI runtime spec's `process.capabilities` for `changes`:
 * - the list: start from DOCKER_DEFAULT_CAPABILITIES, take off `changes.drop`, put on `changes.add`; the names
 *   come as a user types them — any case, with or without `CAP_` (`net_admin`, `CAP_NET_ADMIN`) — and are
 *   written `CAP_NET_ADMIN` in the sets. `ALL` in add means every capability (CAPABILITY_NAMES up to `lastCap`,
 *   the kernel's last number) but those dropped; `ALL` in drop means none but those added;
 * - in kernel number order (the index in CAPABILITY_NAMES), without duplicates;
 * - bounding, permitted and effective: that list; inheritable and ambient: empty. (An inheritable set that is
 *   not empty let a non-root user gain capabilities through a file's inheritable bits: CVE-2022-24769.)
 */
import {
  CAPABILITY_NAMES,
  DOCKER_DEFAULT_CAPABILITIES,
  KNOWN_LAST_CAP,
  type CapabilityChanges,
  type OciCapabilities,
} from '../../lib/capabilities.ts';

export function ociCapabilities(changes: CapabilityChanges = {}, lastCap = KNOWN_LAST_CAP): OciCapabilities {
  // TODO: the list from the default and the changes, in number order; then the five sets.
  const all = CAPABILITY_NAMES.slice(0, lastCap + 1);
  throw new Error(
    `TODO: write ociCapabilities (for ${JSON.stringify(changes)}: docker's ${DOCKER_DEFAULT_CAPABILITIES.length} of ${all.length})`,
  );
}
