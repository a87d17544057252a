// Package distros holds one adapter per Kubernetes distribution. An adapter knows where that
// distribution keeps kube-controller-manager's flags on a node, how to detect it under a root, and how
// to plan the edit with the shared patches algebra. Adapters only read; writing, snapshots and
// rollback are the same for all of them (package snapshot).
package distros

import (
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
)

// Mirroring states as printed in output and JSON.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
	Mixed    = "mixed"   // files disagree
	Unknown  = "unknown" // nothing says
)

// StateOf names a boolean mirroring state.
func StateOf(on bool) string {
	if on {
		return Enabled
	}
	return Disabled
}

// Options carries everything an adapter may need; each adapter reads only its own fields.
type Options struct {
	Root           nodefs.Root
	Op             patches.Op // for Plan
	ControllerName string     // --controller-name: override the version-based choice

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

// FileChange is one target file and what a plan would make of it.
type FileChange struct {
	Path   string       // node path
	Kind   string       // e.g. "static-pod-manifest", "kubeadm-config", "k3s-config"
	Before *nodefs.File // as read; Before.Exists is false for a file the plan creates
	After  []byte       // the new bytes; equal to Before.Data when unchanged
	Mode   fs.FileMode  // mode for a file the plan creates
}

// Changed reports whether writing the plan would change this file. A nil After on an existing file is
// a removal (a rollback plan's way of saying so), a change even when the file is empty.
func (c FileChange) Changed() bool {
	if c.Before == nil || !c.Before.Exists {
		return c.After != nil
	}
	if c.After == nil {
		return true
	}
	return !bytes.Equal(c.Before.Data, c.After)
}

// Plan is what an adapter proposes. It holds every target, changed or not.
type Plan struct {
	Distro    string
	Op        patches.Op
	Files     []FileChange
	Mirroring string          // state after the plan: Enabled or Disabled
	Version   patches.Version // Kubernetes version of the control plane, when the adapter knows it
	Warnings  []string        // things the operator should know (printed, and in JSON "warnings")
	Notes     []string        // what to do next for the change to take effect (restart hints)
}

// Changed reports whether any file would change.
func (p *Plan) Changed() bool {
	for _, f := range p.Files {
		if f.Changed() {
			return true
		}
	}
	return false
}

// FileStatus is one target file's view of the mirroring controller.
type FileStatus struct {
	Path        string `json:"path"`
	Kind        string `json:"kind"`
	Mirroring   string `json:"mirroring"`   // Enabled, Disabled or Unknown
	Controllers string `json:"controllers"` // the effective --controllers value ("" when not set)
	Version     string `json:"version"`     // Kubernetes version the file is for, "unknown" if unreadable
	Note        string `json:"note,omitempty"`
}

// Status is what an adapter reads from a node.
type Status struct {
	Distro    string
	Files     []FileStatus
	Mirroring string // Enabled, Disabled, Mixed (files disagree) or Unknown
	Warnings  []string
}

// Summarize sets Mirroring from the files.
func (s *Status) Summarize() {
	seen := map[string]bool{}
	for _, f := range s.Files {
		if f.Mirroring != Unknown {
			seen[f.Mirroring] = true
		}
	}
	switch {
	case len(seen) == 0:
		s.Mirroring = Unknown
	case len(seen) > 1:
		s.Mirroring = Mixed
	case seen[Enabled]:
		s.Mirroring = Enabled
	default:
		s.Mirroring = Disabled
	}
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
	Plan(o Options) (*Plan, error)
	// Status reads the targets and reports the mirroring state.
	Status(o Options) (*Status, error)
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
