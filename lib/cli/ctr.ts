/**
 * ctr — the workshop's `docker`, built only from lib/: `npm run ctr -- run -d --name web ROOTFS httpd -f`,
 * `npm run ctr -- load -i layers.docker.tar`, `npm run ctr -- run scratch/layers`.
 *
 * It grows with the lessons (lesson 12 walks through it whole). It runs as compiled JavaScript (bin/ctr.mjs loads
 * dist/ctr.mjs, rebuilt whenever lib/ changes) because a TypeScript loader at start-up would cost more than the
 * container. Exit codes are docker's: 125 when ctr itself fails, 126 when the command cannot be executed, 127
 * when it is not found, and otherwise the command's own.
 */
import { initBundle } from '../bundle.ts';
import type { Command, CtrContext } from '../ctr/command.ts';
import { commit, diff } from '../ctr/commands/changes.ts';
import { exec } from '../ctr/commands/exec.ts';
import { exportBundleCommand } from '../ctr/commands/export-bundle.ts';
import { images, load, pull, rmi } from '../ctr/commands/images.ts';
import { logs } from '../ctr/commands/logs.ts';
import { inspect, kill, rm, stop } from '../ctr/commands/manage.ts';
import { ps } from '../ctr/commands/ps.ts';
import { run } from '../ctr/commands/run.ts';
import { shim } from '../ctr/commands/shim.ts';
import { flagHelp, parseFlags } from '../ctr/flags.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_STORE_ROOT, ImageStore } from '../image/store.ts';
import { createRunner } from '../runner.ts';
import { main } from './main.ts';

const COMMANDS: Command[] = [
  run,
  ps,
  exec,
  logs,
  stop,
  kill,
  rm,
  inspect,
  diff,
  commit,
  images,
  pull,
  load,
  rmi,
  exportBundleCommand,
  shim,
];

function overview(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
  const w = Math.max(...shown.map((c) => c.name.length));
  return [
    'usage: ctr COMMAND [OPTIONS]   (npm run ctr -- COMMAND …)',
    '',
    'A small docker, built lesson by lesson from lib/. Commands:',
    ...shown.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `ctr COMMAND --help` for its options.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`usage: ${c.usage}`, '', c.summary, ...(c.flags.length ? ['', 'Options:', flagHelp(c.flags)] : [])].join(
    '\n',
  );
}

/** Namespaces, mounts and cgroups are root's: without root, ctr re-runs itself through sudo, saying so. */
async function rerunWithSudo(args: string[]): Promise<number> {
  const { execa } = await import('execa'); // only here: loading it costs every other start-up time
  const hasSudo = (await execa('sh', ['-c', 'command -v sudo'], { reject: false })).exitCode === 0;
  if (!hasSudo) throw new UserError('ctr needs root and sudo is not installed', 'su -c "npm run ctr -- ..."');
  process.stderr.write('ctr needs root (namespaces, mounts and cgroups are root-only). Re-running with sudo…\n');
  const r = await execa(
    'sudo',
    [
      '--preserve-env=TERM,SCRATCH_REGISTRY_MIRROR,SCRATCH_IMAGE_STORE',
      process.execPath,
      ...process.execArgv,
      // Node 20 reads --env-file even after the script (ctr run's own --env-file): `--` ends what node reads.
      '--',
      process.argv[1] ?? '',
      ...args,
    ],
    {
      stdio: 'inherit',
      reject: false,
    },
  );
  return r.exitCode ?? 125;
}

await main(
  async () => {
    const args = process.argv.slice(2);
    const [name, ...rest] = args;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(`${overview()}\n`);
      return name ? 0 : 1;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UserError(`unknown command: ${name}`, 'ctr --help');
    const parsed = parseFlags(rest, command.flags, name, command.interspersed);
    if (parsed.flags.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    if (process.platform !== 'linux') {
      throw new UserError('containers are a Linux kernel feature', 'cd vagrant && vagrant up && vagrant ssh');
    }
    if (process.getuid?.() !== 0) return rerunWithSudo(args);
    const ctx: CtrContext = {
      runner: createRunner(),
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      init: initBundle,
      self: { node: process.execPath, args: [...process.execArgv, process.argv[1] ?? ''] },
      // SCRATCH_IMAGE_STORE: a store of their own for tests (and for a second store by hand); else /var/lib/scratch.
      store: new ImageStore(process.env.SCRATCH_IMAGE_STORE || DEFAULT_STORE_ROOT),
      tty: !!process.stderr.isTTY,
      env: process.env,
    };
    return command.run(ctx, parsed);
  },
  { userErrorExit: 125 },
);
