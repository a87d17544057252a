package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// On a node whose state dir file system is full, rollback says so in one line with the way out, and
// `rollback --no-snapshot` restores the files, saying that it cannot itself be rolled back.
func TestRollbackFullStateDir(t *testing.T) {
	root := newNode(t)
	state := filepath.Join(root, "var/lib/st")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", state, "tmpfs", 0, "size=32k,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (%v): needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(state, syscall.MNT_DETACH) })
	orig, err := os.ReadFile(filepath.Join(root, kcmPath))
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, "--root", root, "--state-dir", "/var/lib/st", "disable"); r.code != 0 {
		t.Fatalf("disable: exit %d: %s", r.code, r.stderr)
	}
	disabled, _ := os.ReadFile(filepath.Join(root, kcmPath))
	f, err := os.Create(filepath.Join(state, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 4096); ; {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	r := run(t, "--root", root, "--state-dir", "/var/lib/st", "rollback")
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != 1 || !strings.HasPrefix(last, "mirrorctl: the state dir's file system is full") || !strings.Contains(last, "mirrorctl rollback --no-snapshot ") {
		t.Fatalf("rollback on a full state dir: exit %d, last line %q", r.code, last)
	}
	if now, _ := os.ReadFile(filepath.Join(root, kcmPath)); string(now) != string(disabled) {
		t.Fatal("the failed rollback changed the manifest")
	}

	m, r := runJSON(t, "--root", root, "--state-dir", "/var/lib/st", "-o", "json", "rollback", "--no-snapshot")
	if r.code != 0 || m["snapshot"] != nil || !strings.Contains(r.stderr, "cannot itself be rolled back") {
		t.Fatalf("rollback --no-snapshot: exit %d, snapshot %v\n%s", r.code, m["snapshot"], r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(root, kcmPath)); string(now) != string(orig) {
		t.Error("rollback --no-snapshot did not restore the manifest")
	}
}
