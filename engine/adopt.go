package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Adopt is adopt's live step: for each selected static Endpoints, EndpointSlices of mirrorctl's own
// first, then the skip-mirror label, so the Service always has a slice for every address (its mirrored
// copies until the label, both for a moment, then the adopted ones). The record (slices and labels) is
// saved before the first write and again as each slice gets its UID.
type Adopt struct {
	Cluster
	Env    *Env
	Select cluster.AdoptOptions

	// Adoptions are the planned (after Apply: the done) adoptions, for adopt's result.
	Adoptions []cluster.Adoption
	Warnings  []string
}

func (a *Adopt) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := a.ctx(ctx)
	defer cancel()
	var err error
	a.Adoptions, a.Warnings, err = a.Client.PlanAdopt(ctx, a.Select)
	if err != nil {
		return nil, err
	}
	var out []change.FileChange
	for _, ad := range a.Adoptions {
		out = append(out, ad.FileChanges()...)
	}
	return out, nil
}

func (a *Adopt) Apply(ctx context.Context, _ string) ([]change.FileChange, string, error) {
	var todo []*cluster.Adoption
	for i := range a.Adoptions {
		if a.Adoptions[i].Changed() {
			todo = append(todo, &a.Adoptions[i])
		}
	}
	if len(todo) == 0 {
		return nil, "", nil
	}
	records := cluster.OpenRecords(a.Env.Store())
	rec := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: "adopt", Command: a.Env.Command,
		ToolVersion: a.Env.Version, Server: a.Client.Host}
	for _, ad := range todo {
		for _, s := range ad.Create {
			rec.Slices = append(rec.Slices, cluster.SliceRecord{Namespace: s.Namespace, Name: s.Name, Service: ad.Name})
		}
		if ad.Label.Changed() {
			rec.Labels = append(rec.Labels, ad.Label.Record())
		}
	}
	if err := records.Save(rec); err != nil {
		return nil, "", err
	}
	a.Env.logf("snapshot", "recording the adoption of %d Endpoints as %s in %s", len(todo), rec.ID, records.Dir())
	ctx, cancel := a.ctx(ctx)
	defer cancel()
	for k, ad := range todo {
		var created []cluster.SliceRecord
		err := a.Client.CreateSlices(ctx, ad, func(s *discoveryv1.EndpointSlice) error {
			for i := range rec.Slices {
				if rec.Slices[i].Namespace == s.Namespace && rec.Slices[i].Name == s.Name {
					rec.Slices[i].UID = string(s.UID)
					created = append(created, rec.Slices[i])
				}
			}
			return records.Save(rec)
		})
		if err == nil && ad.Label.Changed() {
			labels := []cluster.LabelChange{ad.Label}
			_, err = a.Client.ApplyLabels(ctx, labels)
			ad.Label = labels[0]
		}
		if err != nil {
			return nil, "", a.undoOne(ctx, records, rec, todo[:k], ad, created, err)
		}
		a.Env.logf("write", "adopted endpoints %s/%s: %d EndpointSlice(s) created, labelled %s=true", ad.Namespace, ad.Name, len(ad.Create), cluster.LabelSkipMirror)
	}
	// A conflict may have re-read a label: record what was really replaced.
	rec.Labels = rec.Labels[:0]
	for _, ad := range todo {
		if ad.Label.Changed() {
			rec.Labels = append(rec.Labels, ad.Label.Record())
		}
	}
	if err := records.Save(rec); err != nil {
		return nil, "", err
	}
	var written []change.FileChange
	for _, ad := range a.Adoptions {
		written = append(written, ad.FileChanges()...)
	}
	return written, rec.ID, nil
}

