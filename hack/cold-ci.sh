#!/usr/bin/env bash
# Measures a cold CI run (issue 17: `make test` + `make e2e` must fit 60 minutes on a new machine):
# .ci/run on a fresh clone of the committed HEAD, with an empty Go build cache (GOCACHE), module cache
# (GOPATH/GOMODCACHE) and e2e binary cache (MIRRORCTL_E2E_CACHE), all in one temp folder. Packages
# .ci/run installs with apt are not removed first, so their install time is not in the figure (~30 s).
#
#   hack/cold-ci.sh            # prints the log as it goes, then a summary
#   hack/cold-ci.sh --keep     # keep the temp folder (several GB) for a look afterwards
#
# The summary gives wall and CPU (user + sys of every process the stage started) per stage: make test,
# each e2e build set, the rest of make e2e (mirrorctl, suite compile and run, the Talos oracle). On a
# shared machine the wall times are only an upper bound; the CPU times hold. The load average at start
# and end is printed so a reader can tell an idle run from a busy one.
set -euo pipefail

keep=0
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    *) echo "usage: hack/cold-ci.sh [--keep]" >&2; exit 2 ;;
  esac
done

repo=$(git rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  echo "cold-ci: note: uncommitted changes in $repo are not measured (the clone is $commit)" >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/cold-ci.XXXXXX")
cleanup() {
  if [ "$keep" -eq 1 ]; then echo "cold-ci: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

git clone -q --no-hardlinks "$repo" "$work/src"
git -C "$work/src" checkout -q --detach "$commit"

export GOCACHE=$work/gocache GOPATH=$work/gopath GOMODCACHE=$work/gopath/pkg/mod
export MIRRORCTL_E2E_CACHE=$work/e2e-cache
# The module cache is read-only by default; -modcacherw lets the cleanup delete it.
GOFLAGS="$(PATH=/usr/local/go/bin:$PATH go env GOFLAGS) -modcacherw"
export GOFLAGS

log=$work/ci.log
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "cold-ci: $commit, $(nproc) CPUs, load average at start $(load), log $log"
rc=0
TIMEFORMAT="cold-ci: .ci/run: %1Rs wall, CPU %1Us user + %1Ss sys"
{ time "$work/src/.ci/run" 2>&1 | tee "$log"; } 2>"$work/total" || rc=$?
load_end=$(load)

# The summary comes from the lines .ci/run (ci: ...), e2e/build.sh (build.sh: ... built ...) and
# e2e/run.sh (e2e: binaries ...) print.
echo
echo "cold-ci: summary ($commit, exit $rc, load average at start see above, at end $load_end)"
grep -E '^ci: ' "$log" || echo "  (no ci: stage lines: is .ci/run older than this script?)"
grep -E '^build\.sh: .* built ' "$log" || true
grep -E '^e2e: binaries ' "$log" || true
cat "$work/total"
# CPU of make e2e beyond the binary builds: what mirrorctl, the suite and the Talos oracle cost.
awk '
  /^ci: make e2e: / { for (i = 1; i <= NF; i++) { if ($i == "CPU") { u = $(i+1); s = $(i+4) } } gsub(/s/, "", u); gsub(/s/, "", s); e2e = u + s }
  /^build\.sh: .* built / { for (i = 1; i <= NF; i++) { if ($i == "CPU") { u = $(i+1); s = $(i+4) } } gsub(/s/, "", u); gsub(/s/, "", s); b += u + s }
  END { if (e2e) printf "cold-ci: make e2e CPU %.0fs: binaries %.0fs, the rest (mirrorctl, suite, Talos oracle) %.0fs\n", e2e, b, e2e - b }
' "$log"
exit "$rc"
