#!/usr/bin/env bash
# Provision a machine for the containers-from-scratch workshop.
#
# Runs as root on any Debian or Ubuntu: the Vagrant VM and the Lima VM call it, CI runs it on Debian 12, and
# you can run it by hand (sudo vagrant/provision.sh). It is idempotent: every step first checks whether its
# work is already done, so a second run installs nothing, downloads nothing and finishes in seconds. That also
# makes it safe offline once it has succeeded once (Lima runs it at every boot).
#
# Steps: apt packages → Node.js LTS (skipped when node >= 20.19 is there) → npm ci → npm run setup (the
# lessons' packages and the busybox rootfs) → offline image archives (lesson 07) → user namespaces for lesson 09
# (a subordinate id range for the workshop user; on Ubuntu 24.04, an AppArmor profile for unshare) → npm run doctor.
#
# Settings (environment):
#   WORKSHOP_DIR    the repository (default: the directory above this script)
#   WORKSHOP_USER   who owns node_modules and runs npm (default: the owner of WORKSHOP_DIR)
#   NODE_VERSION    install exactly this Node.js (e.g. v22.11.0) instead of the newest LTS, when one is needed
#   WORKSHOP_VM=1   set by the Vagrantfile and lima.yaml: also keep node_modules on the VM's own disk (see
#                   below) and open login shells in the repository. Never set it on a machine you care about.
#
# Usage: provision.sh            provision
#        provision.sh --mounts   only (re)do the VM mounts; the Vagrantfile runs this at every boot
set -euo pipefail

WORKSHOP_DIR=${WORKSHOP_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
WORKSHOP_USER=${WORKSHOP_USER:-$(stat -c %U "$WORKSHOP_DIR")}
WORKSHOP_VM=${WORKSHOP_VM:-0}
NODE_MIN=20.19.0
# Where node_modules really lives in a VM (see guest_node_modules).
GUEST_MODULES=/var/lib/workshop/node_modules

# The packages the provisioning itself needs, then the lessons' tools. `npm run setup` checks the lessons' list
# again (it is the authority); installing them here too means one apt-get run instead of two on a fresh VM.
PACKAGES=(
  ca-certificates curl xz-utils git
  util-linux mount iproute2 iptables procps psmisc kmod
  busybox-static debootstrap uidmap slirp4netns libcap2-bin jq gcc libc6-dev runc
  docker-registry skopeo
)
# docker-registry and skopeo: lesson 07 pulls from a registry it starts on 127.0.0.1 (optional for a laptop of
# your own, so not in npm run setup's list: the Debian package also starts a registry service for everyone).

step() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }
ok() { printf '    \033[32m✔\033[0m %s\n' "$*"; }
die() {
  printf '\033[31m✘ %s\033[0m\n' "$1" >&2
  [ -n "${2:-}" ] && printf '  fix: %s\n' "$2" >&2
  exit 1
}

# Run a command as the workshop user, with that user's HOME (npm keeps its cache there).
as_user() {
  local home
  home=$(getent passwd "$WORKSHOP_USER" | cut -d: -f6)
  runuser -u "$WORKSHOP_USER" -- env HOME="$home" PATH="$PATH" "$@"
}

