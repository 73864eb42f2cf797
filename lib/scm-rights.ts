/**
 * Handing an open file descriptor to another process: SCM_RIGHTS over a unix socket.
 *
 * A file descriptor is a number that means something only inside one process. To give another process the same
 * open file — here the master side of a container's pseudo-terminal, which only the container can open (it lives
 * in the container's own devpts) — the sender puts it in the *ancillary data* of a sendmsg(2) on a unix socket,
 * as a control message of type SCM_RIGHTS. The kernel installs a new descriptor for the same open file in the
 * receiver, which finds its number in the control message recvmsg(2) fills in. runc hands its pty master to
 * containerd or docker this way (its `--console-socket`).
 *
 * Node's own sockets cannot send or read ancillary data, so both ends build the C structures here by hand and
 * call libc through koffi; the layouts are those of 64-bit Linux (x86-64 and arm64 agree):
 *
 *   struct msghdr  { void *name; socklen_t namelen; struct iovec *iov; size_t iovlen;
 *                    void *control; size_t controllen; int flags; }             56 bytes
 *   struct iovec   { void *base; size_t len; }                                   16 bytes
 *   struct cmsghdr { size_t len; int level; int type; } followed by the fds      16 bytes + 4 per fd, padded to 8
 *
 * At least one byte of ordinary data goes with the fd: a stream socket sends no message that is only ancillary.
 */

export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
/** recvmsg: the received fd is close-on-exec at once, so no command this process starts inherits it. */
export const MSG_CMSG_CLOEXEC = 0x40000000;
/** recvmsg: return EAGAIN rather than wait when nothing is there. */
export const MSG_DONTWAIT = 0x40;

const MSGHDR_SIZE = 56;
const CMSG_HEADER = 16;
/** CMSG_LEN(sizeof(int)): the header and one fd. */
const CMSG_LEN_ONE_FD = CMSG_HEADER + 4;
/** CMSG_SPACE(sizeof(int)): that, padded to 8 bytes. */
const CMSG_SPACE_ONE_FD = 24;

/** A pointer to a buffer's memory (koffi.address), kept alive by the caller for the length of the call. */
export type AddressOf = (buffer: Buffer) => bigint;

/** The buffers of one message: hold on to all of them until sendmsg/recvmsg has returned. */
export interface FdMessage {
  msghdr: Buffer;
  iov: Buffer;
  data: Buffer;
  control: Buffer;
}

/** A message with one byte of data and room for one fd; with `fd`, that fd as SCM_RIGHTS (for sendmsg). */
export function fdMessage(address: AddressOf, fd?: number): FdMessage {
  const data = Buffer.from('t');
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(address(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const control = Buffer.alloc(CMSG_SPACE_ONE_FD);
  if (fd !== undefined) {
    control.writeBigUInt64LE(BigInt(CMSG_LEN_ONE_FD), 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    control.writeInt32LE(fd, CMSG_HEADER);
  }
  const msghdr = Buffer.alloc(MSGHDR_SIZE);
  msghdr.writeBigUInt64LE(address(iov), 16);
  msghdr.writeBigUInt64LE(1n, 24);
  msghdr.writeBigUInt64LE(address(control), 32);
  msghdr.writeBigUInt64LE(BigInt(control.length), 40);
  return { msghdr, iov, data, control };
}

/** The fd a received message carries, or undefined when it carries none (the sender sent only data). */
export function receivedFd(message: FdMessage): number | undefined {
  const { control } = message;
  const len = Number(control.readBigUInt64LE(0));
  if (len < CMSG_LEN_ONE_FD || control.readInt32LE(8) !== SOL_SOCKET || control.readInt32LE(12) !== SCM_RIGHTS) {
    return undefined;
  }
  return control.readInt32LE(CMSG_HEADER);
}
