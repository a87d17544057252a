package snapshot

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirrorctl/mirrorctl/change"
)

// A write that fails before any target was renamed must not claim to have restored files it never
// wrote (issue 14 §13).
func TestFailedFirstWriteSaysNothingWasWritten(t *testing.T) {
	r := newRoot(t)
	failMkdir(t, "/etc/nowhere")
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

// aclValue is a system.posix_acl_access value: owner rw, user 1234 r, owning group nothing, mask r,
// others nothing. The mode shows the mask (0640), so a rewrite that drops the ACL gives the owning
// group read access and takes it from user 1234.
func aclValue() []byte {
	var b []byte
	le32 := func(v uint32) { b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	entry := func(tag, perm uint16, id uint32) {
		b = append(b, byte(tag), byte(tag>>8), byte(perm), byte(perm>>8))
		le32(id)
	}
	le32(2) // POSIX_ACL_XATTR_VERSION
	entry(0x01, 6, 0xffffffff)
	entry(0x02, 4, 1234)
	entry(0x04, 0, 0xffffffff)
	entry(0x10, 4, 0xffffffff)
	entry(0x20, 0, 0xffffffff)
	return b
}

// testXattrs are one attribute of each namespace the issue names; setting them skips the test where
// the file system (or the user) cannot.
func putXattrs(t *testing.T, host string) map[string][]byte {
	t.Helper()
	want := map[string][]byte{
		"system.posix_acl_access": aclValue(),
		"user.mirrorctl-test":     []byte("user value"),
		"trusted.mirrorctl-test":  []byte("trusted value"),
		"security.mirrorctl-test": []byte("security value"),
	}
	for n, v := range want {
		if err := unix.Lsetxattr(host, n, v, 0); err != nil {
			t.Skipf("this file system does not take extended attribute %s (%v): cannot test carrying it", n, err)
		}
	}
	got, err := readXattrs(host)
	if err != nil {
		t.Fatal(err)
	}
	// An LSM may add its own label; it must be carried too.
	return got
}

func xattrsOf(t *testing.T, host string) map[string][]byte {
	t.Helper()
	x, err := readXattrs(host)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// A rewrite must keep every extended attribute, the ACL first: otherwise the ACL mask turns into a
// real group bit and the users the ACL names lose access (issue 14 §4). Rollback puts them back too.
func TestWriteKeepsXattrsAndACL(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o640, 0, 0)
	want := putXattrs(t, r.Host(manifest))
	wantMode := stat(t, r, manifest).mode
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info)
	if err != nil {
		t.Fatal(err)
	}
	if got := xattrsOf(t, r.Host(manifest)); !reflect.DeepEqual(got, want) {
		t.Errorf("after Commit: xattrs %q, want %q", got, want)
	}
	if got := stat(t, r, manifest); got.data != "new\n" || got.mode != wantMode {
		t.Errorf("after Commit: %+v, want new bytes with mode %v", got, wantMode)
	}
	m, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files[0].Xattrs, want) {
		t.Errorf("meta.json records xattrs %q, want %q", m.Files[0].Xattrs, want)
	}
	// Someone drops them (a copy without -a, a chmod that rewrites the mask) before the rollback.
	for n := range want {
		_ = unix.Lremovexattr(r.Host(manifest), n)
	}
	if _, _, _, err := s.Rollback(id, false, info); err != nil {
		t.Fatal(err)
	}
	if got := xattrsOf(t, r.Host(manifest)); !reflect.DeepEqual(got, want) {
		t.Errorf("after rollback: xattrs %q, want %q", got, want)
	}
	if got := stat(t, r, manifest); got.data != "old\n" || got.mode != wantMode {
		t.Errorf("after rollback: %+v, want old bytes with mode %v", got, wantMode)
	}
}

