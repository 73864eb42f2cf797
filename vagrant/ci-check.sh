#!/usr/bin/env bash
# CI for the workshop VM, on a Debian 12 machine as root (called by .ci/run).
#
# No hypervisor exists in CI, so no VM boots here. What can be proven is proven:
#   1. the Vagrantfile is valid, for each architecture and sync setting: `vagrant validate --ignore-provider`
#      (plain `validate` fails only because no provider is installed; Debian 12's vagrant 2.3.4 has the flag);
#   2. provision.sh and this script pass shellcheck; lima.yaml is well-formed and says what the README says;
#   3. provision.sh runs for real on this machine, ends with a green `npm run doctor`, and a second run is
#      idempotent (installs nothing, reinstalls nothing).
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(cd .. && pwd)
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS
phase() { printf '\n=== vagrant/ci-check: %s (%ss)\n' "$1" $((SECONDS - started)); }
fail() {
  printf '✘ %s\n' "$*" >&2
  exit 1
}

# Every vagrant command (even --help) creates .vagrant/ next to the Vagrantfile; a CI run must not leave one.
had_state=$([ -d .vagrant ] && echo yes || echo no)

phase "tools: vagrant, shellcheck, python3-yaml"
missing=()
for pkg in vagrant shellcheck python3-yaml; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
vagrant --version
vagrant validate --help | grep -q -- '--ignore-provider' ||
  fail "this vagrant has no 'validate --ignore-provider'; the check below would fail for want of a provider alone"

phase "vagrant validate --ignore-provider"
validate() {
  printf '  %-48s ' "${*:-(defaults)}"
  env "$@" vagrant validate --ignore-provider --no-tty | tail -n1
}
validate
validate WORKSHOP_ARCH=arm64
validate WORKSHOP_ARCH=amd64 WORKSHOP_CPUS=4 WORKSHOP_MEMORY=4096
validate WORKSHOP_SYNC_TYPE=rsync
validate WORKSHOP_BOX=cloud-image/ubuntu-24.04
# And it must refuse nonsense rather than boot something surprising.
if WORKSHOP_ARCH=sparc vagrant validate --ignore-provider --no-tty >/dev/null 2>&1; then
  fail "the Vagrantfile accepted WORKSHOP_ARCH=sparc"
fi
echo "  WORKSHOP_ARCH=sparc                              refused, as it should be"
[ "$had_state" = yes ] || rm -rf .vagrant

phase "shellcheck"
shellcheck provision.sh ci-check.sh
echo "  provision.sh ci-check.sh: clean"

phase "lima.yaml"
python3 - lima.yaml <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
problems = []
archs = {i.get("arch"): i.get("location", "") for i in doc.get("images", [])}
for arch in ("x86_64", "aarch64"):
    loc = archs.get(arch, "")
    if "ubuntu-24.04" not in loc and "noble" not in loc:
        problems.append(f"no Ubuntu 24.04 image for {arch}")
mounts = doc.get("mounts", [])
if not any(m.get("mountPoint") == "/workshop" and m.get("writable") for m in mounts):
    problems.append("the repository is not mounted writable at /workshop")
scripts = [p.get("script", "") for p in doc.get("provision", []) if p.get("mode") == "system"]
if not any("/workshop/vagrant/provision.sh" in s and "WORKSHOP_VM=1" in s for s in scripts):
    problems.append("no system provisioning step runs /workshop/vagrant/provision.sh with WORKSHOP_VM=1")
if doc.get("cpus") != 2 or doc.get("memory") != "2GiB":
    problems.append("the default size is not 2 CPUs and 2GiB")
for p in problems:
    print(f"✘ lima.yaml: {p}")
if problems:
    sys.exit(1)
print(f"  images for {', '.join(sorted(archs))}; /workshop mounted writable; provisioned by provision.sh")
EOF

phase "provision.sh, for real, on this machine"
first_started=$SECONDS
WORKSHOP_DIR=$REPO bash provision.sh
first=$((SECONDS - first_started))

phase "provision.sh again: nothing left to do"
second_started=$SECONDS
log=$(WORKSHOP_DIR=$REPO bash provision.sh 2>&1) || {
  printf '%s\n' "$log"
  fail "the second provisioning run failed"
}
second=$((SECONDS - second_started))
for expected in "already installed:" "nothing to install" "node_modules matches package-lock.json" "Ready:"; do
  grep -q "$expected" <<<"$log" || {
    printf '%s\n' "$log"
    fail "second run: expected \"$expected\" (is provisioning still idempotent?)"
  }
done
echo "  first run ${first}s, second run ${second}s: idempotent, doctor green"
echo "vagrant/ci-check: done in $((SECONDS - started))s"
