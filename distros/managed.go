package distros

// Managed control planes (EKS, GKE, AKS): kube-controller-manager runs in the provider's control plane,
// out of reach from any node, so there is nothing to edit. Detection is best effort and only serves to
// explain that, instead of "no distribution detected".

import (
	"fmt"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

type managed struct{}

var _ = register(managed{})

// ErrManaged explains why a managed control plane cannot be changed and what works instead.
var ErrManaged = fmt.Errorf("managed control plane (EKS, GKE, AKS): kube-controller-manager runs in the provider's control plane and cannot be changed from a node; " +
	"to stop mirroring for a Service, label its Endpoints instead: kubectl label endpoints NAME -n NAMESPACE endpointslice.kubernetes.io/skip-mirror=true " +
	"(the controller then deletes the slices it mirrored)")

func (managed) Name() string { return "managed" }

func (managed) Inputs() []Input { return nil }

// Activation: only the provider can change its control plane.
func (managed) Activation() Activation { return Activation{Kind: Elsewhere} }

func (managed) Layout() Layout { return Layout{} }

func (managed) Detect(r nodefs.Root) []string {
	var found []string
	for _, p := range []string{
		"/etc/eks",                          // EKS AMIs: bootstrap.sh, nodeadm
		"/etc/kubernetes/azure.json",        // AKS nodes: cloud provider config
		"/home/kubernetes/bin/configure.sh", // GKE COS nodes
	} {
		if r.Exists(p) {
			found = append(found, p)
		}
	}
	// GKE Ubuntu nodes: kubelet flags mention GKE node labels.
	if f, err := r.ReadFile("/etc/default/kubelet", true); err == nil && f.Exists && strings.Contains(string(f.Data), "cloud.google.com/gke-") {
		found = append(found, "/etc/default/kubelet (GKE labels)")
	}
	return found
}

func (managed) Targets(Options) ([]Target, error) { return nil, nil }

func (managed) Plan(Options) (*change.Plan, error) { return nil, ErrManaged }

func (managed) Status(Options) (*change.Status, error) { return nil, ErrManaged }
