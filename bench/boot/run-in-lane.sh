#!/usr/bin/env bash
# run-in-lane.sh [RUNS] — bench/boot/compare.sh inside the newest lane's guest (Debian 7.3.4 under QEMU TCG with
# emulated SVM), where both LinuxVmm and QEMU -accel kvm boot the same stock kernel nested. Results go to
# bench/results/boot/compare.txt. Takes about a minute per boot under TCG: RUNS=5 is 15 boots.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/bench/results/boot; mkdir -p "$OUT"
dotnet build "$ROOT/samples/LinuxVmm" -c Release -nologo -v q
"$ROOT/samples/LinuxVmm/make-initramfs.sh" "$OUT/initramfs.cpio.gz"
KERNEL=$("$ROOT/tests/kvm-guest/run.sh" --kernel newest --print-kernel)
"$ROOT/tests/kvm-guest/run.sh" --kernel newest --quiet --share "$OUT" --env "BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}" --console "$OUT/console.log" -- \
  bash "$ROOT/bench/boot/compare.sh" "$KERNEL" "$OUT/initramfs.cpio.gz" "${1:-5}" "$OUT/logs" | tee "$OUT/compare.txt"
