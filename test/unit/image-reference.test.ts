import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors.ts';
import {
  canonicalReference,
  familiarName,
  isLoopbackRegistry,
  parseReference,
  registryBaseUrl,
} from '../../lib/image/reference.ts';
import { endpointFor, mirrorFrom, MIRROR_ENV } from '../../lib/image/pull.ts';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['myuser/app:v2', 'docker.io/myuser/app:v2'],
    ['ghcr.io/org/team/app:1.0', 'ghcr.io/org/team/app:1.0'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/scratch/layers:latest', '127.0.0.1:5000/scratch/layers:latest'],
    [`busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    [`busybox:1.36@${digest}`, `docker.io/library/busybox:1.36@${digest}`],
    ['a_b__c-d/e.f', 'docker.io/a_b__c-d/e.f:latest'],
  ])('%s means %s', (input, canonical) => {
    expect(canonicalReference(parseReference(input))).toBe(canonical);
  });

  it('splits a reference into registry, repository, tag and digest', () => {
    expect(parseReference('localhost:5000/a/b:t')).toEqual({
      registry: 'localhost:5000',
      repository: 'a/b',
      tag: 't',
      digest: undefined,
    });
    expect(parseReference(`x@${digest}`)).toMatchObject({ tag: undefined, digest });
  });

  it('takes a first part as a registry only when it looks like a host', () => {
    expect(parseReference('team/app').registry).toBe('docker.io');
    expect(parseReference('my.registry/app').registry).toBe('my.registry');
    expect(parseReference('host:1/app').registry).toBe('host:1');
  });

  it('gives the short name docker prints', () => {
    expect(familiarName(parseReference('docker.io/library/busybox'))).toBe('busybox:latest');
    expect(familiarName(parseReference('docker.io/me/app:1'))).toBe('me/app:1');
    expect(familiarName(parseReference('localhost:5000/app:1'))).toBe('localhost:5000/app:1');
  });

  it.each([
    ['', /it is empty/],
    ['Busybox', /names must be lowercase/],
    ['busybox:bad tag', /not a valid tag/],
    ['busybox@sha256:123', /not a sha256 digest/],
    ['busybox@md5:abc', /not a sha256 digest/],
    ['a//b', /not a valid name part/],
    ['-a', /not a valid name part/],
    ['my.host_name/x', /not a registry host/],
  ])('refuses %j in one line with a fix', (input, why) => {
    const err = (() => {
      try {
        parseReference(input);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(why);
    expect((err as UserError).fix).toMatch(/NAME\[:TAG\]/);
  });
});

describe('which server a pull talks to', () => {
  it('uses plain HTTP only for registries on this machine, HTTPS for all others', () => {
    for (const host of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'localhost']) {
      expect(isLoopbackRegistry(host)).toBe(true);
      expect(registryBaseUrl(host)).toBe(`http://${host}`);
    }
    for (const host of ['ghcr.io', '10.0.0.5:5000', '127.0.0.1.evil.com', 'localhost.evil.com:5000', '128.0.0.1']) {
      expect(isLoopbackRegistry(host)).toBe(false);
      expect(registryBaseUrl(host)).toBe(`https://${host}`);
    }
  });

  it("talks to Docker Hub's API host for docker.io names", () => {
    expect(registryBaseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });

  it('sends Docker Hub names, and only those, to a mirror', () => {
    const mirror = 'http://10.0.0.5:5000';
    expect(endpointFor(parseReference('busybox'), mirror)).toBe(mirror);
    expect(endpointFor(parseReference('me/app'), mirror)).toBe(mirror);
    expect(endpointFor(parseReference('ghcr.io/org/app'), mirror)).toBe('https://ghcr.io');
    expect(endpointFor(parseReference('busybox'), undefined)).toBe('https://registry-1.docker.io');
  });

  it('takes the mirror from the flag first, then the environment; a bare host gets HTTPS unless it is local', () => {
    expect(mirrorFrom(undefined, {})).toBeUndefined();
    expect(mirrorFrom(undefined, { [MIRROR_ENV]: 'http://10.0.0.5:5000/' })).toBe('http://10.0.0.5:5000');
    expect(mirrorFrom('http://flag:1', { [MIRROR_ENV]: 'http://env:2' })).toBe('http://flag:1');
    expect(mirrorFrom('mirror.example:5000', {})).toBe('https://mirror.example:5000');
    expect(mirrorFrom('127.0.0.1:5000', {})).toBe('http://127.0.0.1:5000');
    expect(() => mirrorFrom('ftp://x', {})).toThrow(/not http or https/);
  });
});
