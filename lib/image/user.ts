/**
 * Which uid and gids a container runs as: the config's `User`, looked up in the image's own files.
 *
 * `User` may be a name (`nobody`), a number (`1000`), and either followed by `:group`. Numbers mean themselves;
 * names mean what the *image's* /etc/passwd and /etc/group say — not the host's, which may give the same name
 * another number or not have it at all. With no group given, the gid is the user's primary group from passwd
 * (0 for a number not in passwd), and the supplementary groups are every group in /etc/group that lists the user
 * by name; HOME comes from passwd too (`/` when unknown). These are the rules docker and runc apply.
 *
 * The files are read inside the image's root without following any symlink out of it (scoped-path.ts): an
 * image whose /etc/passwd is a symlink to the host's /etc/shadow reads the image's /etc/shadow, if it has one.
 */
import { UserError } from '../errors.ts';
import { layerStackView } from './layer-view.ts';
import { dirView, readFileInView, type TreeView } from './scoped-path.ts';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups, without the primary gid. */
  additionalGids: number[];
  home: string;
  /** The user's name, when passwd has one for it. */
  name: string | undefined;
}

const ID = /^\d+$/;
const MAX_ID = 2 ** 32 - 2;

function fields(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  return fields(text)
    .filter((f) => f.length >= 4 && ID.test(f[2] ?? '') && ID.test(f[3] ?? ''))
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return fields(text)
    .filter((f) => f.length >= 3 && ID.test(f[2] ?? ''))
    .map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

function id(text: string, what: string): number {
  const n = Number(text);
  if (!ID.test(text) || n > MAX_ID) throw new UserError(`${what} "${text}" is not a valid id`);
  return n;
}

/**
 * Resolve a User spec against the image's passwd and group contents (undefined when the image has no such
 * file). Pure: the files are read by `resolveImageUser`.
 */
export function resolveUser(spec: string, files: { passwd?: string; group?: string }): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const users = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (userPart === '') {
    uid = 0;
    entry = users.find((u) => u.uid === 0);
  } else if (ID.test(userPart)) {
    uid = id(userPart, 'user');
    entry = users.find((u) => u.uid === uid);
  } else {
    entry = users.find((u) => u.name === userPart);
    if (!entry) {
      const where = files.passwd === undefined ? 'the image has no /etc/passwd' : 'no such user in its /etc/passwd';
      throw new UserError(
        `unable to find user ${userPart} in the image: ${where}`,
        'use a numeric uid, e.g. --user 1000',
      );
    }
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    if (ID.test(groupPart)) gid = id(groupPart, 'group');
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new UserError(`unable to find group ${groupPart} in the image's /etc/group`, 'use a numeric gid');
      gid = g.gid;
    }
  } else if (entry) {
    const name = entry.name;
    additionalGids = [...new Set(groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid))];
  }
  return { uid, gid, additionalGids, home: entry?.home || '/', name: entry?.name };
}

function readText(view: TreeView, rel: string): string | undefined {
  return readFileInView(view, rel)?.toString('utf8');
}

/** Resolve a User spec in an image: `root` is its root directory, or its layer directories (top first). */
export function resolveImageUser(spec: string, root: string | readonly string[]): ResolvedUser {
  const view = typeof root === 'string' ? dirView(root) : layerStackView(root);
  // A bare number needs no files, but the files still give HOME and the groups.
  return resolveUser(spec, { passwd: readText(view, 'etc/passwd'), group: readText(view, 'etc/group') });
}
