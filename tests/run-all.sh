#!/usr/bin/env bash
# The whole test run, as CI does it on a fresh machine: install packages, build, host tests, kernel lanes.
# Ends with one plain line `tests: N passed, N failed, N skipped` summed over every test project and lane.
#   LANES="newest private legacy"   which kernel lanes to run (default: all of tests/kvm-guest/lanes, the fast host
#                                   lane first; LANES=host PACKAGE_TEST=0 is build + host tests + host lane)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${TEST_OUT:-$ROOT/artifacts/test}
rm -rf "$OUT"; mkdir -p "$OUT"
rc=0

bash tests/setup-machine.sh || exit 1
dotnet build Sdk.sln -c Release 2>&1 | tee "$OUT/build.log" | grep -E 'error|Warn|Elapsed' ; [ "${PIPESTATUS[0]}" = 0 ] || { echo "build failed"; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

# Host tests (VSTest; one summary line per test assembly).
dotnet test Sdk.sln -c Release --no-build 2>&1 | tee "$OUT/host-tests.log"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
grep -E '^(Passed|Failed)!' "$OUT/host-tests.log" \
  | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' > "$OUT/counts.txt"

# The merge watch for in-place conversion (#14): one line, no test count; fails the run only when the ABI has
# reached Debian and differs from the SDK's overlay, or its inplace lane fails.
bash tests/inplace-watch.sh 2>&1 | tee "$OUT/inplace-watch.log"; [ "${PIPESTATUS[0]}" = 0 ] || rc=1
# ...and its merge-day path on synthetic headers (one line; ~10 s).
bash tests/inplace-watch-test.sh 2>&1 | tee -a "$OUT/inplace-watch.log"; [ "${PIPESTATUS[0]}" = 0 ] || rc=1

# Kernel lanes: each writes "<passed> <failed> <skipped>" to $OUT/lane-<name>.counts; a lane that ran no kernel
# test counts as a failure. The one exception: the host lane on a machine without a usable /dev/kvm writes no
# counts but lane-host.skipped, and is then not counted at all (neither a pass nor a failure).
if [ -x tests/kvm-guest/lane.sh ]; then
  for lane in ${LANES:-$(cat tests/kvm-guest/lanes)}; do
    echo "=== kernel lane $lane ==="
    LANE_OUT="$OUT" tests/kvm-guest/lane.sh "$lane" 2>&1 | tee "$OUT/lane-$lane.out"; [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    if [ -s "$OUT/lane-$lane.counts" ]; then cat "$OUT/lane-$lane.counts" >> "$OUT/counts.txt"
    elif [ "$lane" = host ] && [ -s "$OUT/lane-host.skipped" ]; then :  # lane.sh said so in one line
    else echo "0 1 0" >> "$OUT/counts.txt"; echo "lane $lane: no results"; rc=1; fi
  done
fi

# The package test: pack, restore into fresh projects, analyzer + regenerated bindings, run in the newest lane.
if [ "${PACKAGE_TEST:-1}" = 1 ] && [ -x tests/package/run.sh ]; then
  echo "=== package test ==="
  LANE_OUT="$OUT" tests/package/run.sh 2>&1 | tee "$OUT/package.out"; [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  if [ -s "$OUT/package.counts" ]; then cat "$OUT/package.counts" >> "$OUT/counts.txt"; else echo "0 1 0" >> "$OUT/counts.txt"; rc=1; fi
fi

# The newcomer test: the README's commands word for word (package, tour, tool install, every --help, the refusals).
if [ "${NEWCOMER_TEST:-1}" = 1 ] && [ -x tests/newcomer/run.sh ]; then
  echo "=== newcomer test ==="
  LANE_OUT="$OUT" tests/newcomer/run.sh 2>&1 | tee "$OUT/newcomer.out"; [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  if [ -s "$OUT/newcomer.counts" ]; then cat "$OUT/newcomer.counts" >> "$OUT/counts.txt"; else echo "0 1 0" >> "$OUT/counts.txt"; rc=1; fi
fi

# What failed, gathered from every part's log, right above the closing line: a CI log that keeps only its tail
# still names the failures (without this, a red run far from this machine said only "5 failed").
bash tests/failures.sh "$OUT"
awk '{p+=$1; f+=$2; s+=$3} END {printf "tests: %d passed, %d failed, %d skipped\n", p, f, s}' "$OUT/counts.txt"
awk '{f+=$2} END {exit f > 0}' "$OUT/counts.txt" || rc=1
exit $rc