// undoOne handles a failure while adopting ad (the adoptions in done went through): while its
// Endpoints is not labelled, its mirrored copies still serve, so the slices it created can go and its
// part of the record with them. A label patch that failed may still have landed (a timeout): the
// Endpoints is read back first, and when that read fails or shows the label, the slices stay.
func (a *Adopt) undoOne(ctx context.Context, records *cluster.Records, rec *cluster.Record, done []*cluster.Adoption, ad *cluster.Adoption, created []cluster.SliceRecord, err error) error {
	undo := fmt.Sprintf("undo: mirrorctl adopt --rollback %s", rec.ID)
	labelled, rerr := a.Client.SkipMirrorLabelled(ctx, ad.Namespace, ad.Name)
	if rerr != nil || labelled {
		if rerr != nil {
			return fmt.Errorf("%v; endpoints %s/%s could not be read back (%v), so its %d new slice(s) stay (%s)", err, ad.Namespace, ad.Name, rerr, len(created), undo)
		}
		return fmt.Errorf("%v; endpoints %s/%s is labelled all the same, its %d new slice(s) stay (%s)", err, ad.Namespace, ad.Name, len(created), undo)
	}
	for _, s := range created {
		if derr := a.Client.DeleteSlice(ctx, s); derr != nil {
			return fmt.Errorf("%v; deleting the slices it created failed too (%v) (%s)", err, derr, undo)
		}
	}
	if len(done) == 0 {
		if rmErr := records.Remove(rec.ID); rmErr != nil {
			return fmt.Errorf("%v; the slices it created were deleted, nothing changed (record %s left behind: %v)", err, rec.ID, rmErr)
		}
		return fmt.Errorf("%v; the slices it created were deleted, nothing changed", err)
	}
	// The record keeps what the adoptions that went through wrote, nothing of this one or of those
	// never started (their slice names, without a UID, must not send a rollback after someone else's).
	adopted := map[string]bool{}
	rec.Labels = rec.Labels[:0]
	for _, d := range done {
		adopted[d.Namespace+"/"+d.Name] = true
		if d.Label.Changed() {
			rec.Labels = append(rec.Labels, d.Label.Record())
		}
	}
	keep := rec.Slices[:0]
	for _, s := range rec.Slices {
		if adopted[s.Namespace+"/"+s.Service] {
			keep = append(keep, s)
		}
	}
	rec.Slices = keep
	if serr := records.Save(rec); serr != nil {
		return fmt.Errorf("%v; its slices were deleted; %d Endpoints were adopted before it (%s; the record could not be updated: %v)", err, len(done), undo, serr)
	}
	return fmt.Errorf("%v; its slices were deleted; %d Endpoints were adopted before it (%s)", err, len(done), undo)
}

// AdoptBack is `adopt --rollback`: the skip-mirror labels go first; once the mirroring controller has
// re-created slices matching each Endpoints (polled every Poll until the context's deadline), the
// adopted slices are deleted. If mirroring never catches up (switched off), the adopted slices stay and
// the run fails: the Service is never left without its addresses. A re-run finishes the job.
type AdoptBack struct {
	Cluster
	Env    *Env
	Record *cluster.Record
	Force  bool
	Poll   time.Duration

	planned *cluster.AdoptRollback
}

func (b *AdoptBack) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	p, err := b.Client.PlanAdoptRollback(ctx, b.Record, b.Force)
	if err != nil {
		return nil, err
	}
	b.planned = p
	return p.FileChanges(), nil
}

