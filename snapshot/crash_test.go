package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// The crash tests kill a helper process with SIGKILL at each crash point of a Commit and of a Restore
// in turn, then check what an operator would find: every target old or new (never empty or torn), the
// state dir readable, and `rollback` bringing back the original.

var crashFiles = []struct {
	path, old, new string
	mode           os.FileMode
}{
	{manifest, "manifest: original\n", "manifest: disabled\n", 0o600},
	{kubeadm, "config: original\n", "config: disabled\n", 0o644},
	{created, "", "created\n", 0o640}, // created by the change
}

func crashSetup(t *testing.T, r nodefs.Root) {
	for _, f := range crashFiles {
		if f.old != "" {
			put(t, r, f.path, f.old, f.mode, 1234, 2345)
		}
	}
	mkdir(t, r, "/etc/mirrorctl", 0o755)
}

func crashPlan(r nodefs.Root) ([]change.FileChange, error) {
	var plan []change.FileChange
	for _, f := range crashFiles {
		before, err := r.ReadFile(f.path, true)
		if err != nil {
			return nil, err
		}
		plan = append(plan, change.FileChange{Path: f.path, Before: before, After: []byte(f.new), Mode: f.mode})
	}
	return plan, nil
}

// TestCrashHelperProcess is not a test: it runs the step named by SNAPSHOT_TEST_CRASH and kills itself
// at crash point number SNAPSHOT_TEST_CRASH_AT (counting from 0; only the points named
// SNAPSHOT_TEST_CRASH_POINT when set), or prints the number of points it met.
func TestCrashHelperProcess(t *testing.T) {
	root := os.Getenv("SNAPSHOT_TEST_CRASH_ROOT")
	if root == "" {
		t.Skip("helper process only")
	}
	at, _ := strconv.Atoi(os.Getenv("SNAPSHOT_TEST_CRASH_AT"))
	r, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := state
	if d := os.Getenv("SNAPSHOT_TEST_CRASH_STATE"); d != "" {
		dir = d
	}
	s := Open(r, dir)
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	n := 0
	named := os.Getenv("SNAPSHOT_TEST_CRASH_POINT")
	crashHook = func(point string) {
		if named != "" && point != named {
			return
		}
		if n == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		n++
	}
	switch os.Getenv("SNAPSHOT_TEST_CRASH") {
	case "commit":
		plan, err := crashPlan(r)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Commit(plan, info)
		if err != nil {
			t.Fatal(err)
		}
	case "rollback":
		if _, _, _, err := s.Rollback("", false, info); err != nil {
			t.Fatal(err)
		}
	}
	crashHook = nil
	fmt.Printf("points=%d\n", n)
}

func runCrashHelper(t *testing.T, r nodefs.Root, step string, at int) (completed bool, points int) {
	t.Helper()
	return runCrashHelperAt(t, r, step, "", at)
}

// runCrashHelperAt is runCrashHelper counting only the crash points named point ("": all); env adds
// to the helper's environment (SNAPSHOT_TEST_CRASH_STATE=DIR: its state dir).
func runCrashHelperAt(t *testing.T, r nodefs.Root, step, point string, at int, env ...string) (completed bool, points int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
	cmd.Env = append(os.Environ(), "SNAPSHOT_TEST_CRASH_ROOT="+r.Dir, "SNAPSHOT_TEST_CRASH="+step, "SNAPSHOT_TEST_CRASH_AT="+strconv.Itoa(at), "SNAPSHOT_TEST_CRASH_POINT="+point)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
		return false, 0
	}
	if err != nil {
		t.Fatalf("helper at point %d: %v\n%s", at, err, out)
	}
	if _, err := fmt.Sscanf(string(out[bytes.Index(out, []byte("points=")):]), "points=%d", &points); err != nil {
		t.Fatalf("helper output %q", out)
	}
	return true, points
}

