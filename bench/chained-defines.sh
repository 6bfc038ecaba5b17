#!/usr/bin/env bash
# Issue #17's "any single header in <= 2 s and <= 256 MiB" case, as a whole process: a linux/kvm.h of N chained
# defines (`#define FZ_C0 0`, `#define FZ_Cn (FZ_Cn-1 + 1)`, ...) and one struct sized by the chain, through
# `kvmsdk abi dump`. Prints wall, user+sys CPU and peak RSS per run (GNU time), with the load average before each.
#   bench/chained-defines.sh [N=100000] [runs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}; runs=${2:-5}
dll=src/Cli/bin/Release/net10.0/Kvm.Sdk.Cli.dll
[ -e "$dll" ] || dotnet build src/Cli -c Release -nologo -v q
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/linux"
awk -v n="$n" 'BEGIN { print "#define FZ_C0 0"; for (i = 1; i < n; i++) printf "#define FZ_C%d (FZ_C%d + 1)\n", i, i - 1;
  print "struct fz_chain { char x[FZ_C150 + 1]; };" }' > "$dir/linux/kvm.h"
echo "input: $n chained defines, $(stat -c %s "$dir/linux/kvm.h") bytes; $(nproc) cores"
for i in $(seq "$runs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time" dotnet "$dll" abi dump --arch x86_64 --include "$dir" > "$dir/out" 2> "$dir/err" || true
  read -r wall user sys rss < "$dir/time"
  grep -q 'struct fz_chain' "$dir/out" || { echo "run $i: no fz_chain in the dump:"; cat "$dir/err"; exit 1; }
  printf 'run %d: wall %ss  user %ss  sys %ss  peak RSS %d MiB (%d KiB)  load %s\n' "$i" "$wall" "$user" "$sys" $((rss / 1024)) "$rss" "$load"
done
