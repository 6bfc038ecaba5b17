#!/usr/bin/env bash
# failures.sh OUT - one line per failure found in a test run's logs under OUT (run-all.sh calls it last, so the
# names sit in the last lines of a CI log that keeps only its tail). Prints nothing when nothing failed.
OUT=${1:?usage: $0 OUT}
{
  # dotnet test (VSTest): "  Failed Name [12 ms]", then "  Error Message:" and the message's first line.
  [ -s "$OUT/host-tests.log" ] && awk '
    /^ +Failed [^ ]/ { name = $0; sub(/^ +Failed /, "", name); sub(/ \[[^]]*\]$/, "", name); want = 0; next }
    /^ +Error Message:/ && name != "" { want = 1; next }
    want { sub(/^ +/, ""); print "host test " name " -- " $0; name = ""; want = 0 }' "$OUT/host-tests.log"
  [ -s "$OUT/host-tests.log" ] && grep -hE 'error [A-Z]+[0-9]+:|Test Run Aborted|The active test run was aborted' "$OUT/host-tests.log" | sed 's/^/host tests: /'
  # kernel lanes, the package and newcomer tests, the in-place watch: their own FAILED/FAIL lines.
  for f in "$OUT"/lane-*.out; do
    [ -e "$f" ] || continue
    lane=$(basename "$f" .out)
    found=$(grep -hE '^ *FAILED|LinuxVmm FAILED|no results|\(kernel not booted\)|failed, [0-9]+ skipped \(' "$f" | grep -v ' 0 failed,' | sed "s/^ */$lane: /")
    # A lane that failed before its tests ran (a publish or build step) says so in its own words: its "lane X:" lines
    # that report a failure, or else its last line.
    c="$OUT/$lane.counts"
    if [ -z "$found" ] && [ -s "$c" ] && [ "$(cut -d' ' -f2 "$c")" != 0 ]; then
      found=$(grep -hE '^lane [^ ]+.*(fail|FAIL|died|no results|no test)' "$f" | grep -vE ' 0 failed' | sed "s/^/$lane: /")
      [ -n "$found" ] || found="$lane: $(tail -1 "$f")"
    fi
    [ -z "$found" ] || echo "$found"
  done
  for f in "$OUT/package.out" "$OUT/newcomer.out" "$OUT/inplace-watch.log"; do
    [ -e "$f" ] && grep -hE ': FAIL' "$f"
  done
} | cut -c1-400 > "$OUT/failures.txt"
# Counts per part (passed/failed/skipped), so a tail-only log still shows where the numbers came from.
parts=""
[ -s "$OUT/host-tests.log" ] && parts=$(grep -E '^(Passed|Failed)!' "$OUT/host-tests.log" \
  | sed -E 's/^(Passed|Failed)!.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).* - ([^ ]+)\.dll.*/\5 \3\/\2\/\4/' | tr '\n' ',' | sed 's/,$//; s/,/, /g')
for c in "$OUT"/lane-*.counts "$OUT/package.counts" "$OUT/newcomer.counts"; do
  [ -s "$c" ] && parts="$parts${parts:+, }$(basename "$c" .counts) $(tr ' ' / < "$c")"
done
[ -n "$parts" ] && echo "by part (passed/failed/skipped): $parts"
n=$(wc -l < "$OUT/failures.txt")
[ "$n" -gt 0 ] || exit 0
echo "failures ($n; every log under $OUT):"
head -40 "$OUT/failures.txt" | sed 's/^/  /'
[ "$n" -le 40 ] || echo "  ... $((n - 40)) more in $OUT/failures.txt"
