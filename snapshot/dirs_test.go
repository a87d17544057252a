package snapshot

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
)

// Folders a change created for a new file are recorded in its snapshot and removed by its rollback,
// innermost first and only when empty; the undo of a write failing midway removes them too.
func TestCreatedFoldersRemovedOnRollback(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	const deep, shared = "/etc/new/sub/deep.yaml", "/etc/other/new.yaml"
	id, err := s.Commit([]change.FileChange{
		fileChange(t, r, deep, []byte("a\n")),
		fileChange(t, r, shared, []byte("b\n")),
	}, info)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Files[0].CreatedDirs, " "); got != "/etc/new /etc/new/sub" {
		t.Errorf("created_dirs = %q", got)
	}
	// Someone puts a file of their own in the second created folder: it must stay.
	put(t, r, "/etc/other/theirs.yaml", "theirs\n", 0o600, 0, 0)
	if _, _, _, err := s.Rollback(id, false, info); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"/etc/new/sub", "/etc/new", shared} {
		if _, err := os.Lstat(r.Host(gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s remains after the rollback (%v)", gone, err)
		}
	}
	if got := stat(t, r, "/etc/other/theirs.yaml"); got.data != "theirs\n" {
		t.Error("a folder holding someone else's file was touched")
	}
	if _, err := os.Lstat(r.Host("/etc")); err != nil {
		t.Errorf("/etc, which existed, is gone: %v", err)
	}

	// A write failing after a created folder's file was written: the undo removes the folder too.
	failMkdir(t, "/etc/nowhere")
	if _, err := s.Commit([]change.FileChange{
		fileChange(t, r, deep, []byte("a\n")),
		fileChange(t, r, "/etc/nowhere/x.yaml", []byte("x\n")),
	}, info); err == nil {
		t.Fatal("Commit succeeded despite the injected failure")
	}
	if _, err := os.Lstat(r.Host("/etc/new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/etc/new remains after a failed write (%v)", err)
	}
}
