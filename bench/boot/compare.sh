#!/usr/bin/env bash
# compare.sh KERNEL INITRD [RUNS] — boot time to the initramfs marker: samples/LinuxVmm against QEMU (-accel kvm,
# -M microvm and -M q35), same kernel, initramfs, 256 MiB and one vCPU, RUNS (default 5) rounds interleaved so that
# load hits every contender alike. Prints one line per boot and the medians. Needs a /dev/kvm that boots a stock
# kernel: on the project's build machines (kvm_pvm) none does, so bench/boot/run-in-lane.sh runs this inside the
# newest lane's guest (7.3.4 under QEMU TCG, every boot nested).
set -uo pipefail
KERNEL=${1:?usage: $0 KERNEL INITRD [RUNS] [LOGDIR]}; INITRD=${2:?}; RUNS=${3:-5}
LOGS=${4:-$(mktemp -d)}; mkdir -p "$LOGS"   # each boot's console and messages: LOGDIR/NAME-ROUND.log
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VMM=$ROOT/samples/LinuxVmm/bin/Release/net10.0/LinuxVmm.dll
MARKER=LINUXVMM-MARKER
# The same kernel command line as the sample's default; XSAVE/AVX are hidden from QEMU's guests as the sample hides
# them from its own (nested under an emulator the guest's FPU set-up faults otherwise).
APPEND="console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 pci=off acpi=off nomodules i8042.noaux i8042.nomux tsc=reliable"
QEMU_CPU=host,-xsave,-avx,-avx2,-xsaveopt,-xsavec,-xsaves
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# boot NAME COMMAND...: runs one boot, prints "NAME marker_ms total_ms" (marker_ms "-" when the marker never came).
boot() {
  local name=$1 log=$LOGS/$1-$round.log t0; shift
  t0=$(now_ms)
  # A pipe, not process substitution: the lane's guest has no /dev/fd. The reader prints the line when input ends.
  timeout "${BOOT_TIMEOUT:-180}" "$@" 2>&1 < /dev/null | {
    marker=-
    while IFS= read -r line; do
      printf '%s\n' "$line" >> "$log"
      case $line in *"$MARKER"*) [ "$marker" = - ] && marker=$(( $(now_ms) - t0 ));; esac
    done
    echo "$name $marker $(( $(now_ms) - t0 ))"
  }
}

results=$(mktemp)
for round in $(seq "$RUNS"); do
  boot linuxvmm dotnet "$VMM" --kernel "$KERNEL" --initrd "$INITRD" --expect "$MARKER" | tee -a "$results"
  boot qemu-microvm qemu-system-x86_64 -accel kvm -cpu "$QEMU_CPU" -m 256 -smp 1 -nodefaults -no-user-config -nographic \
    -M microvm,isa-serial=on,pit=on,pic=on,rtc=on -serial stdio -no-reboot \
    -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" | tee -a "$results"
  boot qemu-q35 qemu-system-x86_64 -accel kvm -cpu "$QEMU_CPU" -m 256 -smp 1 -nodefaults -no-user-config -nographic \
    -M q35 -serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" | tee -a "$results"
done
echo "medians over $RUNS rounds (ms to marker / ms whole process; '-' = marker not seen):"
for name in linuxvmm qemu-microvm qemu-q35; do
  m=$(awk -v n=$name '$1==n && $2!="-" {print $2}' "$results" | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}')
  t=$(awk -v n=$name '$1==n {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}')
  seen=$(awk -v n=$name '$1==n && $2!="-"' "$results" | wc -l)
  echo "  $name: $m / $t ($seen of $RUNS reached the marker)"
done
rm -f "$results"
