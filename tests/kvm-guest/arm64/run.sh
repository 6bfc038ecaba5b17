#!/usr/bin/env bash
# run.sh - run a command inside a throw-away arm64 Linux guest whose KVM gives a real /dev/kvm.
#
# A Debian arm64 kernel boots under qemu-system-aarch64 (TCG, emulated EL2: -machine virt,virtualization=on),
# where KVM is built in, so /dev/kvm exists as soon as the kernel is up. The guest root is an initramfs with
# arm64 busybox, the 9p/overlay modules and an arm64 glibc userland (libc, libgcc_s, libstdc++, OpenSSL + zlib/zstd)
# so that a self-contained linux-arm64 .NET app runs in it. See README.md beside this file.
#
# usage: run.sh [options] -- <command> [args...]      (the command runs in the guest, cwd /share)
#   --suite S       trixie-backports (default; newest kernel, guest_memfd) | trixie (6.12, no guest_memfd)
#   --kargs "..."   extra kernel command line, e.g. kvm-arm.mode=protected | kvm-arm.mode=nvhe
#   --share DIR     host directory mounted read-write at /share (default: a fresh temp dir, removed afterwards)
#   --ro DIR        host directory mounted read-only at /ro (e.g. a published app); optional
#   --env K=V       environment variable for the guest command (repeatable)
#   --info FILE     write "kernel=<version>" and "kvm_mode=<mode>" lines there after the run
#   --timeout SEC   whole-run limit per boot (default 900); --boot-timeout SEC: init must be reached (default 180)
#   --print-kernel  only fetch the kernel and userland (into the cache) and print the arm64 Image's path, then the
#                   arm64 busybox-static's path, one a line; no guest, no COMMAND (LinuxVmm's boot uses both)
#   --tries N       boots tried when the guest never reaches init (default 3)
#   --mem M / --smp N / --cpu MODEL   QEMU settings (default 2G / 2 / max,pauth=off,sve=off,sme=off: with SVE the
#                   .NET test process dies of SIGSEGV under QEMU 7.2 TCG; see README.md)
# env:  KVM_GUEST_CACHE (default /var/cache/kvm-sdk; this script uses $KVM_GUEST_CACHE/arm64),
#       KVM_GUEST_REFRESH=1 re-resolves the newest kernel of the suite (otherwise the lists are reused for 24 h),
#       MIRROR (default: the mirror of /etc/apt/sources.list.d/debian.sources)
# exit: the guest command's exit status; 125 if the guest never reported one (boot failure, hang, crash);
#       124 only comes from the guest command itself.
# needs: qemu-system-arm cpio kmod xz-utils zstd (tests/setup-machine.sh installs them)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=trixie-backports KARGS="" SHARE="" RO="" INFO="" TIMEOUT=900 BOOT_TIMEOUT=180 TRIES=3
MEM=2G SMP=2 CPU=max,pauth=off,sve=off,sme=off
GENV=()
PRINT_KERNEL=0
while [ $# -gt 0 ]; do
  case $1 in
    --suite) SUITE=$2; shift 2;;
    --kargs) KARGS=$2; shift 2;;
    --share) SHARE=$2; shift 2;;
    --ro) RO=$2; shift 2;;
    --env) GENV+=("$2"); shift 2;;
    --info) INFO=$2; shift 2;;
    --timeout) TIMEOUT=$2; shift 2;;
    --boot-timeout) BOOT_TIMEOUT=$2; shift 2;;
    --tries) TRIES=$2; shift 2;;
    --print-kernel) PRINT_KERNEL=1; shift;;
    --mem) MEM=$2; shift 2;;
    --smp) SMP=$2; shift 2;;
    --cpu) CPU=$2; shift 2;;
    --) shift; break;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
    *) echo "run.sh: unknown option $1 (use -- before the guest command)" >&2; exit 2;;
  esac
