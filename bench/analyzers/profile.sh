#!/usr/bin/env bash
# What share of a compile's work runs inside Kvm.Sdk.Analyzers, from sampled stacks rather than the compiler's
# /reportanalyzer clock.
#   bench/analyzers/profile.sh [FILES=300] [ROUNDS=3]
# Why: /reportanalyzer times each analyzer callback with a wall clock while the compiler runs analyzers concurrently
# with its own work, so a callback that is preempted is charged for the wait; on this 2-core machine under load it
# gave 0.94, 2.3 and 6.9 s for the same analyzer build. Process CPU time with and without the analyzer is not better
# here (±10 % between identical runs). A sampled profile answers a question that load affects much less: of the
# thread samples that were doing work, how many had the analyzer on their stack?
# Each round runs the consumer's real csc command (taken from a detailed build log) in a fresh process under
# `dotnet-trace collect --profile dotnet-sampled-thread-time`, and `InProcess --share` classifies every sample
# (bench/analyzers/InProcess/StackShare.cs): idle when its innermost frame is a blocking wait (GC suspension,
# semaphores, wait handles, monitors and locks, spin-waits, sleep), else work, and the analyzer's work when a frame in
# Kvm.Analyzers is on its stack. Work the analyzer is merely first to ask for (metadata the compiler would load
# anyway, JIT of its own code in a fresh process) counts against it: the share is an upper bound.
# The same rounds also time the csc process (user+sys CPU) with and without the analyzer, alternately.
set -euo pipefail
FILES=${1:-300}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/kvm-analyzer-bench}
TRACE_VERSION=10.0.750501
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

BENCH_DIR=$DIR bash "$ROOT/bench/analyzers/run.sh" "$FILES" 0 >/dev/null
TOOLS="$DIR/tools"
[ -x "$TOOLS/dotnet-trace" ] || dotnet tool install dotnet-trace --version "$TRACE_VERSION" --tool-path "$TOOLS" >/dev/null
INPROC="$ROOT/bench/analyzers/InProcess"
dotnet build "$INPROC" -c Release -v q -nologo >/dev/null

# The compiler command line MSBuild would run, as a response file (one argument per line).
dotnet build "$DIR" --no-restore --no-incremental -nologo -v d -p:UseSharedCompilation=false >"$DIR/profile-build.log" 2>&1
CSC_LINE=$(grep -E '^\s+\S+/Roslyn/bincore/csc(\.dll)? ' "$DIR/profile-build.log" | tail -1 | sed -E 's/^\s+//')
CSC_DLL=$(echo "$CSC_LINE" | cut -d' ' -f1); CSC_DLL=${CSC_DLL%.dll}.dll
echo "$CSC_LINE" | cut -d' ' -f2- | tr ' ' '\n' | grep -v '^/warnaserror+$' \
  | sed -E "s#^/out:.*#/out:$DIR/profile-out.dll#; s#^/refout:.*#/refout:$DIR/profile-ref.dll#" > "$DIR/with.rsp"
grep -v 'Kvm\.Sdk\.Analyzers\.dll' "$DIR/with.rsp" > "$DIR/without.rsp"
grep -q 'Kvm\.Sdk\.Analyzers\.dll' "$DIR/with.rsp" || { echo "the consumer's csc command has no Kvm.Sdk.Analyzers" >&2; exit 1; }

cpu() { # $1 = rsp; prints user+sys seconds of a fresh csc
  ( cd "$DIR" && /usr/bin/time -f '%U %S' -o "$DIR/time.txt" dotnet "$CSC_DLL" "@$1" >/dev/null )
  awk '{ printf "%.2f\n", $1 + $2 }' "$DIR/time.txt"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
rm -f "$DIR"/share.txt "$DIR"/share.log "$DIR"/cpu-with.txt "$DIR"/cpu-without.txt
for r in $(seq 1 "$ROUNDS"); do
  cpu "$DIR/without.rsp" >> "$DIR/cpu-without.txt"
  cpu "$DIR/with.rsp" >> "$DIR/cpu-with.txt"
  ( cd "$DIR" && "$TOOLS/dotnet-trace" collect --profile dotnet-sampled-thread-time -o "$DIR/round.nettrace" \
      -- dotnet "$CSC_DLL" "@$DIR/with.rsp" >/dev/null 2>&1 )
  LINE=$(dotnet run --project "$INPROC" -c Release --no-build -- --share "$DIR/round.nettrace")
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg)): $LINE" | tee -a "$DIR/share.log"
  echo "$LINE" | sed -E 's/.*share of work ([0-9.]+)%.*/\1/' >> "$DIR/share.txt"
done
W=$(median < "$DIR/cpu-with.txt"); WO=$(median < "$DIR/cpu-without.txt")
echo "consumer: $FILES files; $ROUNDS rounds; load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "Kvm.Sdk.Analyzers share of the compile's working samples (median of $ROUNDS): $(median < "$DIR/share.txt")%"
echo "csc CPU (user+sys, fresh process, medians): without ${WO} s, with ${W} s" \
  "($(awk -v a="$W" -v b="$WO" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'); noisy under load, see the share above)"
