#!/usr/bin/env bash
# The newcomer's first hour, as a test: the README's commands word for word, from the clone's root, with a scratch
# HOME (so `~/kvm-feed` and the global tool land in a throw-away place; restored packages are shared with the build).
#   1. "Use the package": pack, a console project, the feed, `dotnet add package`; the tour pasted and built; the tour
#      run on this host's /dev/kvm when usable and always in the newest kernel lane;
#   2. the kvmsdk tool: the dotnet tool and the native single file, as the README installs them;
#   3. every command's --help, and the refusals a newcomer met (each with its exit status, none a crash).
# Writes "<passed> <failed> 0" to $LANE_OUT/newcomer.counts.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${LANE_OUT:-$ROOT/artifacts/test}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/kvm-newcomer.XXXXXX)
export NUGET_PACKAGES=${NUGET_PACKAGES:-$HOME/.nuget/packages}
export HOME=$W/home DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p "$HOME"
pass=0; fail=0
ok() { echo "newcomer: PASS $1"; pass=$((pass+1)); }
bad() { echo "newcomer: FAIL $1"; fail=$((fail+1)); }
finish() { rm -rf "$W"; echo "$pass $fail 0" > "$OUT/newcomer.counts"; echo "newcomer test: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
cd "$ROOT"
MYVMM=$HOME/MyVmm
before=$(git status --porcelain)

# The Nth ```LANG block after a README heading.
block() {  # heading lang n
  awk -v h="$1" -v lang="$2" -v n="$3" '
    index($0, h) == 1 { on = 1; next }
    on && /^## / { exit }
    on && $0 == "```" lang { k++; if (k == n) { inb = 1; next } }
    inb && /^```/ { exit }
    inb { print }' README.md
}

# --- 1. the package, the tour ------------------------------------------------------------------------------------
block "## Use the package" sh 1 > "$W/package.sh"
if [ -s "$W/package.sh" ] && bash -e "$W/package.sh" > "$W/package.log" 2>&1 \
   && grep -qE '<PackageReference Include="Kvm.Sdk" Version="[0-9]+\.[0-9]+\.[0-9]+-' "$MYVMM/MyVmm.csproj" && [ "$(git status --porcelain)" = "$before" ]; then
  ok "README 'Use the package': pack, new console, nuget.config, add package ($(grep -oE 'Kvm.Sdk" Version="[^"]+' "$MYVMM/MyVmm.csproj" | cut -d'"' -f3)); the clone is untouched"
else tail -20 "$W/package.log"; bad "README 'Use the package' commands"; finish; fi

block "## A five-minute tour" csharp 1 > "$MYVMM/Program.cs"
if (cd "$MYVMM" && dotnet build -nologo -v q > "$W/tour-build.log" 2>&1); then ok "the tour, pasted into Program.cs, builds against the package"
else grep -E 'error' "$W/tour-build.log" | head -5; bad "the tour does not build"; finish; fi
TOUR=$MYVMM/bin/Debug/net10.0/MyVmm.dll
if [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
  host_out=$(cd "$MYVMM" && timeout 120 dotnet run --no-build 2>&1)
  if [ "$host_out" = "port 0x10: 42" ]; then ok "the tour on this host's /dev/kvm prints 'port 0x10: 42'"
  else echo "$host_out" | tail -5; bad "the tour on this host printed '$host_out'"; fi
else echo "newcomer: this host has no usable /dev/kvm; the tour runs in the newest lane only"; fi
if tests/kvm-guest/run.sh --quiet --console "$W/tour-console.log" -- dotnet "$TOUR" > "$W/tour-lane.log" 2>&1 \
   && grep -aq 'port 0x10: 42' "$W/tour-console.log"; then ok "the tour in the newest lane (7.3.4 KVM) prints 'port 0x10: 42'"
else tail -10 "$W/tour-lane.log"; grep -a 'port\|Exception' "$W/tour-console.log" | head -5; bad "the tour in the newest lane"; fi

# --- 2. the tool -------------------------------------------------------------------------------------------------
block "## Use the package" sh 2 > "$W/tool.sh"
if [ -s "$W/tool.sh" ] && bash -e "$W/tool.sh" > "$W/tool.log" 2>&1 && [ "$(grep -c '^vendored header versions:' "$W/tool.log")" = 2 ]; then
  ok "README kvmsdk install: dotnet tool and native single file both answer 'abi versions'"
else tail -20 "$W/tool.log"; bad "README kvmsdk install commands"; fi
NATIVE=$HOME/kvmsdk-native/kvmsdk
if [ -x "$NATIVE" ] && [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
  if "$NATIVE" probe --host --json > "$W/native-probe.json" 2>/dev/null; [ $? -le 1 ] && grep -q '"apiVersion": 12' "$W/native-probe.json"; then
    ok "the native kvmsdk probes this host's KVM (API 12)"
  else bad "the native kvmsdk probe --host"; fi
fi

# --- 3. help and refusals ----------------------------------------------------------------------------------------
expect() {  # status|nonzero  "what it shows"  args...
  local want=$1 shows=$2; shift 2
  local got; ./kvmsdk "$@" > "$W/cmd.out" 2>&1; got=$?
  local label="./kvmsdk $*"
  if [ "$got" -ge 128 ]; then bad "$label crashed (status $got)"; tail -3 "$W/cmd.out"; return; fi
  if { [ "$want" = nonzero ] && [ "$got" != 0 ]; } || [ "$want" = "$got" ]; then
    if [ -z "$shows" ] || grep -qF -- "$shows" "$W/cmd.out"; then ok "$label -> $got"; return; fi
    bad "$label -> $got, but without '$shows'"; head -5 "$W/cmd.out"; return
  fi
  bad "$label -> $got, expected $want"; head -5 "$W/cmd.out"
}
expect 0 "Usage:" --help
for c in "probe" "abi" "abi dump" "abi diff" "abi versions" "generate" "completions"; do
  # shellcheck disable=SC2086
  expect 0 "kvmsdk $c" $c --help
done
expect 0 "" --version
expect 2 "" probe --kernel nonsense
expect 2 "" probe --host --sw-protected
expect 2 "" probe extra
expect 2 "" frob
expect 2 "" generate --version 7.3.4
V=uapi-headers/$(cat uapi-headers/DEFAULT)
mkdir -p "$W/empty" "$W/prose/linux" "$W/elf/linux" "$W/out-file"
echo "This is not a header. It is prose about KVM." > "$W/prose/linux/kvm.h"
cp "$(command -v bash)" "$W/elf/linux/kvm.h"
touch "$W/out-file/taken"
expect 0 "x86_64" generate --include "$V" --include "$V/x86_64-linux-gnu" --out "$W/gen-x86"
if ls "$W/gen-x86" 2>/dev/null | grep -q 'X86_64'; then
  if ls "$W/gen-x86" | grep -q 'Arm64'; then bad "generate from x86_64 include dirs also wrote arm64 bindings"; else ok "generate infers x86_64 from the include dirs"; fi
else bad "generate from x86_64 include dirs wrote no x86_64 bindings"; fi
expect nonzero "" generate --include "$W/prose" --out "$W/gen-prose"
expect nonzero "" generate --include "$W/elf" --out "$W/gen-elf"
expect nonzero "" abi diff 7.3.4 "$W/empty"
expect nonzero "" abi dump --version 7.3.4 --entry linux/nope.h
expect nonzero "" generate --version 7.3.4 --namespace 123.bad-ns --out "$W/gen-ns1"
expect nonzero "" generate --version 7.3.4 --namespace class --out "$W/gen-ns2"
expect nonzero "" generate --version 7.3.4 --out "$W/out-file/taken"
expect nonzero "" generate --version 7.3.4 --out /proc/kvmsdk-cannot-write
finish
