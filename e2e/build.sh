#!/usr/bin/env bash
# Builds the real Kubernetes binaries the e2e suite runs, one module per pinned version (e2e/k8s-vX.Y),
# into ${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}/<version>/. Binaries already in the cache are not
# rebuilt, so a warm run costs nothing; delete a version's folder to force a rebuild.
#
#   e2e/build.sh                # what the suite runs: each set's suite binaries (suite_bins below)
#   e2e/build.sh v1.37 1.27     # only these sets (their suite binaries)
#   e2e/build.sh v1.29:kubeadm  # named binaries of a set: any of its go.mod's `tool` directives
#   e2e/build.sh --all          # every `tool` directive of every set (fixture regeneration needs them)
#
# A set's go.mod lists, as `tool` directives, everything the set can build (so its go.sum covers it);
# suite_bins says what the suite's tests run from it. The rest (kubeadm 1.27, 1.29, 1.31 and 1.36, which
# only print fixtures) is built on request: testdata/kubeadm/generate.sh asks for what it needs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}
# Static binaries, as Kubernetes' release builds make kube-apiserver, kube-controller-manager, kubeadm
# and kubectl, and as `make e2e` always built them (the Makefile exports CGO_ENABLED=0): one build
# configuration however this script is started, so the cache and the Go build cache agree, and no C
# compiler time.
export CGO_ENABLED=0

# suite_bins SET: the binaries the e2e suite runs from a set ("*": every tool directive); empty for a set
# the suite does not run. Each set is there for a claim no other set proves (e2e/README.md, "Version
# sets"); keep this, the suite's bin() calls and that table in step.
suite_bins() {
  case $1 in
    k8s-v1.37) echo '*' ;;                             # the control plane, kubeadm v1beta4/v1, kubectl, ...
    k8s-v1.31) echo kube-controller-manager kubeadm ;; # kcm after the rename; kubeadm: the v1beta3 oracle
    k8s-v1.27) echo kube-controller-manager ;;         # kcm that knows only the alias
    k8s-v1.21) echo kubeadm ;;                         # the v1beta2 oracle
  esac
}

all=0 args=()
for a in "$@"; do
  case $a in
    --all) all=1 ;;
    -*) echo "build.sh: unknown option $a" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done
sets=() # entries "k8s-vX.Y" (suite binaries, or every tool with --all) or "k8s-vX.Y:name,name"
if [ ${#args[@]} -eq 0 ]; then
  for d in "$here"/k8s-v*/; do
    d=$(basename "$d")
    if [ "$all" -eq 1 ] || [ -n "$(suite_bins "$d")" ]; then sets+=("$d"); fi
  done
else
  for s in "${args[@]}"; do s=${s#k8s-}; s=${s#v}; sets+=("k8s-v$s"); done
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

build_set() {
  local set=${1%%:*} want=
  [ "$set" = "$1" ] || want=${1#*:}
  local dir="$here/$set"
  [ -f "$dir/go.mod" ] || { echo "build.sh: $dir/go.mod: no such module" >&2; return 1; }
  local version; version=$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  local major=${version#v}; major=${major%%.*}
  local minor=${version#v*.}; minor=${minor%%.*}
  local out="$cache/$version"
  mkdir -p "$out"

  # The set's tool directives are what it can build; etcd's main package builds as "server".
  local pkgs=() missing=() tools=()
  mapfile -t tools < <(cd "$dir" && go mod edit -json | python3 -c 'import json,sys; [print(t["Path"]) for t in json.load(sys.stdin).get("Tool") or []]')
  if [ -z "$want" ]; then
    if [ "$all" -eq 1 ]; then want='*'; else want=$(suite_bins "$set" | tr ' ' ,); fi
  fi
  [ -n "$want" ] || { echo "build.sh: $set: the suite runs nothing from this set; name binaries (${set#k8s-}:$(names "${tools[@]}" | tr ' ' ,)) or use --all" >&2; return 1; }
  local p name w found
  if [ "$want" = '*' ]; then
    pkgs=("${tools[@]}")
  else
    for w in ${want//,/ }; do
      found=
      for p in "${tools[@]}"; do [ "$(binname "$p")" = "$w" ] && found=$p; done
      [ -n "$found" ] || { echo "build.sh: $set: no tool directive builds $w (it has: $(names "${tools[@]}"))" >&2; return 1; }
      pkgs+=("$found")
    done
  fi
  for p in "${pkgs[@]}"; do
    name=$(binname "$p")
    [ -x "$out/$name" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "build.sh: $version: cached in $out ($(names "${pkgs[@]}"))"
    return 0
  fi

  tmp=$(mktemp -d "$out/.build.XXXXXX") # global: the EXIT trap removes it after a failed or interrupted build
  # kubeadm refuses to work with its own version unset (v0.0.0), and the binaries report it in logs.
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  echo "build.sh: $version: building $(names "${missing[@]}") ..."
  # CPU beside wall: on a shared machine the wall time says little (hack/cold-ci.sh collects these lines).
  local TIMEFORMAT="build.sh: $version: built $(names "${missing[@]}") in %1Rs wall, CPU %1Us user + %1Ss sys -> $out"
  { time (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${missing[@]}" 2>&3); } 3>&2 2>&1
  for p in "${missing[@]}"; do
    name=$(binname "$p")
    mv "$tmp/$(basename "${p%/v[0-9]*}")" "$out/$name"
  done
  rmdir "$tmp"
  tmp=
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
