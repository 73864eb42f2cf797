/**
 * The host's side of `ctr run -t`: receive the container's pseudo-terminal and relay this terminal to it.
 *
 * A pseudo-terminal is a pair: programs use the *slave* (/dev/pts/N) as their terminal — the kernel's line
 * discipline turns a typed Ctrl-C into SIGINT for the foreground job, echoes keys, knows the window size — and
 * whoever holds the *master* plays the keyboard and the screen. The container's init made one in its own devpts
 * (the host's /dev/pts/N does not exist in there) and sent the master here over a socket (lib/scm-rights.ts).
 *
 * The relay does what a terminal emulator, sshd or `docker run -it` does: this terminal goes into raw mode
 * (cfmakeraw(3), as docker's client does), so every key — Ctrl-C and Ctrl-Z included — is passed to the master
 * as a byte instead of becoming a signal for ctr, and the container's line discipline decides what it means;
 * whatever the container writes comes out here as it is (its own terminal already turned \n into \r\n; Node's
 * setRawMode would leave output processing on and make that \r\r\n).
 * The window size is copied onto the master at the start and on every SIGWINCH, which the kernel passes on to
 * the container's foreground job as its own SIGWINCH. When the container ends, this terminal is put back as it
 * was — also when ctr fails or is interrupted (the restore is on the cleanup stack, and on process exit).
 */
import fs from 'node:fs';
import tty from 'node:tty';
import type { CleanupStack } from '../cleanup.ts';
import { fdMessage, MSG_CMSG_CLOEXEC, MSG_DONTWAIT, receivedFd } from '../scm-rights.ts';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;
const TIOCSWINSZ = 0x5414;

/** What the relay does to terminals, by fd. */
export interface TerminalControl {
  /** ioctl(TIOCSWINSZ): rows and columns. */
  setWindowSize(fd: number, rows: number, columns: number): void;
  /** tcgetattr, cfmakeraw, tcsetattr; returns what puts the terminal back as it was (undefined: not a terminal). */
  makeRaw(fd: number): (() => void) | undefined;
}

interface TerminalCalls extends TerminalControl {
  socketpair(): [number, number];
  receiveFd(socket: number): number | undefined;
  close(fd: number): void;
}

/** glibc's struct termios is 60 bytes; a little more costs nothing. */
const TERMIOS_SIZE = 64;
const TCSANOW = 0;

