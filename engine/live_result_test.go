package engine

import (
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// The one-line summaries of skip, adopt and prune-endpoints are what an operator reads and copies the
// undo command from: byte for byte what the command layer printed before they moved here.
func TestLiveSummaries(t *testing.T) {
	t.Parallel()
	id := "20261206T000000Z-abcdef"
	changed := []change.FileChange{
		{Path: "endpoints/legacy/db", Before: &nodefs.File{Exists: true, Data: []byte("a: 1\n")}, After: []byte("a: 2\n")},
		{Path: "endpoints/legacy/cache", Before: &nodefs.File{Exists: true, Data: []byte("a: 1\n")}, After: []byte("a: 1\n")},
	}
	res := func(dry bool, snap *string) *Result {
		r := NewResult(&change.Plan{Mirroring: change.Unknown}, dry)
		r.Snapshot, r.Changes = snap, changed
		return r
	}
	skip := &Labels{Op: "skip", Changes: []cluster.LabelChange{{Namespace: "legacy", Name: "db"}, {Namespace: "legacy", Name: "cache"}}}
	adopt := &Adopt{Select: cluster.AdoptOptions{Namespace: "legacy"}, Adoptions: []cluster.Adoption{{}}}
	for _, c := range []struct {
		name string
		r    LiveResult
		want string
	}{
		{"skip", NewSkipResult("legacy", skip, res(false, &id)), "1 of 2 Endpoints in legacy labelled; snapshot " + id + " (undo: mirrorctl skip --root /mnt --rollback " + id + ")"},
		{"skip dry run", NewSkipResult("legacy", &Labels{Op: "unskip"}, res(true, nil)), "1 of 0 Endpoints in legacy would be unlabelled"},
		{"adopt", NewAdoptResult(adopt, res(false, &id)), "0 of 1 Endpoints in legacy adopted; snapshot " + id + " (undo: mirrorctl adopt --root /mnt --rollback " + id + ")"},
		{"adopt back", NewAdoptBackResult(&AdoptBack{Record: &cluster.Record{}}, res(false, &id)), "0 of 0 Endpoints in  restored to mirroring; snapshot " + id},
		{"prune", NewPruneResult(&PruneEndpoints{}, res(false, &id)), "1 Endpoints changed; record " + id + " (undo: mirrorctl prune-endpoints --rollback " + id + ")"},
		{"prune dry run", NewPruneResult(&PruneEndpoints{}, res(true, nil)), "1 Endpoints would change"},
	} {
		if got := c.r.Text().Summary(" --root /mnt"); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if n := NewSkipResult("legacy", skip, res(false, &id)).Notes; len(n) != 1 {
		t.Errorf("skip with a snapshot: notes %q, want the mirroring controller's deletion", n)
	}
	if n := NewAdoptResult(adopt, res(true, nil)).Notes; len(n) != 0 {
		t.Errorf("adopt dry run: notes %q, want none", n)
	}
}
