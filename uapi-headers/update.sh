#!/usr/bin/env bash
# Vendor the kernel uAPI headers that <linux/kvm.h> pulls in, for the six architectures KVM runs on (x86_64,
# arm64, riscv64, s390x, ppc64le, loongarch64), from Debian's linux-libc-dev package(s) or, for an architecture
# the suite does not build, its linux-libc-dev-<arch>-cross package, with provenance. See uapi-headers/README.md.
#
# Usage: uapi-headers/update.sh SPEC...
#   SPEC = SUITES[=DEBIAN_VERSION]
#   SUITES is one Debian suite or several joined by commas; without a version the newest linux-libc-dev
#   offered by any of those suites is taken. Examples:
#     update.sh bookworm,bookworm-security trixie trixie-backports
#     update.sh trixie-backports=7.3.4-1~bpo13+1
#
# The Debian mirror is read from this machine's apt configuration; a temporary apt configuration in a temp
# dir is used, the system's sources are never changed. Nothing downloaded is left behind.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG=linux-libc-dev
LICENSE='GPL-2.0 WITH Linux-syscall-note'
# Debian multiarch triplet -> Debian architecture, for every ABI the generator targets.
TRIPLETS=(x86_64-linux-gnu aarch64-linux-gnu riscv64-linux-gnu s390x-linux-gnu powerpc64le-linux-gnu loongarch64-linux-gnu)
declare -A DEBARCH=([x86_64-linux-gnu]=amd64 [aarch64-linux-gnu]=arm64 [riscv64-linux-gnu]=riscv64
                    [s390x-linux-gnu]=s390x [powerpc64le-linux-gnu]=ppc64el [loongarch64-linux-gnu]=loong64)
# The closure's preprocessor per ABI. Debian bookworm has no loongarch64 cross compiler: the host gcc stands in
# with its own target macros removed (-undef) and loongarch64's LP64 ones given (only #if choices matter here).
LOONG_CPP="gcc -undef -D__linux__ -D__loongarch__ -D__loongarch64 -D__loongarch_grlen=64 -D__CHAR_BIT__=8 -D__SIZEOF_LONG__=8
 -D__SIZEOF_POINTER__=8 -D__LP64__ -D_LP64 -D__ORDER_LITTLE_ENDIAN__=1234 -D__ORDER_BIG_ENDIAN__=4321 -D__BYTE_ORDER__=1234"
declare -A CC=([x86_64-linux-gnu]="${CC_X86_64:-gcc}" [aarch64-linux-gnu]="${CC_AARCH64:-aarch64-linux-gnu-gcc}"
               [riscv64-linux-gnu]="${CC_RISCV64:-riscv64-linux-gnu-gcc}" [s390x-linux-gnu]="${CC_S390X:-s390x-linux-gnu-gcc}"
               [powerpc64le-linux-gnu]="${CC_PPC64LE:-powerpc64le-linux-gnu-gcc}" [loongarch64-linux-gnu]="${CC_LOONGARCH64:-$LOONG_CPP}")

