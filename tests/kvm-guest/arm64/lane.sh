#!/usr/bin/env bash
# lane.sh <arm64-newest|arm64-legacy|arm64-protected> - one arm64 kernel lane (tests/kvm-guest/lane.sh dispatches
# arm64-* here). Publishes tests/Sdk.KernelTests for linux-arm64 (self-contained, once per source state), boots the
# lane's arm64 kernel under TCG (run.sh), runs the arm64 kernel tests in it, and writes
# $LANE_OUT/lane-<lane>.counts = "<passed> <failed> <skipped>". A lane that executed no test fails.
#   arm64-newest     7.3.x (trixie-backports), default KVM mode (VHE)
#   arm64-legacy     6.12 (trixie): no guest_memfd on arm64
#   arm64-protected  7.3.x with kvm-arm.mode=protected (pKVM): records what a protected VM answers
# env: LANE_OUT (default artifacts/test), KVM_GUEST_CACHE (run.sh), ARM64_TEST_FILTER (xunit filter arguments;
#      default: -namespace Kvm.KernelTests.Arm64), ARM64_PUBLISH_DIR (a published linux-arm64 app to use as is),
#      ARM64_CPU (QEMU -cpu model for the guest; default: run.sh's)
set -uo pipefail
lane=${1:?usage: lane.sh <arm64-newest|arm64-legacy|arm64-protected>}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
LANE_OUT=${LANE_OUT:-$ROOT/artifacts/test}
mkdir -p "$LANE_OUT"
COUNTS=$LANE_OUT/lane-$lane.counts
fail() { echo "lane $lane: $*"; echo "0 1 0" > "$COUNTS"; exit 1; }
case $lane in
  arm64-newest) suite=trixie-backports kargs="" ;;
  arm64-legacy) suite=trixie kargs="" ;;
  arm64-protected) suite=trixie-backports kargs="kvm-arm.mode=protected" ;;
  *) fail "unknown arm64 lane (want arm64-newest, arm64-legacy or arm64-protected)";;
esac
t0=$(date +%s)

