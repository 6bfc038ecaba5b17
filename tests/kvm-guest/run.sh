#!/usr/bin/env bash
# run.sh - run ONE command against a real KVM: inside a throw-away Linux guest (a pinned Debian kernel under
# qemu-system-x86_64 -accel tcg -cpu max; TCG emulates AMD SVM+NPT, so kvm_amd loads and /dev/kvm exists in the
# guest). The host root is the guest's root: 9p read-only, with a tmpfs overlay so the guest can write anywhere
# (those writes are discarded). Directories given with --share are mounted read-write at the same path, so
# results written there reach the host. Needs no /dev/kvm on the host; never uses the host's.
#
# usage: tests/kvm-guest/run.sh [options] -- COMMAND [ARGS...]
#   --kernel SPEC     newest (default): trixie-backports, pinned linux-image-7.3.4+deb13-amd64
#                     legacy: bookworm, pinned linux-image-6.1.0-50-amd64 (no guest_memfd)
#                     SUITE:PACKAGE   any Debian kernel, e.g. trixie:linux-image-6.12.117+deb13-amd64
#                     (a '*' in PACKAGE picks the newest match)
#   --sw-protected    replace kvm.ko/kvm-amd.ko/kvm-intel.ko with ones rebuilt with CONFIG_KVM_SW_PROTECTED_VM
#                     (build-kvm-modules.sh; ~3 min once, then cached)
#   --kvm-params P    module parameters for kvm.ko, comma-separated (e.g. gmem_in_place_conversion=Y): passed on
#                     the kernel command line as kvmparams=P and given to insmod (busybox insmod ignores kvm.X=)
#   --share DIR       mount host DIR read-write at DIR in the guest (repeatable)
#   --env NAME[=VAL]  pass an environment variable to the command (repeatable; without =VAL the host's value)
#   --info FILE       write key=value facts about the run (kernel package/release, boots, seconds) to FILE
#   --console FILE    keep the guest's serial console log in FILE
#   --quiet           do not echo the guest console (it is still kept for --console)
#   --print-kernel    only fetch the kernel (into the cache) and print its vmlinuz path; no guest, no COMMAND
# env (same meaning): KVM_GUEST_KERNEL, KVM_GUEST_SW_PROTECTED=1, GUEST_TIMEOUT (seconds, default 900),
#   BOOT_TRIES (default 3), QEMU_MEM (default 2G), QEMU_SMP (default 2), QEMU_TCG_THREAD (single|multi,
#   default single: see the boot step), KVM_GUEST_CACHE (default
#   /var/cache/kvm-sdk: apt lists, extracted kernels, built modules, initrds; never inside the repo),
#   KVM_GUEST_MIRROR (default: the Debian mirror of this machine's apt configuration).
# exit status: the command's own; 125 = the guest never reported one (boot failure, panic, timeout);
#   123 = preparing the guest failed on the host (kernel download, module build).
# The command runs as root in the guest with the current directory of the caller, PATH=/usr/sbin:/usr/bin:...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

SPEC=${KVM_GUEST_KERNEL:-newest}; SWP=${KVM_GUEST_SW_PROTECTED:-0}; KVMPARAMS=${KVM_GUEST_KVM_PARAMS:-}; SHARES=(); ENVS=(); INFO=""; CONSOLE=""; QUIET=0
PRINT_KERNEL=0
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) SPEC=$2; shift 2;;
    --sw-protected) SWP=1; shift;;
    --kvm-params) KVMPARAMS=$2; shift 2;;
    --share) SHARES+=("$(cd "$2" && pwd)"); shift 2;;
    --env) ENVS+=("$2"); shift 2;;
    --info) INFO=$2; shift 2;;
    --console) CONSOLE=$2; shift 2;;
    --quiet) QUIET=1; shift;;
    --print-kernel) PRINT_KERNEL=1; shift;;
    --) shift; break;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
    *) echo "run.sh: unknown option $1 (use -- before the command)" >&2; exit 2;;
  esac
