package snapshot

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// The node's one lock and the transaction journal: issue 13's two defects (a lock per state dir lost
// updates; a change of several files killed between its renames was left mixed, unnoticed).

func TestOneLockPerNodeWhateverTheStateDir(t *testing.T) {
	r := newRoot(t)
	a, b := Open(r, "/var/lib/a"), Open(r, "/srv/b")
	unlock, err := a.Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(100 * time.Millisecond)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "holds the lock on "+LockPath+" (held by pid ") {
		t.Fatalf("Lock with another state dir while the node is locked = %v; want ErrLocked naming %s and the pid", err, LockPath)
	}
	unlock()
	unlockB, err := b.Lock(0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	unlockB()
	for p, want := range map[string]os.FileMode{"/run": 0o755 | os.ModeDir, "/run/mirrorctl": 0o700 | os.ModeDir, LockPath: 0o600} {
		fi, err := os.Lstat(r.Host(p))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", p, fi.Mode(), err, want)
		}
	}
	if _, err := os.Lstat(r.Host("/var/lib/a/lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock file in the state dir: %v", err)
	}
}

func TestNodeLockRefusesUnsafePaths(t *testing.T) {
	const victim = "/etc/shadow-like"
	tests := []struct {
		name  string
		setup func(t *testing.T, r nodefs.Root)
		msg   string
	}{
		{"run is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/elsewhere/mirrorctl", 0o700)
			symlink(t, "elsewhere", r.Host("/run"))
		}, "/run: refusing an unsafe state dir: it is a symlink"},
		{"lock dir is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run", 0o755)
			mkdir(t, r, "/elsewhere", 0o700)
			symlink(t, "../elsewhere", r.Host("/run/mirrorctl"))
		}, "/run/mirrorctl: refusing an unsafe state dir: it is a symlink"},
		{"lock dir is a file", func(t *testing.T, r nodefs.Root) {
			put(t, r, "/run/mirrorctl", "x", 0o600, 0, 0)
		}, "not a directory"},
		{"lock dir world-writable", func(t *testing.T, r nodefs.Root) { mkdir(t, r, "/run/mirrorctl", 0o777) }, "writable by group or others"},
		{"lock dir group-writable", func(t *testing.T, r nodefs.Root) { mkdir(t, r, "/run/mirrorctl", 0o770) }, "writable by group or others"},
		{"lock dir owned by someone else", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run/mirrorctl", 0o700)
			if err := os.Lchown(r.Host("/run/mirrorctl"), 4321, 4321); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 4321"},
		{"lock file is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run/mirrorctl", 0o700)
			symlink(t, "../.."+victim, r.Host(LockPath))
		}, "the lock file is a symlink"},
		{"lock file is a hard link", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run/mirrorctl", 0o700)
			if err := os.Link(r.Host(victim), r.Host(LockPath)); err != nil {
				t.Fatal(err)
			}
		}, "the lock file has 2 hard links"},
		{"lock file is a fifo", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run/mirrorctl", 0o700)
			if err := mkfifo(r.Host(LockPath)); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			put(t, r, victim, "secret\n", 0o600, 0, 0)
			tc.setup(t, r)
			_, err := Open(r, state).Lock(0)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Lock = %v; want one line wrapping ErrUnsafe with %q", err, tc.msg)
			}
			if got := stat(t, r, victim); got.data != "secret\n" || !got.mtime.Equal(oldTime) {
				t.Errorf("the file behind the lock was touched: %+v", got)
			}
			if _, err := os.Lstat(r.Host("/elsewhere/mirrorctl/lock")); err == nil {
				t.Error("lock created through the symlink")
			}
		})
	}
}

// Releases before the node lock locked <state>/lock: such a file is neither used nor removed, even when
// it is a symlink to something that matters.
func TestOldStateDirLockLeftAlone(t *testing.T) {
	r := newRoot(t)
	mkdir(t, r, state, 0o700)
	put(t, r, "/etc/important", "keep\n", 0o644, 0, 0)
	symlink(t, "../../../etc/important", r.Host(state+"/lock"))
	s := Open(r, state)
	lock(t, s)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, r, "/etc/important"); got.data != "keep\n" || !got.mtime.Equal(oldTime) {
		t.Errorf("old lock's target touched: %+v", got)
	}
	if dest, err := os.Readlink(r.Host(state + "/lock")); err != nil || dest != "../../../etc/important" {
		t.Errorf("old lock file changed: %q %v", dest, err)
	}
}

