#!/usr/bin/env bash
# Regenerates the kubeadm fixtures in this folder with real kubeadm binaries built by e2e/build.sh.
# Every file here is kubeadm's own output, byte for byte; nothing is edited afterwards.
#
#   testdata/kubeadm/generate.sh
#
# It first has e2e/build.sh build the kubeadms it runs: most are not among what the e2e suite runs
# (`make e2e` builds only that), so a first regeneration compiles them (minutes each, then cached).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${MIRRORCTL_E2E_CACHE:-$HOME/.cache/mirrorctl-e2e}
MIRRORCTL_E2E_CACHE=$cache "$repo/e2e/build.sh" v1.27:kubeadm v1.29:kubeadm v1.31:kubeadm v1.37:kubeadm v1.21:kubeadm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

missing=0
have() { # have VERSION: is that kubeadm built? (a missing one skips its files and fails the run at the end)
  [ -x "$cache/$1/kubeadm" ] && return 0
  echo "generate.sh: SKIPPED: $cache/$1/kubeadm missing: run e2e/build.sh first" >&2
  missing=1
  return 1
}
kubeadm() { # kubeadm VERSION args...
  local v=$1; shift
  "$cache/$v/kubeadm" "$@"
}

# control-plane COMPONENT KUBEADM_VERSION K8S_VERSION API_VERSION OUT [extra ClusterConfiguration YAML]
# Runs `kubeadm init phase control-plane COMPONENT --dry-run` with KUBEADM_INIT_DRYRUN_DIR so that
# kubeadm writes the static pod manifest into a scratch folder instead of /etc/kubernetes/manifests.
# kubeadm refuses a loopback advertise address, hence the documentation address 192.0.2.10.
control_plane() {
  local comp=$1 kv=$2 k8s=$3 api=$4 out=$5 extra=${6:-}
  have "$kv" || return 0
  local d="$work/$comp-$k8s"
  mkdir -p "$d/dry"
  cat >"$d/config.yaml" <<CFG
apiVersion: kubeadm.k8s.io/$api
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  name: node
---
apiVersion: kubeadm.k8s.io/$api
kind: ClusterConfiguration
kubernetesVersion: $k8s
$extra
CFG
  KUBEADM_INIT_DRYRUN_DIR="$d/dry" kubeadm "$kv" init phase control-plane "$comp" --config "$d/config.yaml" --dry-run >"$d/log" 2>&1 ||
    { cat "$d/log" >&2; exit 1; }
  # kubeadm <1.31 writes into a random subfolder of the dry-run dir, newer ones into it directly.
  local f; f=$(find "$d/dry" -name "kube-$comp.yaml" | head -1)
  [ -n "$f" ] || { echo "generate.sh: kubeadm $kv wrote no kube-$comp.yaml" >&2; cat "$d/log" >&2; exit 1; }
  mkdir -p "$(dirname "$out")"
  cp "$f" "$out"
  echo "generate.sh: kubeadm $kv (kubernetesVersion $k8s, $api) -> ${out#"$repo"/}"
}

# Kubernetes version -> the kubeadm that generates its manifest and the config API that kubeadm reads.
control_plane controller-manager v1.27.16 v1.27.16 v1beta3 "$here/v1.27/kube-controller-manager.yaml"
control_plane controller-manager v1.29.15 v1.29.15 v1beta3 "$here/v1.29/kube-controller-manager.yaml"
control_plane controller-manager v1.31.0 v1.31.0 v1beta4 "$here/v1.31/kube-controller-manager.yaml"
control_plane controller-manager v1.37.2 v1.37.2 v1beta4 "$here/v1.37/kube-controller-manager.yaml"

# kube-apiserver manifests: the node's own apiserver version, which the guard of
# `disable --endpoints-controller` reads (1.36 still reads Endpoints, 1.37 reads none).
control_plane apiserver v1.29.15 v1.29.15 v1beta3 "$here/v1.29/kube-apiserver.yaml"
control_plane apiserver v1.31.0 v1.31.0 v1beta4 "$here/v1.31/kube-apiserver.yaml"
control_plane apiserver v1.36.5 v1.36.5 v1beta4 "$here/v1.36/kube-apiserver.yaml"
control_plane apiserver v1.37.2 v1.37.2 v1beta4 "$here/v1.37/kube-apiserver.yaml"

# The seed mistake the lint check cites: a feature gate that has never existed, passed to kube-apiserver
# the way a popular article recommends. kube-apiserver exits on it (e2e proves that).
control_plane apiserver v1.37.2 v1.37.2 v1beta4 "$repo/e2e/testdata/kube-apiserver-endpointslicemirroring-gate.yaml" \
'apiServer:
  extraArgs:
  - name: feature-gates
    value: EndpointSliceMirroring=false'

# Operator-style config files: InitConfiguration + ClusterConfiguration + KubeletConfiguration.
# v1beta4 is what kubeadm 1.37 prints. kubeadm 1.31+ prints only v1beta4 (there is no flag to choose),
# so the v1beta3 file comes from kubeadm 1.29, the newest kubeadm built here whose default is v1beta3;
# kubeadm 1.31 (and 1.36, the last that reads v1beta3, where built) validates it in e2e.
mkdir -p "$here/configs"
defaults() { # defaults KUBEADM_VERSION OUT
  have "$1" || return 0
  kubeadm "$1" config print init-defaults --component-configs KubeletConfiguration >"$2"
  echo "generate.sh: kubeadm $1 config print init-defaults --component-configs KubeletConfiguration -> ${2#"$repo"/}"
}
defaults v1.37.2 "$here/configs/v1beta4-init-defaults.yaml"
defaults v1.29.15 "$here/configs/v1beta3-init-defaults.yaml"
# v1beta2 is what clusters made by kubeadm <= 1.21 keep in kubeadm-config until migrated; kubeadm 1.21
# is the last that prints it (1.22 prints v1beta3). The same kubeadm validates it in e2e.
defaults v1.21.14 "$here/configs/v1beta2-init-defaults.yaml"
exit $missing
