package engine

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Prune deletes all but the newest keep snapshots under the node's lock. Cluster records share their
// snapshot's id and go with it; cluster-only records (skip, or only the live ConfigMap changed) are
// kept to the same count apart.
func Prune(ctx context.Context, env *Env, keep int, lockTimeout time.Duration) ([]string, error) {
	s := env.Store()
	unlock, err := s.Lock(lockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	CatchInterrupts(ctx)
	removed, err := s.Prune(keep)
	if err != nil {
		return nil, err
	}
	recs := cluster.OpenRecords(s)
	for _, id := range removed {
		_ = recs.Remove(id)
	}
	gone, err := pruneClusterOnly(s, recs, keep)
	return append(removed, gone...), err
}

// Entry is a snapshot as `snapshots list` shows it, with the cluster record of the same run; a
// cluster-only record (skip, or a run that changed only the live ConfigMap) has no files.
type Entry struct {
	snapshot.Meta
	Cluster *cluster.Record `json:"cluster,omitempty"`
}

// Show returns snapshot id, or where there is none the cluster-only record of that id (skip, or a run
// that changed only the live ConfigMap). The error is the snapshot's when there is neither.
func Show(env *Env, id string) (*snapshot.Meta, *cluster.Record, error) {
	s := env.Store()
	m, err := s.Get(id)
	if err == nil {
		return m, nil, nil
	}
	if rec, recErr := cluster.OpenRecords(s).Get(id); recErr == nil {
		return nil, rec, nil
	}
	return nil, nil, err
}

// List is every snapshot and cluster record, newest first.
func List(env *Env) ([]Entry, error) {
	s := env.Store()
	metas, err := s.List()
	if err != nil {
		return nil, err
	}
	recs, err := cluster.OpenRecords(s).List()
	if err != nil {
		return nil, err
	}
	byID := map[string]*cluster.Record{}
	for i := range recs {
		byID[recs[i].ID] = &recs[i]
	}
	out := []Entry{}
	for _, m := range metas {
		out = append(out, Entry{Meta: m, Cluster: byID[m.ID]})
		delete(byID, m.ID)
	}
	for _, r := range recs {
		if byID[r.ID] != nil {
			out = append(out, Entry{Meta: snapshot.Meta{ID: r.ID, Time: r.Time, Command: r.Command, ToolVersion: r.ToolVersion,
				Op: r.Op, RollbackOf: r.RollbackOf, Files: []snapshot.FileMeta{}}, Cluster: byID[r.ID]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Objects names the objects a record changed, for the list and show texts.
func Objects(r *cluster.Record) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.ConfigMaps {
		out = append(out, "configmap "+c.Namespace+"/"+c.Name)
	}
	for _, l := range r.Labels {
		out = append(out, strings.ToLower(l.Kind)+" "+l.Namespace+"/"+l.Name)
	}
	for _, d := range r.Deleted {
		out = append(out, strings.ToLower(d.Kind)+" "+d.Namespace+"/"+d.Name+" (deleted)")
	}
	for _, c := range r.Created {
		out = append(out, "endpoints "+c.Namespace+"/"+c.Name+" (created)")
	}
	return out
}

// pruneClusterOnly removes the cluster records without a snapshot beyond the newest keep of them.
func pruneClusterOnly(s *snapshot.Store, recs *cluster.Records, keep int) ([]string, error) {
	metas, err := s.List()
	if err != nil {
		return nil, err
	}
	hasSnap := map[string]bool{}
	for _, m := range metas {
		hasSnap[m.ID] = true
	}
	all, err := recs.List() // newest first
	if err != nil {
		return nil, err
	}
	var removed []string
	n := 0
	for _, r := range all {
		if hasSnap[r.ID] {
			continue
		}
		if n++; n <= keep {
			continue
		}
		if err := recs.Remove(r.ID); err != nil {
			return removed, err
		}
		removed = append(removed, r.ID)
	}
	return removed, nil
}

// IDs are the ids of the snapshots and records List gives, newest first (completion's candidates).
func IDs(env *Env) ([]string, error) {
	list, err := List(env)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids, nil
}
