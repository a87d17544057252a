package snapshot

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
)

// A write that fails before any target was renamed must not claim to have restored files it never
// wrote (issue 14 §13).
func TestFailedFirstWriteSaysNothingWasWritten(t *testing.T) {
	r := newRoot(t)
	mkdirFault = func(dir string) error {
		if strings.HasSuffix(dir, "/etc/nowhere") {
			return errors.New("injected: cannot create folder")
		}
		return nil
	}
	t.Cleanup(func() { mkdirFault = nil })
	put(t, r, manifest, "manifest old\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	changes := []change.FileChange{
		fileChange(t, r, "/etc/nowhere/new.yaml", []byte("x\n")),
		fileChange(t, r, manifest, []byte("manifest new\n")),
	}
	_, err := s.Commit(changes, info)
	if err == nil || strings.Contains(err.Error(), "already written") || !strings.Contains(err.Error(), "no file was written") {
		t.Fatalf("Commit = %v; want it to say no file was written", err)
	}
	if got := stat(t, r, manifest); got.data != "manifest old\n" {
		t.Errorf("manifest = %q", got.data)
	}
}

// The README promises a 0700 state dir: one found 0755 (made by hand, or by an older release) is
// tightened when the run takes the lock; one owned by another user is refused (issue 14 §13).
func TestStateDirTightenedTo0700(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o750, 0o711, 0o700} {
		r := newRoot(t)
		for _, d := range []string{state, state + "/snapshots"} {
			if err := os.MkdirAll(r.Host(d), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(r.Host(d), mode); err != nil {
				t.Fatal(err)
			}
		}
		put(t, r, manifest, "old\n", 0o600, 0, 0)
		s := Open(r, state)
		unlock, err := s.Lock(0)
		if err != nil {
			t.Fatalf("mode %04o: Lock: %v", mode, err)
		}
		if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info); err != nil {
			t.Fatalf("mode %04o: Commit: %v", mode, err)
		}
		unlock()
		for _, d := range []string{state, state + "/snapshots"} {
			fi, err := os.Stat(r.Host(d))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s made %04o: left %04o, want 0700", d, mode, fi.Mode().Perm())
			}
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("refusing another user's state dir needs root to make one")
	}
	r := newRoot(t)
	if err := os.MkdirAll(r.Host(state), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(r.Host(state), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	s := Open(r, state)
	if unlock, err := s.Lock(0); err == nil {
		unlock()
		t.Fatal("Lock accepted a state dir owned by uid 1234")
	} else if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Lock = %v; want ErrUnsafe", err)
	}
	if fi, _ := os.Stat(r.Host(state)); fi.Mode().Perm() != 0o755 {
		t.Errorf("another user's state dir changed to %04o", fi.Mode().Perm())
	}
}