// killBetweenRenames runs crashPlan's commit in a child killed after its first target is replaced,
// and returns the snapshot it took.
func killBetweenRenames(t *testing.T, r nodefs.Root, env ...string) string {
	t.Helper()
	crashSetup(t, r)
	if done, _ := runCrashHelperAt(t, r, "commit", "step done", 0, env...); done {
		t.Fatal("the commit was not killed")
	}
	if got := stat(t, r, manifest); got.data != crashFiles[0].new {
		t.Fatalf("manifest after the kill: %+v", got)
	}
	if got := stat(t, r, kubeadm); got.data != crashFiles[1].old {
		t.Fatalf("kubeadm config after the kill: %+v", got)
	}
	j, err := Interrupted(r)
	if err != nil || j == nil {
		t.Fatalf("Interrupted after a kill between renames = %+v, %v", j, err)
	}
	dir := state
	for _, e := range env {
		if d, ok := strings.CutPrefix(e, "SNAPSHOT_TEST_CRASH_STATE="); ok {
			dir = d
		}
	}
	all, err := Open(r, dir).List()
	if err != nil || len(all) != 1 || j.Snapshot != all[0].ID {
		t.Fatalf("journal names %s; snapshots %v, %v", j.Snapshot, metaIDs(all), err)
	}
	if j.StateDir != dir || j.Op != "disable" || strings.Join(j.Files, " ") != manifest+" "+kubeadm+" "+created || j.Time.IsZero() {
		t.Errorf("journal %+v", j)
	}
	if fi, err := os.Lstat(r.Host(JournalPath)); err != nil || fi.Mode() != 0o600 {
		t.Errorf("journal file: %v %v", fi, err)
	}
	return j.Snapshot
}

func TestInterruptedChangeRolledBack(t *testing.T) {
	r := newRoot(t)
	id := killBetweenRenames(t, r)
	s := Open(r, state)
	lock(t, s)

	// Another op is refused, in one line naming the snapshot and both ways out, writing nothing.
	enable := Info{Command: []string{"mirrorctl", "enable"}, Op: "enable"}
	_, err := s.Commit([]change.FileChange{fileChange(t, r, kubeadm, []byte("config: enabled\n"))}, enable)
	if !errors.Is(err, ErrInterrupted) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Commit of another op = %v; want one line wrapping ErrInterrupted", err)
	}
	for _, w := range []string{id, "`mirrorctl rollback`", "`mirrorctl disable`", "nothing written"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not say %q", err, w)
		}
	}
	if got := stat(t, r, kubeadm); got.data != crashFiles[1].old {
		t.Errorf("refused commit wrote: %+v", got)
	}
	if all, _ := s.List(); len(all) != 1 {
		t.Errorf("refused commit left a snapshot: %v", metaIDs(all))
	}
	// Pruning keeps what recovering needs.
	if removed, err := s.Prune(0); err != nil || contains(removed, id) {
		t.Fatalf("Prune(0) = %v, %v: removed the interrupted change's snapshot", removed, err)
	}

	_, plan, m, err := s.Rollback("", false, Info{Op: "rollback"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id || len(plan) != 3 || !plan[0].Changed() || plan[1].Changed() {
		t.Errorf("rollback of %s: plan %d files", m.ID, len(plan))
	}
	checkOriginal(t, r, "rollback after the kill")
	if j, err := Interrupted(r); j != nil || err != nil {
		t.Errorf("after rollback: Interrupted = %+v, %v", j, err)
	}
	// Now the other op may run.
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, kubeadm, []byte("config: enabled\n"))}, enable); err != nil {
		t.Fatal(err)
	}
}

func TestInterruptedChangeCompletedThenRolledBack(t *testing.T) {
	r := newRoot(t)
	first := killBetweenRenames(t, r)
	s := Open(r, state)
	lock(t, s)
	plan, err := crashPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	if plan[0].Changed() {
		t.Fatal("the re-run plans the manifest again")
	}
	id, err := s.Commit(plan, info)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Completes != first || len(m.Files) != 3 {
		t.Fatalf("completing snapshot: completes %q, %d files", m.Completes, len(m.Files))
	}
	// The manifest, written by the interrupted run, is recorded with its original bytes and owner.
	var mf FileMeta
	for _, f := range m.Files {
		if f.Path == manifest {
			mf = f
		}
	}
	if data, err := s.ReadStored(m, mf); err != nil || string(data) != crashFiles[0].old || mf.UID != 1234 || mf.Mode != 0o600 {
		t.Fatalf("manifest recorded as %q (%v), uid %d, mode %o", data, err, mf.UID, mf.Mode)
	}
	if j, err := Interrupted(r); j != nil || err != nil {
		t.Fatalf("after completing: Interrupted = %+v, %v", j, err)
	}
	for _, f := range crashFiles {
		if got := stat(t, r, f.path); got.data != f.new {
			t.Errorf("%s after completing: %q", f.path, got.data)
		}
	}
	if _, _, _, err := s.Rollback("", false, Info{Op: "rollback"}); err != nil {
		t.Fatal(err)
	}
	checkOriginal(t, r, "rollback after completing")
}

