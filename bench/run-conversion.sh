#!/usr/bin/env bash
# Attribute-conversion throughput (1 GiB PRIVATE and back, 4 KiB and 2 MiB steps) in the private kernel lane:
# C (bench/c/convert_loop.c) beside the typed SDK and the raw ioctl (bench/Conversion). Numbers are for a kernel
# under QEMU emulation: compare the three with each other, not with hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/kvm-convbench.XXXXXX)
gcc -O2 -static -o "$out/convert_loop" bench/c/convert_loop.c
dotnet build bench/Conversion -c Release -nologo -v q
DLL=$PWD/bench/Conversion/bin/Release/net10.0/Kvm.Sdk.ConversionBench.dll
printf '%s\n' "$out/convert_loop > $out/c.txt 2>&1" "dotnet $DLL > $out/dotnet.txt 2>&1" > "$out/bench.sh"
tests/kvm-guest/run.sh --kernel newest --sw-protected --quiet --share "$out" -- sh "$out/bench.sh"
mkdir -p bench/results && cat "$out/c.txt" "$out/dotnet.txt" | tee bench/results/conversion.txt
