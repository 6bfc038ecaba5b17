#!/usr/bin/env bash
# lane.sh - run the kernel conformance tests (tests/Sdk.KernelTests) in one throw-away guest ("lane").
#
# usage: tests/kvm-guest/lane.sh LANE        (LANE: one of tests/kvm-guest/lanes; arm64-* go to arm64/lane.sh)
#   newest   stock Debian 7.3.x (trixie-backports)
#   private  the same kernel with kvm modules rebuilt with CONFIG_KVM_SW_PROTECTED_VM (private memory)
#   legacy   Debian bookworm 6.1 (no guest_memfd at all)
#   inplace  the first Debian kernel with in-place guest_memfd conversion (run by tests/inplace-watch.sh only)
#   host     no guest: this machine's own /dev/kvm, whatever its kernel (build machines: 6.18, kvm_pvm); seconds.
#            Without a usable KVM (open O_RDWR + KVM_GET_API_VERSION 12) it prints one line
#            "lane host: skipped — no usable /dev/kvm on this machine (not counted; <why>)", writes no counts
#            but $LANE_OUT/lane-host.skipped (the reason), and exits 0.
# env: LANE_OUT (default artifacts/test): results go to $LANE_OUT/lane-LANE/ (xunit XML, console log, run facts)
#      and the counts to $LANE_OUT/lane-LANE.counts as "<passed> <failed> <skipped>".
#      GUEST_TIMEOUT (default 900 s), KVM_GUEST_CACHE, and the rest of run.sh's settings.
#      KVM_TESTS_ARGS: extra xunit runner arguments (e.g. "-class Kvm.KernelTests.VcpuTests").
#      KVM_HOST_DEVICE (host lane; default /dev/kvm): the device the usability check asks. Point it at a missing
#      path (KVM_HOST_DEVICE=/dev/nonexistent) to exercise the skip; the tests themselves always open /dev/kvm.
# A lane that executed no kernel test fails (counts file with failed >= 1, non-zero exit).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
LANE=${1:?usage: $0 LANE (newest|private|legacy|arm64-...)}

case $LANE in
  arm64-*)
    [ -x "$here/arm64/lane.sh" ] && exec "$here/arm64/lane.sh" "$LANE"
    echo "lane $LANE: no tests/kvm-guest/arm64/lane.sh in this tree" >&2; exit 2;;
  host)    RUNARGS=();;  # no guest (see "The host lane" below)
  newest)  RUNARGS=(--kernel newest);;
  private) RUNARGS=(--kernel newest --sw-protected);;
  legacy)  RUNARGS=(--kernel legacy);;
  # The merge watch's lane (tests/inplace-watch.sh): the suite's kernel that first ships in-place conversion, kvm
  # rebuilt as for private, the module parameter on. INPLACE_KERNEL=SUITE:PKG, INPLACE_KVM_PARAMS=name=value.
  inplace) RUNARGS=(--kernel "${INPLACE_KERNEL:?lane inplace needs INPLACE_KERNEL=SUITE:PKG}" --sw-protected
                    --kvm-params "${INPLACE_KVM_PARAMS:-gmem_in_place_conversion=Y}");;
  *) echo "lane.sh: unknown lane $LANE" >&2; exit 2;;
esac

OUT=${LANE_OUT:-$ROOT/artifacts/test}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
D=$OUT/lane-$LANE; rm -rf "$D"; mkdir -p "$D"
COUNTS=$OUT/lane-$LANE.counts; SKIPPED=$OUT/lane-$LANE.skipped; rm -f "$COUNTS" "$SKIPPED"
T0=$SECONDS

# The host lane: no usable KVM here is not a failure, just nothing to test. It is said in one line, and the reason
# goes to $SKIPPED instead of counts, so run-all.sh can tell a skip from a lane that died before writing counts.
DEV=${KVM_HOST_DEVICE:-/dev/kvm}
skip_host() {
  echo "$1" > "$SKIPPED"
  echo "lane host: skipped — no usable $DEV on this machine (not counted; $1)"; exit 0
}
if [ "$LANE" = host ]; then   # cheap checks first: a machine without KVM need not build anything
  [ -e "$DEV" ] || skip_host "$DEV does not exist"
  [ -r "$DEV" ] && [ -w "$DEV" ] || skip_host "$DEV is not readable and writable by $(id -un)"
fi

