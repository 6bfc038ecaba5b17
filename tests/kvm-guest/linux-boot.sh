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
