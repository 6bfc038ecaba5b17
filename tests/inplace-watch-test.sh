#!/usr/bin/env bash
# Tests the path of tests/inplace-watch.sh that runs the day KVM_SET_MEMORY_ATTRIBUTES2 reaches Debian, with synthetic
# linux-libc-dev trees: the vendored 7.3.4 headers with an overlay's definitions appended to linux/kvm.h (as a merge
# would put them). A tree matching the v8 overlay must pass; one whose capability or struct differs must fail.
# Prints one line; exit 1 when the watch did not decide as expected.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$here/.." && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
tree() { # NAME OVERLAY SED: a synthetic tree from 7.3.4 + the overlay's body edited by SED
  local d=$W/$1/usr/include
  mkdir -p "$d"; cp -r "$ROOT/uapi-headers/7.3.4/." "$d/"; rm -f "$d/PROVENANCE"
  sed -n '/^#include <linux\/kvm.h>/,/^#endif/p' "$ROOT/uapi-headers/proposed/$2/linux/kvm_proposed.h" \
    | sed '1d;$d' | grep -v KVM_SDK_INPLACE_POSTING | sed "$3" > "$W/$1.add"
  sed -i "/^#endif \/\* __LINUX_KVM_H \*\//e cat $W/$1.add" "$d/linux/kvm.h"
  grep -q KVM_SET_MEMORY_ATTRIBUTES2 "$d/linux/kvm.h" || { echo "inplace-watch-test: could not build tree $1"; exit 1; }
}
tree match inplace-conversion-v8 's/^//'
tree renumbered inplace-conversion-v8 's/\(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES\) 250/\1 252/'
tree layout inplace-conversion-v8 's/__u64 reserved\[11\];/__u64 reserved[12];/'
fails=0
run() { # NAME EXPECTED-STATUS
  INPLACE_WATCH_HEADERS=$W/$1 bash "$here/inplace-watch.sh" > "$W/$1.log" 2>&1; local st=$?
  if [ "$st" != "$2" ]; then echo "inplace-watch-test: $1: exit $st, expected $2"; sed 's/^/  /' "$W/$1.log"; fails=$((fails + 1)); fi
}
run match 0; run renumbered 1; run layout 1
grep -q 'matches the inplace-conversion-v8 overlay' "$W/match.log" || { echo "inplace-watch-test: match: no 'matches' line"; fails=$((fails + 1)); }
grep -q 'renumbered: capability KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES' "$W/renumbered.log" || { echo "inplace-watch-test: renumbered: the capability was not named"; fails=$((fails + 1)); }
grep -q 'layout changed: kvm_memory_attributes2' "$W/layout.log" || { echo "inplace-watch-test: layout: the struct change was not named"; fails=$((fails + 1)); }
[ "$fails" = 0 ] && echo "inplace-watch-test: the merge path decides right on synthetic headers (match passes; renumbered capability and changed layout fail)" || exit 1
