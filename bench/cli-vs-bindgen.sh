#!/usr/bin/env bash
# Whole-process comparison on the same kvm.h: bindgen vs kvmsdk (native single-file, and under the JIT), for
# `abi dump` and `generate`, side by side in one hyperfine run. Writes bench/results/cli-vs-bindgen.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null && command -v bindgen >/dev/null \
  || { echo "bench: install hyperfine and bindgen (apt) for the whole-process comparison"; exit 0; }
mkdir -p bench/results
native=artifacts/kvmsdk-native/linux-x64
dotnet build src/Cli -c Release -v q -nologo -clp:NoSummary
dotnet publish src/Cli -c Release -r linux-x64 -p:KvmsdkNative=true -o "$native" -v q -nologo -clp:NoSummary
V=uapi-headers/$(cat uapi-headers/DEFAULT)
inc="--include $V --include $V/x86_64-linux-gnu --arch x86_64"
jit="dotnet src/Cli/bin/Release/net10.0/Kvm.Sdk.Cli.dll"
{ echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
  echo "bindgen $(bindgen --version | cut -d' ' -f2), hyperfine $(hyperfine --version | cut -d' ' -f2), .NET $(dotnet --version)"; echo; } > bench/results/cli-vs-bindgen.md
hyperfine -N -w 2 -r 15 --export-markdown /tmp/cli-vs-bindgen.md \
  -n "bindgen (kvm.h to Rust)" "bindgen $V/linux/kvm.h -o /tmp/kvm-bindgen.rs -- -I$V -I$V/x86_64-linux-gnu" \
  -n "kvmsdk abi dump (native)" "$native/Kvm.Sdk.Cli abi dump $inc" \
  -n "kvmsdk generate (native)" "$native/Kvm.Sdk.Cli generate $inc --out /tmp/kvm-generated" \
  -n "kvmsdk abi dump (JIT)" "$jit abi dump $inc" \
  -n "kvmsdk generate (JIT)" "$jit generate $inc --out /tmp/kvm-generated"
cat /tmp/cli-vs-bindgen.md >> bench/results/cli-vs-bindgen.md
cat bench/results/cli-vs-bindgen.md
