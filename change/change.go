// Package change holds what every part of mirrorctl passes around: a planned change of files
// (FileChange, Plan), what a node says about the mirroring controller (Status), and the unified diff
// that shows a change. It imports no adapter, engine, snapshot or plan package, so all of them can
// import it.
package change

import (
	"bytes"
	"io/fs"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
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

// FileChange is one target file and what a plan would make of it.
type FileChange struct {
	Path   string       // node path
	Kind   string       // e.g. "static-pod-manifest", "kubeadm-config", "k3s-config"
	Before *nodefs.File // as read; Before.Exists is false for a file the plan creates
	After  []byte       // the new bytes; equal to Before.Data when unchanged
	Mode   fs.FileMode  // mode for a file the plan creates
	// Added names the keys this change creates in the file rather than edits (a kubeadm config's
	// controllers entry, where there was none). The snapshot records them, so a later change can take
	// back what mirrorctl itself added and leave the file as the operator had it.
	Added []string
	// Shown is the path as the operator gave it (-f FILE, relative to where mirrorctl runs); diffs and
	// results name the file so, for `git apply` from there. "" for node files: Path is shown.
	Shown string
}

// Name is the path diffs and results show: Shown, else the node path.
func (c FileChange) Name() string {
	if c.Shown != "" {
		return c.Shown
	}
	return c.Path
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
	Op        controllers.Op
	Files     []FileChange
	Mirroring string // state after the plan: Enabled or Disabled
	// Endpoints is the Endpoints controller's state after the plan, set only when the command
	// switches it (--endpoints-controller): Enabled or Disabled.
	Endpoints string
	Version   controllers.Version // Kubernetes version of the control plane, when the adapter knows it
	Warnings  []string            // things the operator should know (printed, and in JSON "warnings")
	Notes     []string            // what to do next for the change to take effect (restart hints)
	Manager   *NodeManager        // the tool that renders this node's kcm flags from elsewhere (nil: none found)
	// Remarks are worth knowing and need nothing done (lint's notes on what reads EndpointSlices once
	// mirroring is off): printed as [note], in JSON "notes" before the Notes, never among the warnings.
	Remarks []string
	// Restart is the command that makes the change take effect where a service reads the files only
	// when it starts (k3s, RKE2, k0s, MicroK8s): argv, nil elsewhere.
	Restart []string
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
	// Endpoints is the Endpoints controller's state under Controllers, as Mirroring is the mirroring
	// controller's (Summarize fills it in from Controllers when the adapter left it empty).
	Endpoints string `json:"endpoints_controller"`
	Version   string `json:"version"` // Kubernetes version the file is for, "unknown" if unreadable
	Note      string `json:"note,omitempty"`
}

// Status is what an adapter reads from a node.
type Status struct {
	Distro    string
	Files     []FileStatus
	Mirroring string // Enabled, Disabled, Mixed (files disagree) or Unknown
	Endpoints string // the Endpoints controller, likewise
	Warnings  []string
	Manager   *NodeManager // as in Plan
}

// NodeManager is a tool that renders this node's kube-controller-manager flags from a source of truth
// elsewhere (a KubeadmControlPlane, a kops cluster spec, a kubespray inventory, a Rancher cluster), so
// an edit made on the node lasts only until that tool next renders them. Its JSON keys are public.
type NodeManager struct {
	Name          string   `json:"name"`            // cluster-api, kops, kubespray, rancher
	Evidence      []string `json:"evidence"`        // the node files that say so
	SourceOfTruth string   `json:"source_of_truth"` // where the flags come from, in words
	Change        []string `json:"change"`          // the change to make there, ready to apply (commands or YAML lines)
	// Override is true when the node was edited although the manager would undo it
	// (--i-understand-node-is-managed), or, for a manager whose node edit holds until the machine is
	// replaced (Rancher), whenever the node is edited.
	Override bool `json:"override"`
}

// Summarize sets Mirroring and Endpoints from the files. A file whose Endpoints state the adapter left
// empty gets it from its effective Controllers value: the same list its Mirroring state was read from
// (its mirroring state unknown, both are).
func (s *Status) Summarize() {
	s.Mirroring = summary(s.Files, func(f FileStatus) string { return f.Mirroring })
	s.SummarizeEndpoints()
}

// SummarizeEndpoints is Summarize for the Endpoints controller alone, for a status whose Mirroring an
// adapter set itself.
func (s *Status) SummarizeEndpoints() {
	for i, f := range s.Files {
		if f.Endpoints != "" {
			continue
		}
		s.Files[i].Endpoints = Unknown
		switch entries, err := controllers.Split(f.Controllers); {
		case f.Mirroring == Unknown || err != nil:
		case len(entries) == 0:
			// No flag (kcm's "*") or an empty one (nothing runs): both controllers are on by
			// default, so they share the state the adapter read.
			s.Files[i].Endpoints = f.Mirroring
		default:
			s.Files[i].Endpoints = StateOf(controllers.EndpointsEnabled(entries))
		}
	}
	s.Endpoints = summary(s.Files, func(f FileStatus) string { return f.Endpoints })
}

// summary is one state for all files: Mixed when they disagree, Unknown when none says.
func summary(files []FileStatus, state func(FileStatus) string) string {
	seen := map[string]bool{}
	for _, f := range files {
		if st := state(f); st != Unknown {
			seen[st] = true
		}
	}
	switch {
	case len(seen) == 0:
		return Unknown
	case len(seen) > 1:
		return Mixed
	case seen[Enabled]:
		return Enabled
	default:
		return Disabled
	}
}
