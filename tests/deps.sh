#!/usr/bin/env bash
# Install the Debian packages guestlan's build, tests and demo need, if any is
# missing.  Used by tests/run.sh, samples/demo.sh and .ci/run.
set -euo pipefail
# Every tool a script here calls, including the ones a minimal Debian may
# lack: cpio and gzip pack the test guest's initramfs (tests/e2e/newc.sh),
# git checks hercules-patch/ against Hyperion's tree.
pkgs=(build-essential cmake pkg-config check libsubunit-dev libpcap-dev tshark
      clang clang-format python3 iproute2 iputils-ping procps cpio gzip git)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "guestlan: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # tshark asks whether non-root users may capture; the default (no) is fine.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