func (b *AdoptBack) Apply(ctx context.Context, _ string) ([]change.FileChange, string, error) {
	p := b.planned
	records := cluster.OpenRecords(b.Env.Store())
	back := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: "rollback", RollbackOf: b.Record.ID,
		Command: b.Env.Command, ToolVersion: b.Env.Version, Server: b.Client.Host}
	var todo []cluster.LabelChange
	for _, l := range p.Labels {
		if l.Changed() {
			todo = append(todo, l)
			back.Labels = append(back.Labels, l.Record())
		}
	}
	if err := records.Save(back); err != nil {
		return nil, "", err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if len(todo) > 0 {
		if _, err := b.Client.ApplyLabels(ctx, todo); err != nil {
			return nil, "", fmt.Errorf("%v (the labels before this rollback are in record %s)", err, back.ID)
		}
		b.Env.logf("write", "restored the skip-mirror label of %d Endpoints", len(todo))
	}
	// Wait, per Service whose adopted slices are to go, for mirroring's copies.
	poll := b.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	waited := map[string]bool{}
	for _, s := range p.Slices {
		key := s.Namespace + "/" + s.Service
		if waited[key] {
			continue
		}
		start := time.Now()
		for {
			ok, err := b.Client.MirroredMatch(ctx, s.Namespace, s.Service)
			if err != nil {
				return nil, "", err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return nil, "", fmt.Errorf("endpoints %s: the mirroring controller has not re-created its EndpointSlices after %s (is it running?); the adopted slices are kept so the Service keeps its addresses; run `mirrorctl adopt --rollback %s` again once it does", key, time.Since(start).Round(time.Second), b.Record.ID)
			case <-time.After(poll):
			}
		}
		waited[key] = true
		b.Env.logf("wait", "endpoints %s: mirrored EndpointSlices are back (%s)", key, time.Since(start).Round(time.Millisecond))
	}
	deleted := 0
	for _, s := range p.Slices {
		if err := b.Client.DeleteSlice(ctx, s); err != nil {
			return nil, "", err
		}
		deleted++
		b.Env.logf("write", "deleted endpointslice %s/%s", s.Namespace, s.Name)
	}
	if len(back.Labels) == 0 && deleted == 0 {
		_ = records.Remove(back.ID)
		return nil, "", nil
	}
	// The record keeps the labels this rollback replaced; the deleted slices are not kept: adopting
	// again re-creates them from the Endpoints.
	return p.FileChanges(), back.ID, nil
}

// AdoptJob runs adopt through the engine: no node file changes, one live step.
func AdoptJob(env *Env, a *Adopt, job Job) *Job {
	a.Env = env
	return liveOnly(job, "adopt", a)
}

// AdoptRollbackJob runs adopt --rollback through the engine.
func AdoptRollbackJob(env *Env, b *AdoptBack, job Job) *Job {
	b.Env = env
	return liveOnly(job, "rollback", b)
}

func liveOnly(job Job, op string, step Live) *Job {
	job.Op = op
	job.Plan = func(*snapshot.Store, *distros.Reads) (*change.Plan, error) {
		return &change.Plan{Mirroring: change.Unknown}, nil
	}
	job.Live = step
	return &job
}

// ErrAdoptRecord refuses handing an adopt record to a rollback that only knows labels and ConfigMaps.
var ErrAdoptRecord = errors.New("created EndpointSlices: undo it with `mirrorctl adopt --rollback`")

// AdoptBackObject is one Endpoints of a rolled back adoption, for adopt's result.
type AdoptBackObject struct {
	Namespace, Name string
	Before, After   *string
	Deleted         []string
	Changed         bool
}

// Objects lists the record's Endpoints with their planned label and the slices to delete.
func (b *AdoptBack) Objects() []AdoptBackObject {
	var out []AdoptBackObject
	idx := map[string]int{}
	get := func(ns, name string) *AdoptBackObject {
		k := ns + "/" + name
		if i, ok := idx[k]; ok {
			return &out[i]
		}
		idx[k] = len(out)
		out = append(out, AdoptBackObject{Namespace: ns, Name: name, Deleted: []string{}})
		return &out[len(out)-1]
	}
	if b.planned == nil {
		return nil
	}
	for _, l := range b.planned.Labels {
		o := get(l.Namespace, l.Name)
		o.Before, o.After = l.Before, l.After
		o.Changed = o.Changed || l.Changed()
	}
	for _, s := range b.planned.Slices {
		o := get(s.Namespace, s.Service)
		o.Deleted = append(o.Deleted, s.Name)
		o.Changed = true
	}
	return out
}
