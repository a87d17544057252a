package main

import (
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
)

// On a Cluster API node, disable is refused: the KubeadmControlPlane change is printed ready to apply
// ([managed] lines, the kubectl patch line whole), the error is one line, nothing is written. The
// override writes the node and the JSON result names the manager; status names it too.
func TestManagedNodeCLI(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	golden.CopyTree(t, "../../testdata/distros/kubeadm/capi-first-control-plane/root/run", root+"/run", golden.FileMode(0o600))
	before := golden.Tree(t, root)
	r := run(t, "--root", root, "disable")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	golden.CompareTrees(t, before, golden.Tree(t, root))
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	patch := `[managed] kubectl patch kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io KCP -n NAMESPACE --type merge -p '{"spec":{"kubeadmConfigSpec":{"clusterConfiguration":{"controllerManager":{"extraArgs":{"controllers":"*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"}}}}}}'`
	if !strings.Contains(r.stderr, patch+"\n") {
		t.Errorf("no ready-to-apply patch line:\n%s", r.stderr)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "mirrorctl: /run/cluster-api/bootstrap-success.complete: this node is managed by Cluster API") {
		t.Errorf("error line: %q", last)
	}

	m, r := runJSON(t, "--root", root, "-o", "json", "disable", "--i-understand-node-is-managed")
	if r.code != 0 || m["changed"] != true {
		t.Fatalf("override: exit %d, changed %v\n%s", r.code, m["changed"], r.stderr)
	}
	nm, _ := m["node_manager"].(map[string]any)
	if nm["name"] != "cluster-api" || nm["override"] != true || nm["source_of_truth"] == "" {
		t.Errorf("node_manager: %v", m["node_manager"])
	}
	s, r := runJSON(t, "--root", root, "-o", "json", "status")
	if nm, _ := s["node_manager"].(map[string]any); r.code != 0 || nm["name"] != "cluster-api" || s["mirroring"] != "disabled" {
		t.Errorf("status: exit %d, %v", r.code, s)
	}
	// A reviewed plan made with the override applies, and says so too.
	root2 := newNode(t)
	golden.CopyTree(t, "../../testdata/distros/kubeadm/capi-first-control-plane/root/run", root2+"/run", golden.FileMode(0o600))
	plan := t.TempDir() + "/disable.plan"
	if r := run(t, "--root", root2, "disable", "--dry-run", "--i-understand-node-is-managed", "--save-plan", plan); r.code != 0 {
		t.Fatalf("save-plan: exit %d\n%s", r.code, r.stderr)
	}
	a, r := runJSON(t, "--root", root2, "-o", "json", "apply-plan", plan)
	if nm, _ := a["node_manager"].(map[string]any); r.code != 0 || a["changed"] != true || nm["name"] != "cluster-api" || nm["override"] != true {
		t.Errorf("apply-plan: exit %d, %v\n%s", r.code, a["node_manager"], r.stderr)
	}
	// Nodes nothing manages say nothing of it.
	plain, _ := runJSON(t, "--root", newNode(t), "-o", "json", "disable", "--dry-run")
	if _, ok := plain["node_manager"]; ok {
		t.Errorf("a plain kubeadm node has node_manager %v", plain["node_manager"])
	}
}
