/**
 * ctr stop, kill, rm, inspect — ending a container, removing it, and looking at everything the host knows of it.
 */
import { halfMade, lookup, removeContainer, removeHalfMade, stopContainer } from '../../container/lifecycle.ts';
import { isSameProcess } from '../../container/state.ts';
import { UserError } from '../../errors.ts';
import type { Command } from '../command.ts';
import { bool, str } from '../flags.ts';

const need = (rest: string[], cmd: string) => {
  if (rest.length === 0) throw new UserError(`ctr ${cmd} needs at least one container`, `ctr ${cmd} web`);
  return rest;
};

export const stop: Command = {
  name: 'stop',
  usage: 'ctr stop [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop running containers: SIGTERM, then SIGKILL after the grace period',
  interspersed: true,
  flags: [{ name: 'time', short: 't', value: true, arg: 'SECONDS', help: 'grace period before SIGKILL (default 10)' }],
  async run(ctx, { flags, rest }) {
    const t = str(flags.time) ?? '10';
    if (!/^\d+$/.test(t)) throw new UserError(`--time ${t} is not a whole number of seconds`, 'ctr stop -t 2 web');
    for (const ref of need(rest, 'stop')) {
      await stopContainer(ctx.runner, lookup(ref), Number(t));
      ctx.out(`${ref}\n`);
    }
    return 0;
  },
};

const SIGNALS = ['HUP', 'INT', 'QUIT', 'KILL', 'USR1', 'USR2', 'TERM', 'CONT', 'STOP'];

export const kill: Command = {
  name: 'kill',
  usage: 'ctr kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Send a signal to containers (default SIGKILL)',
  interspersed: true,
  flags: [{ name: 'signal', short: 's', value: true, arg: 'SIGNAL', help: 'the signal (KILL, TERM, HUP, …)' }],
  async run(ctx, { flags, rest }) {
    const name = (str(flags.signal) ?? 'KILL').toUpperCase().replace(/^SIG/, '');
    if (!SIGNALS.includes(name))
      throw new UserError(`unknown signal: ${str(flags.signal)}`, `ctr kill -s TERM web   (${SIGNALS.join(', ')})`);
    for (const ref of need(rest, 'kill')) {
      const s = lookup(ref);
      if (s.status !== 'running' || !isSameProcess(s.pid, s.pidStartTime) || s.pid === undefined) {
        throw new UserError(`container ${s.name ?? s.id} is not running`, 'ctr ps -a');
      }
      ctx.runner.apply({ kind: 'kill', pid: s.pid, signal: `SIG${name}` as NodeJS.Signals });
      ctx.out(`${ref}\n`);
    }
    return 0;
  },
};

export const rm: Command = {
  name: 'rm',
  usage: 'ctr rm [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove containers (-f: running ones too)',
  interspersed: true,
  flags: [{ name: 'force', short: 'f', help: 'kill it first if it runs; also one half made by a killed ctr run' }],
  async run(ctx, { flags, rest }) {
    for (const ref of need(rest, 'rm')) {
      const half = bool(flags.force) ? halfMade(ref) : undefined;
      if (half) await removeHalfMade(ctx.runner, half);
      else await removeContainer(ctx.runner, lookup(ref), bool(flags.force));
      ctx.out(`${ref}\n`);
    }
    return 0;
  },
};

export const inspect: Command = {
  name: 'inspect',
  usage: 'ctr inspect CONTAINER [CONTAINER...]',
  summary: 'Everything the host knows of containers, as JSON',
  interspersed: true,
  flags: [],
  async run(ctx, { rest }) {
    ctx.out(`${JSON.stringify(need(rest, 'inspect').map(lookup), null, 2)}\n`);
    return 0;
  },
};
