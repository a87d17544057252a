#!/usr/bin/env bash
# Builds the real Kubernetes binaries the e2e suite runs, one module per pinned version (e2e/k8s-vX.Y),
# into ${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}/<version>/. Binaries already in the cache are not
# rebuilt, so a warm run costs nothing; delete a version's folder to force a rebuild.
#
#   e2e/build.sh            # every set
#   e2e/build.sh v1.37 1.27 # only these sets (k8s-v1.37, k8s-v1.27)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}

sets=()
if [ $# -eq 0 ]; then
  for d in "$here"/k8s-v*/; do sets+=("$(basename "$d")"); done
else
  for s in "$@"; do s=${s#k8s-}; s=${s#v}; sets+=("k8s-v$s"); done
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

build_set() {
  local dir="$here/$1"
  [ -f "$dir/go.mod" ] || { echo "build.sh: $dir/go.mod: no such module" >&2; return 1; }
  local version; version=$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  local major=${version#v}; major=${major%%.*}
  local minor=${version#v*.}; minor=${minor%%.*}
  local out="$cache/$version"
  mkdir -p "$out"

  # tool directives are the list of what to build; etcd's main package builds as "server".
  local pkgs=() missing=()
  mapfile -t pkgs < <(cd "$dir" && go mod edit -json | python3 -c 'import json,sys; [print(t["Path"]) for t in json.load(sys.stdin).get("Tool") or []]')
  local p name
  for p in "${pkgs[@]}"; do
    name=$(binname "$p")
    [ -x "$out/$name" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "build.sh: $version: cached in $out ($(names "${pkgs[@]}"))"
    return 0
  fi

  local t0; t0=$(now)
  tmp=$(mktemp -d "$out/.build.XXXXXX") # global: the EXIT trap removes it after a failed or interrupted build
  # kubeadm refuses to work with its own version unset (v0.0.0), and the binaries report it in logs.
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  echo "build.sh: $version: building $(names "${missing[@]}") ..."
  (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${missing[@]}")
  for p in "${missing[@]}"; do
    name=$(binname "$p")
    mv "$tmp/$(basename "${p%/v[0-9]*}")" "$out/$name"
  done
  rmdir "$tmp"
  tmp=
  echo "build.sh: $version: built $(names "${missing[@]}") in $(elapsed "$t0") -> $out"
}

names() { local p n=(); for p; do n+=("$(binname "$p")"); done; echo "${n[*]}"; }

binname() {
  case "$1" in
    go.etcd.io/etcd/server/*) echo etcd ;;
    *) basename "$1" ;;
  esac
}

tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
t_all=$(now)
for s in "${sets[@]}"; do build_set "$s"; done
echo "build.sh: done in $(elapsed "$t_all")"
