package distros

import (
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
)

// A node's own kubeadmConfigPatches win over the cluster-wide ones (kind applies them later): status
// reports each control-plane node, and a cluster-wide edit alone would leave mirroring on where a node
// patch sets controllers.
func TestKindNodePatchStatusPerNode(t *testing.T) {
	t.Parallel()
	r := kitRoot(t, "")
	kitWrite(t, r, "/home/op/kind.yaml", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
kubeadmConfigPatches:
- |
  kind: ClusterConfiguration
  controllerManager:
    extraArgs:
      controllers: "*,bootstrapsigner,tokencleaner,-endpointslicemirroring"
nodes:
- role: control-plane
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    controllerManager:
      extraArgs:
        controllers: "*,bootstrapsigner,tokencleaner,-nodeipam"
- role: worker
`)
	o := Options{Root: r, Inputs: Values{"kind-config": "/home/op/kind.yaml", "kind-node-version": "1.30.0"}}
	s, err := kindAdapter{}.Status(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mirroring != change.Mixed || len(s.Files) != 2 {
		t.Fatalf("status: %s with %d rows, want mixed with one row per control-plane node: %+v", s.Mirroring, len(s.Files), s.Files)
	}
	if !strings.Contains(s.Files[1].Note, "nodes[1]") || s.Files[1].Mirroring != change.Enabled || !strings.Contains(s.Files[1].Controllers, "-nodeipam") {
		t.Errorf("node 1: %+v", s.Files[1])
	}
	o.Op = controllers.Disable
	p, err := kindAdapter{}.Plan(o)
	if err != nil {
		t.Fatal(err)
	}
	kitApply(t, r, p)
	s, err = kindAdapter{}.Status(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mirroring != change.Disabled {
		t.Fatalf("after disable: %s %+v", s.Mirroring, s.Files)
	}
	if got := s.Files[1].Controllers; got != "*,bootstrapsigner,tokencleaner,-nodeipam,-endpointslice-mirroring-controller" {
		t.Errorf("node 1 after disable: %q", got)
	}
}

// A JSON 6902 patch that touches controllers (a node's own here) is not evaluated: status says
// unknown for that node, and a change is refused rather than reported as done.
func TestKindJSON6902ControllersUnknown(t *testing.T) {
	t.Parallel()
	o := kitCase(t, "kind", "node-json6902-sets-controllers")
	s, err := kindAdapter{}.Status(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mirroring != change.Unknown || !strings.Contains(s.Files[0].Note, "nodes[0].kubeadmConfigPatchesJSON6902[0]") {
		t.Errorf("status: %s %+v", s.Mirroring, s.Files)
	}
}
