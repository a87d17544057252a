package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// PruneEndpoints is prune-endpoints' step: delete the stale Endpoints the Endpoints controller left
// (Plan: cluster.PlanPrune), or with Record set re-create those a prune deleted. Every object is
// recorded whole before the first deletion.
type PruneEndpoints struct {
	Cluster
	Env    *Env
	Select cluster.PruneOptions
	DryRun bool
	Record *cluster.Record // prune-endpoints --rollback: the record to restore
	Force  bool            // with Record: leave objects someone else re-created

	Changes  []cluster.EndpointsChange
	Warnings []string
}

// PruneEndpointsJob runs a PruneEndpoints step alone: no node file changes.
func PruneEndpointsJob(env *Env, p *PruneEndpoints, job Job) *Job {
	job.Op = "prune-endpoints"
	if p.Record != nil {
		job.Op = "rollback"
	}
	p.Env = env
	p.DryRun = job.DryRun
	job.Plan = func(*snapshot.Store, *distros.Reads) (*change.Plan, error) {
		return &change.Plan{Mirroring: change.Unknown}, nil
	}
	job.Live = p
	return &job
}

func (p *PruneEndpoints) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	var err error
	if p.Record != nil {
		p.Changes, err = p.Client.PlanRestore(ctx, p.Record.Deleted, p.Force)
	} else {
		p.Changes, p.Warnings, err = p.Client.PlanPrune(ctx, p.Select, p.DryRun)
	}
	if err != nil {
		return nil, err
	}
	var out []change.FileChange
	for _, ch := range p.Changes {
		out = append(out, ch.FileChange())
	}
	return out, nil
}

func (p *PruneEndpoints) Apply(ctx context.Context, _ string) ([]change.FileChange, string, error) {
	var todo []cluster.EndpointsChange
	for _, ch := range p.Changes {
		if !ch.Skip {
			todo = append(todo, ch)
		}
	}
	if len(todo) == 0 {
		return nil, "", nil
	}
	records := cluster.OpenRecords(p.Env.Store())
	rec := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: "prune-endpoints", Command: p.Env.Command,
		ToolVersion: p.Env.Version, Server: p.Client.Host}
	ctx, cancel := p.ctx(ctx)
	defer cancel()
	if p.Record != nil {
		rec.Op, rec.RollbackOf = "rollback", p.Record.ID
		for _, ch := range todo {
			rec.Created = append(rec.Created, cluster.ObjectRef{Namespace: ch.Namespace, Name: ch.Name})
		}
		if err := records.Save(rec); err != nil {
			return nil, "", err
		}
		done, err := p.Client.CreateEndpoints(ctx, todo)
		if err != nil {
			rec.Created = rec.Created[:done]
			_ = records.Save(rec)
			return nil, "", fmt.Errorf("%v (%d of %d restored; run the same command again for the rest)", err, done, len(todo))
		}
		p.Env.logf("write", "created %d Endpoints again", done)
		return p.written(), rec.ID, nil
	}
	for _, ch := range todo {
		d, err := ch.Record()
		if err != nil {
			return nil, "", err
		}
		rec.Deleted = append(rec.Deleted, d)
	}
	if err := records.Save(rec); err != nil {
		return nil, "", err
	}
	p.Env.logf("snapshot", "saved %d Endpoints whole as %s in %s", len(todo), rec.ID, records.Dir())
	done, err := p.Client.DeleteEndpoints(ctx, todo)
	if err != nil {
		// Keep the record of what went, so `prune-endpoints --rollback ID` can bring those back.
		rec.Deleted = rec.Deleted[:done]
		if done == 0 {
			_ = records.Remove(rec.ID)
			return nil, "", err
		}
		if serr := records.Save(rec); serr != nil {
			return nil, "", fmt.Errorf("%v; and updating record %s failed: %v", err, rec.ID, serr)
		}
		return nil, "", fmt.Errorf("%v (%d deleted before it, recorded in %s: `mirrorctl prune-endpoints --rollback %s` brings them back)", err, done, rec.ID, rec.ID)
	}
	p.Env.logf("write", "deleted %d Endpoints", done)
	return p.written(), rec.ID, nil
}

func (p *PruneEndpoints) written() []change.FileChange {
	var out []change.FileChange
	for _, ch := range p.Changes {
		out = append(out, ch.FileChange())
	}
	return out
}