# The test executable is built on the host (run-all.sh builds the solution in Release first; reuse that).
PROJ=$ROOT/tests/Sdk.KernelTests
DLL=$PROJ/bin/Release/net10.0/Kvm.Sdk.KernelTests.dll
if [ ! -e "$DLL" ] || [ -n "$(find "$PROJ" "$ROOT/src" \( -name '*.cs' -o -name '*.csproj' \) -newer "$DLL" -not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null | head -1)" ]; then
  echo "lane $LANE: building tests/Sdk.KernelTests (Release)"
  dotnet build "$PROJ" -c Release -nologo -v q 2>&1 | grep -E 'error|Elapsed' ; [ "${PIPESTATUS[0]}" = 0 ] \
    || { echo "0 1 0" > "$COUNTS"; echo "lane $LANE (kernel not booted): 0 passed, 1 failed, 0 skipped (build failed)"; exit 1; }
fi

# The host lane's real check: the device opens O_RDWR and answers KVM_GET_API_VERSION 12 (the test exe's
# --usable-kvm mode: exit 1 = not usable, with the reason; anything else is a broken exe, which fails the lane).
if [ "$LANE" = host ]; then
  why=$(dotnet "$DLL" --usable-kvm "$DEV" 2>&1); urc=$?
  [ "$urc" = 1 ] && skip_host "$why"
  [ "$urc" = 0 ] || { echo "0 1 0" > "$COUNTS"; echo "lane host: 0 passed, 1 failed, 0 skipped (the usability check exited $urc: $why)"; exit 1; }
fi

# kvmsdk probe runs in the same boot, after the tests, so its verdicts can be checked against this lane's kernel.
CLI=$ROOT/src/Cli/bin/Release/net10.0/Kvm.Sdk.Cli.dll
[ -e "$CLI" ] || dotnet build "$ROOT/src/Cli" -c Release -nologo -v q > /dev/null 2>&1
# The Linux boot (newest, legacy): samples/LinuxVmm boots Debian's 7.3.4 kernel (the newest lane's; fetched into the
# cache if this lane runs first) nested in the lane's guest, with an initramfs built here from busybox-static; from
# guest_memfd on 7.3.4, from host memory on 6.1. Its own line in the counts. (6.1's own kernel as the nested guest
# stops its clock after /init: samples/LinuxVmm/README.md.)
# The host lane boots it too where this machine's KVM has hardware virtualization (kvm_amd, kvm_intel); kvm_pvm
# (the build machines') runs no stock kernel at all, which the lane says in one line instead.
LINUX_BOOT=0; BOOT_NOTE=""
case $LANE in newest|legacy) LINUX_BOOT=1;; esac
if [ "$LANE" = host ]; then
  if [ -d /sys/module/kvm_amd ] || [ -d /sys/module/kvm_intel ]; then LINUX_BOOT=1
  else BOOT_NOTE="LinuxVmm boot: not run here ($(ls -d /sys/module/kvm_* 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')has no hardware virtualization; a stock kernel dies in KVM's instruction emulator: samples/LinuxVmm/README.md)"; fi
fi
VMM=$ROOT/samples/LinuxVmm/bin/Release/net10.0/LinuxVmm.dll
if [ "$LINUX_BOOT" = 1 ]; then
  BOOT_KERNEL=$("$here/run.sh" --kernel newest --print-kernel 2> "$D/boot-kernel.log") || LINUX_BOOT=0
  [ -e "$VMM" ] || dotnet build "$ROOT/samples/LinuxVmm" -c Release -nologo -v q > /dev/null 2>&1
  "$ROOT/samples/LinuxVmm/make-initramfs.sh" "$D/initramfs.cpio.gz" > "$D/initramfs.log" 2>&1 || LINUX_BOOT=0
