package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/cluster"
)

// Usage errors of audit's issue-16 flags and prune-endpoints exit 2 before any API call (the node has
// no kubeconfig: reaching for one would exit 1).
func TestEndpointsFlagsUsage(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--audit-log", "audit.log"}, "--audit-log needs --endpoints-controller"},
		{[]string{"audit", "--static-after", "0s"}, "--static-after must be positive"},
		{[]string{"prune-endpoints", "extra"}, "takes no arguments"},
		{[]string{"prune-endpoints", "--rollback", "--namespace", "shop"}, "no --namespace"},
		{[]string{"prune-endpoints", "--rollback", "a", "b"}, "at most one record id"},
	} {
		r := run(t, append([]string{"--root", root}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// --rollback with no prune recorded names the records folder, exit 1.
	if r := run(t, "--root", root, "prune-endpoints", "--rollback"); r.code != 1 || !strings.Contains(r.stderr, "no cluster record") {
		t.Errorf("prune-endpoints --rollback without records: exit %d %q", r.code, r.stderr)
	}
}

// A skip record is no prune: --rollback with its id refuses, naming it, before any API call.
func TestPruneRollbackOfAnotherRecord(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := time.Now().UTC()
	rec := &cluster.Record{ID: cluster.NewID(now), Time: now, Op: "skip", Server: "https://cp:6443", Labels: []cluster.LabelRecord{label("shop", "db")}}
	saveRecord(t, root, rec)
	if r := run(t, "--root", root, "prune-endpoints", "--rollback", rec.ID); r.code != 1 || !strings.Contains(r.stderr, rec.ID+" deleted no Endpoints") {
		t.Errorf("prune-endpoints --rollback %s: exit %d %q", rec.ID, r.code, r.stderr)
	}
}
