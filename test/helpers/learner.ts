/**
 * A real unprivileged learner: the user `scrlearner` (made on first use, as a system user with no home and no
 * login shell; CI and test runs reuse it) with Debian's default PATH for a normal user, which has no sbin
 * directories — the setting in which `chroot` was once not found. Running as them goes through setpriv and
 * `env -i`, so nothing of root's environment (its PATH above all) leaks in.
 */
import fs from 'node:fs';
import { execa } from 'execa';

export const LEARNER = 'scrlearner';
/** /etc/login.defs ENV_PATH on Debian 12: what a normal user's shell starts with. */
export const DEBIAN_USER_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games';

export async function ensureLearner(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execa('id', [flag, LEARNER], { reject: false })).stdout);
  if ((await execa('id', [LEARNER], { reject: false })).exitCode !== 0) {
    // Two test runs at once may both try: whoever loses finds the user made by the other.
    await execa(
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        LEARNER,
      ],
      { reject: false },
    );
  }
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * Let the learner run exactly `command` with sudo, no password, keeping the environment it asks for. A rule
 * left by a test run that was killed before its cleanup (its PID is gone) is removed first.
 */
export function allowSudo(command: string): () => void {
  for (const f of fs.readdirSync('/etc/sudoers.d')) {
    const pid = /^scr-test-(\d+)-\d+$/.exec(f)?.[1];
    if (pid && !fs.existsSync(`/proc/${pid}`)) fs.rmSync(`/etc/sudoers.d/${f}`, { force: true });
  }
  const rule = `/etc/sudoers.d/scr-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  fs.writeFileSync(rule, `${LEARNER} ALL=(root) NOPASSWD:SETENV: ${command}\n`, { mode: 0o440 });
  return () => fs.rmSync(rule, { force: true });
}

/** The argv that runs `argv` as the learner, with only `env` (and Debian's user PATH) in its environment. */
export function asLearner(argv: readonly string[], env: Record<string, string> = {}): string[] {
  return [
    'setpriv',
    `--reuid=${LEARNER}`,
    `--regid=${LEARNER}`,
    '--init-groups',
    'env',
    '-i',
    `PATH=${DEBIAN_USER_PATH}`,
    'HOME=/tmp',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
}