// An attribute the new file cannot take stops the change before the target is replaced, naming the
// attribute; earlier targets are put back, xattrs and all, and no snapshot remains.
func TestRefusedXattrLeavesEverythingUntouched(t *testing.T) {
	r := newRoot(t)
	put(t, r, kubeadm, "config old\n", 0o640, 0, 0)
	put(t, r, manifest, "manifest old\n", 0o600, 0, 0)
	wantK := putXattrs(t, r.Host(kubeadm))
	if err := unix.Lsetxattr(r.Host(manifest), "user.refused", []byte("x"), 0); err != nil {
		t.Skipf("no user.* xattrs here: %v", err)
	}
	wantM := xattrsOf(t, r.Host(manifest))
	xattrFault = func(name string) error {
		if name == "user.refused" {
			return unix.EOPNOTSUPP
		}
		return nil
	}
	t.Cleanup(func() { xattrFault = nil })
	before := []fileState{stat(t, r, kubeadm), stat(t, r, manifest)}
	s := Open(r, state)
	lock(t, s)
	for _, order := range [][]string{{manifest, kubeadm}, {kubeadm, manifest}} {
		var changes []change.FileChange
		for _, p := range order {
			changes = append(changes, fileChange(t, r, p, []byte("new\n")))
		}
		_, err := s.Commit(changes, info)
		if err == nil || !strings.Contains(err.Error(), "user.refused") || !strings.Contains(err.Error(), manifest) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("Commit %v = %v; want one line naming %s and user.refused", order, err, manifest)
		}
		if got := []fileState{stat(t, r, kubeadm), stat(t, r, manifest)}; !reflect.DeepEqual(got, before) {
			t.Errorf("Commit %v changed files: %+v, want %+v", order, got, before)
		}
		if got := xattrsOf(t, r.Host(kubeadm)); !reflect.DeepEqual(got, wantK) {
			t.Errorf("Commit %v: kubeadm xattrs %q, want %q", order, got, wantK)
		}
		if got := xattrsOf(t, r.Host(manifest)); !reflect.DeepEqual(got, wantM) {
			t.Errorf("Commit %v: manifest xattrs %q, want %q", order, got, wantM)
		}
		if got := dirNames(t, r.Host(state+"/snapshots")); len(got) != 0 {
			t.Errorf("Commit %v left snapshots %q", order, got)
		}
	}
}

// Commit itself refuses a hard-linked target, whoever calls it, unless told to split it (issue 14 §5).
func TestCommitRefusesHardLinkedTarget(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	if err := os.Link(r.Host(manifest), r.Host("/etc/kubernetes/kcm.link")); err != nil {
		t.Skipf("link: %v", err)
	}
	s := Open(r, state)
	lock(t, s)
	_, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info)
	if !errors.Is(err, ErrHardLinked) || !strings.Contains(err.Error(), manifest) || !strings.Contains(err.Error(), "2 links") {
		t.Fatalf("Commit = %v; want ErrHardLinked naming the file and its 2 links", err)
	}
	if got := stat(t, r, manifest); got.data != "old\n" {
		t.Errorf("written all the same: %q", got.data)
	}
	split := info
	split.SplitHardLinks = true
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, split); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Host("/etc/kubernetes/kcm.link")); string(got) != "old\n" {
		t.Errorf("the other name holds %q", got)
	}
}

// A folder's default ACL gives every new file an ACL: the rewritten file must have the original's
// attributes, not the ones creating it in that folder gives it.
func TestWriteDropsInheritedACL(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	if err := unix.Lsetxattr(r.Host("/etc/kubernetes/manifests"), "system.posix_acl_default", aclValue(), 0); err != nil {
		t.Skipf("this file system takes no default ACL (%v)", err)
	}
	want := xattrsOf(t, r.Host(manifest)) // made before the default ACL: none
	s := Open(r, state)
	lock(t, s)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info); err != nil {
		t.Fatal(err)
	}
	if got := xattrsOf(t, r.Host(manifest)); !reflect.DeepEqual(got, want) {
		t.Errorf("xattrs %q, want the original's %q", got, want)
	}
	if got := stat(t, r, manifest); got.mode.Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", got.mode)
	}
}
