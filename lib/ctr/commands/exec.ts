/**
 * ctr exec — docker exec: run another command in a running container, with the container's cgroup, namespaces,
 * root, user, capabilities, no_new_privs and seccomp filter (lib/container/exec.ts says how).
 */
import { CleanupStack } from '../../cleanup.ts';
import { execInContainer } from '../../container/exec.ts';
import { cgroupOf, lookup } from '../../container/lifecycle.ts';
import { UserError } from '../../errors.ts';
import { envValue, withEnv } from '../../spec.ts';
import type { Command } from '../command.ts';
import { bool, list, str } from '../flags.ts';
import { applyEnvFlags } from '../run-spec.ts';

export const exec: Command = {
  name: 'exec',
  usage: 'ctr exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Run a command in a running container',
  flags: [
    { name: 'interactive', short: 'i', help: 'keep stdin attached' },
    { name: 'tty', short: 't', help: 'give the command a terminal of its own, relayed to this one (and TERM)' },
    { name: 'env', short: 'e', value: true, multiple: true, arg: 'K=V', help: 'set an environment variable' },
    { name: 'workdir', short: 'w', value: true, arg: 'DIR', help: 'working directory inside the container' },
  ],
  async run(ctx, { flags, rest }) {
    const [ref, ...args] = rest;
    if (!ref || args.length === 0) throw new UserError('ctr exec needs a container and a command', 'ctr exec web sh');
    const state = lookup(ref);
    if (state.status !== 'running' || state.pid === undefined) {
      throw new UserError(
        `container ${state.name ?? state.id} is not running`,
        `ctr start is not here yet: ctr run again`,
      );
    }
    const tty = bool(flags.tty);
    const interactive = bool(flags.interactive);
    if (interactive && tty && !process.stdin.isTTY)
      throw new UserError('the input device is not a TTY', 'drop -t to pipe input into the command (-i alone)');
    let env = state.spec.process.env;
    if (tty && envValue(env, 'TERM') === undefined) env = withEnv(env, 'TERM', 'xterm');
    env = applyEnvFlags(env, list(flags.env), process.env);
    const cleanup = new CleanupStack();
    try {
      const r = await execInContainer(ctx.runner, cleanup, state.spec, state.pid, args, {
        init: await ctx.init(),
        procsFiles: cgroupOf(state.id).procsFiles,
        env,
        cwd: str(flags.workdir),
        stdio: interactive ? 'inherit' : 'inherit-output',
        ...(tty ? { terminal: { input: interactive } } : {}),
      });
      return r.exitCode;
    } finally {
      await cleanup.unwind();
    }
  },
};
