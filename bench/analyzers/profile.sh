#!/usr/bin/env bash
# What share of a compile's CPU work runs inside Kvm.Sdk.Analyzers, from sampled stacks rather than the compiler's
# /reportanalyzer clock.
#   bench/analyzers/profile.sh [FILES=300] [ROUNDS=3]
# Why: /reportanalyzer times each analyzer callback with a wall clock while the compiler runs analyzers concurrently
# with its own work, so a callback that is preempted, or that is the first to ask for a binding everyone then shares,
# is charged for it; on this 2-core machine under load it swung from 0.6 to 6.9 s for the same analyzer. A sampled
# profile answers a different question that load affects much less: of all stacks that were doing work, how many
# were inside this analyzer (JIT of its code included, as a fresh csc pays it)?
# Each round runs the consumer's real csc command (taken from a detailed build log) in a fresh process under
# `dotnet-trace collect --profile dotnet-sampled-thread-time` and reads `dotnet-trace report topN`:
#   ours = inclusive share of the analyzer's three entry points (the compilation-start lambda, RuleRegistry.Invocation,
#          RuleRegistry.Assignment: every rule runs below one of them, and none calls another);
#   busy = 100% minus the exclusive share of blocking waits (GC suspension, semaphore/handle/monitor waits, sleep).
#          Time in GC is left out of busy, which overstates the share rather than understates it.
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
rm -f "$DIR"/share.txt "$DIR"/cpu-with.txt "$DIR"/cpu-without.txt
for r in $(seq 1 "$ROUNDS"); do
  cpu "$DIR/without.rsp" >> "$DIR/cpu-without.txt"
  cpu "$DIR/with.rsp" >> "$DIR/cpu-with.txt"
  ( cd "$DIR" && "$TOOLS/dotnet-trace" collect --profile dotnet-sampled-thread-time -o "$DIR/round.nettrace" \
      -- dotnet "$CSC_DLL" "@$DIR/with.rsp" >/dev/null 2>&1 )
  "$TOOLS/dotnet-trace" report "$DIR/round.nettrace" topN -n 5000 --inclusive > "$DIR/inclusive.txt"
  "$TOOLS/dotnet-trace" report "$DIR/round.nettrace" topN -n 200 > "$DIR/exclusive.txt"
  # topN rows end "<inclusive>% <exclusive>%": $1 = 1 takes the last percentage, 2 the one before it.
  pct() { awk '{ n = 0; for (i = NF; i > 0; i--) if ($i ~ /%$/ && ++n == want) { sub(/%/, "", $i); print $i; next } }' want="$1"; }
  OURS=$(grep -E 'KvmAnalyzer\+<>c\.<Initialize>|RuleRegistry\.(Invocation|Assignment)\(' "$DIR/inclusive.txt" | pct 2 | awk '{s += $1} END {printf "%.2f", s}')
  WAITS=$(grep -E 'PollGCWorker|LowLevelLifoSemaphore\.WaitNative|WaitHandle\.WaitOneNoCheck|Monitor\.Wait\(|Thread\.Sleep\(' "$DIR/exclusive.txt" | pct 1 | awk '{s += $1} END {printf "%.2f", s}')
  awk -v o="$OURS" -v w="$WAITS" -v r="$r" 'BEGIN { b = 100 - w; printf "round %d: analyzer stacks %.2f%% of samples, busy %.1f%%, share of busy %.2f%%\n", r, o, b, 100 * o / b }' | tee -a "$DIR/share.log"
  awk -v o="$OURS" -v w="$WAITS" 'BEGIN { printf "%.2f\n", 100 * o / (100 - w) }' >> "$DIR/share.txt"
done
W=$(median < "$DIR/cpu-with.txt"); WO=$(median < "$DIR/cpu-without.txt")
echo "consumer: $FILES files; $ROUNDS rounds; load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "Kvm.Sdk.Analyzers share of the compile's busy stacks (median): $(median < "$DIR/share.txt")%"
echo "csc CPU (user+sys, fresh process, medians): without ${WO} s, with ${W} s" \
  "($(awk -v a="$W" -v b="$WO" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'); noisy under load, see the share above)"