// The journal is found whatever --state-dir the next run is given.
func TestInterruptedChangeInAnotherStateDir(t *testing.T) {
	for _, way := range []string{"rollback", "complete"} {
		t.Run(way, func(t *testing.T) {
			r := newRoot(t)
			first := killBetweenRenames(t, r, "SNAPSHOT_TEST_CRASH_STATE=/var/lib/a")
			s := Open(r, "/srv/b")
			lock(t, s)
			if way == "complete" {
				plan, err := crashPlan(r)
				if err != nil {
					t.Fatal(err)
				}
				id, err := s.Commit(plan, info)
				if err != nil {
					t.Fatal(err)
				}
				if m, err := s.Get(id); err != nil || m.Completes != first {
					t.Fatalf("completing snapshot %v, %v", m, err)
				}
			}
			if _, _, _, err := s.Rollback("", false, Info{Op: "rollback"}); err != nil {
				t.Fatal(err)
			}
			checkOriginal(t, r, way)
			if j, err := Interrupted(r); j != nil || err != nil {
				t.Fatalf("Interrupted = %+v, %v", j, err)
			}
		})
	}
}

// Completing must not adopt someone's edit made after the kill: rolling back would then discard it.
func TestCompletingRefusesDrift(t *testing.T) {
	r := newRoot(t)
	killBetweenRenames(t, r)
	put(t, r, kubeadm, "someone's edit\n", 0o644, 0, 0)
	s := Open(r, state)
	lock(t, s)
	plan, err := crashPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(plan, info); !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), kubeadm) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Commit = %v, want ErrDrift naming %s", err, kubeadm)
	}
	if got := stat(t, r, kubeadm); got.data != "someone's edit\n" {
		t.Error("wrote despite the drift")
	}
	if _, _, _, err := s.Rollback("", false, info); !errors.Is(err, ErrDrift) {
		t.Fatalf("Rollback = %v, want ErrDrift", err)
	}
	if _, _, _, err := s.Rollback("", true, info); err != nil {
		t.Fatal(err)
	}
	checkOriginal(t, r, "forced rollback")
}

// A completing run whose own write fails puts the files back and leaves the interrupted change as it
// found it: still reported, still recoverable.
func TestCompletingFailureKeepsTheJournal(t *testing.T) {
	r := newRoot(t)
	first := killBetweenRenames(t, r)
	failMkdir(t, "/etc/nowhere")
	s := Open(r, state)
	lock(t, s)
	plan, err := crashPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	plan = append(plan, fileChange(t, r, "/etc/nowhere/new.yaml", []byte("x\n")))
	if _, err := s.Commit(plan, info); err == nil || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("Commit = %v", err)
	}
	if j, err := Interrupted(r); err != nil || j == nil || j.Snapshot != first {
		t.Fatalf("Interrupted = %+v, %v; want the first run's %s", j, err, first)
	}
	if all, _ := s.List(); len(all) != 1 {
		t.Errorf("snapshots %v", metaIDs(all))
	}
	mkdirFault = nil
	if _, _, _, err := s.Rollback("", false, info); err != nil {
		t.Fatal(err)
	}
	checkOriginal(t, r, "rollback")
}

// A journal whose change wrote every file (the run died just before removing it) is no interruption:
// not reported, and removed by the next locked run.
func TestFinishedJournalIsCleared(t *testing.T) {
	r := newRoot(t)
	crashSetup(t, r)
	if done, _ := runCrashHelperAt(t, r, "commit", "step done", len(crashFiles)-1); done {
		t.Fatal("not killed after the last target")
	}
	if _, err := os.Lstat(r.Host(JournalPath)); err != nil {
		t.Fatalf("no journal left to test with: %v", err)
	}
	if j, err := Interrupted(r); j != nil || err != nil {
		t.Fatalf("Interrupted = %+v, %v; want nothing", j, err)
	}
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{fileChange(t, r, kubeadm, []byte("config: enabled\n"))}, Info{Op: "enable"})
	if err != nil || id == "" {
		t.Fatalf("Commit = %q, %v", id, err)
	}
	if _, err := os.Lstat(r.Host(JournalPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal still there: %v", err)
	}
}

func TestCommitLeavesNoJournal(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, r.Host("/var/lib/mirrorctl")); strings.Join(got, " ") != "snapshots" {
		t.Errorf("state dir holds %q", got)
	}
}

func mkfifo(host string) error { return syscall.Mkfifo(host, 0o600) }
