package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Cluster is how a live step reaches the API server: the client, and a context per call bounded by
// the command's --timeout.
type Cluster struct {
	Client  *cluster.Client
	Context func() (context.Context, context.CancelFunc)
}

// NodeInfo reads this node's Node object, named as the kubelet names it by default (the hostname, from
// /etc/hostname under the root, in lower case), for the adapters' evidence of a tool that manages the
// node (Cluster API's annotations). nil when the node has no hostname file.
func NodeInfo(c *Cluster, root nodefs.Root) *distros.NodeInfo {
	name := strings.ToLower(planfile.ReadIdentity(root).Hostname)
	if name == "" {
		return nil
	}
	ctx, cancel := c.ctx(context.Background())
	defer cancel()
	ann, err := c.Client.NodeAnnotations(ctx, name)
	return &distros.NodeInfo{Name: name, Annotations: ann, Err: err}
}

func (c *Cluster) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	if c.Context != nil {
		return c.Context()
	}
	return context.WithCancel(parent)
}

// KubeadmConfig is the live ClusterConfiguration step of disable and enable: the ConfigMap
// kube-system/kubeadm-config gets the same text-preserving edit as the files.
type KubeadmConfig struct {
	Cluster
	Env  *Env
	Op   string
	Edit cluster.Editor
}

func (k *KubeadmConfig) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := k.ctx(ctx)
	defer cancel()
	lc, err := k.Client.PlanKubeadmConfig(ctx, k.Edit)
	if err != nil {
		return nil, err
	}
	k.Env.logf("plan", "%s on the live ClusterConfiguration (%s via %s)", k.Op, cluster.LivePath, k.Client.Host)
	return []change.FileChange{lc.FileChange()}, nil
}

// Apply records the ConfigMap's old data under id (or a new id when no file changed) before the update,
// and re-reads and re-plans on every conflict. A record is kept unless the ConfigMap is verifiably
// untouched: a timed-out update may have landed, and the record is then the only copy of the old data.
func (k *KubeadmConfig) Apply(ctx context.Context, id string) ([]change.FileChange, string, error) {
	records := cluster.OpenRecords(k.Env.Store())
	recID := id
	if recID == "" {
		recID = cluster.NewID(time.Now())
	}
	saved := false
	save := func(lc *cluster.LiveChange) error {
		saved = true
		return records.Save(&cluster.Record{ID: recID, Time: time.Now().UTC(), Op: k.Op, Command: k.Env.Command,
			ToolVersion: k.Env.Version, Server: k.Client.Host, ConfigMaps: []cluster.ConfigMapRecord{lc.RecordOf()}})
	}
	ctx, cancel := k.ctx(ctx)
	defer cancel()
	lc, err := k.Client.ApplyKubeadmConfig(ctx, k.Edit, save)
	if err != nil {
		if saved {
			unchanged := func(b []byte) ([]byte, bool, error) { return b, false, nil }
			if cur, perr := k.Client.PlanKubeadmConfig(ctx, unchanged); perr == nil {
				if rec, gerr := records.Get(recID); gerr == nil && len(rec.ConfigMaps) == 1 && cur.Before == rec.ConfigMaps[0].DataBefore[rec.ConfigMaps[0].Key] {
					_ = records.Remove(recID)
				}
			}
		}
		return nil, "", err
	}
	if !lc.Changed() {
		return []change.FileChange{lc.FileChange()}, "", nil
	}
	if lc.Attempts > 1 {
		k.Env.logf("write", "%s: %d conflict(s) with other writers, re-planned on the newest version", cluster.LivePath, lc.Attempts-1)
	}
	k.Env.logf("write", "updated %s (old data saved in %s/%s.json)", cluster.LivePath, records.Dir(), recID)
	return []change.FileChange{lc.FileChange()}, recID, nil
}

// RecordRollback is the cluster part of `rollback ID`: putting back the objects record ID changed,
// refusing drift unless Force.
type RecordRollback struct {
	Cluster
	Env    *Env
	Record *cluster.Record
	Force  bool

	cms     []cluster.ConfigMapRecord
	labels  []cluster.LabelChange
	deleted []cluster.EndpointsChange
}

