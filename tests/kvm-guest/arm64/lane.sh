#!/usr/bin/env bash
# lane.sh <arm64-newest|arm64-legacy|arm64-protected> - one arm64 kernel lane (tests/kvm-guest/lane.sh dispatches
# arm64-* here). Publishes the kernel tests, kvmsdk and the sample for linux-arm64 (publish.sh, once per source
# state), boots the lane's arm64 kernel under TCG (run.sh) and runs in it: every kernel test (those that do not
# apply to arm64 skip with the reason), then `kvmsdk probe` and the sample VMM, each checked against this kernel as
# one more test. Writes $LANE_OUT/lane-<lane>.counts = "<passed> <failed> <skipped>". A lane that executed no test
# fails.
#   arm64-newest     7.3.x (trixie-backports), default KVM mode (VHE)
#   arm64-legacy     6.12 (trixie): no guest_memfd on arm64
#   arm64-protected  7.3.x with kvm-arm.mode=protected (pKVM): records what a protected VM answers
# env: LANE_OUT (default artifacts/test), KVM_GUEST_CACHE (run.sh), ARM64_TEST_FILTER (xunit filter arguments,
#      e.g. "-namespace Kvm.KernelTests.Arm64"; default: all), ARM64_PUBLISH_DIR (a publish.sh output to use as is),
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

# 1. The programs the guest runs, built for linux-arm64 (publish.sh; the three lanes share one publish):
#    the kernel tests, kvmsdk (probe) and the sample VMM.
PUB=${ARM64_PUBLISH_DIR:-$ROOT/artifacts/arm64-guest-apps}
if [ -z "${ARM64_PUBLISH_DIR:-}" ]; then
  "$HERE/publish.sh" "$PUB" || fail "publishing for linux-arm64 failed"
fi
for f in tests/Kvm.Sdk.KernelTests kvmsdk/kvmsdk sample/GuestMemfdVmm linuxvmm/LinuxVmm; do
  [ -x "$PUB/$f" ] || fail "no published linux-arm64 $f in $PUB"
done

# 2. Boot the lane's kernel and run the tests; results come back through the 9p share.
SHARE=$LANE_OUT/$lane
rm -rf "$SHARE"; mkdir -p "$SHARE"
# shellcheck disable=SC2086
filter=(${ARM64_TEST_FILTER:-})
# The Linux boot: LinuxVmm boots the lane's own arm64 kernel Image (from run.sh's cache) with a busybox-static
# initramfs (make-initramfs.sh with Debian's arm64 busybox), nested, to the marker and PSCI SYSTEM_OFF.
BOOT=$SHARE/boot; mkdir -p "$BOOT"
BOOT_LIMIT=${ARM64_BOOT_LIMIT:-420}
# `quiet`: every console byte is an MMIO exit through two levels of emulation; the boot log costs more than half of
# the nested boot (7.3.4: ~240 s with it, ~160 s without, on a loaded build machine). The marker still prints.
BOOT_CMDLINE=${ARM64_BOOT_CMDLINE:-console=ttyAMA0 panic=-1 nokaslr quiet}
# arm64-protected boots a pKVM protected VM (LinuxVmm --protected, host memory: pKVM 7.3 cannot map a protected VM's
# guest_memfd); the other lanes a normal VM with guest_memfd where the kernel has it.
boot_vm=""; [ "$lane" = arm64-protected ] && boot_vm="--protected"
boot_prep=""
if paths=$("$HERE/run.sh" --suite "$suite" --print-kernel 2> "$BOOT/print-kernel.log"); then
  { ln -f "$(echo "$paths" | sed -n 1p)" "$BOOT/Image" 2>/dev/null || cp "$(echo "$paths" | sed -n 1p)" "$BOOT/Image"; } &&
  END=poweroff BUSYBOX=$(echo "$paths" | sed -n 2p) "$ROOT/samples/LinuxVmm/make-initramfs.sh" "$BOOT/initramfs.cpio.gz" > "$BOOT/initramfs.log" 2>&1 ||
    boot_prep="preparing the kernel/initramfs failed ($BOOT)"
