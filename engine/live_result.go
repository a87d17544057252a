package engine

// The results of the live-only commands (skip, adopt, prune-endpoints): their JSON objects, the
// keys of the file-changing commands plus the objects, and what their text prints besides the diff.

import (
	"fmt"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
)

// LiveText is what a live-only command's text output holds besides JSON: warnings first, the diff
// of Changes on stdout, then Summary and Notes on stderr.
type LiveText struct {
	Warnings []string
	Diff     []change.DiffEntry // redacted in place before JSON
	Changes  []change.FileChange
	Notes    []string
	// Summary is the one-line summary; undo is the global flags an undo hint must repeat.
	Summary func(undo string) string
}

// LiveResult is the result of skip, adopt or prune-endpoints.
type LiveResult interface{ Text() LiveText }

// diffCount is how many changes have a diff: the text's count of objects changed.
func diffCount(changes []change.FileChange) int {
	n := 0
	for _, f := range changes {
		if f.UnifiedDiff() != "" {
			n++
		}
	}
	return n
}

// SkipResult is skip's JSON: the keys of the file-changing commands, plus the objects.
type SkipResult struct {
	Changed   bool               `json:"changed"`
	DryRun    bool               `json:"dry_run"`
	Snapshot  *string            `json:"snapshot"`
	Namespace string             `json:"namespace"`
	Label     string             `json:"label"`
	Objects   []SkipObject       `json:"objects"`
	Files     []FileResult       `json:"files"`
	Diff      []change.DiffEntry `json:"diff"`
	Warnings  []string           `json:"warnings"`
	Notes     []string           `json:"notes"`
	changes   []change.FileChange
	verb      string
}

type SkipObject struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Before    *string `json:"label_before"`
	After     *string `json:"label_after"`
	Changed   bool    `json:"changed"`
}

// NewSkipResult is the result of l's run r on namespace ns.
func NewSkipResult(ns string, l *Labels, r *Result) *SkipResult {
	verb := map[string]string{"skip": "labelled", "unskip": "unlabelled", "rollback": "restored"}[l.Op]
	out := &SkipResult{Changed: r.Changed, DryRun: r.DryRun, Snapshot: r.Snapshot, Namespace: ns, Label: cluster.LabelSkipMirror,
		Objects: []SkipObject{}, Files: r.Files, Diff: r.Diff, Warnings: append([]string{}, l.Warnings...), Notes: []string{}, changes: r.Changes, verb: verb}
	for _, ch := range l.Changes {
		out.Objects = append(out.Objects, SkipObject{Namespace: ch.Namespace, Name: ch.Name, Before: ch.Before, After: ch.After, Changed: ch.Changed()})
	}
	if l.Op == "skip" && r.Snapshot != nil {
		out.Notes = append(out.Notes, "the mirroring controller deletes the mirrored EndpointSlices of these Endpoints within seconds (if it runs)")
	}
	return out
}

func (r *SkipResult) Text() LiveText {
	return LiveText{Warnings: r.Warnings, Diff: r.Diff, Changes: r.changes, Notes: r.Notes, Summary: func(undo string) string {
		verb := r.verb
		if r.DryRun {
			verb = "would be " + verb
		}
		s := fmt.Sprintf("%d of %d Endpoints in %s %s", diffCount(r.changes), len(r.Objects), r.Namespace, verb)
		if r.Snapshot != nil {
			s += fmt.Sprintf("; snapshot %s (undo: mirrorctl skip%s --rollback %s)", *r.Snapshot, undo, *r.Snapshot)
		}
		return s
	}}
}

// AdoptResult is adopt's JSON: the keys of skip, with the slices of each object.
type AdoptResult struct {
	Changed   bool               `json:"changed"`
	DryRun    bool               `json:"dry_run"`
	Snapshot  *string            `json:"snapshot"`
	Namespace string             `json:"namespace"`
	ManagedBy string             `json:"managed_by"`
	Objects   []AdoptObject      `json:"objects"`
	Files     []FileResult       `json:"files"`
	Diff      []change.DiffEntry `json:"diff"`
	Warnings  []string           `json:"warnings"`
	Notes     []string           `json:"notes"`
	changes   []change.FileChange
	verb      string
}

