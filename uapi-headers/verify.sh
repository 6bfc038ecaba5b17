#!/usr/bin/env bash
# Offline self-check of uapi-headers/ (no network, a few seconds):
#  1. every vendored version dir matches its PROVENANCE: each listed file's sha256, no file missing,
#     no file present that PROVENANCE does not list; DEFAULT names an existing version dir; each of the six
#     architectures is vendored or listed 'absent', and <linux/kvm.h> compiles for it with its cross compiler;
#  2. if gcc is available, each proposed/ overlay compiles on top of its base version (proposed/<name>/BASE; x86_64, and arm64
#     when aarch64-linux-gnu-gcc is there) and its sizes and ioctl numbers are the ones in
#     shared/reference/gmem-uapi.md. Exits non-zero on any mismatch.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
fail=0
bad() { echo "verify: FAIL: $*" >&2; fail=1; }

versions=$(ls -1 | grep -E '^[0-9]+\.[0-9]+(\.[0-9]+)?$' | sort -V || true)
[ -n "$versions" ] || bad "no vendored version dirs"
for v in $versions; do
  p=$v/PROVENANCE
  [ -f "$p" ] || { bad "$v: no PROVENANCE"; continue; }
  grep -qx "upstream $v" "$p" || bad "$v: PROVENANCE 'upstream' line does not name $v"
  grep -qx 'license GPL-2.0 WITH Linux-syscall-note' "$p" || bad "$v: PROVENANCE has no licence line"
  grep -q '^package ' "$p" || bad "$v: PROVENANCE lists no package"
  n=0
  while read -r _ sha rel _; do
    n=$((n + 1))
    if [ ! -f "$v/$rel" ]; then bad "$v/$rel: listed in PROVENANCE but missing"; continue; fi
    [ "$(sha256sum "$v/$rel" | cut -d' ' -f1)" = "$sha" ] || bad "$v/$rel: sha256 mismatch"
  done < <(grep '^file ' "$p")
  while read -r f; do
    grep -q "^file [0-9a-f]\{64\} ${f#./} " "$p" || bad "$v/${f#./}: not listed in PROVENANCE"
  done < <(cd "$v" && find . -type f ! -name PROVENANCE)
  echo "verify: $v: $n files match PROVENANCE"
done
# Every architecture dir a version has: <linux/kvm.h> compiles with that architecture's cross compiler (when
# installed; tests/setup-machine.sh installs them) using the vendored files alone; an 'absent' ABI has no dir.
declare -A XCC=([x86_64-linux-gnu]=gcc [aarch64-linux-gnu]=aarch64-linux-gnu-gcc [riscv64-linux-gnu]=riscv64-linux-gnu-gcc
                [s390x-linux-gnu]=s390x-linux-gnu-gcc [powerpc64le-linux-gnu]=powerpc64le-linux-gnu-gcc
                [loongarch64-linux-gnu]=loongarch64-linux-gnu-gcc)
for v in $versions; do
  for t in "${!XCC[@]}"; do
    if grep -qx "absent $t" "$v/PROVENANCE"; then
      [ ! -e "$v/$t" ] || bad "$v: PROVENANCE says $t is absent, but $v/$t exists"; continue
    fi
    [ -f "$v/$t/asm/kvm.h" ] || { bad "$v: no $t/asm/kvm.h and no 'absent $t' line"; continue; }
    command -v "${XCC[$t]}" >/dev/null || { echo "verify: $v $t: ${XCC[$t]} not installed, compile check skipped"; continue; }
    printf '#include <linux/kvm.h>\n' | "${XCC[$t]}" -fsyntax-only -nostdinc -I "$v/$t" -I "$v" -x c - || bad "$v: <linux/kvm.h> does not compile for $t"
  done
  echo "verify: $v: architectures $(cd "$v" && ls -d *-linux-gnu | tr '\n' ' ')(compile-checked where the compiler is installed)"
done
if [ -f DEFAULT ]; then
  d=$(cat DEFAULT)
  [ -f "$d/PROVENANCE" ] || bad "DEFAULT names '$d', which is not a vendored version"
else
  bad "no DEFAULT"
fi