fi
NOTHERE="-namespace- Kvm.KernelTests.Arm64"
[ "$LANE" = host ] && [ "$(uname -m)" = aarch64 ] && NOTHERE=""
{
  if [ "$LANE" != host ]; then
    # Only in the throw-away guest (QEMU_MEM, 2 GiB by default): 8 x 2 MiB huge pages (16 MiB) and a hugetlbfs mount,
    # so HostMemoryKindsTests' hugetlb tests run instead of skipping. The host lane never touches a sysctl.
    echo 'echo 8 > /proc/sys/vm/nr_hugepages || echo "lane: could not reserve huge pages"'
    echo 'mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages || echo "lane: could not mount hugetlbfs"'
  fi
  # xunit v3's in-process runner, straight from the dll (no vstest: its start-up costs ~35 s under TCG).
  # The arm64-only tests (namespace Kvm.KernelTests.Arm64) run in the arm64 lanes; here they would only skip
  # (an arm64 host runs them in its host lane).
  echo "dotnet '$DLL' -noColor -noLogo $NOTHERE -result-xml '$D/results.xml' ${KVM_TESTS_ARGS:-}"
  echo 'rc=$?'
  echo "dotnet '$CLI' probe --host --out '$D/probe' > /dev/null 2> '$D/probe.err'"
  if [ "$LINUX_BOOT" = 1 ]; then
    # Up to three attempts, another only after a stall (linux-boot.sh says why, and keeps what a stall waited on).
    echo "sh '$here/linux-boot.sh' '$D' '$VMM' '$BOOT_KERNEL' '$D/initramfs.cpio.gz'"
  fi
  if [ "$LANE" = host ]; then
    # The soundness suites again with a 64 KiB gen-0 budget: a collection every few allocations, so finalizers run
    # in between everything the tests do (DOTNET_GCStress needs a checked runtime; this works on the shipped one).
    echo "DOTNET_GCgen0size=0x10000 dotnet '$DLL' -noColor -noLogo -class Kvm.KernelTests.Typed.VcpuSoundnessTests -class Kvm.KernelTests.Typed.MappingSoundnessTests -result-xml '$D/results-gc.xml' || rc=1"
  fi
  echo 'exit $rc'
} > "$D/commands.sh"
if [ "$LANE" = host ]; then
  # No guest to boot: the same commands straight on this machine, so the lane takes seconds.
  KVM_TEST_LANE=host sh "$D/commands.sh" 2>&1 | tee "$D/console.log"; rc=${PIPESTATUS[0]}
  printf 'kernel_release=%s\nwhere=host\nseconds=%s\n' "$(uname -r)" "$((SECONDS-T0))" > "$D/run.info"
else
  GUEST_TIMEOUT=${GUEST_TIMEOUT:-900} "$here/run.sh" "${RUNARGS[@]}" --share "$D" --env "KVM_TEST_LANE=$LANE" \
    --info "$D/run.info" --console "$D/console.log" -- sh "$D/commands.sh"
  rc=$?
fi

KREL=$(sed -n 's/^kernel_release=//p' "$D/run.info" 2>/dev/null); KREL=${KREL:-unknown}
KPKG=$(sed -n 's/^kernel_package=//p' "$D/run.info" 2>/dev/null)
XML=$D/results.xml
if [ -s "$XML" ]; then
  # <assembly ... total= passed= failed= skipped= errors= ...>; errors (fixture/cleanup failures) count as failed
  attr() { grep -o "<assembly [^>]*" "$XML" | head -1 | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  P=$(attr passed); F=$(( $(attr failed) + $(attr errors) )); S=$(attr skipped)
  if [ "$LANE" = host ]; then   # the GC-pressure pass counts too; a pass that left no results failed
    if [ -s "$D/results-gc.xml" ]; then XML=$D/results-gc.xml; P=$((P + $(attr passed))); F=$((F + $(attr failed) + $(attr errors))); S=$((S + $(attr skipped))); XML=$D/results.xml
    else F=$((F + 1)); echo "lane host: the GC-pressure pass left no results"; fi
  fi
else
  P=0; F=0; S=0
fi
why=""
if [ ! -s "$XML" ]; then F=$((F+1)); why="no test results (guest status $rc)"
elif [ $((P+F)) -eq 0 ]; then F=1; why="no kernel test executed"
elif [ "$rc" != 0 ] && [ "$F" = 0 ]; then F=1; why="test runner exited with $rc"; fi
# One more test: kvmsdk probe, run in the same guest, must agree with what this lane's kernel has.
PROBE=$D/probe.txt
probe_ok=1; probe_why=""
if [ ! -s "$PROBE" ]; then probe_ok=0; probe_why="no probe report ($(head -c 300 "$D/probe.err" 2>/dev/null))"
elif grep -qE '^  FAIL ' "$PROBE"; then probe_ok=0; probe_why="probe reports failures: $(grep -E '^  FAIL ' "$PROBE" | head -2 | tr -s ' ')"
else
  case $LANE in
    newest)  want='^  PASS +KVM_X86_DEFAULT_VM +bind a memslot to guest_memfd and run a vCPU';;
    private) want='^  PASS +KVM_X86_SW_PROTECTED_VM +turn a page private and back';;
    host)    want='';;  # any kernel: only "no FAIL lines" (above)
    *)       want='^  unsupported +KVM_X86_DEFAULT_VM +guest_memfd \(KVM_CREATE_GUEST_MEMFD\)';;
  esac
  [ -z "$want" ] || grep -qE "$want" "$PROBE" || { probe_ok=0; probe_why="probe does not say what the $LANE kernel has (wanted /$want/)"; }
