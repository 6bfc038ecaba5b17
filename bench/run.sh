#!/usr/bin/env bash
# Runs the benchmarks, the C baselines (bench/c) and the whole-process comparisons (run loop; CLI vs bindgen). Results go to bench/results/ (not tests:
# numbers depend on the machine; the README quotes them with the machine and date).
#   bench/run.sh [BenchmarkDotNet filter, default '*']
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
dotnet run -c Release --project bench/Benchmarks -- --filter "${1:-*}" --artifacts bench/results/bdn
if [ -r /dev/kvm ]; then
  gcc -O2 -o /tmp/kvm-ioctl-loop bench/c/ioctl_loop.c && /tmp/kvm-ioctl-loop | tee bench/results/c-ioctl.txt
  # Per-exit cost, whole processes: C vs raw P/Invoke vs typed Run(), interleaved (bench/results/run-loop.txt).
  bench/run-loop.sh
fi
bench/cli-vs-bindgen.sh