# --- overlays: compile and check sizes / ioctl numbers against the facts in gmem-uapi.md -------------------
check_overlay() { # dir cc triplet; C assertions on stdin
  local dir=$1 cc=$2 trip=$3 base
  base=$(cat "proposed/$dir/BASE" 2>/dev/null || true)
  [ -n "$base" ] && [ -f "$base/PROVENANCE" ] || { bad "proposed/$dir: BASE missing or not a vendored version"; return; }
  if "$cc" -fsyntax-only -nostdinc -I "proposed/$dir" -I "$base/$trip" -I "$base" -x c - 2>"${TMPDIR:-/tmp}/verify-$$.err"; then
    echo "verify: proposed/$dir on $base ($trip): compiles, sizes and numbers as documented"
  else
    cat "${TMPDIR:-/tmp}/verify-$$.err" >&2; bad "proposed/$dir on $base ($trip)"
  fi
  rm -f "${TMPDIR:-/tmp}/verify-$$.err"
}
for o in proposed/*/; do
  o=${o%/}; o=${o#proposed/}
  case "$o" in inplace-conversion-v7|inplace-conversion-v8|gmem-convert-rfc-v2) ;; *) bad "proposed/$o: no checks in verify.sh" ;; esac
done
if command -v gcc >/dev/null; then
  for tc in "gcc x86_64-linux-gnu" "aarch64-linux-gnu-gcc aarch64-linux-gnu"; do
    set -- $tc
    command -v "$1" >/dev/null || { echo "verify: $1 not installed, skipping $2 overlay checks"; continue; }
    check_overlay inplace-conversion-v7 "$1" "$2" <<'EOF'
#include <linux/kvm_proposed.h>
#define offsetof(T, m) __builtin_offsetof(T, m) /* -nostdinc: no <stddef.h> */
_Static_assert(sizeof(struct kvm_memory_attributes2) == 128, "kvm_memory_attributes2 size");
_Static_assert(offsetof(struct kvm_memory_attributes2, offset) == 0, "offset");
_Static_assert(offsetof(struct kvm_memory_attributes2, address) == 0, "address");
_Static_assert(offsetof(struct kvm_memory_attributes2, size) == offsetof(struct kvm_memory_attributes, size), "size");
_Static_assert(offsetof(struct kvm_memory_attributes2, attributes) == offsetof(struct kvm_memory_attributes, attributes), "attributes");
_Static_assert(offsetof(struct kvm_memory_attributes2, flags) == offsetof(struct kvm_memory_attributes, flags), "flags");
_Static_assert(offsetof(struct kvm_memory_attributes2, error_offset) == 32, "error_offset");
_Static_assert(offsetof(struct kvm_memory_attributes2, reserved) == 40, "reserved");
_Static_assert(KVM_SDK_INPLACE_POSTING == 7, "posting");
_Static_assert(KVM_SET_MEMORY_ATTRIBUTES2 == 0xC080AED2u, "KVM_SET_MEMORY_ATTRIBUTES2");
_Static_assert(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES == 249, "cap");
/* The collision the SDK's generator must report: */
_Static_assert(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES == KVM_CAP_S390_HPAGE_2G, "249 collides in the base header");
EOF
    check_overlay inplace-conversion-v8 "$1" "$2" <<'EOF'
#include <linux/kvm_proposed.h>
#define offsetof(T, m) __builtin_offsetof(T, m) /* -nostdinc: no <stddef.h> */
_Static_assert(sizeof(struct kvm_memory_attributes2) == 128, "kvm_memory_attributes2 size");
_Static_assert(offsetof(struct kvm_memory_attributes2, offset) == 0, "offset");
_Static_assert(offsetof(struct kvm_memory_attributes2, address) == 0, "address");
_Static_assert(offsetof(struct kvm_memory_attributes2, size) == offsetof(struct kvm_memory_attributes, size), "size");
_Static_assert(offsetof(struct kvm_memory_attributes2, attributes) == offsetof(struct kvm_memory_attributes, attributes), "attributes");
_Static_assert(offsetof(struct kvm_memory_attributes2, flags) == offsetof(struct kvm_memory_attributes, flags), "flags");
_Static_assert(offsetof(struct kvm_memory_attributes2, error_offset) == 32, "error_offset");
_Static_assert(offsetof(struct kvm_memory_attributes2, reserved) == 40, "reserved");
_Static_assert(KVM_SDK_INPLACE_POSTING == 8, "posting");
_Static_assert(KVM_SET_MEMORY_ATTRIBUTES2 == 0xC080AED2u, "KVM_SET_MEMORY_ATTRIBUTES2");
_Static_assert(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES == 250, "cap");
/* The collision the SDK's generator must report: */
_Static_assert(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES == KVM_CAP_PPC_COMPAT_CAPS, "250 collides in the base header");
EOF
    check_overlay gmem-convert-rfc-v2 "$1" "$2" <<'EOF'
#include <linux/kvm_proposed.h>
#define offsetof(T, m) __builtin_offsetof(T, m) /* -nostdinc: no <stddef.h> */
_Static_assert(sizeof(struct kvm_gmem_convert) == 64, "kvm_gmem_convert size");
_Static_assert(offsetof(struct kvm_gmem_convert, size) == 8, "size");
_Static_assert(offsetof(struct kvm_gmem_convert, error_offset) == 16, "error_offset");
_Static_assert(offsetof(struct kvm_gmem_convert, reserved) == 24, "reserved");
_Static_assert(KVM_GMEM_CONVERT_SHARED == 0xC040AF41u, "KVM_GMEM_CONVERT_SHARED");
_Static_assert(KVM_GMEM_CONVERT_PRIVATE == 0xC040AF42u, "KVM_GMEM_CONVERT_PRIVATE");
_Static_assert(KVM_CAP_GMEM_SHARED_MEM == 240 && KVM_CAP_GMEM_CONVERSION == 241 && KVM_CAP_GMEM_HUGETLB == 242, "caps");
_Static_assert(GUEST_MEMFD_FLAG_SUPPORT_SHARED == 1 && GUEST_MEMFD_FLAG_INIT_PRIVATE == 2 && GUEST_MEMFD_FLAG_HUGETLB == 4, "flags");
/* The collisions the SDK's generator must report: */
_Static_assert(KVM_CAP_GMEM_SHARED_MEM == KVM_CAP_ARM_EL2 && KVM_CAP_GMEM_CONVERSION == KVM_CAP_ARM_EL2_E2H0
               && KVM_CAP_GMEM_HUGETLB == KVM_CAP_RISCV_MP_STATE_RESET, "240-242 collide in the base header");
EOF
  done
else
  echo "verify: gcc not installed, skipping overlay checks"
fi

[ "$fail" = 0 ] && echo "verify: OK" || { echo "verify: FAILED" >&2; exit 1; }
