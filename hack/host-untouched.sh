#!/usr/bin/env bash
# Runs a command and fails if it left mirrorctl's node state on the host: tests use --root, --state-dir
# or a private mount namespace, never this machine's /run/mirrorctl or /var/lib/mirrorctl.
#   hack/host-untouched.sh CMD [ARG...]
set -uo pipefail
paths=(/run/mirrorctl /var/lib/mirrorctl)
before=()
for p in "${paths[@]}"; do [ -e "$p" ] && before+=("$p"); done
"$@"
rc=$?
for p in "${paths[@]}"; do
  if [ -e "$p" ] && [[ " ${before[*]} " != *" $p "* ]]; then
    echo "host-untouched: $* left $p on the host (a test wrote this machine's mirrorctl state)" >&2
    rc=1
  fi
done
exit $rc