die() { echo "update.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: update.sh SUITES[=DEBIAN_VERSION]... (e.g. bookworm,bookworm-security trixie trixie-backports)"
for t in apt-get apt-cache dpkg-deb sha256sum; do command -v "$t" >/dev/null || die "missing tool: $t"; done
for t in "${CC[@]}"; do command -v "${t%% *}" >/dev/null || die "missing tool: ${t%% *} (tests/setup-machine.sh installs the cross compilers)"; done

# --- mirror from the machine's apt configuration (deb822 first, then one-line format) ------------------------
# Prints "URI SUITES..." per source stanza.
apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk 'BEGIN{IGNORECASE=1}
         /^[[:space:]]*$/ { if (u != "") print u, s; u = ""; s = ""; next }
         /^URIs:/   { u = $2 }
         /^Suites:/ { $1 = ""; s = $0 }
         END { if (u != "") print u, s }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i+1) }' "$f"
  done
}
SOURCES=$(apt_sources)
# The security archive lives under its own URI; everything else under the main mirror.
MIRROR=$(awk '$0 !~ /-security/ { print $1; exit }' <<<"$SOURCES")
SECMIRROR=$(awk '$0 ~ /-security/ { print $1; exit }' <<<"$SOURCES")
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list*"
uri_for() { case "$1" in *-security) [ -n "$SECMIRROR" ] || die "no security mirror configured"; echo "$SECMIRROR" ;; *) echo "$MIRROR" ;; esac; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- one SPEC ------------------------------------------------------------------------------------------------
vendor() {
  local spec=$1 suites want work apto s
  suites=${spec%%=*}; want=; [[ $spec == *=* ]] && want=${spec#*=}
  work=$TMP/$(tr -c 'A-Za-z0-9\n' _ <<<"$spec")
  mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/debs"
  : >"$work/apt/sources.list"
  for s in ${suites//,/ }; do echo "deb $(uri_for "$s") $s main" >>"$work/apt/sources.list"; done
  apto=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o Dir::State::Status=/dev/null
        -o APT::Architectures=amd64,arm64,riscv64,s390x,ppc64el,loong64 -o APT::Sandbox::User=root)
  echo "== $spec: apt-get update"
  apt-get "${apto[@]}" update -qq

  # madison: "pkg | version | uri suite/main arch Packages"
  local madison ver suite
  madison=$(apt-cache "${apto[@]}" madison "$PKG" | awk -F'|' '{ gsub(/ /, "", $2); split($3, a, " "); sub(/\/.*/, "", a[2]); print $2, a[2] }' | sort -u)
  [ -n "$madison" ] || die "$spec: $PKG not found"
  if [ -n "$want" ]; then
    ver=$want
    awk -v v="$ver" '$1 == v { f = 1 } END { exit !f }' <<<"$madison" || die "$spec: $PKG=$ver not offered (have: $(cut -d' ' -f1 <<<"$madison" | sort -uV | tr '\n' ' '))"
  else
    ver=$(cut -d' ' -f1 <<<"$madison" | sort -uV | tail -1)
  fi
  suite=$(awk -v v="$ver" '$1 == v { print $2 }' <<<"$madison" | sort -u | paste -sd, -)
  local up=${ver%%-*}
  echo "== $spec: $PKG $ver from $suite -> uapi-headers/$up"

  # Architecture: all (one package holding every arch's asm dir; trixie and newer) or per-architecture
  # (bookworm: the amd64 .deb holds x86_64-linux-gnu/asm, the s390x .deb s390x-linux-gnu/asm, ...). An architecture
  # the suite does not build (bookworm: riscv64, loong64) comes from linux-libc-dev-<arch>-cross, whose asm/ alone
  # is used (its linux/ and asm-generic/ may be another point release); none at all: the ABI is left out, and said so.
  local arch a
  arch=$(apt-cache "${apto[@]}" show "$PKG=$ver" | awk '/^Architecture:/ { print $2 }' | sort -u | paste -sd' ' -)
  local -a targets=()
  declare -A CROSS=()   # debarch -> "name version" of the cross package used for it
  local absent=""
  if [ "$arch" = all ]; then targets=("$PKG=$ver"); else
    for trip in "${TRIPLETS[@]}"; do
      a=${DEBARCH[$trip]}
      if [[ $'\n'$(apt-cache "${apto[@]}" show "$PKG:$a=$ver" 2>/dev/null)$'\n' == *$'\n'"Architecture: $a"$'\n'* ]]; then targets+=("$PKG:$a=$ver"); continue; fi
      local cpkg=linux-libc-dev-$a-cross cver
      cver=$(apt-cache "${apto[@]}" madison "$cpkg" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -uV | tail -1)
      if [ -n "$cver" ]; then targets+=("$cpkg=$cver"); CROSS[$a]="$cpkg $cver"; else absent+=" $trip"; fi
    done
  fi
  (cd "$work/debs" && apt-get "${apto[@]}" download "${targets[@]}" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' -e '^Fetched' || true)

  # Unpack each .deb into its own root; check the .deb hash against the (signed) index.
  local deb debarch root idx name dver
  declare -A ROOT=() XROOT=()
  local pkglines=""
  for deb in "$work"/debs/*.deb; do
    name=$(dpkg-deb -f "$deb" Package); dver=$(dpkg-deb -f "$deb" Version); debarch=$(dpkg-deb -f "$deb" Architecture)
    root=$work/root-$name-$debarch
    dpkg-deb -x "$deb" "$root"
    local sha; sha=$(sha256sum "$deb" | cut -d' ' -f1)
    idx=$(apt-cache "${apto[@]}" show "$name:$( [ "$debarch" = all ] && echo amd64 || echo "$debarch")=$dver" \
          | awk -v a="$debarch" '/^Architecture:/ { x = $2 } /^SHA256:/ && x == a { print $2; exit }')
    [ "$idx" = "$sha" ] || die "$deb: sha256 $sha does not match the apt index ($idx)"
    local dsuite=$suite
    [ "$name" = "$PKG" ] || dsuite=$(apt-cache "${apto[@]}" madison "$name" | awk -F'|' -v v="$dver" '{ gsub(/ /, "", $2); split($3, x, " "); sub(/\/.*/, "", x[2]); if ($2 == v) print x[2] }' | sort -u | paste -sd, -)
    pkglines+="package $name $dver $debarch $dsuite $sha $(basename "$deb")"$'\n'
    if [ "$name" = "$PKG" ]; then ROOT[$debarch]=$root; else XROOT[${name#linux-libc-dev-}]=$root; fi
  done
  # A cross package's asm/ (usr/<triplet>/include/asm) on top of the main package's shared headers.
  local xa base
  for xa in "${!XROOT[@]}"; do
    a=${xa%-cross}
    for trip in "${TRIPLETS[@]}"; do [ "${DEBARCH[$trip]}" = "$a" ] && break; done
    base=${ROOT[amd64]:-}; [ -n "$base" ] || die "$spec: no amd64 package to put the $a cross headers on"
    root=$work/root-merged-$a
    mkdir -p "$root/usr/include/$trip"
    cp -a "$base/usr/include/linux" "$base/usr/include/asm-generic" "$root/usr/include/"
    cp -a "${XROOT[$xa]}/usr/$trip/include/asm" "$root/usr/include/$trip/asm"
    ROOT[$a]=$root
  done
  # Closure of <linux/kvm.h> per ABI, computed by the C compiler against the unpacked package.
  local out=$HERE/$up trip r dep
  rm -rf "$out.new"; mkdir -p "$out.new"
  declare -A FILEARCH=() FILESRC=()
  for trip in "${TRIPLETS[@]}"; do
    case " $absent " in *" $trip "*) continue ;; esac
    r=${ROOT[all]:-${ROOT[${DEBARCH[$trip]}]:-}}
    [ -n "$r" ] || die "$spec: no package for ${DEBARCH[$trip]}"
    if [ ! -d "$r/usr/include/$trip/asm" ]; then absent+=" $trip"; continue; fi # the package has no such ABI
    if [ ! -f "$r/usr/include/$trip/asm/kvm.h" ]; then absent+=" $trip"; continue; fi # no KVM for this arch in this version
    for dep in $(printf '#include <linux/kvm.h>\n' |
                 ${CC[$trip]} -M -MT x -nostdinc -I "$r/usr/include/$trip" -I "$r/usr/include" -x c - |
                 sed -e 's/^x://' -e 's/\\$//' | tr ' ' '\n' | sed '/^$/d;/^-$/d'); do
      case "$dep" in "$r"/usr/include/*) ;; *) die "$spec: $trip closure left the package: $dep" ;; esac
      dep=$(realpath -s "$dep")
      local rel=${dep#"$r"/usr/include/} src
      src=usr/include/$rel
      case "$r" in */root-merged-*) [[ $rel == "$trip"/* ]] && src="usr/$trip/include/${rel#"$trip"/}" ;; esac
      if [ -L "$dep" ]; then
        local tgt; tgt=$(realpath -m --relative-to="$r" "$dep")
        case "$tgt" in usr/*) ;; *) die "$spec: $dep links outside the package" ;; esac
        src="$src->$tgt"
      fi
      if [ -n "${FILESRC[$rel]:-}" ]; then
        # Shared file (linux/, asm-generic/) reached from both ABIs: must be the same bytes in both packages.
        cmp -s "$dep" "$out.new/$rel" || die "$spec: $rel differs between the packages of two architectures"
        FILEARCH[$rel]+=",${trip%%-*}"
      else
        mkdir -p "$out.new/$(dirname "$rel")"
        cp -L --preserve=timestamps "$dep" "$out.new/$rel"
        chmod 0644 "$out.new/$rel"
        FILEARCH[$rel]=${trip%%-*}; FILESRC[$rel]=$src
      fi
    done
  done

  {
    echo "# Provenance of the vendored kernel uAPI headers in this directory (format: ../README.md)."
    echo "format 1"
    echo "upstream $up"
    echo "license $LICENSE"
    printf '%s' "$pkglines"
    echo "closure gcc -M -nostdinc -I <pkg>/usr/include/<triplet> -I <pkg>/usr/include: #include <linux/kvm.h>"
    local t; for t in $absent; do echo "absent $t"; done
    for rel in $(printf '%s\n' "${!FILEARCH[@]}" | LC_ALL=C sort); do
      echo "file $(sha256sum "$out.new/$rel" | cut -d' ' -f1) $rel ${FILEARCH[$rel]} ${FILESRC[$rel]}"
    done
  } >"$out.new/PROVENANCE"
  rm -rf "$out"; mv "$out.new" "$out"
  echo "== $spec: vendored ${#FILEARCH[@]} files into uapi-headers/$up"
  rm -rf "$work"
}

for spec in "$@"; do vendor "$spec"; done

# The SDK's default ABI: the newest vendored version.
ls -1 "$HERE" | grep -E '^[0-9]+\.[0-9]+(\.[0-9]+)?$' | sort -V | tail -1 >"$HERE/DEFAULT"
echo "DEFAULT = $(cat "$HERE/DEFAULT")"