version_at_least() { # version_at_least HAVE WANT
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# --- apt packages -------------------------------------------------------------------------------------------
install_packages() {
  step "apt packages"
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    ok "already installed: ${PACKAGES[*]}"
    return
  fi
  echo "    installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades on a fresh Ubuntu VM) may hold the lock for a while: wait, don't fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ok "installed: ${missing[*]}"
  quiet_registry_service
}

# Debian's docker-registry package enables a registry service on port 5000 for the whole network. The workshop
# never uses it (lesson 07 starts its own on 127.0.0.1; the classroom mirror is npm run mirror, on 5000 of the
# instructor's machine), so in the workshop VM it is turned off. Elsewhere it is left as the package set it up.
quiet_registry_service() {
  [ "$WORKSHOP_VM" = 1 ] || return 0
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
    ok "disabled the docker-registry service the package started (the workshop starts its own)"
  fi
}

# --- Node.js --------------------------------------------------------------------------------------------------
# Ubuntu 24.04's own nodejs is 18, too old for the workshop; the official tarball is checked against
# SHASUMS256.txt and unpacked into /usr/local, which comes first in PATH and in sudo's secure_path.
install_node() {
  step "Node.js"
  if command -v node >/dev/null 2>&1; then
    local have
    have=$(node -p 'process.versions.node')
    if version_at_least "$have" "$NODE_MIN"; then
      ok "node $have is here (>= $NODE_MIN needed): nothing to install"
      return
    fi
    echo "    node $have is older than $NODE_MIN: installing a current LTS next to it"
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no Node.js build for $(uname -m)" "install Node.js >= $NODE_MIN yourself, then re-run this script" ;;
  esac
  local base=https://nodejs.org/dist version=${NODE_VERSION:-}
  if [ -z "$version" ]; then
    # index.tab lists releases newest first; column 10 is the LTS codename, "-" for non-LTS releases.
    version=$(curl -fsSL "$base/index.tab" | awk -F'\t' 'NR > 1 && $10 != "-" { print $1; exit }') ||
      die "cannot reach nodejs.org to find the current LTS" "connect the VM to the network, or set NODE_VERSION"
  fi
  local tarball="node-$version-linux-$arch.tar.xz" tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this function
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  echo "    downloading $base/$version/$tarball"
  curl -fsSL -o "$tmp/$tarball" "$base/$version/$tarball"
  curl -fsSL -o "$tmp/SHASUMS256.txt" "$base/$version/SHASUMS256.txt"
  (cd "$tmp" && grep " $tarball\$" SHASUMS256.txt | sha256sum --check --quiet -) ||
    die "the Node.js download does not match its SHA-256 sum" "re-run the script (a truncated download?)"
  tar -xJf "$tmp/$tarball" -C /usr/local --strip-components=1 --no-same-owner \
    --exclude='*/CHANGELOG.md' --exclude='*/README.md' --exclude='*/LICENSE'
  # The old node may come first in this PATH; the rest of provisioning must use the new one.
  export PATH="/usr/local/bin:$PATH"
  hash -r
  ok "installed node $(node -p 'process.versions.node') (npm $(npm -v)) in /usr/local"
}

# --- node_modules on the VM's own disk ------------------------------------------------------------------------
# In a VM the repository is a folder shared with the laptop. node_modules must not live there: it holds
# Linux binaries (esbuild), would clash with a macOS or Windows node_modules of the same checkout, and shared
# folders are slow and refuse symlinks on Windows hosts. So the VM keeps it on its own disk and bind-mounts it
# over the shared folder's node_modules. Shared folders are mounted at every boot, so this runs at every boot.
guest_node_modules() {
  [ "$WORKSHOP_VM" = 1 ] || return 0
  step "node_modules on the VM disk"
  mkdir -p "$GUEST_MODULES" "$WORKSHOP_DIR/node_modules"
  chown "$WORKSHOP_USER:" "$GUEST_MODULES"
  if mountpoint -q "$WORKSHOP_DIR/node_modules"; then
    ok "$GUEST_MODULES already mounted on $WORKSHOP_DIR/node_modules"
  else
    mount --bind "$GUEST_MODULES" "$WORKSHOP_DIR/node_modules"
    ok "mounted $GUEST_MODULES on $WORKSHOP_DIR/node_modules"
  fi
}

# Login shells start in the repository, so `vagrant ssh` then `npm run lesson 05` just works.
login_in_repo() {
  [ "$WORKSHOP_VM" = 1 ] || return 0
  cat >/etc/profile.d/workshop.sh <<EOF
# containers-from-scratch: start login shells in the workshop repository (written by vagrant/provision.sh).
if [ -n "\${PS1:-}" ] && [ "\$PWD" = "\$HOME" ] && [ -d $WORKSHOP_DIR ]; then cd $WORKSHOP_DIR; fi
EOF
}

# --- npm ci -----------------------------------------------------------------------------------------------------
# npm ci always starts from scratch, which takes a minute; skip it when node_modules was installed from this
# very package-lock.json by this very node on this architecture.
install_modules() {
  step "npm ci"
  local marker="$WORKSHOP_DIR/node_modules/.workshop-installed" want
  want="$(sha256sum "$WORKSHOP_DIR/package-lock.json" | cut -d' ' -f1) node-$(node -p 'process.version') $(uname -m)"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    ok "node_modules matches package-lock.json: nothing to do"
    return
  fi
  (cd "$WORKSHOP_DIR" && as_user npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$want" | as_user tee "$marker" >/dev/null
  ok "node_modules installed"
}

# --- the lessons' packages and the default rootfs ---------------------------------------------------------------
run_setup() {
  step "npm run setup"
  (cd "$WORKSHOP_DIR" && npm run --silent setup)
}

# --- offline image archives (lesson 07) ------------------------------------------------------------------------
# Lesson 07 loads docker-archive and OCI-layout tars built locally from the busybox rootfs (npm run images), so the
# images lesson works with no network. npm run setup builds them already; this step says so (it is skipped in
# about a second when they are up to date) and stays for a checkout whose setup predates them.
build_images() {
  step "offline image archives (lesson 07)"
  if (cd "$WORKSHOP_DIR" && node -e 'process.exit(require("./package.json").scripts?.images ? 0 : 1)'); then
    (cd "$WORKSHOP_DIR" && npm run --silent images)
  else
    ok "no image builder yet (npm run images): nothing to build"
  fi
}

# --- user namespaces (lesson 09) --------------------------------------------------------------------------------
# The workshop user gets 65,536 subordinate uids and gids (useradd gives new users a range; a cloud image's first
# user may have none), at the first block no one holds yet.
subordinate_ids() {
  step "subordinate ids for $WORKSHOP_USER (lesson 09)"
  if grep -q "^$WORKSHOP_USER:" /etc/subuid 2>/dev/null && grep -q "^$WORKSHOP_USER:" /etc/subgid 2>/dev/null; then
    ok "$WORKSHOP_USER has a range: $(grep "^$WORKSHOP_USER:" /etc/subuid | head -n1)"
    return
  fi
  local start
  start=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: 'NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print (m > 100000 ? m : 100000) }')
  usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$WORKSHOP_USER"
  ok "$WORKSHOP_USER: ids $start-$((start + 65535)) in /etc/subuid and /etc/subgid"
}

# Ubuntu 24.04 gives a user namespace made without root no capabilities (kernel.apparmor_restrict_unprivileged_userns).
# Rather than turning that off for every program, one AppArmor profile lets util-linux's unshare through: see the
# comment in vagrant/apparmor/scratch-unshare for why, and for what it costs.
apparmor_userns() {
  local knob=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
  step "AppArmor and user namespaces (lesson 09)"
  if [ ! -r "$knob" ] || [ "$(cat "$knob")" != 1 ]; then
    ok "unprivileged user namespaces are not restricted by AppArmor here: nothing to do"
    return
  fi
  local src="$WORKSHOP_DIR/vagrant/apparmor/scratch-unshare" dst=/etc/apparmor.d/scratch-unshare
  if cmp -s "$src" "$dst" && grep -q '^scratch-unshare ' /sys/kernel/security/apparmor/profiles 2>/dev/null; then
    ok "profile scratch-unshare is installed and loaded: unshare may make user namespaces"
    return
  fi
  install -m 644 "$src" "$dst"
  apparmor_parser -r "$dst"
  ok "installed and loaded $dst (the restriction stays on for every other program)"
}

run_doctor() {
  step "npm run doctor"
  (cd "$WORKSHOP_DIR" && npm run --silent doctor)
}

main() {
  [ "$(id -u)" = 0 ] || die "provisioning installs packages and needs root" "sudo $0"
  command -v apt-get >/dev/null || die "this script knows Debian and Ubuntu (apt-get)" "see vagrant/README.md"
  [ -f "$WORKSHOP_DIR/package.json" ] || die "$WORKSHOP_DIR is not the workshop repository" "WORKSHOP_DIR=/path/to/repo $0"
  local started=$SECONDS
  if [ "${1:-}" = "--mounts" ]; then
    guest_node_modules
    return
  fi
  local os
  os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
  echo "Provisioning $WORKSHOP_DIR for user $WORKSHOP_USER on $os ($(uname -m))"
  install_packages
  install_node
  guest_node_modules
  login_in_repo
  install_modules
  run_setup
  build_images
  subordinate_ids
  apparmor_userns
  run_doctor
  printf '\n\033[1;32mProvisioned in %ss.\033[0m Next: cd %s && npm run lesson 00\n' $((SECONDS - started)) "$WORKSHOP_DIR"
}

main "$@"
