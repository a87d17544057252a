#!/usr/bin/env bash
# Prints the `replace` block a consumer module needs to build against k8s.io/kubernetes@$1:
# kubernetes' own go.mod points its staging modules at ./staging, which only works inside its repo,
# so every staging module must be pinned to the matching published v0.Y.Z tag.
set -euo pipefail
v=${1:?usage: k8s-replaces.sh vX.Y.Z}
staging_v="v0.${v#v1.}"
mod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
echo "replace ("
sed -n '/^replace (/,/^)/p' "$mod" | awk '$2 == "=>" && $3 ~ /^\.\/staging/ {print $1}' |
  while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_v"; done
echo ")"
