#!/usr/bin/env bash
# npm run test:cgroup2 — run the cgroup tests (lib/cgroups, lesson 05, ctr -m/--cpus/--pids-limit, the device cgroup) on a real cgroup v2 kernel.
#
# The CI machine mounts cgroup v1; the workshop VM (Ubuntu 24.04) is pure cgroup v2. To prove both on every
# change, this boots a throwaway QEMU guest with Debian's kernel and a pure v2 hierarchy (cpu, memory, pids,
# io, cpuset enabled at the root, as systemd leaves it), runs the same vitest files in it as root with CI=true,
# and exits with their result.
#
# The guest sees this machine's whole filesystem read-only (9p) with a tmpfs overlay on top, so node,
# node_modules, this checkout and the busybox rootfs are simply there; whatever the tests write is gone when
# the guest stops. It has no network device: nothing leaves. It is software-emulated (TCG; /dev/kvm is not
# relied on), so it boots in seconds but runs CPU-bound work several times slower than the host: the tests'
# CPU expectations are counters and wide bands, never durations.
#
# Needs root, and qemu-system-x86, linux-image-amd64 and busybox-static (installed with apt-get if missing).
# Options: --timeout SECONDS (default 480: a run takes about a minute, so a hung guest
# fails CI in minutes rather than eating its time), --keep-log (keep the guest console log), -- VITEST-ARGS (instead
# of the default test files).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=/var/tmp/scratch-cgroup2-vm
limit=480 mem=2048 cpus=2 keep_log=
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) limit=$2; shift 2 ;;
    --keep-log) keep_log=1; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--timeout S] [--keep-log] [-- VITEST-ARGS]" >&2; exit 2 ;;
  esac
done
cd "$repo"
if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=(test/unit/cgroups-*.test.ts test/integration/cgroups-*.test.ts test/integration/05-cgroups.test.ts
    test/integration/ctr-cgroups.test.ts test/integration/devices.test.ts)
fi

