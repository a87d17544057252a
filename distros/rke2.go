package distros

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// RKE2 reads the same config format as k3s (it embeds k3s); its kube-controller-manager runs as a static
// pod whose manifest rke2 rewrites at every start, so only the config is edited and the manifest is read
// to show what runs now.
type rke2 struct{ rancher }

// RKE2PodManifest is where rke2 writes the kcm static pod.
const RKE2PodManifest = "/var/lib/rancher/rke2/agent/pod-manifests/kube-controller-manager.yaml"

var _ = register(rke2{rancher{
	name:       "rke2",
	configDir:  "/etc/rancher/rke2",
	dataDir:    "/var/lib/rancher/rke2",
	service:    "rke2-server",
	podManifst: RKE2PodManifest,
}})

func (a rke2) Name() string                             { return a.name }
func (a rke2) Inputs() []Input                          { return nil }
func (a rke2) Activation() Activation                   { return a.activation() }
func (a rke2) Layout() Layout                           { return a.layout() }
func (a rke2) Detect(r nodefs.Root) []string            { return a.detect(r) }
func (a rke2) Targets(o Options) ([]Target, error)      { return a.targets(o) }
func (a rke2) Plan(o Options) (*change.Plan, error)     { return a.plan(o) }
func (a rke2) Status(o Options) (*change.Status, error) { return a.status(o) }