else boot_prep="run.sh --print-kernel failed: $(tail -2 "$BOOT/print-kernel.log" | tr '\n' ' ')"; fi
# The guest script: the tests, then kvmsdk probe and the sample in the same boot, so both can be checked against
# what the tests found on this kernel. Its exit status is the test runner's.
{
  echo "/ro/tests/Kvm.Sdk.KernelTests -noColor -noLogo -parallelMode none ${filter[*]} -result-xml /share/results.xml"
  echo 'rc=$?'
  echo '/ro/kvmsdk/kvmsdk probe --host --all-caps --where "arm64 lane guest" --out /share/probe > /dev/null 2> /share/probe.err'
  echo '/ro/sample/GuestMemfdVmm > /share/sample.txt 2>&1; echo "exit status $?" >> /share/sample.txt'
  [ -n "$boot_prep" ] || echo "timeout $BOOT_LIMIT /ro/linuxvmm/LinuxVmm $boot_vm --kernel /share/boot/Image --initrd /share/boot/initramfs.cpio.gz --cmdline '$BOOT_CMDLINE' --expect LINUXVMM-MARKER > /share/linuxvmm.log 2>&1; echo \$? > /share/linuxvmm.rc"
  echo 'exit $rc'
} > "$SHARE/guest.sh"
run_tests() {
  "$HERE/run.sh" --suite "$suite" ${kargs:+--kargs "$kargs"} ${ARM64_CPU:+--cpu "$ARM64_CPU"} --share "$SHARE" --ro "$PUB" --info "$SHARE/info" \
    --env "KVM_TEST_LANE=$lane" --env KVM_RECORD=/share/answers.txt --env DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    --env DOTNET_DbgEnableMiniDump=1 --env DOTNET_DbgMiniDumpType=1 --env DOTNET_EnableCrashReport=1 \
    --env DOTNET_DbgMiniDumpName=/share/crash.%d \
    -- sh /share/guest.sh > "$SHARE/console.log" 2>&1
}
run_tests; rc=$?
# With SVE in the emulated CPU the test process died of SIGSEGV in native code (README.md); run.sh now turns SVE
# off. Should a run still die by a signal before writing results, it is retried once, loudly; the first console
# log and the crash report stay in the lane's output directory, and a second death fails the lane.
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

# 4. Two more tests from the same boot. kvmsdk probe: no failed check, the verdict this kernel calls for, and every
#    capability answer equal to the one the kernel tests recorded (answers.txt: "cap NAME (n): system S, vm V").
PROBE=$SHARE/probe.txt VMCOL="arm64 default IPA \(40 bits\)"
case $lane in
  arm64-legacy) want="^  unsupported +$VMCOL +guest_memfd \(KVM_CREATE_GUEST_MEMFD\)";;
  *)            want="^  PASS +$VMCOL +bind a memslot to guest_memfd and run a vCPU";;
