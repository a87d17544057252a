package e2e

import (
	"path/filepath"
	"testing"
)

const (
	nodeManifest = "etc/kubernetes/manifests/kube-controller-manager.yaml"
	nodeConfig   = "etc/kubernetes/kubeadm-config.yaml"

	v1beta4Defaults = "testdata/kubeadm/configs/v1beta4-init-defaults.yaml"
	v1beta3Defaults = "testdata/kubeadm/configs/v1beta3-init-defaults.yaml"
	v1beta2Defaults = "testdata/kubeadm/configs/v1beta2-init-defaults.yaml"
)

// kubeadmNode lays out a kubeadm control-plane node under root the way `kubeadm init --config` leaves
// it: the operator's config file at /etc/kubernetes/kubeadm-config.yaml (a real init-defaults file with
// kubernetesVersion set to what kubeadm deploys) and the kcm manifest that this kubeadm generates from
// that very file. The two agree, as on a fresh node. Returns both paths on the host.
func kubeadmNode(t testing.TB, root, kubeadm, configFixture, version string) (manifest, config string) {
	t.Helper()
	config = filepath.Join(root, nodeConfig)
	writeFile(t, config, []byte(withKubernetesVersion(t, readFile(t, repoFile(configFixture)), version)), 0o600)
	manifest = filepath.Join(root, nodeManifest)
	copyFile(t, kubeadmManifest(t, kubeadm, config, "controller-manager"), manifest)
	return manifest, config
}