# 1. The kernel test runner for linux-arm64. Self-contained (the guest has no .NET), not AOT (xunit needs
#    reflection; -p:PublishAot on the command line also breaks the netstandard2.0 project references).
#    Republished only when the sources changed: the three lanes share one publish.
PUB=${ARM64_PUBLISH_DIR:-$ROOT/artifacts/kernel-tests/linux-arm64}
if [ -z "${ARM64_PUBLISH_DIR:-}" ]; then
  key=$(cd "$ROOT" && find src tests/Sdk.KernelTests Directory.Build.props Directory.Packages.props -type f \
          -not -path '*/bin/*' -not -path '*/obj/*' 2>/dev/null | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  mkdir -p "$ROOT/artifacts"; exec 8>"$ROOT/artifacts/.arm64-publish.lock"
  flock 8
  if [ "$(cat "$PUB/.source-key" 2>/dev/null)" != "$key" ]; then
    tp=$(date +%s)
    rm -rf "$PUB"
    if ! dotnet publish "$ROOT/tests/Sdk.KernelTests" -c Release -r linux-arm64 --self-contained \
         -p:InvariantGlobalization=true -o "$PUB" > "$LANE_OUT/arm64-publish.log" 2>&1; then
      tail -20 "$LANE_OUT/arm64-publish.log"; flock -u 8; fail "dotnet publish -r linux-arm64 failed"
    fi
    echo "$key" > "$PUB/.source-key"
    echo "lane $lane: published Kvm.Sdk.KernelTests for linux-arm64 in $(( $(date +%s) - tp )) s ($(du -sh "$PUB" | cut -f1))"
  fi
  flock -u 8
fi
[ -x "$PUB/Kvm.Sdk.KernelTests" ] || fail "no published linux-arm64 test runner in $PUB"

# 2. Boot the lane's kernel and run the tests; results come back through the 9p share.
SHARE=$LANE_OUT/$lane
rm -rf "$SHARE"; mkdir -p "$SHARE"
# shellcheck disable=SC2086
filter=(${ARM64_TEST_FILTER:--namespace Kvm.KernelTests.Arm64})
run_tests() {
  "$HERE/run.sh" --suite "$suite" ${kargs:+--kargs "$kargs"} ${ARM64_CPU:+--cpu "$ARM64_CPU"} --share "$SHARE" --ro "$PUB" --info "$SHARE/info" \
    --env "KVM_LANE=$lane" --env "KVM_TEST_LANE=$lane" --env KVM_RECORD=/share/answers.txt --env DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    --env DOTNET_DbgEnableMiniDump=1 --env DOTNET_DbgMiniDumpType=1 --env DOTNET_EnableCrashReport=1 \
    --env DOTNET_DbgMiniDumpName=/share/crash.%d \
    -- /ro/Kvm.Sdk.KernelTests -noColor -noLogo -parallelMode none "${filter[@]}" -result-xml /share/results.xml \
    > "$SHARE/console.log" 2>&1
}
run_tests; rc=$?
# OPEN ISSUE: the test process itself crashes (SIGSEGV in native code, no results) in some runs, on 7.3.4 and 6.12,
# with test classes in parallel and also serially (-parallelMode none, kept for a deterministic order). Cause
# unknown (README.md); it has been build-dependent: one build passed 20+ runs, the build after merging main crashed
# in most first runs.
# Retry such a run once, and say so: the first console log and any
# crash report stay in the lane's output directory.
if [ "$rc" -ge 128 ] && [ "$rc" != 125 ] && [ ! -s "$SHARE/results.xml" ]; then
  echo "lane $lane: the test process died with signal $((rc - 128)) before writing results: RETRYING ONCE (first run: $SHARE/console-crashed.log)"
  grep -E 'Segmentation|Fatal error|GUEST-DMESG' "$SHARE/console.log" | head -20
  mv "$SHARE/console.log" "$SHARE/console-crashed.log"; rm -f "$SHARE/answers.txt"
  run_tests; rc=$?
fi
# the runner's own output (kept whole in console.log): the guest's kernel lines, the test results, the timing
grep -E '^(GUEST-|run\.sh:)|Segmentation|Fatal error|\[FAIL\]|^ +(Kvm\.|Assert|Expected|Actual|at Kvm)|TEST EXECUTION SUMMARY|Total:' "$SHARE/console.log" | grep -v 'GUEST-INIT: exit-status' | head -120
kver=$(sed -n 's/^kernel=//p' "$SHARE/info" 2>/dev/null); mode=$(sed -n 's/^kvm_mode=//p' "$SHARE/info" 2>/dev/null)
kver=${kver:-unknown}; mode=${mode:-unknown}

# 3. Counts from xunit's XML: <assembly ... passed= failed= skipped= errors= total=>
X=$SHARE/results.xml
if [ ! -s "$X" ]; then
  echo "lane $lane (kernel $kver, KVM mode $mode): no results.xml (guest exit status $rc)"
  echo "0 1 0" > "$COUNTS"; exit 1
fi
attr() { grep -o "<assembly [^>]*" "$X" | grep -o " $1=\"[0-9]*\"" | head -1 | tr -dc 0-9; }
passed=$(attr passed) failed=$(attr failed) skipped=$(attr skipped) errors=$(attr errors) notrun=$(attr not-run)
passed=${passed:-0} failed=$(( ${failed:-0} + ${errors:-0} )) skipped=$(( ${skipped:-0} + ${notrun:-0} ))
if [ $(( passed + failed )) -eq 0 ]; then
  echo "lane $lane: executed no kernel test (all $skipped skipped or none found): that is a failure"
  failed=1
fi
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
  echo "lane $lane: the guest command exited $rc although no test failed: counted as a failure"
  failed=1
fi
echo "$passed $failed $skipped" > "$COUNTS"
echo "lane $lane (kernel $kver, KVM mode $mode): $passed passed, $failed failed, $skipped skipped ($(( $(date +%s) - t0 )) s)"
# skipped tests with their reasons, failed tests by name
sed 's/<test /\n<test /g' "$X" | awk '
  function testname(line,  t) { t = line; sub(/>.*/, "", t); sub(/.* name="/, "", t); sub(/".*/, "", t); return t }
  /^<test / && /^<test [^>]*result="Skip"/ {
    r = $0; if (match(r, /<reason>[^<]*/)) { r = substr(r, RSTART + 8, RLENGTH - 8); sub(/^<!\[CDATA\[/, "", r) } else r = "(no reason)"
    gsub(/&quot;/, "\"", r); gsub(/&apos;/, "\047", r); gsub(/&lt;/, "<", r); gsub(/&gt;/, ">", r); gsub(/&amp;/, "\\&", r)
    print "  skipped: " testname($0) ": " r }
  /^<test [^>]*result="Fail"/ { print "  FAILED:  " testname($0) }'
if [ -s "$SHARE/answers.txt" ]; then
  echo "  recorded answers ($lane):"; sed 's/^/    /' "$SHARE/answers.txt"
fi
[ "$failed" = 0 ]