// checkOldOrNew fails unless every target holds exactly its original or its changed bytes, and unless
// a mix of the two is reported as an interrupted change.
func checkOldOrNew(t *testing.T, r nodefs.Root, what string) {
	t.Helper()
	olds, news := 0, 0
	for _, f := range crashFiles {
		got := stat(t, r, f.path)
		switch {
		case !got.exists && f.old == "":
			olds++
		case got.exists && got.data == f.old && got.mode == f.mode && got.uid == 1234:
			olds++
		case got.exists && got.data == f.new && got.mode == f.mode:
			news++
		default:
			t.Fatalf("%s: %s is torn: %+v", what, f.path, got)
		}
	}
	j, err := Interrupted(r)
	if err != nil {
		t.Fatalf("%s: Interrupted: %v", what, err)
	}
	if olds > 0 && news > 0 && j == nil {
		t.Fatalf("%s: %d files old and %d new, and no interrupted change reported", what, olds, news)
	}
}

func checkOriginal(t *testing.T, r nodefs.Root, what string) {
	t.Helper()
	for _, f := range crashFiles {
		got := stat(t, r, f.path)
		if f.old == "" && got.exists || f.old != "" && (got.data != f.old || got.mode != f.mode || got.uid != 1234 || got.gid != 2345 || !got.mtime.Equal(oldTime)) {
			t.Fatalf("%s: %s not restored: %+v", what, f.path, got)
		}
	}
}

// recover does what an operator does after a crash: rollback (if anything was snapshotted) and prune.
func recoverAfterCrash(t *testing.T, r nodefs.Root, what string) {
	t.Helper()
	s := Open(r, state)
	if _, err := s.List(); err != nil {
		t.Fatalf("%s: state dir unusable: %v", what, err)
	}
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer unlock()
	if _, _, _, err := s.Rollback("", false, info); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s: rollback: %v", what, err)
	}
	checkOriginal(t, r, what)
	if j, err := Interrupted(r); j != nil || err != nil {
		t.Fatalf("%s: after rollback, Interrupted = %+v, %v", what, j, err)
	}
	if _, err := os.Lstat(r.Host(JournalPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: journal left after rollback: %v", what, err)
	}
	if _, err := s.Prune(100); err != nil {
		t.Fatalf("%s: prune: %v", what, err)
	}
	all, incomplete, err := s.scan()
	if err != nil || len(incomplete) != 0 {
		t.Fatalf("%s: after prune: %v incomplete, %v", what, incomplete, err)
	}
	for _, m := range all {
		if _, err := s.Get(m.ID); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

func TestCrashAtEveryPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary for every crash point")
	}
	// "recover" is a rollback and "complete" a commit again, each after a commit killed between its
	// first and second target: every way out of an interrupted change must itself survive a crash.
	for _, name := range []string{"commit", "rollback", "recover", "complete"} {
		t.Run(name, func(t *testing.T) {
			step := map[string]string{"recover": "rollback", "complete": "commit"}[name]
			if step == "" {
				step = name
			}
			crashes := 0
			for at := 0; ; at++ {
				r := newRoot(t)
				crashSetup(t, r)
				switch name {
				case "rollback":
					if done, _ := runCrashHelper(t, r, "commit", -1); !done {
						t.Fatal("setup commit crashed")
					}
				case "recover", "complete":
					if done, _ := runCrashHelperAt(t, r, "commit", "step done", 0); done {
						t.Fatal("setup commit was not killed between its targets")
					}
				}
				what := fmt.Sprintf("%s killed at point %d", name, at)
				done, points := runCrashHelper(t, r, step, at)
				checkOldOrNew(t, r, what)
				recoverAfterCrash(t, r, what)
				if done {
					// Points: snapshot dir, 2 copies, meta.json's 3, the journal's 4, then 3 steps of 3
					// or 2 (removal) and the journal's removal.
					if points < 10 || crashes != points {
						t.Fatalf("%d crash points run, %d met: the hooks moved", crashes, points)
					}
					t.Logf("killed at each of %d points, recovered every time", crashes)
					return
				}
				crashes++
			}
		})
	}
}