type AdoptObject struct {
	Namespace      string          `json:"namespace"`
	Name           string          `json:"name"`
	Writer         *cluster.Writer `json:"writer,omitempty"`
	Endpoints      int             `json:"endpoints"`
	SlicesCreated  []string        `json:"slices_created"`
	SlicesAdopted  []string        `json:"slices_adopted"`
	SlicesDeleted  []string        `json:"slices_deleted"`
	MirroredSlices []string        `json:"mirrored_slices"`
	Before         *string         `json:"label_before"`
	After          *string         `json:"label_after"`
	Changed        bool            `json:"changed"`
}

func newAdoptResult(ns string, r *Result, warnings []string, verb string) *AdoptResult {
	return &AdoptResult{Changed: r.Changed, DryRun: r.DryRun, Snapshot: r.Snapshot, Namespace: ns, ManagedBy: cluster.AdoptController,
		Objects: []AdoptObject{}, Files: r.Files, Diff: r.Diff, Warnings: append(append([]string{}, r.Warnings...), warnings...), Notes: []string{}, changes: r.Changes, verb: verb}
}

// NewAdoptResult is the result of a's run r.
func NewAdoptResult(a *Adopt, r *Result) *AdoptResult {
	out := newAdoptResult(a.Select.Namespace, r, a.Warnings, "adopted")
	for _, ad := range a.Adoptions {
		w := ad.Writer
		obj := AdoptObject{Namespace: ad.Namespace, Name: ad.Name, Writer: &w, Endpoints: ad.Endpoints, SlicesCreated: []string{},
			SlicesAdopted: append([]string{}, ad.Adopted...), SlicesDeleted: []string{}, MirroredSlices: append([]string{}, ad.Mirrored...),
			Before: ad.Label.Before, After: ad.Label.After, Changed: ad.Changed()}
		for _, s := range ad.Create {
			obj.SlicesCreated = append(obj.SlicesCreated, s.Name)
			obj.SlicesAdopted = append(obj.SlicesAdopted, s.Name)
		}
		out.Objects = append(out.Objects, obj)
	}
	if r.Snapshot != nil {
		out.Notes = append(out.Notes, "the mirroring controller deletes the mirrored EndpointSlices of these Endpoints within seconds (if it runs); `mirrorctl audit` then finds nothing of theirs to mirror",
			"where mirroring is already off, nothing deletes those copies: once the adopted slices are in place, delete the slices `mirrorctl audit` lists under mirrored_slices with kubectl")
	}
	return out
}

// NewAdoptBackResult is the result of b's run r.
func NewAdoptBackResult(b *AdoptBack, r *Result) *AdoptResult {
	ns, rec := "", b.Record
	if len(rec.Slices) > 0 {
		ns = rec.Slices[0].Namespace
	} else if len(rec.Labels) > 0 {
		ns = rec.Labels[0].Namespace
	}
	out := newAdoptResult(ns, r, nil, "restored to mirroring")
	for _, o := range b.Objects() {
		out.Objects = append(out.Objects, AdoptObject{Namespace: o.Namespace, Name: o.Name, SlicesCreated: []string{}, SlicesAdopted: []string{},
			SlicesDeleted: o.Deleted, MirroredSlices: []string{}, Before: o.Before, After: o.After, Changed: o.Changed})
	}
	return out
}

func (r *AdoptResult) Text() LiveText {
	return LiveText{Warnings: r.Warnings, Diff: r.Diff, Changes: r.changes, Notes: r.Notes, Summary: func(undo string) string {
		n := 0
		for _, o := range r.Objects {
			if o.Changed {
				n++
			}
		}
		verb := r.verb
		if r.DryRun {
			verb = "would be " + verb
		}
		s := fmt.Sprintf("%d of %d Endpoints in %s %s", n, len(r.Objects), r.Namespace, verb)
		switch {
		case r.Snapshot != nil && verb == "adopted":
			s += fmt.Sprintf("; snapshot %s (undo: mirrorctl adopt%s --rollback %s)", *r.Snapshot, undo, *r.Snapshot)
		case r.Snapshot != nil:
			s += fmt.Sprintf("; snapshot %s", *r.Snapshot)
		}
		return s
	}}
}

