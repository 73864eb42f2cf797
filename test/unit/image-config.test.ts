import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import {
  containerProcess,
  DEFAULT_PATH,
  parseImageConfig,
  withHome,
  type ImageConfig,
} from '../../lib/image/config.ts';
import { resolveImageUser, resolveUser } from '../../lib/image/user.ts';
import { snapshot, tempDir } from '../helpers/image.ts';

const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin', 'A=1'], Entrypoint: ['/entry'], Cmd: ['--default'], WorkingDir: '/app', User: 'app' },
  rootfs: { type: 'layers', diff_ids: [] },
};

describe('the image config applied to a container', () => {
  it('runs Entrypoint followed by Cmd, in WorkingDir, with Env, as User', () => {
    expect(containerProcess(base)).toEqual({
      args: ['/entry', '--default'],
      env: ['PATH=/bin', 'A=1'],
      cwd: '/app',
      user: 'app',
    });
  });

  it('replaces Cmd with the arguments after the image name, keeping Entrypoint', () => {
    expect(containerProcess(base, { args: ['x', 'y'] }).args).toEqual(['/entry', 'x', 'y']);
  });

  it('drops the image Cmd when --entrypoint is given, as docker does', () => {
    expect(containerProcess(base, { entrypoint: ['/bin/sh'] }).args).toEqual(['/bin/sh']);
    expect(containerProcess(base, { entrypoint: ['/bin/sh'], args: ['-c', 'true'] }).args).toEqual([
      '/bin/sh',
      '-c',
      'true',
    ]);
  });

  it('adds -e values over the image Env by key, and a default PATH when the image sets none', () => {
    expect(containerProcess(base, { env: ['A=2', 'B=3'] }).env).toEqual(['PATH=/bin', 'A=2', 'B=3']);
    const noPath = { ...base, config: { Cmd: ['x'] } };
    expect(containerProcess(noPath).env).toEqual([`PATH=${DEFAULT_PATH}`]);
    expect(containerProcess(noPath).cwd).toBe('/');
  });

  it('sets HOME from the user only when neither the image nor -e did', () => {
    expect(withHome(['A=1'], '/home/u')).toEqual(['A=1', 'HOME=/home/u']);
    expect(withHome(['HOME=/x'], '/home/u')).toEqual(['HOME=/x']);
  });

  it('says so when there is nothing to run, or the workdir is relative', () => {
    expect(() => containerProcess({ ...base, config: {} }, {}, 'scratch/x')).toThrow(/scratch\/x has no command/);
    expect(() => containerProcess(base, { workdir: 'rel' })).toThrow(/not an absolute path/);
  });

  it('checks the types of untrusted config JSON', () => {
    expect(() => parseImageConfig('{"rootfs":{"type":"layers","diff_ids":["nope"]}}')).toThrow(/invalid digest/);
    expect(() => parseImageConfig('{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Cmd":"sh"}}')).toThrow(
      /Cmd is not a list of strings/,
    );
    expect(() => parseImageConfig('[]')).toThrow(UserError);
    expect(parseImageConfig(JSON.stringify(base)).config?.User).toBe('app');
  });
});

const passwd =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n# comment\nweird\nnobody:x:65534:65534::/:/bin/false\n';
const group = 'root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:29:app\nnogroup:x:65534:\n';

describe('the config User, looked up in the image', () => {
  it.each([
    ['', { uid: 0, gid: 0, additionalGids: [], home: '/root', name: 'root' }],
    ['app', { uid: 1000, gid: 1000, additionalGids: [50, 29], home: '/home/app', name: 'app' }],
    ['1000', { uid: 1000, gid: 1000, additionalGids: [50, 29], home: '/home/app', name: 'app' }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [], home: '/', name: undefined }],
    ['app:staff', { uid: 1000, gid: 50, additionalGids: [], home: '/home/app', name: 'app' }],
    ['app:7', { uid: 1000, gid: 7, additionalGids: [], home: '/home/app', name: 'app' }],
    ['4242:4243', { uid: 4242, gid: 4243, additionalGids: [], home: '/', name: undefined }],
  ])('%j resolves as docker does', (spec, want) => {
    expect(resolveUser(spec, { passwd, group })).toEqual(want);
  });

  it('refuses names the image does not have, saying why', () => {
    expect(() => resolveUser('postgres', { passwd, group })).toThrow(
      /unable to find user postgres in the image: no such user/,
    );
    expect(() => resolveUser('app', {})).toThrow(/the image has no \/etc\/passwd/);
    expect(() => resolveUser('app:wheel', { passwd, group })).toThrow(/unable to find group wheel/);
    expect(resolveUser('0', {})).toMatchObject({ uid: 0, gid: 0 });
  });

  describe('reading /etc/passwd in the image root', () => {
    let dir: string;
    let root: string;
    let host: string;
    beforeEach(() => {
      dir = tempDir('user');
      root = path.join(dir, 'root');
      host = path.join(dir, 'host-etc');
      fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
      fs.mkdirSync(host);
      fs.writeFileSync(path.join(host, 'passwd'), 'hostonly:x:0:0::/:/bin/sh\n');
      fs.writeFileSync(path.join(host, 'group'), 'hostgroup:x:0:hostonly\n');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('reads the files of the image, not the host', () => {
      fs.writeFileSync(path.join(root, 'etc/passwd'), passwd);
      fs.writeFileSync(path.join(root, 'etc/group'), group);
      expect(resolveImageUser('app', root)).toMatchObject({ uid: 1000, additionalGids: [50, 29] });
    });

    it('follows a symlinked /etc/passwd inside the image root, never out to the host file it names', () => {
      fs.writeFileSync(path.join(root, 'etc/passwd.real'), passwd);
      fs.symlinkSync('/etc/passwd.real', path.join(root, 'etc/passwd'));
      fs.symlinkSync(path.join(host, 'group'), path.join(root, 'etc/group'));
      const before = snapshot(host);
      expect(resolveImageUser('app', root)).toMatchObject({ uid: 1000, additionalGids: [] });
      expect(() => resolveImageUser('hostonly', root)).toThrow(/no such user/);
      expect(snapshot(host)).toEqual(before);
    });

    it('follows a symlinked /etc directory inside the image root too', () => {
      fs.rmSync(path.join(root, 'etc'), { recursive: true });
      fs.symlinkSync(host, path.join(root, 'etc'));
      expect(() => resolveImageUser('hostonly', root)).toThrow(/the image has no \/etc\/passwd/);
    });

    it('refuses an /etc/passwd that is not a regular file (a fifo would hang the lookup)', () => {
      fs.mkdirSync(path.join(root, 'etc/passwd'));
      expect(() => resolveImageUser('app', root)).toThrow(/\/etc\/passwd in the image is not a regular file/);
    });
  });
});
