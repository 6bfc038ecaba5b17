#!/usr/bin/env bash
# make-initramfs.sh OUT.cpio.gz — the LinuxVmm sample's initramfs, built at test time from Debian's busybox-static
# (installed by tests/setup-machine.sh; nothing binary is kept in the repo). Its /init prints the marker line the
# tests wait for, then reboots: with reboot=k on the command line Linux pulses the i8042 reset line, which the VMM
# takes as the end of the VM (a PC without ACPI has no other way to power off).
# env: BUSYBOX (default /bin/busybox; the arm64 lanes pass Debian's arm64 busybox-static), END=poweroff (arm64:
#      `poweroff -f` is PSCI SYSTEM_OFF, which the VMM sees as a SYSTEM_EVENT exit) or reboot (default).
set -euo pipefail
OUT=${1:?usage: $0 OUT.cpio.gz}
BUSYBOX=${BUSYBOX:-/bin/busybox}
END=${END:-reboot}
case $END in reboot|poweroff) ;; *) echo "make-initramfs: END must be reboot or poweroff" >&2; exit 2;; esac
{ ldd "$BUSYBOX" 2>&1 || true; } | grep -qE 'not a dynamic executable|statically linked' || { echo "make-initramfs: $BUSYBOX is not a static busybox (apt-get install busybox-static)" >&2; exit 2; }
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/dev"
cp "$BUSYBOX" "$root/bin/busybox"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "LINUXVMM-MARKER: userspace reached on $(/bin/busybox uname -r), $(/bin/busybox grep -c ^processor /proc/cpuinfo) cpu(s)"
/bin/busybox @END@ -f
INIT
sed -i "s/@END@/$END/" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -9 > "$OUT"
