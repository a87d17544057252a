package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// saveRecord writes a cluster record into root's state dir as a skip or --kubeconfig run would.
func saveRecord(t *testing.T, root string, rec *cluster.Record) {
	t.Helper()
	r, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot.Open(r, "/var/lib/mirrorctl")
	unlock, err := s.Lock(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := cluster.OpenRecords(s).Save(rec); err != nil {
		t.Fatal(err)
	}
}

func label(ns, name string) cluster.LabelRecord {
	v := "true"
	return cluster.LabelRecord{Kind: "Endpoints", Namespace: ns, Name: name, UID: "u-" + name, Label: cluster.LabelSkipMirror, After: &v}
}

// Cluster records (skip runs, runs that changed only the live ConfigMap) are listed, shown and pruned
// beside the file snapshots.
func TestSnapshotsListShowPruneClusterRecords(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	m, _ := runJSON(t, "--root", root, "-o", "json", "disable")
	snapID, _ := m["snapshot"].(string)
	if snapID == "" {
		t.Fatalf("disable took no snapshot: %v", m)
	}
	now := time.Now().UTC()
	older := &cluster.Record{ID: cluster.NewID(now.Add(-2 * time.Hour)), Time: now.Add(-2 * time.Hour), Op: "skip", Server: "https://cp:6443",
		Labels: []cluster.LabelRecord{label("default", "old-db")}}
	newer := &cluster.Record{ID: cluster.NewID(now.Add(time.Hour)), Time: now.Add(time.Hour), Op: "skip", Server: "https://cp:6443",
		Labels: []cluster.LabelRecord{label("shop", "legacy-db"), label("shop", "cache")}}
	shared := &cluster.Record{ID: snapID, Time: now, Op: "disable", Server: "https://cp:6443",
		ConfigMaps: []cluster.ConfigMapRecord{{Namespace: "kube-system", Name: "kubeadm-config", Key: "ClusterConfiguration"}}}
	for _, r := range []*cluster.Record{older, newer, shared} {
		saveRecord(t, root, r)
	}

	r := run(t, "--root", root, "-o", "json", "snapshots", "list")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("snapshots list: %d %v\n%s", r.code, err, r.stderr)
	}
	var ids []string
	for _, e := range list {
		ids = append(ids, e["id"].(string))
		if _, ok := e["files"].([]any); !ok {
			t.Errorf("%s: files is not a list: %v", e["id"], e["files"])
		}
		if e["cluster"] == nil {
			t.Errorf("%s: no cluster record attached", e["id"])
		}
	}
	if want := []string{newer.ID, snapID, older.ID}; strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("list order %v, want newest first %v", ids, want)
	}
	if len(list) == 3 && len(list[1]["files"].([]any)) == 0 {
		t.Error("the snapshot lost its files")
	}

	text := run(t, "--root", root, "snapshots", "list").stdout
	for _, want := range []string{"CLUSTER", "endpoints shop/legacy-db, endpoints shop/cache", "configmap kube-system/kubeadm-config", older.ID} {
		if !strings.Contains(text, want) {
			t.Errorf("text list lacks %q:\n%s", want, text)
		}
	}
	if show := run(t, "--root", root, "snapshots", "show", older.ID); show.code != 0 || !strings.Contains(show.stdout, "object: endpoints default/old-db") {
		t.Errorf("show of a cluster-only record: %d\n%s%s", show.code, show.stdout, show.stderr)
	}

	// --keep 1: the one snapshot stays (with its record); of the two cluster-only records the newer stays.
	p, _ := runJSON(t, "--root", root, "-o", "json", "snapshots", "prune", "--keep", "1")
	if got := p["removed"]; len(got.([]any)) != 1 || got.([]any)[0] != older.ID {
		t.Errorf("prune --keep 1 removed %v, want only %s", got, older.ID)
	}
	after := run(t, "--root", root, "-o", "json", "snapshots", "list").stdout
	if strings.Contains(after, older.ID) || !strings.Contains(after, newer.ID) || !strings.Contains(after, snapID) {
		t.Errorf("after prune:\n%s", after)
	}
}
