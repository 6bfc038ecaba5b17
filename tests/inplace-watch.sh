#!/usr/bin/env bash
# The merge watch for in-place guest_memfd conversion (issue #14). Prints ONE line, always exits 0 while the ABI is
# not in Debian (it is not a test and counts as none):
#   in-place conversion: not in Debian yet (newest linux-libc-dev X from SUITE)
# Reads the package index of the suites below through a private apt configuration on the mirror of this machine's apt
# configuration (tests/kvm-guest/lib.sh), downloads only the newest linux-libc-dev (cached by version) and looks for
# KVM_SET_MEMORY_ATTRIBUTES2 in its linux/kvm.h. Offline or slow: says so in the line, exits 0.
# The day it appears:
#   1. generates bindings from those headers (kvmsdk generate: must succeed),
#   2. compares the in-place names with the closest overlay under uapi-headers/proposed/inplace-conversion-v*
#      (kvmsdk abi diff): any difference in KVM_SET_MEMORY_ATTRIBUTES2, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES or
#      struct kvm_memory_attributes2 fails (exit 1: the SDK must be updated),
#   3. runs the kernel tests in the `inplace` lane (that suite's kernel, kvm rebuilt, the module parameter on).
# env: INPLACE_WATCH_SUITES (default "experimental unstable trixie-backports"), INPLACE_WATCH_TIMEOUT (s, default 180),
#      INPLACE_WATCH_HEADERS=DIR  skip the download and use DIR/usr/include (a synthetic header, for testing this path),
#      INPLACE_WATCH_LANE=0       do not run the inplace lane (its kernel is chosen from the same suite).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$here/.." && pwd)
SUITES=${INPLACE_WATCH_SUITES:-experimental unstable trixie-backports}
LIMIT=${INPLACE_WATCH_TIMEOUT:-180}
KVMSDK=${KVMSDK:-$ROOT/kvmsdk}

# --- 1. the newest linux-libc-dev (index only, bounded), then its headers (cached by version) ----------------------
look() { # prints "VERSION SUITE" of the highest linux-libc-dev over $SUITES and extracts it under the cache
  # shellcheck source=kvm-guest/lib.sh
  source "$here/kvm-guest/lib.sh"
  local best="" bs="" s v
  for s in $SUITES; do
    v=$( (kg_apt "$s" >/dev/null 2>&1 && apt-cache "${APTO[@]}" show linux-libc-dev 2>/dev/null) | awk '/^Version:/{print $2}' | sort -V | tail -1)
    [ -n "$v" ] || continue
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; bs=$s; fi
  done
  [ -n "$best" ] || return 1
  echo "$best $bs"
  local d=$KG_CACHE/inplace-watch/linux-libc-dev_$best
  [ -e "$d/usr/include/linux/kvm.h" ] && return 0
  kg_apt "$bs" >/dev/null 2>&1 || return 2
  local t; t=$(mktemp -d); rm -rf "$d"; mkdir -p "$d"
  if kg_apt_download "$t" "linux-libc-dev=$best" >/dev/null 2>&1 && dpkg-deb -x "$t"/linux-libc-dev_*.deb "$d"; then rm -rf "$t"; return 0; fi
  rm -rf "$t" "$d"; return 2
}

if [ -n "${INPLACE_WATCH_HEADERS:-}" ]; then
  VER="synthetic"; SUITE="$INPLACE_WATCH_HEADERS"; HDR=$INPLACE_WATCH_HEADERS
else
  export -f look; export here SUITES
  found=$(timeout "$LIMIT" bash -c look); rc=$?
  read -r VER SUITE <<<"${found:-}"
  if [ -z "${VER:-}" ]; then
    echo "in-place conversion: not checked (no package index of $SUITES reachable within ${LIMIT} s: offline?)"; exit 0
  fi
  source "$here/kvm-guest/lib.sh"
  HDR=$KG_CACHE/inplace-watch/linux-libc-dev_$VER
  if [ "$rc" != 0 ] || [ ! -e "$HDR/usr/include/linux/kvm.h" ]; then
    echo "in-place conversion: not checked (newest linux-libc-dev $VER from $SUITE could not be downloaded within ${LIMIT} s)"; exit 0
  fi
