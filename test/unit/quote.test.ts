import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { quoteArg, quoteArgv } from '../../lib/quote.ts';

describe('argv quoting', () => {
  it('leaves plain words alone', () => {
    expect(quoteArgv(['chroot', '/var/lib/scratch/rootfs/busybox', '/bin/ls', '/'])).toBe(
      'chroot /var/lib/scratch/rootfs/busybox /bin/ls /',
    );
  });

  it('quotes spaces, quotes, globs and the empty string', () => {
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('*')).toBe("'*'");
    expect(quoteArg('')).toBe("''");
    expect(quoteArg('$HOME')).toBe("'$HOME'");
  });

  it('a shell reads the quoted line back as exactly the same argv', () => {
    const argv = ['x', 'a b', "it's", '$(reboot)', '*', '', 'tab\there', 'new\nline', '\\'];
    const echoed = execFileSync('sh', ['-c', `printf '%s\\0' ${quoteArgv(argv)}`]).toString();
    expect(echoed.split('\0').slice(0, -1)).toEqual(argv);
  });
});
