/**
 * ctr diff, commit — what a container changed, and that change as a new image.
 *
 * A container's root is an overlay: its image's layers below, read-only, and its own upper directory on top,
 * where every write lands (lesson 06). So the upper directory *is* the container's change set: `diff` names each
 * entry in it as Added, Changed or Deleted against the layers below, and `commit` packs it as one more layer on
 * top of the image's (or, for a container started from a rootfs directory, on top of that directory made into a
 * layer), stored and shared like any pulled layer.
 */
import fs from 'node:fs';
import { lookup } from '../../container/lifecycle.ts';
import type { ContainerState } from '../../container/state.ts';
import { UserError } from '../../errors.ts';
import { commitContainer, type CommitBase } from '../../image/commit.ts';
import type { ContainerConfig } from '../../image/config.ts';
import { diffUpper, formatChanges } from '../../image/diff.ts';
import { displayName } from '../../image/store.ts';
import type { Command } from '../command.ts';
import { list, str } from '../flags.ts';

/** The container's upper directory and lower layers, or why it has none to read. */
function overlayOf(state: ContainerState): { upper: string; lower: string[] } {
  const r = state.spec.rootfs;
  if (r.type !== 'overlay') {
    throw new UserError(`container ${state.name ?? state.id} has no overlay root: nothing records its changes`);
  }
  if (!fs.existsSync(r.upper)) {
    throw new UserError(`container ${state.name ?? state.id}: its upper directory ${r.upper} is gone`, 'ctr ps -a');
  }
  return { upper: r.upper, lower: r.lower };
}

export const diff: Command = {
  name: 'diff',
  usage: 'ctr diff CONTAINER',
  summary: "Inspect changes to files on a container's filesystem (A added, C changed, D deleted)",
  interspersed: true,
  flags: [],
  async run(ctx, { rest }) {
    const [ref] = rest;
    if (!ref || rest.length > 1) throw new UserError('ctr diff needs one container', 'ctr diff web');
    const { upper, lower } = overlayOf(lookup(ref));
    const lines = formatChanges(diffUpper(upper, lower));
    ctx.out(lines.map((l) => `${l}\n`).join(''));
    return 0;
  },
};

const INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'WORKDIR', 'USER'] as const;
type Change = Pick<ContainerConfig, 'Cmd' | 'Entrypoint' | 'Env' | 'WorkingDir' | 'User'>;

/** A Dockerfile-style list: `["a","b"]` as JSON, anything else as `/bin/sh -c "…"` (the shell form). */
function commandOf(text: string, instruction: string): string[] {
  if (text.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new UserError(
        `--change '${instruction} ${text}': not a JSON list`,
        `--change '${instruction} ["sh","-c","…"]'`,
      );
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new UserError(
        `--change '${instruction} ${text}': a list of strings, please`,
        `--change '${instruction} ["ls","-l"]'`,
      );
    }
    return v as string[];
  }
  return ['/bin/sh', '-c', text];
}

/** docker commit --change: the Dockerfile instructions that set the config (CMD, ENTRYPOINT, ENV, WORKDIR, USER). */
export function parseChanges(changes: readonly string[], baseEnv: readonly string[] = []): Change {
  const out: Change = {};
  for (const c of changes) {
    const m = /^\s*([A-Za-z]+)\s+(.*\S)\s*$/.exec(c);
    const instruction = (m?.[1] ?? '').toUpperCase();
    const arg = m?.[2] ?? '';
    if (!m || !(INSTRUCTIONS as readonly string[]).includes(instruction)) {
      throw new UserError(`--change '${c}' is not supported: ${INSTRUCTIONS.join(', ')}`, `--change 'CMD ["sh"]'`);
    }
    if (instruction === 'CMD') out.Cmd = commandOf(arg, 'CMD');
    else if (instruction === 'ENTRYPOINT') out.Entrypoint = commandOf(arg, 'ENTRYPOINT');
    else if (instruction === 'WORKDIR') out.WorkingDir = arg;
    else if (instruction === 'USER') out.User = arg;
    else {
      const kv = arg.includes('=') ? arg : arg.replace(/\s+/, '=');
      const key = kv.slice(0, kv.indexOf('='));
      out.Env = [...(out.Env ?? baseEnv).filter((e) => !e.startsWith(`${key}=`)), kv];
    }
  }
  return out;
}

export const commit: Command = {
  name: 'commit',
  usage: 'ctr commit [OPTIONS] CONTAINER NAME[:TAG]',
  summary: "Create a new image from a container's changes (its upper directory as one more layer)",
  interspersed: true,
  flags: [
    { name: 'message', short: 'm', value: true, arg: 'TEXT', help: 'the history comment' },
    { name: 'author', short: 'a', value: true, arg: 'NAME', help: 'the author' },
    {
      name: 'change',
      short: 'c',
      value: true,
      multiple: true,
      arg: 'INSTR',
      help: "set the config: 'CMD [\"sh\"]', 'ENTRYPOINT …', 'ENV K=V', 'WORKDIR /x', 'USER name'",
    },
  ],
  async run(ctx, { flags, rest }) {
    const [ref, name] = rest;
    if (!ref || !name || rest.length > 2) {
      throw new UserError('ctr commit needs a container and a name for the new image', 'ctr commit web myimage:v2');
    }
    const state = lookup(ref);
    const { upper, lower } = overlayOf(state);
    const base: CommitBase = state.imageId ? { image: state.imageId } : { rootfs: lower[0] ?? '' };
    if ('image' in base && !ctx.store.get(base.image)) {
      throw new UserError(
        `the image container ${state.name ?? state.id} was made from (${state.image}) is no longer in the store`,
        `ctr pull ${state.image}   (or ctr load it again)`,
      );
    }
    const baseEnv = 'image' in base ? (ctx.store.config(ctx.store.require(base.image)).config?.Env ?? []) : [];
    const r = await commitContainer({
      store: ctx.store,
      upperDir: upper,
      base,
      name,
      changes: parseChanges(list(flags.change), baseEnv ?? []),
      comment: str(flags.message),
      author: str(flags.author),
      container: state.id,
      onSkip: (rel, why) => ctx.err(`ctr: left out /${rel}: ${why}\n`),
    });
    ctx.err(`ctr: committed ${displayName(r.record.name)}\n`);
    ctx.out(`${r.record.id}\n`);
    return 0;
  },
};