fi
KVM_H=$HDR/usr/include/linux/kvm.h
if ! grep -q 'KVM_SET_MEMORY_ATTRIBUTES2' "$KVM_H" 2>/dev/null; then
  echo "in-place conversion: not in Debian yet (newest linux-libc-dev $VER from $SUITE)"; exit 0
fi

# --- 2. it is there: bindings, the ABI against the closest overlay, the inplace lane --------------------------------
echo "in-place conversion: KVM_SET_MEMORY_ATTRIBUTES2 is in linux-libc-dev $VER from $SUITE"
ARCHDIR=$HDR/usr/include/x86_64-linux-gnu; [ -d "$ARCHDIR" ] || ARCHDIR=$HDR/usr/include
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
if ! "$KVMSDK" generate --include "$ARCHDIR" --include "$HDR/usr/include" --arch x86_64 --out "$W/gen" > "$W/gen.log" 2>&1; then
  cat "$W/gen.log"; echo "in-place conversion: FAIL: kvmsdk generate failed on linux-libc-dev $VER"; exit 1
fi
echo "in-place conversion: bindings generated ($(find "$W/gen" -name '*.cs' | wc -l) files)"
cap=$(sed -n 's/^#define[[:space:]]\+KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES[[:space:]]\+\([0-9]\+\).*/\1/p' "$KVM_H" | head -1)
closest=""
for o in "$ROOT"/uapi-headers/proposed/inplace-conversion-v*/; do
  o=$(basename "$o")
  c=$(sed -n 's/^#define[[:space:]]\+KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES[[:space:]]\+\([0-9]\+\).*/\1/p' "$ROOT/uapi-headers/proposed/$o/linux/kvm_proposed.h")
  [ "$c" = "$cap" ] && closest=$o
  latest=$o
done
closest=${closest:-$latest}
base=$(cat "$ROOT/uapi-headers/proposed/$closest/BASE")
"$KVMSDK" abi diff "$base+$closest" "$ARCHDIR:$HDR/usr/include" > "$W/diff.txt" 2> "$W/diff.err" || { cat "$W/diff.err"; echo "in-place conversion: FAIL: kvmsdk abi diff failed"; exit 1; }
# Only the in-place names decide (a newer kernel adds and renumbers much else): entries of the removed, renumbered and
# layout-changed sections that name them. The text form is "<section> (N)" then "  <entry>" lines.
mism=$(awk '/^[a-z]/ { sec = $0; sub(/ \([0-9]+\)$/, "", sec); next }
            (sec == "removed" || sec == "renumbered" || sec == "layout changed") &&
            /KVM_SET_MEMORY_ATTRIBUTES2|KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES|kvm_memory_attributes2/ && !/KVM_SDK_/ {
              sub(/^  /, ""); print sec ": " $0 }' "$W/diff.txt")
if [ -n "$mism" ]; then
  echo "$mism" | sed 's/^/  /'
  echo "in-place conversion: FAIL: linux-libc-dev $VER differs from the $closest overlay (update the overlay and the SDK)"; exit 1
fi
echo "in-place conversion: linux-libc-dev $VER matches the $closest overlay (capability ${cap:-?})"
if [ "${INPLACE_WATCH_LANE:-1}" = 1 ] && [ -z "${INPLACE_WATCH_HEADERS:-}" ]; then
  pkg="linux-image-$(echo "$VER" | sed 's/-[^-]*$//')"   # best effort; lane.sh resolves SUITE:PKG as run.sh does
  param=gmem_in_place_conversion=Y; [ "$closest" = inplace-conversion-v7 ] && param=vm_memory_attributes=N
  INPLACE_KERNEL="$SUITE:${INPLACE_WATCH_IMAGE:-$pkg}" INPLACE_KVM_PARAMS="$param" "$here/kvm-guest/lane.sh" inplace || exit 1
fi
exit 0
