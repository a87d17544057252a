package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/cluster"
)

// A kubeconfig naming an API server nobody listens on: every case below must stop before a request.
const deadKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

func TestAdoptUsageAndRecords(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	kc := "/etc/kubernetes/dead.conf"
	if err := os.WriteFile(filepath.Join(root, kc), []byte(deadKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	adopt := &cluster.Record{ID: cluster.NewID(now), Time: now, Op: "adopt", Server: "https://cp:6443",
		Labels: []cluster.LabelRecord{label("shop", "db")},
		Slices: []cluster.SliceRecord{{Namespace: "shop", Name: "db-adopted-1", Service: "db", UID: "u1"}}}
	skip := &cluster.Record{ID: cluster.NewID(now.Add(-time.Hour)), Time: now.Add(-time.Hour), Op: "skip", Server: "https://cp:6443",
		Labels: []cluster.LabelRecord{label("shop", "cache")}}
	saveRecord(t, root, adopt)
	saveRecord(t, root, skip)

	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no namespace", []string{"adopt", "--all"}, 2, "--namespace is required"},
		{"no selection", []string{"adopt", "-n", "shop"}, 2, "exactly one of"},
		{"two selections", []string{"adopt", "-n", "shop", "--all", "db"}, 2, "exactly one of"},
		{"rollback with a selection", []string{"adopt", "--rollback", "--all"}, 2, "no selection"},
		{"bad threshold", []string{"adopt", "-n", "shop", "--all", "--static-after", "0s"}, 2, "--static-after"},
		// Records belong to the command that can undo them.
		{"skip --rollback of an adoption", []string{"skip", "--kubeconfig", kc, "--rollback", adopt.ID}, 1, "mirrorctl adopt --rollback"},
		{"rollback of an adoption", []string{"rollback", "--kubeconfig", kc, adopt.ID}, 1, "mirrorctl adopt --rollback"},
		{"adopt --rollback of a skip", []string{"adopt", "--kubeconfig", kc, "--rollback", skip.ID}, 1, "is not an adoption"},
	} {
		r := run(t, append([]string{"--root", root}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", tc.name, r.code, tc.code, tc.err, r.stderr)
		}
	}
	// skip --rollback without an id passes the adoption over for the latest skip record.
	r := run(t, "--root", root, "skip", "--kubeconfig", kc, "--rollback", "--dry-run")
	if r.code != 1 || !strings.Contains(r.stderr, "record "+skip.ID) {
		t.Errorf("skip --rollback: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, adopt.ID) {
		t.Errorf("skip --rollback picked the adoption:\n%s", r.stderr)
	}
}
