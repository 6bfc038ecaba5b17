#!/usr/bin/env bash
# The per-exit cost of the run loop, whole processes of equal shape (issue #12): C (bench/c/run_loop.c) vs raw
# P/Invoke vs the typed SDK (bench/Benchmarks --run-loop), each one process per sample, interleaved in rotating order
# so that load from other work on the machine hits all three alike. Prints every sample, then medians and ratios.
#   bench/run-loop.sh [samples per mode, default 7] [exits per sample, default 50000]
# Needs an x86_64 /dev/kvm. Output also goes to bench/results/run-loop.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-7}
n=${2:-50000}
mkdir -p bench/results
gcc -O2 -Wall -o /tmp/kvm-run-loop bench/c/run_loop.c
dotnet build bench/Benchmarks -c Release -v q -nologo >/dev/null
dll=bench/Benchmarks/bin/Release/net10.0/Kvm.Sdk.Benchmarks.dll
out=bench/results/run-loop.txt
: >"$out"
sample() {
  case $1 in
    C) /tmp/kvm-run-loop "$n" 1 ;;
    *) dotnet "$dll" --run-loop "$1" "$n" 1 ;;
  esac | tee -a "$out"
}
modes=(C raw typed)
for ((r = 0; r < reps; r++)); do
  for ((k = 0; k < 3; k++)); do sample "${modes[(r + k) % 3]}"; done
done
median() { grep "^$1:" "$out" | awk '{print $2}' | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
c=$(median C); raw=$(median raw); typed=$(median typed)
awk -v c="$c" -v raw="$raw" -v typed="$typed" -v reps="$reps" -v n="$n" 'BEGIN {
  printf "medians of %d processes x %d exits: C %.0f ns, raw %.0f ns, typed %.0f ns per exit; raw/C %.2fx, typed/C %.2fx, typed/raw %.2fx\n",
    reps, n, c, raw, typed, raw / c, typed / c, typed / raw }' | tee -a "$out"