done
[ $# -gt 0 ] || [ "$PRINT_KERNEL" = 1 ] || { echo "usage: $0 [--kernel newest|legacy|SUITE:PKG] [--sw-protected] [--share DIR] -- COMMAND [ARGS...]" >&2; exit 2; }
for s in "${SHARES[@]}"; do case $s in *[[:space:],=]*) kg_die "share path must not contain spaces, ',' or '=': $s";; esac; done
T0=$SECONDS
mkdir -p "$KG_CACHE"

# --- kernel pins ------------------------------------------------------------------------------------------
# A pin names the exact package; if it left the archive, the newest package of the same series is used
# instead, and the log says so. A pinned kernel already in the cache is used without asking the mirror.
case $SPEC in
  newest) SUITE=trixie-backports; PIN=linux-image-7.3.4+deb13-amd64; SERIES='linux-image-7.3.*+deb13-amd64';;
  legacy) SUITE=bookworm;         PIN=linux-image-6.1.0-50-amd64;    SERIES='linux-image-6.1.0-*-amd64';;
  *:*)    SUITE=${SPEC%%:*}; PIN=${SPEC#*:}; SERIES=$PIN;;
  *) kg_die "unknown kernel spec '$SPEC' (newest, legacy or SUITE:PACKAGE)";;
esac

