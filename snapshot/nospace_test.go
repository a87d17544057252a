package snapshot

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// mountSmall mounts a tiny tmpfs at the node folder dir (fill makes it full, as on a node whose /var
// is full). It skips where mounting is not allowed.
func mountSmall(t *testing.T, r nodefs.Root, dir string) {
	t.Helper()
	host := r.Host(dir)
	if err := os.MkdirAll(host, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", host, "tmpfs", 0, "size=16k,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (%v): needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(host, syscall.MNT_DETACH) })
}

// fill fills the file system of the host folder dir, so that the next write there fails with ENOSPC.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(dir + "/fill")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// A full state dir stops a rollback before anything is written, with ErrNoSpace; NoSnapshot then
// restores the stored bytes without saving the state it replaces.
func TestRestoreFullStateDir(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	const full = "/var/lib/full"
	s := Open(r, full)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info)
	if err != nil {
		t.Fatal(err)
	}
	// Move the state dir onto a full file system, snapshots and all.
	snaps := r.Host(full + "/snapshots")
	if err := os.Rename(snaps, r.Host("/var/lib/saved")); err != nil {
		t.Fatal(err)
	}
	mountSmall(t, r, full)
	if err := os.Mkdir(snaps, 0o700); err != nil {
		t.Fatal(err)
	}
	copyTree(t, r.Host("/var/lib/saved"), snaps)
	fill(t, r.Host(full))

	plan, m, err := s.PlanRollback(id, false)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.List()
	if _, err := s.Restore(m, plan, info); !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Restore on a full state dir = %v, want ErrNoSpace", err)
	}
	if got := stat(t, r, manifest); got.data != "new\n" {
		t.Fatalf("a failed Restore wrote %q", got.data)
	}
	newID, err := s.Restore(m, plan, info, NoSnapshot())
	if err != nil || newID != "" {
		t.Fatalf("Restore(NoSnapshot) = %q, %v", newID, err)
	}
	if got := stat(t, r, manifest); got.data != "old\n" {
		t.Errorf("NoSnapshot restored %q", got.data)
	}
	if after, _ := s.List(); len(after) != len(before) {
		t.Errorf("NoSnapshot saved a snapshot: %d, then %d", len(before), len(after))
	}
	if j, err := s.pending(); err != nil || j != nil {
		t.Errorf("journal after NoSnapshot: %+v, %v", j, err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		s, d := src+"/"+e.Name(), dst+"/"+e.Name()
		if e.IsDir() {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			copyTree(t, s, d)
			continue
		}
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
