// Package distros holds one adapter per Kubernetes distribution. An adapter knows where that
// distribution keeps kube-controller-manager's flags on a node, how to detect it under a root, and how
// to plan the edit with the shared patches algebra. Adapters only read; writing, snapshots and
// rollback are the same for all of them (package snapshot).
package distros

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Options carries everything an adapter may need; each adapter reads only its own fields.
type Options struct {
	Root           nodefs.Root
	Op             controllers.Op // for Plan
	ControllerName string         // --controller-name: override the version-based choice

	KubeadmConfigs []string // --kubeadm-config, node paths

	// Per-distribution inputs (node paths unless said otherwise).
	K0sConfig       string // --k0s-config
	AllowK0sHA      bool   // --i-understand-k0s-ha-needs-mirroring
	KindConfig      string // --kind-config
	KindNodeVersion string // --kind-node-version: Kubernetes version of the kind node image
	TalosConfig     string // --talos-config: machine config file to rewrite
	TalosPatchOut   string // --talos-patch-out: where to write the machine-config patch
	TalosDocument   bool   // --talos-document: emit the v1.14+ KubeControllerManagerConfig document form
	KopsSpec        string // --kops-spec
	Restart         bool   // --restart: restart the service after writing (k3s, RKE2, k0s, MicroK8s)
}

// Target is a file an adapter would read or write.
type Target struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// Adapter is one distribution.
type Adapter interface {
	// Name is the --distro value.
	Name() string
	// Detect looks only at the file system under the root and returns what it found (files, folders)
	// that says this node runs the distribution; empty means not detected.
	Detect(r nodefs.Root) []string
	// Targets lists the files the adapter reads and may write with these options.
	Targets(o Options) ([]Target, error)
	// Plan reads the targets and computes the change for o.Op. It writes nothing.
	Plan(o Options) (*change.Plan, error)
	// Status reads the targets and reports the mirroring state.
	Status(o Options) (*change.Status, error)
}

var registry []Adapter

// All returns every adapter, in the order they are listed to users.
func All() []Adapter { return registry }

// register is called from each adapter file's var block, keeping registration explicit and ordered
// by file name.
func register(a Adapter) Adapter {
	registry = append(registry, a)
	return a
}

// Get returns the adapter with this name.
func Get(name string) (Adapter, error) {
	for _, a := range registry {
		if a.Name() == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("unknown distro %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the adapter names, sorted.
func Names() []string {
	var n []string
	for _, a := range registry {
		n = append(n, a.Name())
	}
	sort.Strings(n)
	return n
}

// Detect picks the one adapter whose Detect finds evidence under the root. None or more than one is an
// error listing what was found, so the operator can pass --distro.
func Detect(r nodefs.Root) (Adapter, error) {
	var found []Adapter
	var what []string
	for _, a := range registry {
		if ev := a.Detect(r); len(ev) > 0 {
			found = append(found, a)
			what = append(what, fmt.Sprintf("%s (%s)", a.Name(), strings.Join(ev, ", ")))
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no Kubernetes distribution detected under %s (looked for: %s); pass --distro", r.Dir, strings.Join(Names(), ", "))
	default:
		return nil, fmt.Errorf("more than one distribution detected under %s: %s; pass --distro", r.Dir, strings.Join(what, "; "))
	}
}
