#!/usr/bin/env bash
# Rebuilds kvm.ko, kvm-amd.ko and kvm-intel.ko of a Debian kernel with CONFIG_KVM_SW_PROTECTED_VM, which Debian
# leaves off, so that KVM_X86_SW_PROTECTED_VM (private memory without SEV/TDX hardware) exists in the guest.
# See /work/shared/reference/sw-protected-vm.md for the recipe and its traps.
#
# usage: build-kvm-modules.sh KVER DEBIAN_VERSION SUITE OUTDIR
#   e.g. build-kvm-modules.sh 7.3.4+deb13-amd64 7.3.4-1~bpo13+1 trixie-backports /var/cache/kvm-sdk/kvm-modules/X
# The build runs in a `debootstrap --variant=minbase` chroot of the kernel's own Debian release, because the
# 6.18+/7.x linux-kbuild packages need a newer glibc and gcc-14 than a bookworm host has. The chroot lives under
# the cache and is deleted afterwards (KVM_GUEST_KEEP_CHROOT=1 keeps it for the next build). Needs root.
# Output: OUTDIR/{kvm,kvm-amd,kvm-intel}.ko (debug info stripped, about 5 MB), written atomically.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
KVER=${1:?KVER}; KV=${2:?Debian version}; SUITE=${3:?suite}; OUT=${4:?outdir}
MM=$(echo "$KVER" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')        # 7.3.4+deb13-amd64 -> 7.3
CS=${SUITE%-backports}                                        # chroot release
[ "$(id -u)" = 0 ] || kg_die "building kvm modules needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || kg_die "debootstrap is not installed (tests/setup-machine.sh installs it)"
t0=$SECONDS
W=$KG_CACHE/build; CH=$W/chroot-$CS; mkdir -p "$W"
MIRROR=$(kg_mirror)

if [ ! -x "$CH/usr/bin/apt-get" ] || [ ! -e "$CH/.debootstrap-complete" ]; then
  rm -rf "$CH"
  kg_log "debootstrap --variant=minbase $CS (about 45 s)"
  debootstrap --variant=minbase "$CS" "$CH" "$MIRROR" >"$W/debootstrap.log" 2>&1 \
    || { tail -20 "$W/debootstrap.log" >&2; kg_die "debootstrap $CS failed (log: $W/debootstrap.log)"; }
  touch "$CH/.debootstrap-complete"
  kg_log "chroot ready after $((SECONDS-t0)) s"
fi
{ echo "deb $MIRROR $CS main"; [ "$SUITE" = "$CS" ] || echo "deb $MIRROR $SUITE main"; } > "$CH/etc/apt/sources.list"
rm -f "$CH"/etc/apt/sources.list.d/*; cp -L /etc/resolv.conf "$CH/etc/resolv.conf" 2>/dev/null || true

# The kvm sources: linux-source-X.Y of exactly the kernel's Debian version; only arch/x86/kvm and virt are needed.
kg_apt "$SUITE"
D=$W/debs; rm -rf "$D"; mkdir -p "$D"
kg_apt_download "$D" "linux-source-$MM=$KV" || kg_die "linux-source-$MM=$KV is not in $SUITE"
rm -rf "$CH/ksrc"; mkdir -p "$CH/ksrc"
dpkg-deb --fsys-tarfile "$D"/linux-source-"$MM"_*.deb | tar -xO "./usr/src/linux-source-$MM.tar.xz" | xz -dc -T0 \
  | tar -x -C "$CH/ksrc" --strip-components=1 "linux-source-$MM/arch/x86/kvm" "linux-source-$MM/virt"
rm -rf "$D"
kg_log "kvm sources of linux-source-$MM $KV extracted after $((SECONDS-t0)) s"

T=""; case $SUITE in *-backports) T="-t $SUITE";; esac
H=/usr/src/linux-headers-$KVER; C=/usr/src/linux-headers-${KVER%-amd64}-common
cat > "$CH/build-kvm.sh" <<B
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $T linux-headers-$KVER binutils make > /apt-install.log
v=\$(dpkg-query -W -f='\${Version}' linux-headers-$KVER)
[ "\$v" = "$KV" ] || { echo "linux-headers-$KVER is \$v, not $KV"; exit 1; }
rm -rf $C/virt $C/arch/x86/kvm; cp -r /ksrc/virt $C/virt; cp -r /ksrc/arch/x86/kvm $C/arch/x86/kvm
# kbuild was configured with a host-prefixed gcc (x86_64-linux-gnu-gcc-14); the chroot has no plain gcc.
CC=\$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' $H/.config)
make -s -C $H M=$C/arch/x86/kvm CC=\$CC KCFLAGS=-DCONFIG_KVM_SW_PROTECTED_VM=1 -j$(nproc) modules
cd $C/arch/x86/kvm && strip --strip-debug kvm.ko kvm-amd.ko kvm-intel.ko
B
kg_log "building kvm, kvm-amd, kvm-intel with -DCONFIG_KVM_SW_PROTECTED_VM=1 (about 90 s)"
# private mount namespace: the chroot's proc/dev mounts vanish when the build ends, even on failure
unshare --mount --propagation private sh -c "mount -t proc proc '$CH/proc' && mount --rbind /dev '$CH/dev' && chroot '$CH' /bin/sh /build-kvm.sh" \
  >"$W/build.log" 2>&1 || { tail -30 "$W/build.log" >&2; kg_die "kvm module build failed (logs: $W/build.log, $CH/apt-install.log)"; }
rm -rf "$OUT.tmp"; mkdir -p "$OUT.tmp"
for m in kvm kvm-amd kvm-intel; do cp "$CH$C/arch/x86/kvm/$m.ko" "$OUT.tmp/"; done
echo "$KVER $KV $SUITE built $(date -u +%FT%TZ)" > "$OUT.tmp/BUILD-INFO"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
[ "${KVM_GUEST_KEEP_CHROOT:-0}" = 1 ] || rm -rf "$CH"
kg_log "kvm modules built in $((SECONDS-t0)) s -> $OUT"