esac
probe_why=""
if [ ! -s "$PROBE" ]; then probe_why="no probe report ($(head -c 300 "$SHARE/probe.err" 2>/dev/null))"
elif grep -qE '^  FAIL ' "$PROBE"; then probe_why="probe reports failures: $(grep -E '^  FAIL ' "$PROBE" | head -2 | tr -s ' ')"
elif ! grep -qE "$want" "$PROBE"; then probe_why="probe does not say what the $lane kernel has (wanted /$want/)"
elif [ ! -s "$SHARE/answers.txt" ]; then probe_why="the kernel tests recorded no capability answers to compare with"
else
  # probe rows: "  KVM_CAP_X (n)   system   vm"; the tests' lines: "cap KVM_CAP_X (n): system S, vm V"
  probe_why=$(awk 'NR == FNR { if ($1 ~ /^KVM_CAP_/ && NF == 4) probe[$1 " " $2] = $3 " " $4; next }
    /^cap KVM_CAP_/ { key = $2 " " $3; sub(/:$/, "", key); v = $5 " " $7; sub(/,/, "", v); n++
                      if (!(key in probe)) { print "probe has no row for " key; exit }
                      if (probe[key] != v) { print key ": probe says " probe[key] ", the tests saw " v; exit } }
    END { if (n < 100) print "only " n + 0 " capability answers recorded" }' "$PROBE" "$SHARE/answers.txt")
fi
[ -z "$probe_why" ] && passed=$((passed + 1)) || failed=$((failed + 1))
#    The sample VMM: runs its guest where guest_memfd is mappable, says why not elsewhere, and exits 0.
SAMPLE=$SHARE/sample.txt
case $lane in
  arm64-legacy) swant='guest_memfd with MMAP \| INIT_SHARED: not supported here';;
  *)            swant='default VM: guest wrote 0x4B \(K\) to MMIO 0x10000000';;
esac
sample_why=""
if [ ! -s "$SAMPLE" ]; then sample_why="no sample output"
elif ! grep -q '^exit status 0$' "$SAMPLE"; then sample_why="the sample failed: $(tail -3 "$SAMPLE" | tr '\n' ' ')"
elif ! grep -qE "$swant" "$SAMPLE"; then sample_why="the sample did not print /$swant/: $(head -5 "$SAMPLE" | tr '\n' ' ')"
elif [ "$lane" != arm64-legacy ] && ! grep -q 'PSCI SYSTEM_OFF' "$SAMPLE"; then sample_why="the sample's guest never reached PSCI SYSTEM_OFF"
fi
[ -z "$sample_why" ] && passed=$((passed + 1)) || failed=$((failed + 1))
#    The Linux boot: LinuxVmm exits 0 only when the initramfs printed the marker and the guest then powered off.
boot_why=$boot_prep
if [ -z "$boot_why" ]; then
  boot_rc=$(cat "$SHARE/linuxvmm.rc" 2>/dev/null || echo none)
  case $boot_rc in
    0) ;;
    124) boot_why="no power-off within ${BOOT_LIMIT} s ($(grep -E '^linuxvmm:' "$SHARE/linuxvmm.log" | tail -1))";;
    *) boot_why="LinuxVmm exited $boot_rc: $(grep -E '^linuxvmm:' "$SHARE/linuxvmm.log" 2>/dev/null | tail -2 | tr '\n' ' ')";;
  esac
fi
[ -z "$boot_why" ] && passed=$((passed + 1)) || failed=$((failed + 1))

echo "$passed $failed $skipped" > "$COUNTS"
echo "lane $lane (kernel $kver, KVM mode $mode): $passed passed, $failed failed, $skipped skipped ($(( $(date +%s) - t0 )) s)"
if [ -z "$probe_why" ]; then echo "  kvmsdk probe in this guest agrees with the kernel tests ($(tail -1 "$PROBE"))"
else echo "  FAILED:  kvmsdk probe -- $probe_why"; fi
if [ -z "$sample_why" ]; then echo "  sample GuestMemfdVmm (NativeAOT, linux-arm64): $(grep -E 'guest wrote|not supported' "$SAMPLE" | head -1)"
else echo "  FAILED:  sample GuestMemfdVmm -- $sample_why"; fi
if [ -z "$boot_why" ]; then echo "  LinuxVmm booted $kver nested to its initramfs ($(sed -n 's/^linuxvmm: \([0-9]* MiB of RAM in [a-z_ ]*\),.*/\1/p' "$SHARE/linuxvmm.log")${boot_vm:+, in a pKVM protected VM}): $(grep '^linuxvmm: guest' "$SHARE/linuxvmm.log")"
else echo "  FAILED:  LinuxVmm boot -- $boot_why (console: $SHARE/linuxvmm.log)"; fi
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
