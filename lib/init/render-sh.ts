/**
 * An init plan as a `sh` script: the init lessons 02–06 print, run, and a learner can paste.
 *
 * The script runs in the host's `sh`, already inside the new namespaces (`unshare` made them), so until
 * pivot_root it uses the host's tools (`mount`, `mknod`, `hostname`); after it only the rootfs's (`umount`). That is
 * why this rendering is for the busybox rootfs of the early lessons: an image with no shell and no `umount`
 * needs the TypeScript init, and operations a shell cannot do at all (capset, seccomp, setresuid without a tool
 * from the rootfs) are refused here with that reason. Values from the user (the rootfs path, the hostname, the
 * working directory, the command) are positional parameters, never pasted into the script's text.
 */
import { MS, type MountFlag } from '../mount-options.ts';
import { quoteArg } from '../quote.ts';
import type { InitOp, InitPlan } from './ops.ts';

/** The script's own name ($0), which is what `ps` shows for it while it runs. */
export const INIT_NAME = 'scr-init';

/** The file the shown commands keep the script in. */
export const INIT_FILE = 'init.sh';

export class ShUnsupported extends Error {
  constructor(op: InitOp, why = 'no shell builtin or host tool does it inside the container') {
    super(`the sh init cannot do "${op.op}" (${why}); use the TypeScript init`);
    this.name = 'ShUnsupported';
  }
}

export interface ShScript {
  /** The script, each step under a comment naming its feature. */
  text: string;
  /** Its positional parameters before the command, in order: [name, value]. */
  params: Array<[string, string]>;
  /** An overlay's lower layers, top first: passed after the parameters, ended by `--`, joined by the script. */
  layers?: string[];
}

/** What follows the script's name on its command line, before the command: the parameters, then the layers. */
export function scriptArgs(script: ShScript): string[] {
  return [...script.params.map(([, value]) => value), ...(script.layers ? [...script.layers, '--'] : [])];
}

/** An overlay's mount options taken apart: its layers, its upper and work dirs, and the rest (no paths). */
export function splitOverlayOptions(
  data: string,
): { lower: string[]; upper?: string; work?: string; rest: string[] } | undefined {
  const out: { lower: string[]; upper?: string; work?: string; rest: string[] } = { lower: [], rest: [] };
  for (const item of data.split(',')) {
    const eq = item.indexOf('=');
    const [key, value] = eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
    if (key === 'lowerdir') out.lower = value.split(':');
    else if (key === 'upperdir') out.upper = value;
    else if (key === 'workdir') out.work = value;
    // Anything else is a plain option word; one that would need quoting is not taken apart at all.
    else if (/^[A-Za-z0-9_.=-]+$/.test(item)) out.rest.push(item);
    else return undefined;
  }
  return out.lower.length > 0 && out.lower.every((l) => l !== '') ? out : undefined;
}

const FLAG_WORD: Partial<Record<MountFlag, string>> = {
  MS_RDONLY: 'ro',
  MS_NOSUID: 'nosuid',
  MS_NODEV: 'nodev',
  MS_NOEXEC: 'noexec',
  MS_SYNCHRONOUS: 'sync',
  MS_DIRSYNC: 'dirsync',
  MS_NOATIME: 'noatime',
  MS_NODIRATIME: 'nodiratime',
  MS_RELATIME: 'relatime',
  MS_STRICTATIME: 'strictatime',
  MS_NOSYMFOLLOW: 'nosymfollow',
};

const PROPAGATION_WORD: Partial<Record<MountFlag, string>> = {
  MS_PRIVATE: 'private',
  MS_SHARED: 'shared',
  MS_SLAVE: 'slave',
  MS_UNBINDABLE: 'unbindable',
};