done
[ $# -gt 0 ] || [ "$PRINT_KERNEL" = 1 ] || { echo "run.sh: no guest command (usage: run.sh [options] -- <command...>)" >&2; exit 2; }
export PATH=$PATH:/usr/sbin:/sbin
CACHE=${KVM_GUEST_CACHE:-/var/cache/kvm-sdk}/arm64
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
mkdir -p "$CACHE"
log() { echo "run.sh: $*" >&2; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# One lock per cache: two runs must not extract into the same directories at once. Boots run outside the lock.
exec 9>"$CACHE/.lock"

# --- apt for arm64 packages of another suite, with private state: the system's sources are never touched ---
APT=$CACHE/apt-$SUITE
aptopts() {
  echo -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::Etc::SourceList="$APT/sources.list" \
       -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" \
       -o Dir::State::Status=/dev/null -o Debug::NoLocking=1
}
prepare() {
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  {
    echo "deb $MIRROR $SUITE main"
    [ "$SUITE" = trixie ] || echo "deb $MIRROR trixie main"   # busybox-static and the userland come from trixie
  } > "$APT/sources.list"
  local stamp=$APT/resolved
  if [ "${KVM_GUEST_REFRESH:-0}" = 1 ] || [ ! -s "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
    log "apt update ($SUITE, arm64)"
    # shellcheck disable=SC2046
    apt-get $(aptopts) update -qq >&2
    local kpkg
    # shellcheck disable=SC2046
    kpkg=$(apt-cache $(aptopts) depends "linux-image-arm64/$SUITE" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$kpkg" ] || { log "cannot resolve linux-image-arm64 in $SUITE"; return 1; }
    echo "$kpkg" > "$stamp"
  fi
  KPKG=$(cat "$stamp"); KVER=${KPKG#linux-image-}
  K=$CACHE/kernel-$KVER
  U=$CACHE/userland-trixie
  # Their chatter (apt's "Get:" lines) goes to stderr: --print-kernel's stdout is the paths a caller reads.
  [ -f "$K/.done" ] || fetch_kernel >&2
  [ -f "$U/.done" ] || fetch_userland >&2
  build_initrd
}
download() {   # download <dir> <packages...>
  local dir=$1; shift
  mkdir -p "$dir"
  # shellcheck disable=SC2046
  (cd "$dir" && apt-get $(aptopts) download "$@" 2>&1 | grep -v 'Download is performed unsandboxed' || true)
}
fetch_kernel() {
  log "fetching $KPKG"
  rm -rf "$K"; mkdir -p "$K/debs" "$K/root"
  local pkgs
  # shellcheck disable=SC2046
  pkgs=$(apt-cache $(aptopts) depends "$KPKG" | awk '/Depends: linux-(binary|modules|base)-/{print $2}' | sort -u)
  download "$K/debs" "$KPKG" $pkgs
  for d in "$K"/debs/*.deb; do dpkg -x "$d" "$K/root"; done
  local moddir vmlinuz
  moddir=$( (ls -d "$K/root/usr/lib/modules/$KVER" "$K/root/lib/modules/$KVER" 2>/dev/null || true) | head -1)
  vmlinuz=$( (ls "$K/root/boot/vmlinuz-$KVER" "$moddir/vmlinuz" 2>/dev/null || true) | head -1)
  [ -n "$moddir" ] && [ -n "$vmlinuz" ] || { log "no kernel image/modules in $KPKG"; return 1; }
  grep -qs '^CONFIG_KVM=y' "$moddir/config" "$K/root/boot/config-$KVER" || log "warning: CONFIG_KVM is not =y in $KVER"
  # The 9p and overlay modules, decompressed, in load order (KVM itself is built in on Debian arm64).
  local b=$K/depmod; mkdir -p "$b/lib/modules" "$K/mods"; ln -sfn "$(readlink -f "$moddir")" "$b/lib/modules/$KVER"
  depmod -b "$b" "$KVER"
  for m in 9pnet_virtio 9p overlay; do modprobe -d "$b" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'; done \
   | awk '!seen[$0]++' | while read -r f; do
    n=$(basename "$f"); n=${n%.xz}; n=${n%.zst}
    case $f in *.xz) xz -dc "$f";; *.zst) zstd -qdc "$f";; *) cat "$f";; esac > "$K/mods/$n"; echo "$n" >> "$K/mods/order"
  done
  mv "$vmlinuz" "$K/vmlinuz"
  rm -rf "$K/root" "$K/depmod" "$K/debs"   # keep only what the boot needs (the kernel cache is ~60 MB, not ~400)
  echo "$KVER" > "$K/.done"
}
fetch_userland() {
  # arm64 glibc userland for a self-contained .NET app: what `readelf -d` of the linux-arm64 runtime needs
  # (libc/libm/libdl/libpthread/librt, libgcc_s, libstdc++) plus what it dlopens (libssl.so.3/libcrypto.so.3:
  # xunit hashes test ids) and what those need (trixie's libcrypto.so.3 needs libz.so.1 and libzstd.so.1).
  # All from trixie, whichever kernel suite is booted. The NEEDED closure is checked below.
  log "fetching the arm64 userland (trixie)"
  rm -rf "$U"; mkdir -p "$U/debs" "$U/root"
  download "$U/debs" busybox-static/trixie libc6/trixie libgcc-s1/trixie libstdc++6/trixie libssl3t64/trixie zlib1g/trixie libzstd1/trixie
  for d in "$U"/debs/*.deb; do dpkg -x "$d" "$U/x"; done
  mkdir -p "$U/root/bin" "$U/root/usr/lib/aarch64-linux-gnu"
  cp "$U/x/usr/bin/busybox" "$U/root/bin/"
  cp -a "$U/x/usr/lib/ld-linux-aarch64.so.1" "$U/root/usr/lib/"
  # only the shared objects; no locales, gconv, docs
  (cd "$U/x/usr/lib/aarch64-linux-gnu" && find . -maxdepth 1 \( -name '*.so*' \) -print0 | xargs -0 cp -a -t "$U/root/usr/lib/aarch64-linux-gnu/")
  [ -d "$U/x/usr/lib/aarch64-linux-gnu/ossl-modules" ] && cp -a "$U/x/usr/lib/aarch64-linux-gnu/ossl-modules" "$U/root/usr/lib/aarch64-linux-gnu/"
  rm -rf "$U/x" "$U/debs"
  local lib need missing=""
  for lib in "$U"/root/usr/lib/aarch64-linux-gnu/lib{c,stdc++,ssl,crypto}.so.*; do
    for need in $(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [ -e "$U/root/usr/lib/aarch64-linux-gnu/$need" ] || [ -e "$U/root/usr/lib/$need" ] || missing+=" $need"
    done
  done
  [ -z "$missing" ] || { log "userland incomplete, missing:$missing"; return 1; }
  touch "$U/.done"
}
build_initrd() {
  # The base initramfs, rebuilt only when the kernel, the userland or this script changed.
  local key
  key=$( { echo "$KVER"; sha256sum "$0"; } | sha256sum | cut -c1-16)
  INITRD=$K/initrd-$key.cpio.gz
  [ -s "$INITRD" ] && return 0
  log "building the initramfs for $KVER"
  local I=$K/initrd.d; rm -rf "$I"; mkdir -p "$I"/{proc,sys,dev,tmp,mods,share,ro,etc}
  cp -a "$U/root/." "$I/"
  ln -s usr/lib "$I/lib"
  cp "$K/mods/"* "$I/mods/"
  for a in sh mount umount insmod mkdir cat ls echo poweroff grep cut uname dmesg tail head sed env rm cp mv ln \
           sleep date chroot tr wc sync timeout find df free ps kill awk seq true false test stat du sha256sum tee \
           xargs hexdump od; do
    ln -sf busybox "$I/bin/$a"
  done
  echo "root:x:0:0:root:/share:/bin/sh" > "$I/etc/passwd"
  cat > "$I/init" <<'EOT'
#!/bin/sh
export PATH=/bin HOME=/share TMPDIR=/tmp
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
for m in $(cat /mods/order); do insmod /mods/$m || echo "GUEST-INIT: insmod $m failed"; done
echo "GUEST-INIT: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s; $(ls /dev/kvm 2>&1)"
dmesg | grep -E 'kvm \[[0-9]+\]: .*(mode|not available|error|fail)' | sed 's/^/GUEST-KVM: /'
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /share || echo "GUEST-INIT: 9p mount of /share failed"
if grep -q 'guestro=1' /proc/cmdline; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro ro /ro || echo "GUEST-INIT: 9p mount of /ro failed"
fi
cd /share
sh /guest-cmd.sh
rc=$?
# what the kernel said about crashed processes or itself while the command ran (console is at loglevel 3)
dmesg | grep -iE 'unhandled|segfault|Internal error|BUG:|WARNING:|Oops|Call trace' | tail -40 | sed 's/^/GUEST-DMESG: /'
echo "GUEST-INIT: exit-status=$rc at $(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
EOT
  chmod +x "$I/init"
  (cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp"
  # The per-run cpio is appended after this one: the kernel only takes an uncompressed archive that starts on a
  # 4-byte boundary (else "Initramfs unpacking failed: invalid magic"), and it skips zero padding between archives.
  truncate -s %512 "$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"
  rm -rf "$I"
  find "$K" -maxdepth 1 -name 'initrd-*.cpio.gz' ! -name "$(basename "$INITRD")" -delete
}

flock 9
prepare
if [ "$PRINT_KERNEL" = 1 ]; then echo "$K/vmlinuz"; echo "$U/root/bin/busybox"; exit 0; fi
flock -u 9
log "prepared kernel $KVER in $(elapsed) s"

# --- the guest command: a second, uncompressed cpio appended to the cached initramfs (the kernel unpacks both) ---
RUN=$(mktemp -d /tmp/kvm-arm64-run.XXXXXX)
CLEAN_SHARE=""
if [ -z "$SHARE" ]; then SHARE=$RUN/share; mkdir -p "$SHARE"; CLEAN_SHARE=1; fi
mkdir -p "$SHARE"
cleanup() { [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT
mkdir -p "$RUN/cmd"
{
  echo "#!/bin/sh"
  for kv in ${GENV[@]+"${GENV[@]}"}; do printf 'export %q\n' "$kv"; done
  printf '%q ' "$@"; echo
} > "$RUN/cmd/guest-cmd.sh"
(cd "$RUN/cmd" && echo guest-cmd.sh | cpio -o -H newc --quiet) > "$RUN/cmd.cpio"
cat "$INITRD" "$RUN/cmd.cpio" > "$RUN/initrd"

QARGS=(-machine virt,virtualization=on,gic-version=3 -cpu "$CPU" -accel tcg -m "$MEM" -smp "$SMP"
       -nographic -no-reboot -nic none -kernel "$K/vmlinuz" -initrd "$RUN/initrd"
       -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,id=share")
APPEND="console=ttyAMA0 loglevel=3 panic=-1 kvmsdk.guest=arm64 $KARGS"
if [ -n "$RO" ]; then
  QARGS+=(-virtfs "local,path=$RO,mount_tag=ro,security_model=none,readonly=on,id=ro"); APPEND+=" guestro=1"
fi

RC=""
for try in $(seq "$TRIES"); do
  CONSOLE=$RUN/console-$try.log; : > "$CONSOLE"
  tb=$(date +%s)
  timeout "$TIMEOUT" qemu-system-aarch64 "${QARGS[@]}" -append "$APPEND" </dev/null > "$CONSOLE" 2>&1 &
  QPID=$!
  tail -n +1 -f --pid=$QPID "$CONSOLE" | sed -u 's/\r//g' &
  TPID=$!
  reached=""
  while kill -0 "$QPID" 2>/dev/null; do
    if [ -z "$reached" ] && grep -q 'GUEST-INIT: kernel' "$CONSOLE"; then reached=1; fi
    if [ -z "$reached" ] && [ $(( $(date +%s) - tb )) -ge "$BOOT_TIMEOUT" ]; then
      log "the guest did not reach init within $BOOT_TIMEOUT s (boot $try of $TRIES): killing it"
      kill "$QPID" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  wait "$QPID" 2>/dev/null || true
  QPID=""
  wait "$TPID" 2>/dev/null || true
  tr -d '\r' < "$CONSOLE" > "$RUN/console.log"
  RC=$(sed -n 's/^GUEST-INIT: exit-status=\([0-9]*\).*/\1/p' "$RUN/console.log" | tail -1)
  grep -q 'GUEST-INIT: kernel' "$RUN/console.log" && break
  log "boot $try of $TRIES never reached init"
done

GKVER=$(sed -n 's/^GUEST-INIT: kernel \([^ ]*\) up.*/\1/p' "$RUN/console.log" | tail -1)
MODE=$(sed -n 's/^GUEST-KVM: .*kvm \[[0-9]*\]: \(.*\) mode initialized successfully.*/\1/p' "$RUN/console.log" | tail -1)
[ -n "$MODE" ] || MODE=$(sed -n 's/^GUEST-KVM: .*kvm \[[0-9]*\]: //p' "$RUN/console.log" | head -1)
MODE=${MODE:-unknown}
[ -n "$KARGS" ] && log "kernel arguments: $KARGS"
log "arm64 guest: kernel ${GKVER:-?} (package $KPKG), KVM mode $MODE, exit status ${RC:-none (125)}, $(elapsed) s in all"
if [ -n "$INFO" ]; then printf 'kernel=%s\nkvm_mode=%s\n' "${GKVER:-$KVER}" "$MODE" > "$INFO"; fi
[ -n "$CLEAN_SHARE" ] || cp "$RUN/console.log" "$SHARE/.console.log" 2>/dev/null || true
exit "${RC:-125}"
