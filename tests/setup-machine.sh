#!/usr/bin/env bash
# Installs what a fresh build machine lacks for the whole test run: QEMU for the kernel lanes, the arm64 cross
# compiler for the layout oracle, clang-14 to link the sample's NativeAOT build for arm64, busybox/kmod/cpio for
# the guest initramfs, debootstrap for the rebuilt kvm modules. Idempotent; needs root (CI runs as root). Skips apt entirely when everything is present.
set -euo pipefail
#   --guest   only what `kvmsdk probe` needs to boot its throw-away x86_64 guest (QEMU and the initramfs tools)
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
packages=(qemu-system-x86 qemu-system-arm busybox-static kmod cpio xz-utils zstd debootstrap
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu gcc-s390x-linux-gnu gcc-powerpc64le-linux-gnu qemu-user-static gcc libc6-dev unzip clang-14 device-tree-compiler)
[ "${1:-}" = --guest ] && packages=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd)
for p in "${packages[@]}"; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then echo "setup: all packages present"; exit 0; fi
echo "setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (an unattended upgrade, a second job) may hold the dpkg lock for a while: wait for it.
for i in $(seq 30); do
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" && exit 0
  echo "setup: apt busy or failed (try $i), retrying in 10 s"; sleep 10
done
echo "setup: could not install ${need[*]}" >&2
exit 1
