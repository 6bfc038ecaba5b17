#!/bin/sh
# linux-boot.sh DIR VMM KERNEL INITRD - run inside a lane's guest (or on the host lane): samples/LinuxVmm boots KERNEL
# with INITRD to its marker. Nested under TCG the boot sometimes stops making progress (the guest's printk clock
# stands still; QEMU's own boots stall the same way), so up to three attempts of 150 s each, another one only after
# a stall; any other failure counts at once. Before a stalled attempt is killed, what it was waiting on is kept in
# DIR/linuxvmm-stall-N.txt: each thread's state, kernel wait channel and stack, the memory picture, and the lane
# kernel's last messages. Writes DIR/linuxvmm.log, DIR/linuxvmm.rc (0 = marker seen, then the guest's reset) and
# DIR/linuxvmm.tries.
D=$1 VMM=$2 KERNEL=$3 INITRD=$4
LIMIT=${LINUX_BOOT_LIMIT:-150}
for try in 1 2 3; do
  dotnet "$VMM" --kernel "$KERNEL" --initrd "$INITRD" --expect LINUXVMM-MARKER > "$D/linuxvmm.log" 2>&1 &
  pid=$!
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$LIMIT" ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    {
      echo "attempt $try: no exit after $LIMIT s; guest console's last line: $(tail -1 "$D/linuxvmm.log")"
      for t in /proc/"$pid"/task/*; do
        echo "== thread $(basename "$t") $(cat "$t/comm") state $(cut -d' ' -f3 "$t/stat") wchan $(cat "$t/wchan" 2>/dev/null)"
        cat "$t/stack" 2>/dev/null
      done
      # Is the vCPU stuck in an exit or fault loop inside KVM, or idle? Its VM's counters, 2 s apart: those that moved.
      # (In the one stall caught so far the vCPU thread was running, state R, with the guest making no progress.)
      # (debugfs is mounted only inside a lane's throw-away guest, never on the host lane's machine.)
      [ -d /sys/kernel/debug/kvm ] || [ "${KVM_TEST_LANE:-host}" = host ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
      for vmdir in /sys/kernel/debug/kvm/"$pid"-*; do
        [ -d "$vmdir" ] || continue
        echo "== KVM counters of $(basename "$vmdir") that moved in 2 s"
        for f in "$vmdir"/*; do [ -f "$f" ] && echo "$(basename "$f") $(cat "$f" 2>/dev/null)"; done > "$D/.kvm-stats-a"
        sleep 2
        for f in "$vmdir"/*; do [ -f "$f" ] && echo "$(basename "$f") $(cat "$f" 2>/dev/null)"; done > "$D/.kvm-stats-b"
        awk 'NR == FNR { a[$1] = $2; next } ($1 in a) && $2 != a[$1] { print "  " $1 ": " a[$1] " -> " $2 }' "$D/.kvm-stats-a" "$D/.kvm-stats-b"
        rm -f "$D/.kvm-stats-a" "$D/.kvm-stats-b"
      done
      echo "== /proc/meminfo"; grep -E '^(MemTotal|MemFree|MemAvailable|Cached|Shmem|AnonPages|Unevictable|Mlocked)' /proc/meminfo
      echo "== dmesg (last 40)"; dmesg 2>/dev/null | tail -40
    } > "$D/linuxvmm-stall-$try.txt" 2>&1
    kill "$pid"; sleep 2; kill -9 "$pid" 2>/dev/null
    wait "$pid"; r=124
    cp "$D/linuxvmm.log" "$D/linuxvmm-stalled.log"
  else
    wait "$pid"; r=$?
  fi
  echo "$try" > "$D/linuxvmm.tries"
  [ "$r" = 124 ] || break
done
echo "$r" > "$D/linuxvmm.rc"