// PruneResult is prune-endpoints' JSON: the keys of skip, with the objects.
type PruneResult struct {
	Changed  bool               `json:"changed"`
	DryRun   bool               `json:"dry_run"`
	Snapshot *string            `json:"snapshot"` // the record id (for --rollback)
	Objects  []PruneObject      `json:"objects"`
	Files    []FileResult       `json:"files"`
	Diff     []change.DiffEntry `json:"diff"`
	Warnings []string           `json:"warnings"`
	changes  []change.FileChange
}

type PruneObject struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // delete, create, none
	Note      string `json:"note,omitempty"`
}

// NewPruneResult is the result of p's run r.
func NewPruneResult(p *PruneEndpoints, r *Result) *PruneResult {
	out := &PruneResult{Changed: r.Changed, DryRun: r.DryRun, Snapshot: r.Snapshot, Objects: []PruneObject{}, Files: r.Files, Diff: r.Diff,
		Warnings: append([]string{}, p.Warnings...), changes: r.Changes}
	for _, ch := range p.Changes {
		a := "delete"
		switch {
		case ch.Skip:
			a = "none"
		case ch.Create:
			a = "create"
		}
		out.Objects = append(out.Objects, PruneObject{Namespace: ch.Namespace, Name: ch.Name, Action: a, Note: ch.Note})
	}
	return out
}

func (r *PruneResult) Text() LiveText {
	return LiveText{Warnings: r.Warnings, Diff: r.Diff, Changes: r.changes, Summary: func(string) string {
		verb := "changed"
		if r.DryRun {
			verb = "would change"
		}
		s := fmt.Sprintf("%d Endpoints %s", diffCount(r.changes), verb)
		if r.Snapshot != nil {
			s += fmt.Sprintf("; record %s (undo: mirrorctl prune-endpoints --rollback %s)", *r.Snapshot, *r.Snapshot)
		}
		return s
	}}
}

// LiveRecord is the record a live-only command's --rollback undoes: the one id names, else the latest
// of that command (latest says which, and is the whole test for an id given: err says why a record is
// not one; empty for none). log reports which record it is.
func LiveRecord(env *Env, id string, latest func(*cluster.Record) bool, wrong func(*cluster.Record) string) (*cluster.Record, error) {
	records := cluster.OpenRecords(env.Store())
	var rec *cluster.Record
	var err error
	if id == "" {
		rec, err = records.Latest(latest)
	} else {
		rec, err = records.Get(id)
	}
	if err != nil {
		return nil, err
	}
	if why := wrong(rec); why != "" {
		return nil, fmt.Errorf("%s: record %s %s", records.Dir(), rec.ID, why)
	}
	env.Log("rollback", "record %s (%s, %s)", rec.ID, rec.Op, rec.Time.Format(time.RFC3339))
	return rec, nil
}

// SkipRecord is the record `skip --rollback [ID]` undoes.
func SkipRecord(env *Env, id string) (*cluster.Record, error) {
	return LiveRecord(env, id, func(r *cluster.Record) bool { return len(r.Labels) > 0 && len(r.Slices) == 0 && r.RollbackOf == "" },
		func(r *cluster.Record) string {
			return map[bool]string{true: "changed no labels (it belongs to `mirrorctl rollback`)"}[len(r.Labels) == 0]
		})
}

// AdoptRecord is the record `adopt --rollback [ID]` undoes.
func AdoptRecord(env *Env, id string) (*cluster.Record, error) {
	return LiveRecord(env, id, func(r *cluster.Record) bool { return r.Op == "adopt" && r.RollbackOf == "" },
		func(r *cluster.Record) string {
			if r.Op == "adopt" {
				return ""
			}
			return "is not an adoption (it is a " + r.Op + ": undo it with `mirrorctl rollback` or `mirrorctl skip --rollback`)"
		})
}

// PruneRecord is the record `prune-endpoints --rollback [ID]` undoes.
func PruneRecord(env *Env, id string) (*cluster.Record, error) {
	return LiveRecord(env, id, func(r *cluster.Record) bool { return len(r.Deleted) > 0 && r.RollbackOf == "" },
		func(r *cluster.Record) string {
			return map[bool]string{true: "deleted no Endpoints (it is not a prune-endpoints record)"}[len(r.Deleted) == 0]
		})
}