async function terminalCalls(): Promise<TerminalCalls> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  const c = {
    socketpair: libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)'),
    recvmsg: libc.func('long recvmsg(int fd, uint8_t *msg, int flags)'),
    ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
    close: libc.func('int close(int fd)'),
    tcgetattr: libc.func('int tcgetattr(int fd, uint8_t *termios)'),
    tcsetattr: libc.func('int tcsetattr(int fd, int when, const uint8_t *termios)'),
    cfmakeraw: libc.func('void cfmakeraw(uint8_t *termios)'),
  };
  const fail = (call: string) => new Error(`${call} failed: errno ${koffi.errno()}`);
  return {
    socketpair: () => {
      const sv = [0, 0];
      // Close-on-exec: only the container's launcher gets its end, as its fd 4, and no other command either.
      if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw fail('socketpair');
      return [sv[0] ?? -1, sv[1] ?? -1];
    },
    receiveFd: (socket) => {
      const msg = fdMessage((b) => koffi.address(b));
      const n = Number(c.recvmsg(socket, msg.msghdr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
      return n > 0 ? receivedFd(msg) : undefined;
    },
    setWindowSize: (fd, rows, columns) => {
      const ws = Buffer.alloc(8); // struct winsize { rows, cols, xpixel, ypixel }: four unsigned shorts
      ws.writeUInt16LE(rows, 0);
      ws.writeUInt16LE(columns, 2);
      c.ioctl(fd, TIOCSWINSZ, 'uint8_t *', ws);
    },
    makeRaw: (fd) => {
      const saved = Buffer.alloc(TERMIOS_SIZE);
      if (c.tcgetattr(fd, saved) < 0) return undefined;
      const raw = Buffer.from(saved);
      c.cfmakeraw(raw);
      if (c.tcsetattr(fd, TCSANOW, raw) < 0) return undefined;
      return () => void c.tcsetattr(fd, TCSANOW, saved);
    },
    close: (fd) => void c.close(fd),
  };
}

/** The socket the init sends its pty master over: one end for the launcher (its fd 4), one kept here. */
export interface TerminalSocket {
  /** The launcher's end: pass it as fd 4 (RunOptions.passFds), then `closeChildEnd()`. */
  readonly childFd: number;
  closeChildEnd(): void;
  /** The master the init sent; call once the init said `exec` (it sends it before). Undefined when none came. */
  receiveMaster(): number | undefined;
  /** Close whatever of the pair is still open here. */
  close(): void;
  /** For the relay: window size and raw mode. */
  readonly control: TerminalControl;
}

export async function terminalSocket(): Promise<TerminalSocket> {
  const calls = await terminalCalls();
  const [ours, theirs] = calls.socketpair();
  const open = new Set([ours, theirs]);
  const closeOne = (fd: number) => {
    if (open.delete(fd)) calls.close(fd);
  };
  return {
    childFd: theirs,
    closeChildEnd: () => closeOne(theirs),
    receiveMaster: () => calls.receiveFd(ours),
    close: () => [...open].forEach(closeOne),
    control: { setWindowSize: calls.setWindowSize, makeRaw: calls.makeRaw },
  };
}

export interface RelayOptions {
  /** `-i`: keys typed here go to the container (else its terminal gets no input, as with docker's -t alone). */
  input: boolean;
}

export interface TerminalRelay {
  /** Resolves when the container's side of the terminal is closed and all it wrote has been passed on. */
  readonly drained: Promise<void>;
  /** Stop relaying, close the master, put this terminal back (also done by the cleanup stack). */
  stop(): void;
  /**
   * Once the command has ended: pass on what it wrote last (still in the pty), then stop. A background process
   * that keeps the terminal open (without a PID namespace nothing ends it) holds this for a second at most.
   */
  finish(): Promise<void>;
}

const DRAIN_LIMIT_MS = 1000;

/**
 * Relay this process's terminal (stdin, stdout) to the master `master` (which it takes over and closes). The terminal's restore
 * is on `cleanup` before raw mode is set.
 */
export function relayTerminal(
  master: number,
  control: TerminalControl,
  cleanup: CleanupStack,
  opts: RelayOptions,
): TerminalRelay {
  const { stdin, stdout } = process;
  const { setWindowSize } = control;
  // A tty stream reads and writes the master through libuv's poll, like any socket (a net.Socket refuses a tty fd).
  const pty = new tty.ReadStream(master);
  const copySize = () => {
    if (stdout.isTTY) setWindowSize(master, stdout.rows, stdout.columns);
  };
  copySize();
  let restoreMode: (() => void) | undefined;
  const restore = () => {
    restoreMode?.();
    restoreMode = undefined;
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    stdout.off('resize', copySize);
    stdin.off('data', typed);
    if (opts.input) stdin.pause();
    pty.destroy();
    restore();
    process.off('exit', restore);
  };
  cleanup.push('put the terminal back and close the container’s pty', stop);
  // Node's own exit after an uncaught error skips the cleanup stack: the terminal must not stay raw then either.
  process.on('exit', restore);
  const typed = (chunk: Buffer) => pty.write(chunk);
  if (opts.input && stdin.isTTY) restoreMode = control.makeRaw(0);
  if (opts.input) {
    stdin.on('data', typed);
    stdin.resume();
  }
  stdout.on('resize', copySize);
  const drained = new Promise<void>((resolve) => {
    pty.on('data', (chunk: Buffer) => stdout.write(chunk));
    // Once no process holds the slave any more, reading the master fails with EIO: that is its end of file.
    pty.on('error', () => {});
    pty.on('close', () => resolve());
    pty.resume();
  });
  const finish = async () => {
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_LIMIT_MS).unref())]);
    stop();
  };
  return { drained, stop, finish };
}

/**
 * A detached container's terminal (`ctr run -dt`): nobody types into it, and what it shows is appended to its log
 * file, as docker's log driver does — `\r\n` line ends and all, since that is what a terminal is sent. Reading it
 * also keeps the container from blocking once the pty's buffer (a few kilobytes) is full.
 */
export function relayToLog(master: number, logPath: string, cleanup: CleanupStack): Pick<TerminalRelay, 'finish'> {
  const pty = new tty.ReadStream(master);
  const log = fs.openSync(logPath, 'a');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    pty.destroy();
    fs.closeSync(log);
  };
  cleanup.push('close the container’s pty and its log', stop);
  const drained = new Promise<void>((resolve) => {
    pty.on('data', (chunk: Buffer) => fs.writeSync(log, chunk));
    pty.on('error', () => {}); // EIO: no process holds the slave any more
    pty.on('close', () => resolve());
    pty.resume();
  });
  return {
    finish: async () => {
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_LIMIT_MS).unref())]);
      stop();
    },
  };
}