/** Render the plan as a script. Throws ShUnsupported for operations only the TypeScript init can do. */
export function renderSh(plan: InitPlan): ShScript {
  const root = plan.root;
  const params: Array<[string, string]> = [['root', root]];
  const param = (name: string, value: string) => {
    if (!params.some(([n]) => n === name)) params.push([name, value]);
    return `"$${name}"`;
  };
  /** A path under the root as "$root"/…, anything else quoted. */
  const p = (path: string) =>
    path === root
      ? '"$root"'
      : path.startsWith(`${root}/`)
        ? `"$root"${quoteArg(path.slice(root.length))}`
        : quoteArg(path);
  let chrootInto: string | undefined;
  let layers: string[] | undefined;

  /**
   * An overlay's options are paths (the layers, the container's own upper and work dirs): parameters, so the
   * script is the same text for every container, and each path is its own argument (a stack of layers in one
   * would be wider than a screen). The layers come as a list ended by `--`, however many there are.
   */
  const overlayLines = (opts: string, target: string): string[] => {
    const o = splitOverlayOptions(opts);
    if (!o) return [`mount -t overlay -o ${param('overlay', opts)} overlay ${p(target)}`];
    layers = o.lower;
    const paths = [
      'lowerdir=$lower',
      ...(o.upper !== undefined ? [`upperdir=${param('upper', o.upper).slice(1, -1)}`] : []),
      ...(o.work !== undefined ? [`workdir=${param('work', o.work).slice(1, -1)}`] : []),
    ];
    return [`opts=${paths.join(',')}`, `mount -t overlay -o "${['$opts', ...o.rest].join(',')}" overlay ${p(target)}`];
  };

  const line = (op: InitOp): string[] => {
    switch (op.op) {
      case 'sync':
        // The runner passes a socket as fd 3; pasted into a terminal there is none, and the script just goes on.
        // /proc is still the host's here, so /proc/self/stat starts with our PID as the host numbers it.
        return [
          'if { true >&3; } 2>/dev/null; then',
          '  read -r pid _ </proc/self/stat; echo "ready $pid" >&3; read -r go <&3; [ "$go" = go ]',
          'fi',
        ];
      case 'makePrivate':
        return ['mount --make-rprivate /'];
      case 'mkpath':
        if (op.like === undefined) return [`mkdir -p ${p(op.path)}`];
        return [`if [ -d ${quoteArg(op.like)} ]; then mkdir -p ${p(op.path)}; else touch ${p(op.path)}; fi`];
      case 'mount': {
        const words = op.flags.flatMap((f) => (FLAG_WORD[f] ? [FLAG_WORD[f]] : []));
        const propagation = op.flags.find((f) => PROPAGATION_WORD[f]);
        const rec = op.flags.includes('MS_REC');
        if (op.flags.includes('MS_REMOUNT')) {
          const o = ['remount', ...(op.flags.includes('MS_BIND') ? ['bind'] : []), ...words].join(',');
          return [`mount -o ${o} ${p(op.target)}`];
        }
        if (propagation && op.source === null) {
          return [`mount --make-${rec ? 'r' : ''}${PROPAGATION_WORD[propagation]} ${p(op.target)}`];
        }
        if (op.flags.includes('MS_BIND')) {
          return [`mount --${rec ? 'rbind' : 'bind'} ${p(op.source ?? '')} ${p(op.target)}`];
        }
        const opts = [...words, ...(op.data ? [op.data] : [])].join(',');
        if (op.fstype === 'overlay') return overlayLines(opts, op.target);
        return [
          `mount -t ${quoteArg(op.fstype ?? '')}${opts ? ` -o ${quoteArg(opts)}` : ''} ${quoteArg(op.source ?? 'none')} ${p(op.target)}`,
        ];
      }
      case 'mknod':
        return [`mknod -m ${op.mode.toString(8)} ${p(op.path)} ${op.type} ${op.major} ${op.minor}`];
      case 'symlink':
        return [`ln -s ${quoteArg(op.target)} ${p(op.path)}`];
      case 'sethostname':
        return [`hostname ${param('hostname', op.name)}`];
      case 'chdir':
        if (op.path === root) return ['cd "$root"'];
        if (op.path === '/') return chrootInto === undefined ? ['cd /'] : [];
        return [`cd ${param('cwd', op.path)}`];
      case 'pivotRoot':
        return ['pivot_root . .'];
      case 'detachOldRoot':
        // `umount` now comes from the rootfs: the host's binaries left with the old root.
        return ['umount -l .'];
      case 'chroot':
        chrootInto = op.path;
        return [];
      case 'readonlyRoot':
        return ['mount -o remount,bind,ro /'];
      case 'resetSignals':
        return []; // a shell cannot un-ignore a signal; the runner starts us with the defaults
      case 'closeFds':
        return ['{ echo exec >&3; exec 3>&-; } 2>/dev/null || true'];
      case 'terminal':
        throw new ShUnsupported(op, 'a shell cannot open /dev/ptmx for itself nor send an fd over a socket');
      case 'exec':
        // `cd` made these exported variables; the command must start with exactly the container's environment.
        return ['unset OLDPWD PWD', chrootInto === undefined ? 'exec "$@"' : `exec chroot ${p(chrootInto)} "$@"`];
      default:
        throw new ShUnsupported(op);
    }
  };

  const body = plan.steps.map((s) => [`# ${s.feature}`, ...s.ops.flatMap(line)].join('\n'));
  const head = [
    '# stop at the first error; name the parameters (the command follows them)',
    'set -eu',
    params.map(([name], i) => `${name}=$${i + 1}`).join(' '),
    `shift ${params.length}`,
    ...(layers
      ? [
          '# the read-only layers, top first, up to --',
          'lower=$1; shift; while [ "$1" != -- ]; do lower=$lower:$1; shift; done; shift',
        ]
      : []),
  ].join('\n');
  return { text: [head, ...body].join('\n'), params, ...(layers ? { layers } : {}) };
}

/** `MS_*` names a script line cannot express are a bug in this file, not in a plan: keep the table complete. */
export const RENDERABLE_FLAGS: readonly MountFlag[] = (Object.keys(MS) as MountFlag[]).filter(
  (f) => FLAG_WORD[f] || PROPAGATION_WORD[f] || ['MS_BIND', 'MS_REC', 'MS_REMOUNT'].includes(f),
);
