#!/usr/bin/env bash
# What `make e2e` runs: build the missing Kubernetes binaries (cached by version outside the clone),
# build mirrorctl from this checkout unless MIRRORCTL_BIN names one, run the real-Kubernetes suite.
# Extra arguments go to `go test` (e.g. e2e/run.sh -run TestKubeadmOracle).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
export MIRRORCTL_E2E_CACHE=${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}
# The suite's dependencies (client-go and the rest) are the very module versions the 1.37 set compiles.
# Built with the same settings as build.sh (-trimpath, static; `make` exports CGO_ENABLED=0 already),
# the suite takes them from the Go build cache instead of compiling them a second time in a cold run.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath" CGO_ENABLED=0

t0=$(date +%s)
# What the suite runs from each version set (build.sh's suite_bins; e2e/README.md says why each).
"$here/build.sh"
t1=$(date +%s)

# `make e2e` passes the mirrorctl it just built; otherwise build one from this checkout.
if [ -z "${MIRRORCTL_BIN:-}" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$repo" && go build -tags urfave_cli_no_docs -o "$tmp/mirrorctl" ./cmd/mirrorctl)
  MIRRORCTL_BIN=$tmp/mirrorctl
fi
[ -x "$MIRRORCTL_BIN" ] || { echo "run.sh: MIRRORCTL_BIN=$MIRRORCTL_BIN is not an executable" >&2; exit 1; }
MIRRORCTL_BIN=$(cd "$(dirname "$MIRRORCTL_BIN")" && pwd)/$(basename "$MIRRORCTL_BIN") # the suite runs in e2e/suite
t2=$(date +%s)

cd "$here/suite"
# -timeout bounds the scenario budget (issue 3: under 5 minutes once the binaries exist); -count=1
# because the suite's inputs (binaries, mirrorctl) are outside Go's test cache key.
rc=0
MIRRORCTL_E2E_BIN=$MIRRORCTL_E2E_CACHE MIRRORCTL_BIN=$MIRRORCTL_BIN \
  go test -count=1 -timeout 5m -v "$@" ./... || rc=$?
t3=$(date +%s)
# Talos has no binary to run here: its own machine-config library is the oracle (its own module, so
# the suite does not carry Talos's dependencies). Extra arguments go to the suite only.
if [ $# -eq 0 ]; then
  (cd "$here/talos" && MIRRORCTL_BIN=$MIRRORCTL_BIN go test -count=1 -timeout 5m -v ./...) || rc=$?
fi
t4=$(date +%s)
echo "e2e: binaries $((t1 - t0))s, mirrorctl $((t2 - t1))s, suite $((t3 - t2))s, talos oracle $((t4 - t3))s"
exit "$rc"
