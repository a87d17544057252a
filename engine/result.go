package engine

import (
	"fmt"

	"github.com/mirrorctl/mirrorctl/change"
)

// Result is what every changing command reports. Its JSON keys are public contract; commands with more
// to say (lint's findings, a plan file, skip's objects) embed it.
type Result struct {
	Changed   bool   `json:"changed"`
	Mirroring string `json:"mirroring"`
	// Endpoints is the Endpoints controller's state after the command, when it switched it
	// (--endpoints-controller); the key is absent otherwise.
	Endpoints string             `json:"endpoints_controller,omitempty"`
	Snapshot  *string            `json:"snapshot"`
	Files     []FileResult       `json:"files"`
	Diff      []change.DiffEntry `json:"diff"`
	Warnings  []string           `json:"warnings"`
	Distro    string             `json:"distro"`
	DryRun    bool               `json:"dry_run"`
	Notes     []string           `json:"notes"`
	// PendingRestart is the command the change (with --dry-run: the change that would be made) still
	// needs to take effect, argv; null when nothing changes, when the kubelet or another machine applies
	// it, and after --restart ran it. For Ansible's handlers and scripts.
	PendingRestart []string `json:"pending_restart"`

	// Remarks are the plan's remarks, the first entries of Notes: the text output prints them as
	// [note] (the other notes are the [next] steps).
	Remarks []string `json:"-"`

	// NodeManager is the tool that renders this node's kcm flags from elsewhere (Cluster API, kops,
	// kubespray, Rancher), when one was found; its "override" says the node was edited anyway.
	NodeManager *change.NodeManager `json:"node_manager,omitempty"`

	// Changes are the files and objects behind Files, in order, for the text diff.
	Changes []change.FileChange `json:"-"`
	// Plan is the node plan the result came from (a dry run saves it with --save-plan).
	Plan *change.Plan `json:"-"`
}

// FileResult is one target in a Result.
type FileResult struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Changed bool   `json:"changed"`
}

// NewResult is the result of plan p: every target, changed or not, and the diff of those that change.
func NewResult(p *change.Plan, dryRun bool) *Result {
	r := &Result{Mirroring: p.Mirroring, Endpoints: p.Endpoints, Files: []FileResult{}, Diff: []change.DiffEntry{},
		Warnings: append([]string{}, p.Warnings...), Notes: append(append([]string{}, p.Remarks...), p.Notes...),
		Remarks: append([]string{}, p.Remarks...),
		Distro:  p.Distro, DryRun: dryRun, Plan: p, NodeManager: p.Manager}
	for _, f := range p.Files {
		r.Add(f)
	}
	if r.Changed && len(p.Restart) > 0 {
		r.PendingRestart = append([]string{}, p.Restart...)
	}
	return r
}

// Add appends a target.
func (r *Result) Add(f change.FileChange) {
	ch := f.Changed()
	r.Files = append(r.Files, FileResult{Path: f.Name(), Kind: f.Kind, Changed: ch})
	r.Changes = append(r.Changes, f)
	if ch {
		r.Changed = true
		r.Diff = append(r.Diff, f.AnsibleDiff())
	}
}

// Replace puts f in place of the entry for the same path (a plan shown before the write, replaced by
// what was written), or appends it.
func (r *Result) Replace(f change.FileChange) {
	for i := range r.Files {
		if r.Files[i].Path != f.Name() {
			continue
		}
		r.Files = append(r.Files[:i:i], r.Files[i+1:]...)
		for j := range r.Changes {
			if r.Changes[j].Name() == f.Name() {
				r.Changes = append(r.Changes[:j:j], r.Changes[j+1:]...)
				break
			}
		}
		for j := range r.Diff {
			if r.Diff[j].AfterHeader == f.Name() {
				r.Diff = append(r.Diff[:j:j], r.Diff[j+1:]...)
				break
			}
		}
		break
	}
	r.Changed = false
	for _, fr := range r.Files {
		r.Changed = r.Changed || fr.Changed
	}
	r.Add(f)
}

// ChangedFiles counts the targets that change.
func (r *Result) ChangedFiles() int {
	n := 0
	for _, f := range r.Files {
		if f.Changed {
			n++
		}
	}
	return n
}

// Summary is a changing command's one-line text summary (on stderr, after the diff); undo is the
// global flags the undo hint repeats.
func (r *Result) Summary(undo string) string {
	verb := "changed"
	if r.DryRun {
		verb = "would change"
	}
	n := r.ChangedFiles()
	if n == 0 {
		verb = "unchanged"
	}
	s := fmt.Sprintf("mirroring %s", r.Mirroring)
	if r.Endpoints != "" {
		s += fmt.Sprintf(", Endpoints controller %s", r.Endpoints)
	}
	s += fmt.Sprintf("; %d file(s) %s", n, verb)
	if r.Snapshot != nil {
		s += fmt.Sprintf("; snapshot %s (undo: mirrorctl rollback%s %s)", *r.Snapshot, undo, *r.Snapshot)
	}
	return s
}