// FindRecord returns the cluster record of snapshot id, or nil when that run changed no cluster object.
func FindRecord(store *snapshot.Store, id string) (*cluster.Record, error) {
	rec, err := cluster.OpenRecords(store).Get(id)
	if errors.Is(err, cluster.ErrNoRecord) {
		return nil, nil
	}
	return rec, err
}

// DescribeRecord names the objects a record changed, for a warning.
func DescribeRecord(rec *cluster.Record) string {
	var parts []string
	for _, cm := range rec.ConfigMaps {
		parts = append(parts, "configmap:"+cm.Namespace+"/"+cm.Name)
	}
	if n := len(rec.Labels); n > 0 {
		parts = append(parts, fmt.Sprintf("the skip-mirror label of %d Endpoints", n))
	}
	if n := len(rec.Slices); n > 0 {
		parts = append(parts, fmt.Sprintf("%d adopted EndpointSlice(s)", n))
	}
	if n := len(rec.Deleted); n > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted Endpoints", n))
	}
	if n := len(rec.Created); n > 0 {
		parts = append(parts, fmt.Sprintf("%d re-created Endpoints", n))
	}
	return strings.Join(parts, ", ")
}

func (s *RecordRollback) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if len(s.Record.Slices) > 0 {
		return nil, fmt.Errorf("record %s %w", s.Record.ID, ErrAdoptRecord)
	}
	var out []change.FileChange
	s.cms = s.Record.ConfigMaps
	for _, cm := range s.cms {
		lc, _, err := s.Client.PlanConfigMapRollback(ctx, cm, s.Force)
		if err != nil {
			return nil, err
		}
		out = append(out, lc.FileChange())
	}
	labels, err := s.Client.PlanLabelRollback(ctx, s.Record.Labels, s.Force)
	if err != nil {
		return nil, err
	}
	s.labels = labels
	for _, l := range labels {
		out = append(out, l.FileChange())
	}
	if len(s.Record.Created) > 0 {
		return nil, fmt.Errorf("record %s re-created %d Endpoints (a prune-endpoints restore): run `mirrorctl prune-endpoints` to delete them again", s.Record.ID, len(s.Record.Created))
	}
	if s.deleted, err = s.Client.PlanRestore(ctx, s.Record.Deleted, s.Force); err != nil {
		return nil, err
	}
	for _, d := range s.deleted {
		out = append(out, d.FileChange())
	}
	return out, nil
}

// Apply restores the objects, recording the state it replaces under id (the file rollback's snapshot
// id; a new id when that is "") so the rollback can itself be undone.
func (s *RecordRollback) Apply(ctx context.Context, id string) ([]change.FileChange, string, error) {
	records := cluster.OpenRecords(s.Env.Store())
	if id == "" {
		id = cluster.NewID(time.Now())
	}
	back := &cluster.Record{ID: id, Time: time.Now().UTC(), Op: "rollback", RollbackOf: s.Record.ID, Command: s.Env.Command,
		ToolVersion: s.Env.Version, Server: s.Client.Host}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	changed := false
	var written []change.FileChange
	for _, cm := range s.cms {
		lc, err := s.Client.RollbackConfigMap(ctx, cm, s.Force, func(lc *cluster.LiveChange) error {
			back.ConfigMaps = append(back.ConfigMaps, lc.RecordOf())
			return records.Save(back)
		})
		if err != nil {
			return nil, "", err
		}
		written = append(written, lc.FileChange())
		if lc.Changed() {
			changed = true
			s.Env.logf("write", "restored %s", "configmap:"+cm.Namespace+"/"+cm.Name)
		}
	}
	var todo []cluster.LabelChange
	for _, l := range s.labels {
		if l.Changed() {
			todo = append(todo, l)
			back.Labels = append(back.Labels, l.Record())
		}
	}
	if len(todo) > 0 {
		if err := records.Save(back); err != nil {
			return nil, "", err
		}
		if _, err := s.Client.ApplyLabels(ctx, todo); err != nil {
			return nil, "", err
		}
		changed = true
		s.Env.logf("write", "restored the skip-mirror label of %d Endpoints", len(todo))
	}
	var create []cluster.EndpointsChange
	for _, d := range s.deleted {
		if !d.Skip {
			create = append(create, d)
			back.Created = append(back.Created, cluster.ObjectRef{Namespace: d.Namespace, Name: d.Name})
		}
	}
	if len(create) > 0 {
		if err := records.Save(back); err != nil {
			return nil, "", err
		}
		if _, err := s.Client.CreateEndpoints(ctx, create); err != nil {
			return nil, "", err
		}
		changed = true
		s.Env.logf("write", "created %d deleted Endpoints again", len(create))
	}
	for _, d := range s.deleted {
		written = append(written, d.FileChange())
	}
	if !changed {
		return written, "", nil
	}
	return written, id, nil
}

