/**
 * Exercise 09 — the user namespace: the map.
 *
 * A user namespace starts with no ids at all: until its uid_map is written, every process in it is "nobody"
 * (65534) with no capabilities that count. The map says which host id each container id is. Lesson 09 writes the
 * lines you return into /proc/<pid>/uid_map and gid_map — as the learner, through newuidmap/newgidmap, which
 * check them against /etc/subuid — (`npm run lesson 09 -- --mine`) and checks from the host that root in the
 * container is you outside, that the container's other users are ids from your subordinate range, and that
 * files the container's root writes belong to you.
 *
 * Each line is `inside outside count`: container ids inside..inside+count-1 are host ids outside..outside+count-1.
 * - Container root (0) is your own id on the host (`hostId`), one id.
 * - With a subordinate range (`sub`, from /etc/subuid: `learner:100000:65536`), container ids 1 and up are that
 *   range, so an image's other users (daemon, nobody…) exist too. Without it, only root is mapped.
 * The same function gives the gid_map, with your gid and your subordinate gid range.
 */

export function uidMapLines(hostId: number, sub?: { start: number; count: number }): string[] {
  // TODO: root to hostId (one id); then, with a range, ids from 1 to that range.
  throw new Error(`TODO: write uidMapLines (for host id ${hostId}${sub ? `, range ${sub.start}+${sub.count}` : ''})`);
}
