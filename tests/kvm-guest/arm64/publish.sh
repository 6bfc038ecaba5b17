#!/usr/bin/env bash
# publish.sh DIR - the four .NET programs the arm64 lanes run in the guest, built for linux-arm64 on this x86 host:
#   DIR/tests/Kvm.Sdk.KernelTests  the kernel tests: self-contained, not AOT (xunit needs reflection)
#   DIR/kvmsdk/kvmsdk              the kvmsdk tool (probe): NativeAOT single file
#   DIR/sample/GuestMemfdVmm       the sample VMM: NativeAOT, cross-linked by clang with the aarch64 binutils
#   DIR/linuxvmm/LinuxVmm          the Linux-booting sample VMM (its arm64 machine): NativeAOT the same way
# The guest has no .NET, so everything carries its runtime. Skipped when DIR holds a publish of the same sources
# (the three lanes share one). Concurrent callers serialise on a lock next to DIR.
# needs: clang (clang-14 here), gcc-aarch64-linux-gnu, libc6-dev-arm64-cross (tests/setup-machine.sh installs them)
set -euo pipefail
OUT=${1:?usage: publish.sh DIR}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$(dirname "$OUT")"
exec 8>"$OUT.lock"
flock 8
key=$(cd "$ROOT" && find src tests/Sdk.KernelTests samples/GuestMemfdVmm samples/LinuxVmm Directory.Build.props Directory.Packages.props \
        tests/kvm-guest/arm64/publish.sh -type f -not -path '*/bin/*' -not -path '*/obj/*' 2>/dev/null \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
[ "$(cat "$OUT/.source-key" 2>/dev/null)" = "$key" ] && exit 0

CLANG=$(command -v clang || command -v clang-14 || true)
[ -n "$CLANG" ] || { echo "publish.sh: no clang on PATH (NativeAOT for linux-arm64 links with it; apt install clang-14)" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"
LOG=$OUT.log; : > "$LOG"
step() {
  local what=$1; shift
  local t=$SECONDS
  if ! "$@" >> "$LOG" 2>&1; then tail -20 "$LOG" >&2; echo "publish.sh: $what failed (log: $LOG)" >&2; exit 1; fi
  echo "publish.sh: $what for linux-arm64 in $((SECONDS - t)) s"
}
common=(-c Release -r linux-arm64 -p:InvariantGlobalization=true -nologo)
step "kernel tests (self-contained)" dotnet publish "$ROOT/tests/Sdk.KernelTests" "${common[@]}" --self-contained -o "$OUT/tests"
# kvmsdk as users get the arm64 download: the NativeAOT single file (its probe then checks the native tool on a real
# arm64 KVM in every arm64 lane).
step "kvmsdk (NativeAOT)" dotnet publish "$ROOT/src/Cli" "${common[@]}" -p:KvmsdkNative=true \
  -p:CppCompilerAndLinker="$CLANG" -p:ObjCopyName=aarch64-linux-gnu-objcopy -o "$OUT/kvmsdk"
# gcc cannot be the cross linker here: the ILCompiler targets pass --target=aarch64-linux-gnu, which only clang takes.
step "sample (NativeAOT)" dotnet publish "$ROOT/samples/GuestMemfdVmm" "${common[@]}" -p:KvmAot=true \
  -p:CppCompilerAndLinker="$CLANG" -p:ObjCopyName=aarch64-linux-gnu-objcopy -o "$OUT/sample"
step "LinuxVmm (NativeAOT)" dotnet publish "$ROOT/samples/LinuxVmm" "${common[@]}" -p:KvmAot=true \
  -p:CppCompilerAndLinker="$CLANG" -p:ObjCopyName=aarch64-linux-gnu-objcopy -o "$OUT/linuxvmm"
echo "$key" > "$OUT/.source-key"
echo "publish.sh: $(du -sh "$OUT" | cut -f1) in $OUT (sample binary $(du -h "$OUT/sample/GuestMemfdVmm" | cut -f1))"
