/**
 * ctr ps — docker ps: the containers this host knows, from their state files, with stale ones shown as exited.
 */
import { effectiveState, listStates, type ContainerState } from '../../container/state.ts';
import { atMost, type Command } from '../command.ts';
import { bool } from '../flags.ts';

/** "3 seconds ago", "2 minutes ago": docker's way of saying when. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const [n, unit] =
    s < 60
      ? [s, 'second']
      : s < 3600
        ? [Math.floor(s / 60), 'minute']
        : s < 86400
          ? [Math.floor(s / 3600), 'hour']
          : s < 86400 * 60
            ? [Math.floor(s / 86400), 'day']
            : s < 86400 * 730
              ? [Math.floor(s / (86400 * 30)), 'month']
              : [Math.floor(s / (86400 * 365)), 'year'];
  return n <= 1 && unit === 'second' ? 'Less than a second ago' : `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

export function statusText(s: ContainerState, now = Date.now()): string {
  if (s.status === 'running') return `Up ${ago(s.startedAt, now).replace(/ ago$/, '')}`;
  if (s.status === 'created') return 'Created';
  const code = s.exitCode === undefined ? '?' : String(s.exitCode);
  return `Exited (${code}) ${ago(s.finishedAt ?? s.startedAt, now)}`;
}

const PS_HEADERS = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'] as const;

/** The table, columns padded to their widest cell. */
export function psTable(states: ContainerState[], now = Date.now()): string {
  const rows = [
    [...PS_HEADERS],
    ...states.map((s) => {
      const cmd = s.spec.process.args.join(' ');
      return [
        s.id,
        s.image,
        JSON.stringify(cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd),
        ago(s.createdAt, now),
        statusText(s, now),
        s.status === 'running' ? (s.ports ?? []).map((p) => `0.0.0.0:${p.replace(/:/, '->')}`).join(', ') : '',
        s.name ?? '',
      ];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd((widths[i] ?? 0) + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

/** Some columns of that table, by header, cut where the header line says each column starts: a narrow view. */
export function psColumns(table: string, headers: readonly string[]): string {
  const [head = '', ...rows] = table.split('\n');
  const starts = PS_HEADERS.map((h) => head.indexOf(h)).filter((i) => i >= 0);
  const cut = (line: string, h: string) => {
    const from = head.indexOf(h);
    return from < 0
      ? ''
      : line
          .slice(
            from,
            starts.find((x) => x > from),
          )
          .trim();
  };
  const picked = [head, ...rows].map((l) => headers.map((h) => cut(l, h)));
  const widths = headers.map((_, i) => Math.max(...picked.map((r) => (r[i] ?? '').length)));
  return picked
    .map((r) =>
      r
        .map((c, i) => c.padEnd((widths[i] ?? 0) + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export const ps: Command = {
  name: 'ps',
  usage: 'ctr ps [OPTIONS]',
  summary: 'List containers',
  interspersed: true,
  flags: [
    { name: 'all', short: 'a', help: 'show all containers (default: only running)' },
    { name: 'quiet', short: 'q', help: 'only the ids' },
  ],
  async run(ctx, { flags, rest }) {
    atMost(rest, 0, 'ps', 'ctr ps -a   (every container; ctr inspect NAME for one)');
    const states = listStates()
      .map(effectiveState)
      .filter((s) => bool(flags.all) || s.status === 'running');
    ctx.out(bool(flags.quiet) ? states.map((s) => `${s.id}\n`).join('') : `${psTable(states)}\n`);
    return 0;
  },
};