fi
if [ -s "$XML" ] && [ $((P+F)) -gt 0 ]; then
  if [ "$probe_ok" = 1 ]; then P=$((P+1)); else F=$((F+1)); fi
fi
# One more: the Linux boot must reach the initramfs marker and end with the guest's reset (LinuxVmm exits 0).
[ -n "$BOOT_NOTE" ] && echo "lane host: $BOOT_NOTE"
if [ "$LINUX_BOOT" = 1 ] || [ "$LANE" = newest ] || [ "$LANE" = legacy ]; then
  boot_rc=$(cat "$D/linuxvmm.rc" 2>/dev/null || echo none)
  if [ "$boot_rc" = 0 ]; then P=$((P+1)); else F=$((F+1)); fi
fi
echo "$P $F $S" > "$COUNTS"

echo "lane $LANE (kernel $KREL${KPKG:+, $KPKG}$([ "$LANE" = private ] && echo ', kvm rebuilt with SW_PROTECTED')$([ "$LANE" = host ] && echo ", this machine's $DEV")): $P passed, $F failed, $S skipped${why:+ ($why)}"
if [ -s "$XML" ]; then
  # one record per <test ...>: its name, result, and the skip reason / failure message (text or CDATA)
  awk 'BEGIN { RS = "<test " }
    function inner(tag,   a, b, t) {
      a = index($0, "<" tag ">"); if (!a) return ""
      t = substr($0, a + length(tag) + 2); b = index(t, "</" tag ">"); t = substr(t, 1, b - 1)
      gsub(/<!\[CDATA\[|\]\]>/, "", t); gsub(/[ \t]*\r?\n[ \t]*/, " | ", t); return t
    }
    NR > 1 {
      match($0, / name="[^"]*"/); name = substr($0, RSTART + 7, RLENGTH - 8)
      match($0, / result="[^"]*"/); res = substr($0, RSTART + 9, RLENGTH - 10)
      if (res == "Skip") printf "  skipped: %s -- %s\n", name, inner("reason")
      if (res == "Fail") printf "  FAILED:  %s -- %s\n", name, inner("message")
    }' "$XML" | sed 's/&quot;/"/g; s/&apos;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
fi
if [ -e "$D/linuxvmm.rc" ] || [ "$LINUX_BOOT" = 1 ]; then
  if [ "$(cat "$D/linuxvmm.rc" 2>/dev/null)" = 0 ]; then echo "  LinuxVmm booted $(basename "$(dirname "$BOOT_KERNEL")") to its initramfs ($(sed -n 's/^linuxvmm: \([0-9]* MiB of RAM in [a-z_ ]*\),.*/\1/p' "$D/linuxvmm.log")): $(grep '^linuxvmm: guest' "$D/linuxvmm.log")$(t=$(cat "$D/linuxvmm.tries" 2>/dev/null); [ "${t:-1}" -gt 1 ] && echo " (attempt $t: the one before stalled, $D/linuxvmm-stall-$((t - 1)).txt)")"
  else echo "  LinuxVmm FAILED (status $(cat "$D/linuxvmm.rc" 2>/dev/null || echo none)): $(grep -E '^linuxvmm:' "$D/linuxvmm.log" 2>/dev/null | tail -2 | tr '\n' ' ') (console: $D/linuxvmm.log)"; fi
fi
if [ "$probe_ok" = 1 ]; then echo "  kvmsdk probe in this $([ "$LANE" = host ] && echo lane || echo guest) agrees with the kernel ($(tail -1 "$PROBE"))"
else echo "  FAILED:  kvmsdk probe -- $probe_why"; fi
echo "lane $LANE: $((SECONDS-T0)) s (results in $D)"
[ "$F" = 0 ]