// Labels is skip's step: the skip-mirror label of the selected Endpoints (Plan: cluster.PlanSkip), or
// the labels a record replaced (Record set: `skip --rollback`). The labels' previous values are
// recorded before any is changed; a failure midway puts back those already changed.
type Labels struct {
	Cluster
	Env    *Env
	Op     string // skip, unskip, rollback
	Select cluster.SkipOptions
	Record *cluster.Record // skip --rollback: the record to restore
	Force  bool

	// Changes are the planned (after Apply: the written) label changes, for skip's result.
	Changes  []cluster.LabelChange
	Warnings []string
}

func (l *Labels) Plan(ctx context.Context) ([]change.FileChange, error) {
	ctx, cancel := l.ctx(ctx)
	defer cancel()
	var err error
	if l.Record != nil && len(l.Record.Slices) > 0 {
		return nil, fmt.Errorf("record %s %w", l.Record.ID, ErrAdoptRecord)
	}
	if l.Record != nil {
		l.Changes, err = l.Client.PlanLabelRollback(ctx, l.Record.Labels, l.Force)
	} else {
		l.Changes, l.Warnings, err = l.Client.PlanSkip(ctx, l.Select)
	}
	if err != nil {
		return nil, err
	}
	var out []change.FileChange
	for _, ch := range l.Changes {
		out = append(out, ch.FileChange())
	}
	return out, nil
}

func (l *Labels) Apply(ctx context.Context, _ string) ([]change.FileChange, string, error) {
	var todo []cluster.LabelChange
	for _, ch := range l.Changes {
		if ch.Changed() {
			todo = append(todo, ch)
		}
	}
	if len(todo) == 0 {
		return nil, "", nil
	}
	records := cluster.OpenRecords(l.Env.Store())
	rec := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: l.Op, Command: l.Env.Command,
		ToolVersion: l.Env.Version, Server: l.Client.Host}
	if l.Record != nil {
		rec.RollbackOf = l.Record.ID
	}
	for _, ch := range todo {
		rec.Labels = append(rec.Labels, ch.Record())
	}
	if err := records.Save(rec); err != nil {
		return nil, "", err
	}
	if l.Record == nil {
		l.Env.logf("snapshot", "saved the labels of %d Endpoints as %s in %s", len(todo), rec.ID, records.Dir())
	}
	ctx, cancel := l.ctx(ctx)
	defer cancel()
	done, err := l.Client.ApplyLabels(ctx, todo)
	if err != nil {
		if l.Record != nil {
			return nil, "", fmt.Errorf("%v (the labels before this rollback are in record %s)", err, rec.ID)
		}
		if rerr := l.Client.RevertLabels(ctx, todo[:done]); rerr != nil {
			return nil, "", fmt.Errorf("%v; putting back the %d labels already changed failed too (%v): run `mirrorctl skip --rollback %s`", err, done, rerr, rec.ID)
		}
		_ = records.Remove(rec.ID)
		return nil, "", fmt.Errorf("%v; the %d labels already changed were put back", err, done)
	}
	// A conflict may have re-read an object: record what was really replaced.
	rec.Labels = rec.Labels[:0]
	for _, ch := range todo {
		rec.Labels = append(rec.Labels, ch.Record())
	}
	if l.Record == nil {
		if err := records.Save(rec); err != nil {
			return nil, "", err
		}
	}
	byName := map[string]cluster.LabelChange{}
	for _, ch := range todo {
		byName[ch.Name] = ch
	}
	var written []change.FileChange
	for i, ch := range l.Changes {
		if t, ok := byName[ch.Name]; ok {
			l.Changes[i] = t
		}
		written = append(written, l.Changes[i].FileChange())
	}
	return written, rec.ID, nil
}
