/**
 * A probe: a process reporting, from inside, what it may do and what it sees — one fact per line.
 *
 * Two runtimes that start "the same container" should give its process the same privileges and the same view:
 * the capability sets and no_new_privs and the seccomp mode the kernel shows in /proc/self/status, the hostname,
 * the user, every mount but the root (whose type depends on how each runtime made it), what the masked paths
 * read, whether /proc/sys takes a write — and the namespaces as seen from inside: being PID 1 (a PID namespace),
 * only lo (a network namespace), its cgroup seen as / (a cgroup namespace), the identity uid map (no user
 * namespace). The probe is a few lines of POSIX sh with busybox-level tools, so any
 * image with a shell runs it; each line is `name: value`, so two outputs compare fact by fact. Lesson 12 runs it
 * under ctr and under runc, the production runtime, from the OCI bundle ctr exported: runc is the oracle.
 */

/**
 * The probe's script: lines short enough to show indented on 80 columns, double quotes only (it is shown inside a
 * single-quoted `sh -c`).
 */
export const PROBE_SCRIPT = [
  'grep -E "^(CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
  'echo "hostname: $(hostname)"; echo "uid:gid: $(id -u):$(id -g)"',
  'echo "my PID: $$"; echo "net: $(ls /sys/class/net | tr "\\n" " ")"',
  'echo "cgroup: $(cut -d: -f3 /proc/self/cgroup | sort -u | tr "\\n" " ")"',
  'read -r a b c </proc/self/uid_map; echo "uid_map: $a $b $c"',
  'while read -r dev dir type rest; do',
  '  [ "$dir" = / ] || echo "mount $dir: $type"',
  'done < /proc/self/mounts | sort',
  'for p in /proc/kcore /proc/keys /proc/timer_list /sys/firmware; do',
  '  [ -e $p ] && echo "read $p: $(head -c 64 $p 2>/dev/null | wc -c) bytes"',
  'done',
  'echo x 2>/dev/null >/proc/sys/kernel/domainname && w=writable || w=read-only',
  'echo "/proc/sys: $w"',
  'test -e /etc/os-release && o=there || o=gone; echo "/etc/os-release: $o"',
].join('\n');

/** The facts a probe printed, in order: `[name, value]` for each `name: value` line (others are left out). */
export function probeFacts(output: string): Array<[string, string]> {
  const facts: Array<[string, string]> = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?):\s+(.*)$/.exec(line.trimEnd());
    if (m?.[1] !== undefined && m[2] !== undefined) facts.push([m[1], m[2]]);
  }
  return facts;
}

export interface FactRow {
  name: string;
  /** What each side said; undefined where it did not say it at all. */
  a?: string;
  b?: string;
  same: boolean;
}

/** Two probes' facts side by side, in the first one's order, then whatever only the second one has. */
export function compareFacts(a: Array<[string, string]>, b: Array<[string, string]>): FactRow[] {
  const right = new Map(b);
  const left = new Map(a);
  const rows: FactRow[] = a.map(([name, value]) => ({
    name,
    a: value,
    b: right.get(name),
    same: right.get(name) === value,
  }));
  for (const [name, value] of b) if (!left.has(name)) rows.push({ name, b: value, same: false });
  return rows;
}
