package distros

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// k3s keeps kube-controller-manager's flags in /etc/rancher/k3s/config.yaml and its drop-ins; see
// rancher.go.
type k3s struct{ rancher }

var _ = register(k3s{rancher{
	name:      "k3s",
	configDir: "/etc/rancher/k3s",
	dataDir:   "/var/lib/rancher/k3s",
	service:   "k3s",
}})

func (a k3s) Name() string                             { return a.name }
func (a k3s) Inputs() []Input                          { return nil }
func (a k3s) Activation() Activation                   { return a.activation() }
func (a k3s) Layout() Layout                           { return a.layout() }
func (a k3s) Detect(r nodefs.Root) []string            { return a.detect(r) }
func (a k3s) Targets(o Options) ([]Target, error)      { return a.targets(o) }
func (a k3s) Plan(o Options) (*change.Plan, error)     { return a.plan(o) }
func (a k3s) Status(o Options) (*change.Status, error) { return a.status(o) }
