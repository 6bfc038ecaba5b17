#!/usr/bin/env bash
# The per-exit cost of the run loop, whole processes of equal shape (issue #12): C (bench/c/run_loop.c) vs raw
# P/Invoke vs the typed SDK (bench/Benchmarks --run-loop), each one process per sample, interleaved in rotating order
# so that load from other work on the machine hits all three alike. Prints every sample, then medians and ratios.
#   bench/run-loop.sh [samples per mode, default 7] [exits per sample, default 50000]
# RUN_LOOP_BEFORE=<Kvm.Sdk.Benchmarks.dll of another build> adds a fourth mode, "before" (that build's typed loop),
# to compare two versions of Run() under the same load. Needs an x86_64 /dev/kvm. Output: bench/results/run-loop.txt.
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
    before) dotnet "$RUN_LOOP_BEFORE" --run-loop typed "$n" 1 | sed 's/^typed:/before:/' ;;
    *) dotnet "$dll" --run-loop "$1" "$n" 1 ;;
  esac | tee -a "$out"
}
modes=(C raw typed)
[ -n "${RUN_LOOP_BEFORE:-}" ] && modes+=(before)
m=${#modes[@]}
for ((r = 0; r < reps; r++)); do
  for ((k = 0; k < m; k++)); do sample "${modes[(r + k) % m]}"; done
done
# Line format: "<mode>: <wall> ns per exit, <cpu> ns CPU (...)". Field 2 is wall-clock, field 6 the thread's CPU time.
median() { grep "^$1:" "$out" | awk -v f="$2" '{print $f}' | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
# The median of per-round ratios a/b (round k's samples of both modes ran next to each other, under similar load).
paired() { paste <(grep "^$1:" "$out" | awk -v f="$3" '{print $f}') <(grep "^$2:" "$out" | awk -v f="$3" '{print $f}') |
  awk '{print $1 / $2}' | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
for f in 2 6; do
  what=$([ $f = 2 ] && echo wall-clock || echo "thread CPU")
  c=$(median C $f); raw=$(median raw $f); typed=$(median typed $f)
  awk -v c="$c" -v raw="$raw" -v typed="$typed" -v reps="$reps" -v n="$n" -v what="$what" \
      -v pr="$(paired raw C $f)" -v pt="$(paired typed C $f)" -v ptr="$(paired typed raw $f)" 'BEGIN {
    printf "%s, medians of %d processes x %d exits: C %.0f, raw %.0f, typed %.0f ns per exit; raw/C %.2fx, typed/C %.2fx, typed/raw %.2fx (paired per round: %.2fx, %.2fx, %.2fx)\n",
      what, reps, n, c, raw, typed, raw / c, typed / c, typed / raw, pr, pt, ptr }' | tee -a "$out"
  if [ -n "${RUN_LOOP_BEFORE:-}" ]; then
    before=$(median before $f)
    awk -v c="$c" -v b="$before" -v t="$typed" -v what="$what" -v pb="$(paired before C $f)" -v ptb="$(paired typed before $f)" 'BEGIN {
      printf "%s, before (RUN_LOOP_BEFORE): typed %.0f ns per exit, %.2fx of C (paired %.2fx); now %.2fx of before (paired %.2fx)\n",
        what, b, b / c, pb, t / b, ptb }' | tee -a "$out"
  fi
done
