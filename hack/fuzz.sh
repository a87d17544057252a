#!/usr/bin/env bash
# Runs every go test -fuzz target for FUZZTIME each (default 20s), one after the other (go test
# runs one fuzz target per invocation). New crashers land in the package's testdata/fuzz folder.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./e2e/' | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
    start=$(date +%s)
    go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" -fuzzminimizetime 200x "$pkg" >/tmp/mirrorctl-fuzz.log 2>&1 || { cat /tmp/mirrorctl-fuzz.log; echo "FAIL $pkg $t"; exit 1; }
    echo "ok   $pkg $t ($(( $(date +%s) - start ))s, $(grep -o 'execs: [0-9]*' /tmp/mirrorctl-fuzz.log | tail -1))"
  done
done