# glob ('*' = anything, '.' and '+' literal) -> newest matching kernel image package in the current APTO
newest_match() {
  local pat; pat=$(printf '%s' "$1" | sed 's/[.+]/\\&/g; s/\*/.*/g')
  apt-cache "${APTO[@]}" pkgnames linux-image- | grep -x -E "$pat" | grep -v -E 'dbg|unsigned|cloud|rt-amd64' | sort -V | tail -1
}
# can the kvm modules of this kernel be rebuilt? (headers and source of the same Debian version in the suite)
buildable() {
  local pkg=$1 kver=${1#linux-image-} kv mm
  kv=$(apt-cache "${APTO[@]}" show "$pkg" 2>/dev/null | awk '/^Version:/{print $2; exit}')
  mm=$(echo "$kver" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
  [ -n "$kv" ] && apt-cache "${APTO[@]}" show "linux-headers-$kver=$kv" >/dev/null 2>&1 \
    && apt-cache "${APTO[@]}" show "linux-source-$mm=$kv" >/dev/null 2>&1
}

KDIR_OF() { echo "$KG_CACHE/kernels/$1"; }
KPKG=""
if [[ $PIN != *'*'* ]] && [ -e "$(KDIR_OF "$PIN")/ready" ]; then
  KPKG=$PIN
  if [ "$SWP" = 1 ]; then   # a cached rebuild for the pinned kernel also avoids the mirror
    read -r KV < "$(KDIR_OF "$PIN")/debian-version"
    MKEY="${PIN#linux-image-}_${KV}_$(sha256sum "$here/build-kvm-modules.sh" | cut -c1-12)"
    [ -e "$KG_CACHE/kvm-modules/$MKEY/kvm.ko" ] || KPKG=""
  fi
fi
if [ -z "$KPKG" ]; then
  kg_apt "$SUITE"
  if [[ $PIN != *'*'* ]] && apt-cache "${APTO[@]}" show "$PIN" >/dev/null 2>&1; then KPKG=$PIN
  else
    KPKG=$(newest_match "$SERIES")
    [ -n "$KPKG" ] || kg_die "no kernel package in $SUITE matches $SERIES"
    [ "$KPKG" = "$PIN" ] || kg_log "NOTE: pinned $PIN is no longer in $SUITE; falling back to the newest of its series ($SERIES): $KPKG"
  fi
  if [ "$SWP" = 1 ] && ! buildable "$KPKG"; then
    # sw-protected-vm.md: only some kernels still have linux-headers + linux-source of their exact version.
    # Fall back to the newest kernel of the suite that does, then to trixie's 6.12.
    cand=""
    for p in $(apt-cache "${APTO[@]}" pkgnames linux-image- | grep -E '^linux-image-[0-9][^ ]*-amd64$' \
               | grep -v -E 'dbg|unsigned|cloud|rt-amd64' | sort -rV); do
      if buildable "$p"; then cand=$p; break; fi
    done
    if [ -z "$cand" ] && [ "$SUITE" != trixie ]; then
      SUITE=trixie; kg_apt "$SUITE"
      for p in $(apt-cache "${APTO[@]}" pkgnames linux-image-6.12 | grep -E 'amd64$' | grep -v -E 'dbg|unsigned|cloud|rt-amd64' | sort -rV); do
        if buildable "$p"; then cand=$p; break; fi
      done
    fi
    [ -n "$cand" ] || kg_die "no kernel with rebuildable kvm modules found (headers/source gone from the archive)"
    kg_log "NOTE: $KPKG has no linux-headers/linux-source of its version any more; using $cand ($SUITE) for the SW_PROTECTED rebuild"
    KPKG=$cand
  fi
fi
KVER=${KPKG#linux-image-}
KDIR=$(KDIR_OF "$KPKG")

exec 9>"$KG_CACHE/.lock"; flock 9      # one preparation at a time per cache (downloads, builds, initrds)

# --- 1. kernel: image (+ modules/base from 6.19 on) unpacked once into the cache ----------------------------
if [ ! -e "$KDIR/ready" ]; then
  kg_apt "$SUITE"
  t=$SECONDS; rm -rf "$KDIR"; mkdir -p "$KDIR/debs" "$KDIR/root"
  # 6.19+ split the image into linux-binary-*, linux-modules-* and linux-base-*; fetch whatever it depends on
  PKGS=$(apt-cache "${APTO[@]}" depends "$KPKG" | awk '/Depends: linux-(binary|modules|base)-/{print $2}' | sort -u)
  kg_apt_download "$KDIR/debs" "$KPKG" $PKGS || kg_die "download of $KPKG failed"
  for d in "$KDIR"/debs/*.deb; do dpkg -x "$d" "$KDIR/root"; done
  dpkg-deb -f "$KDIR"/debs/"$KPKG"_*.deb Version > "$KDIR/debian-version"
  echo "$SUITE" > "$KDIR/suite"
  rm -rf "$KDIR/debs"; touch "$KDIR/ready"
  kg_log "kernel $KPKG downloaded and unpacked in $((SECONDS-t)) s"
fi
read -r KV < "$KDIR/debian-version"
MODDIR=$( (ls -d "$KDIR/root/usr/lib/modules/$KVER" "$KDIR/root/lib/modules/$KVER" 2>/dev/null || true) | head -1)
VMLINUZ=$( (ls "$KDIR/root/boot/vmlinuz-$KVER" "$MODDIR/vmlinuz" 2>/dev/null || true) | head -1)
[ -n "$MODDIR" ] && [ -n "$VMLINUZ" ] || kg_die "kernel layout of $KPKG not understood"
# A guest's own guest (the Linux boot in lane.sh) needs only the image: hand it over without booting anything.
if [ "$PRINT_KERNEL" = 1 ]; then echo "$VMLINUZ"; exit 0; fi

# --- 1b. SW_PROTECTED kvm modules, cached by kernel version + hash of the build script --------------------
MODKEY=stock; KMOD=""
if [ "$SWP" = 1 ]; then
  MODKEY="${KVER}_${KV}_$(sha256sum "$here/build-kvm-modules.sh" | cut -c1-12)"
  KMOD=$KG_CACHE/kvm-modules/$MODKEY
  if [ -e "$KMOD/kvm.ko" ]; then kg_log "SW_PROTECTED kvm modules from cache: $KMOD"
  else KG_DIE_STATUS=123 "$here/build-kvm-modules.sh" "$KVER" "$KV" "$(cat "$KDIR/suite")" "$KMOD" || exit 123; fi
fi

# --- 2. initramfs: busybox + the needed modules (decompressed, in load order) + /init; cached ---------------
IKEY=$(cat "$0" "$here/lib.sh" /bin/busybox | sha256sum | cut -c1-12)
INITRD=$KG_CACHE/initrd/${KVER}_${KV}_${MODKEY}_$IKEY.gz
if [ ! -e "$INITRD" ]; then
  t=$SECONDS; W=$(mktemp -d "$KG_CACHE/initrd-build.XXXXXX")
  B=$W/depmod; mkdir -p "$B/lib/modules"; ln -s "$(readlink -f "$MODDIR")" "$B/lib/modules/$KVER"
  depmod -b "$B" "$KVER"
  I=$W/root; mkdir -p "$I"/{bin,proc,sys,dev,tmp,mods,lower,rw,newroot}
  cp /bin/busybox "$I/bin/"
  for a in sh mount insmod mkdir cat ls echo poweroff grep cut chroot uname dmesg ip hostname tail sed tr; do ln -s busybox "$I/bin/$a"; done
  for m in virtio_pci 9pnet_virtio 9p overlay kvm_amd kvm_intel; do
    modprobe -d "$B" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}' || true
  done | awk '!seen[$0]++' | while read -r f; do
    n=$(basename "$f"); n=${n%.xz}; n=${n%.zst}
    if [ -n "$KMOD" ] && [ -e "$KMOD/$n" ]; then cat "$KMOD/$n"   # the rebuilt kvm modules replace Debian's
    else case $f in *.xz) xz -dc "$f";; *.zst) zstd -qdc "$f";; *) cat "$f";; esac; fi > "$I/mods/$n"
    echo "$n" >> "$I/mods/order"
  done
  grep -qx kvm-amd.ko "$I/mods/order" || kg_die "kvm-amd module not found for $KVER"
  cat > "$I/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up; hostname kvm-guest   # .NET needs loopback
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
for m in $(cat /mods/order); do
  case $m in kvm-amd.ko) grep -qw svm /proc/cpuinfo || continue;; kvm-intel.ko) grep -qw vmx /proc/cpuinfo || continue;; esac
  p=""; [ "$m" = kvm.ko ] && p=$(arg kvmparams | tr ',' ' ')
  insmod /mods/$m $p || echo "GUEST-INIT: insmod $m $p failed"
done
echo "GUEST-INIT: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s; $(ls /dev/kvm 2>&1)"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower
mount -t tmpfs -o size=75% tmpfs /rw; mkdir -p /rw/upper /rw/work
# overlay: .NET needs a writable /tmp (/tmp/.dotnet/shm), and the host's /tmp must stay visible
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot
mount --bind /dev /newroot/dev; mount -t proc proc /newroot/proc; mount -t sysfs sys /newroot/sys
for s in $(arg guestshares | tr ',' ' '); do
  tag=${s%%=*}; dir=${s#*=}; mkdir -p "/newroot$dir"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none "$tag" "/newroot$dir" || echo "GUEST-INIT: share $dir not mounted"
done
HOME=/root chroot /newroot /bin/sh -c "$(arg guestcmd)"
echo "GUEST-INIT: exit-status=$? at $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
INIT
  chmod +x "$I/init"; mkdir -p "$(dirname "$INITRD")"
  (cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"
  rm -rf "$W"
  # initrds of this kernel and module set made by older versions of these scripts are dead weight now
  find "$(dirname "$INITRD")" -name "${KVER}_${KV}_${MODKEY}_*.gz" ! -name "$(basename "$INITRD")" -delete
  kg_log "initramfs built in $((SECONDS-t)) s"
fi
flock -u 9
PREP=$((SECONDS-T0))

# --- 3. the command, as a script on the host root (visible in the guest) -------------------------------------
RUN=$(mktemp -d /tmp/kvm-guest-run.XXXXXX); trap 'rm -rf "$RUN"' EXIT
{
  echo '#!/bin/bash'
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
  echo 'export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1'
  for e in "${ENVS[@]}"; do
    n=${e%%=*}; if [[ $e == *=* ]]; then v=${e#*=}; else v=${!n-}; fi
    printf 'export %s=%q\n' "$n" "$v"
  done
  printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; echo
} > "$RUN/cmd"
chmod +x "$RUN/cmd"

VIRTFS=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot")
SHAREARG=""; i=0
for s in "${SHARES[@]}"; do
  VIRTFS+=(-virtfs "local,path=$s,mount_tag=share$i,security_model=none,multidevs=remap,id=share$i")
  SHAREARG+="${SHAREARG:+,}share$i=$s"; i=$((i+1))
done

kg_log "kernel $KPKG ($KV, $(cat "$KDIR/suite"))$([ "$SWP" = 1 ] && echo ", kvm modules rebuilt with CONFIG_KVM_SW_PROTECTED_VM") ready after ${PREP} s"
# TCG implements AMD SVM (+NPT) but not Intel VMX, so the guest always gets kvm_amd.
# thread=single: with multi-threaded TCG (the default for -smp 2) the guest kernel sometimes oopses on a stale
# int3 in __schedule after static-key patching (KVM flips static keys whenever it creates vCPUs): code modified
# by one vCPU while another runs on a different host thread. One TCG thread for both vCPUs avoids that race.
# Rarely (about 1 boot in 10
# of 7.3.4) the kernel oopses before /init runs (int3 during static-key patching under TCG): such a boot is
# retried, and the log says so.
LOG=$RUN/console.log; BOOTS=0; TIMED_OUT=0
for try in $(seq "${BOOT_TRIES:-3}"); do
  BOOTS=$try; tb=$SECONDS
  # SeaBIOS and the console reset and clear the terminal (ESC c, ESC [2J): dropped, or they wipe the test results
  # printed above them.
  set +e
  timeout "${GUEST_TIMEOUT:-900}" qemu-system-x86_64 -accel "tcg,thread=${QEMU_TCG_THREAD:-single}" -cpu max -m "${QEMU_MEM:-2G}" -smp "${QEMU_SMP:-2}" \
    -nographic -no-reboot -nic none -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 guestcmd=$RUN/cmd${SHAREARG:+ guestshares=$SHAREARG}${KVMPARAMS:+ kvmparams=$KVMPARAMS}" \
    "${VIRTFS[@]}" </dev/null 2>&1 | sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | if [ "$QUIET" = 1 ]; then cat > "$LOG"; else tee "$LOG"; fi
  qrc=${PIPESTATUS[0]}
  set -e
  [ "$qrc" = 124 ] && { TIMED_OUT=1; kg_log "guest timed out after ${GUEST_TIMEOUT:-900} s (GUEST_TIMEOUT)"; }
  grep -q 'GUEST-INIT: kernel' "$LOG" && break
  [ "$TIMED_OUT" = 1 ] && break
  kg_log "NOTE: boot $try died before /init ran (after $((SECONDS-tb)) s; last console lines below); retrying"
  tail -5 "$LOG" | sed 's/^/kvm-guest:   | /' >&2
done
[ -n "$CONSOLE" ] && cp "$LOG" "$CONSOLE"
RC=$(grep -a -o 'GUEST-INIT: exit-status=[0-9]*' "$LOG" | tail -1 | cut -d= -f2 || true)
REL=$(grep -a -o 'GUEST-INIT: kernel [^ ]*' "$LOG" | tail -1 | cut -d' ' -f3 || true)
if grep -a -q -E 'Kernel panic|Oops:' "$LOG"; then kg_log "NOTE: the guest kernel oopsed or panicked (see the console log)"; fi
if [ -n "$INFO" ]; then
  printf 'kernel_package=%s\nkernel_release=%s\ndebian_version=%s\nsuite=%s\nsw_protected=%s\nboots=%s\ntimed_out=%s\nprepare_seconds=%s\nseconds=%s\nstatus=%s\n' \
    "$KPKG" "${REL:-unknown}" "$KV" "$(cat "$KDIR/suite")" "$SWP" "$BOOTS" "$TIMED_OUT" "$PREP" "$((SECONDS-T0))" "${RC:-none}" > "$INFO"
fi
kg_log "guest kernel ${REL:-unknown (the guest never reached /init)} ($KPKG $KV), boots $BOOTS, command status ${RC:-none}, total $((SECONDS-T0)) s"
exit "${RC:-125}"
