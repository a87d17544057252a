package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestManagedNodeAnnotationsLive: against the real kube-apiserver, `disable --kubeconfig` on a node whose
// Node object carries Cluster API's annotations (as its Machine controller sets them) refuses with the
// KubeadmControlPlane named in the printed patch, writes nothing (files or ConfigMap), and `status`
// names the manager; with the override the node and the ConfigMap change and the result records it.
func TestManagedNodeAnnotationsLive(t *testing.T) {
	kubeadm := bin(t, set137, "kubeadm")
	mirrorctlBin(t)
	c := newCluster(t)
	root := c.root
	manifest, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	run(t, nil, kubeadm, "init", "phase", "upload-config", "kubeadm", "--config", config, "--kubeconfig", filepath.Join(root, adminConf))
	writeFile(t, filepath.Join(root, "etc/hostname"), []byte("CP-0\n"), 0o644) // the kubelet's Node name is the hostname in lower case
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp-0", Annotations: map[string]string{
		"cluster.x-k8s.io/cluster-name":      "capi-quickstart",
		"cluster.x-k8s.io/cluster-namespace": "team-a",
		"cluster.x-k8s.io/machine":           "capi-quickstart-control-plane-7x2kq",
		"cluster.x-k8s.io/owner-kind":        "KubeadmControlPlane",
		"cluster.x-k8s.io/owner-name":        "capi-quickstart-control-plane",
	}}}
	if _, err := c.client.CoreV1().Nodes().Create(c.ctx(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	origManifest, origConfig := readFile(t, manifest), readFile(t, config)
	origCC, origRV := c.configMapCC()

	_, errOut, code := mirrorctlExit(t, root, "disable", "--kubeconfig", adminConf)
	if code != 1 {
		t.Fatalf("disable on a Cluster API node: exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "[managed] kubectl patch kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io capi-quickstart-control-plane -n team-a --type merge") {
		t.Errorf("the refusal does not print the patch for the owning KubeadmControlPlane:\n%s", errOut)
	}
	if !strings.Contains(errOut, "mirrorctl: Node cp-0: this node is managed by Cluster API") {
		t.Errorf("error line:\n%s", errOut)
	}
	if readFile(t, manifest) != origManifest || readFile(t, config) != origConfig {
		t.Error("a refused disable changed the node's files")
	}
	if cc, rv := c.configMapCC(); cc != origCC || rv != origRV {
		t.Error("a refused disable changed the ConfigMap")
	}

	type managerJSON struct {
		Name     string `json:"name"`
		Override bool   `json:"override"`
	}
	type withManager struct {
		Changed     bool         `json:"changed"`
		Mirroring   string       `json:"mirroring"`
		NodeManager *managerJSON `json:"node_manager"`
	}
	out, errOut, code := mirrorctlExit(t, root, "status", "--kubeconfig", adminConf)
	if s := decode[withManager](t, "status", out); code != 0 || s.NodeManager == nil || s.NodeManager.Name != "cluster-api" {
		t.Errorf("status: exit %d, %+v\n%s", code, s, errOut)
	}
	out, errOut, code = mirrorctlExit(t, root, "disable", "--kubeconfig", adminConf, "--i-understand-node-is-managed")
	r := decode[withManager](t, "disable --i-understand-node-is-managed", out)
	if code != 0 || !r.Changed || r.Mirroring != "disabled" || r.NodeManager == nil || !r.NodeManager.Override {
		t.Fatalf("override: exit %d, %+v\n%s", code, r, errOut)
	}
	if cc, _ := c.configMapCC(); !strings.Contains(cc, "-endpointslice-mirroring-controller") {
		t.Errorf("the override left the ConfigMap alone:\n%s", cc)
	}
	if _, err := os.Stat(manifest); err != nil || readFile(t, manifest) == origManifest {
		t.Error("the override did not change the manifest")
	}
}
