/**
 * ctr logs — docker logs: what a detached container printed, from its log file; -f follows it until it exits.
 */
import fs from 'node:fs';
import { lookup } from '../../container/lifecycle.ts';
import { effectiveState, readState } from '../../container/state.ts';
import { UserError } from '../../errors.ts';
import { atMost, type Command } from '../command.ts';
import { bool } from '../flags.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const logs: Command = {
  name: 'logs',
  usage: 'ctr logs [OPTIONS] CONTAINER',
  summary: 'Show what a container printed',
  interspersed: true,
  flags: [{ name: 'follow', short: 'f', help: 'keep printing what it prints, until it exits' }],
  async run(ctx, { flags, rest }) {
    const [ref] = rest;
    if (!ref) throw new UserError('ctr logs needs a container', 'ctr logs web');
    atMost(rest, 1, 'logs', `ctr logs ${ref}`);
    const state = lookup(ref);
    let offset = 0;
    const printNew = () => {
      let data: Buffer;
      try {
        data = fs.readFileSync(state.logPath);
      } catch {
        return;
      }
      if (data.length > offset) ctx.out(data.subarray(offset).toString());
      offset = data.length;
    };
    if (!state.detached && !fs.existsSync(state.logPath)) {
      ctx.err(`(container ${state.name ?? state.id} ran attached: its output went to the terminal, not to a log)\n`);
      return 0;
    }
    printNew();
    if (!bool(flags.follow)) return 0;
    for (;;) {
      const now = readState(state.id);
      printNew();
      if (!now || effectiveState(now).status !== 'running') return 0;
      await sleep(100);
    }
  },
};