fail() { echo "test:cgroup2: $1" >&2; [ -z "${2:-}" ] || echo "  fix: $2" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (the guest reads this machine's files as root)" "sudo npm run test:cgroup2"
[ -d node_modules ] || fail "node_modules is missing" "npm ci"
[ -e /var/lib/scratch/rootfs/busybox/bin/sh ] || [ -L /var/lib/scratch/rootfs/busybox/bin/sh ] ||
  fail "the busybox rootfs is not built (lesson 05 runs its containers in it)" "npm run rootfs"

newest_kernel() { find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -1; }
kernel=$(newest_kernel)
if ! command -v qemu-system-x86_64 >/dev/null || [ -z "$kernel" ] || ! command -v busybox >/dev/null; then
  echo "test:cgroup2: installing qemu-system-x86, linux-image-amd64, busybox-static (once) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 linux-image-amd64 busybox-static >/dev/null
  kernel=$(newest_kernel)
fi
kver=${kernel#/boot/vmlinuz-}

# A tiny initramfs: load the virtio/9p/overlay modules, mount this machine's / read-only with a tmpfs on top,
# and switch to it. Built once per kernel version.
mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
initrd=$cache/initrd-$kver.gz
if [ ! -s "$initrd" ]; then
  root=$cache/initramfs
  rm -rf "$root" && mkdir -p "$root"/{bin,proc,sys,dev,lower,rw,newroot,lib/modules}
  cp "$(command -v busybox)" "$root/bin/busybox"
  for a in sh mount insmod mkdir switch_root cat sed ls sleep grep; do ln -s busybox "$root/bin/$a"; done
  for m in $mods; do
    # A module built into this kernel has no file: nothing to copy.
    if f=$(modinfo -k "$kver" -n "$m" 2>/dev/null) && [ -f "$f" ]; then cp "$f" "$root/lib/modules/$m.ko"; fi
  done
  echo "$mods" >"$root/mods"
  cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods); do [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null; done
for i in 1 2 3 4 5 6 7 8 9 10; do ls /sys/bus/virtio/devices/ 2>/dev/null | grep -q . && break; sleep 0.3; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || { echo "=== guest exit 125"; exit 1; }
mount -t tmpfs -o size=75% tmpfs /rw; mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || { echo "=== guest exit 125"; exit 1; }
script=$(sed -n 's/.*scr_run=\([^ ]*\).*/\1/p' /proc/cmdline)
mount --move /proc /newroot/proc; mount --move /sys /newroot/sys; mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh "$script"
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$initrd.tmp" && mv "$initrd.tmp" "$initrd"
fi

# The guest reads this machine's files, so the script it runs is a file here, named on the kernel command line.
mkdir -p "$cache"
run=$(mktemp -d "$cache/run.XXXXXX")
trap '[ -n "$keep_log" ] && echo "test:cgroup2: console log kept in $run/console.log" >&2 || rm -rf "$run"' EXIT
printf '%q ' npx vitest run "${tests[@]}" >"$run/cmd"
cat >"$run/guest.sh" <<GUEST
# A pure cgroup v2 host: one tree at /sys/fs/cgroup, the controllers handed down from the root.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for c in cpu memory pids io cpuset; do echo +\$c > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; done
mount -t tmpfs tmpfs /run; mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
hostname scr-cgroup2-guest; ip link set lo up 2>/dev/null
# As on any host where "ip netns" ever ran: iproute2 makes /run/netns a shared mount once and never removes it.
# Without it, the first container with --network none makes it, and the end-of-suite host check (whole in CI)
# counts that mount as left behind.
mkdir -p /run/netns && mount --bind /run/netns /run/netns && mount --make-shared /run/netns
# Temporary files stay in the guest: the host's /tmp is visible (read-only, through 9p) and holds the host's
# tsx IPC sockets, named by PID, which a guest process with the same parent PID would try to connect to.
mkdir -p /run/tmp
# The guest's / is itself an overlay (9p below, tmpfs above), and overlayfs refuses an upper dir on overlayfs
# (mount: EINVAL): each container's upper and work dirs get a tmpfs of their own, as they have a real disk here.
mkdir -p /var/lib/scratch/containers && mount -t tmpfs tmpfs /var/lib/scratch/containers
export HOME=/root PATH=$PATH CI=true TERM=dumb NO_COLOR=1 TMPDIR=/run/tmp
echo "=== guest up: kernel \$(uname -r), cgroup.controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
cd "$repo" && sh -c "\$(cat $run/cmd)" </dev/null
echo "=== guest exit \$?"
GUEST

echo "test:cgroup2: booting a cgroup v2 guest (kernel $kver) for: ${tests[*]}" >&2
started=$SECONDS
set +e
# The console is streamed as it comes: the firmware's noise before the boot and the kernel's own lines are
# dropped, everything from the guest script up to its exit marker is shown.
timeout "$limit" qemu-system-x86_64 -accel tcg -m "$mem" -smp "$cpus" -nographic -no-reboot \
  -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet loglevel=1 panic=-1 scr_run=$run/guest.sh" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap 2>&1 </dev/null |
  tee "$run/console.log" | tr -d '\r' | sed -u 's/\x1bc//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g' |
  awk '/=== guest up/ { on = 1 } /=== guest exit/ { on = 0 } on && !/^\[ *[0-9.]*\]/ { print; fflush() }'
code=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - started))
[ "$code" = 124 ] && { echo "test:cgroup2: the guest timed out after ${limit}s" >&2; exit 124; }
# Terminal escapes (vitest's cursor codes) can precede the marker on its line, hence no ^ anchor.
guest=$(tr -d '\r' <"$run/console.log" | sed -n 's/.*=== guest exit \([0-9][0-9]*\).*/\1/p' | tail -1)
if [ -z "$guest" ]; then
  echo "test:cgroup2: the guest did not finish; the end of its console follows" >&2
  tail -20 "$run/console.log" >&2
  exit 125
fi
echo "test:cgroup2: guest exit $guest after ${elapsed}s" >&2
exit "$guest"
