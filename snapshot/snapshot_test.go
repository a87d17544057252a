package snapshot

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

const (
	manifest = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
	kubeadm  = "/etc/kubernetes/kubeadm-config.yaml"
	created  = "/etc/mirrorctl/created.yaml"
	state    = "/var/lib/mirrorctl"
)

var (
	oldTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	info    = Info{Command: []string{"mirrorctl", "disable"}, ToolVersion: "test", Distro: "kubeadm", Op: "disable"}
)

func newRoot(t *testing.T) nodefs.Root {
	t.Helper()
	r, err := nodefs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// put writes a node file with mode, owner and an old mtime, creating its folders.
func put(t *testing.T, r nodefs.Root, p, data string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	h := r.Host(p)
	if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(h, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(h, oldTime, oldTime); err != nil {
		t.Fatal(err)
	}
}

// fileChange reads a node file as an adapter would and proposes after.
func fileChange(t *testing.T, r nodefs.Root, p string, after []byte) change.FileChange {
	t.Helper()
	f, err := r.ReadFile(p, true)
	if err != nil {
		t.Fatal(err)
	}
	return change.FileChange{Path: p, Kind: "test", Before: f, After: after, Mode: 0o640}
}

type fileState struct {
	exists   bool
	data     string
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
}

func stat(t *testing.T, r nodefs.Root, p string) fileState {
	t.Helper()
	h := r.Host(p)
	fi, err := os.Lstat(h)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}
	}
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(h)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fileState{true, string(data), fi.Mode(), int(st.Uid), int(st.Gid), fi.ModTime().UTC()}
}

func lock(t *testing.T, s *Store) {
	t.Helper()
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
}

// dirNames lists a folder, to catch leftover temp files and misplaced snapshots.
func dirNames(t *testing.T, host string) []string {
	t.Helper()
	es, err := os.ReadDir(host)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func TestCommitAndRollbackRoundTrip(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "manifest: old\n", 0o600, 1234, 2345)
	put(t, r, kubeadm, "config: old\n", 0o644, 0, 0)
	put(t, r, "/etc/kubernetes/untouched.yaml", "same\n", 0o644, 0, 0)
	if err := os.MkdirAll(r.Host("/etc/mirrorctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	orig := map[string]fileState{}
	for _, p := range []string{manifest, kubeadm, created, "/etc/kubernetes/untouched.yaml"} {
		orig[p] = stat(t, r, p)
	}

	s := Open(r, state)
	lock(t, s)
	changes := []change.FileChange{
		fileChange(t, r, manifest, []byte("manifest: new\n")),
		fileChange(t, r, kubeadm, []byte("config: new\n")),
		fileChange(t, r, created, []byte("created\n")),
		fileChange(t, r, "/etc/kubernetes/untouched.yaml", []byte("same\n")),
	}
	id, err := s.Commit(changes, info)
	if err != nil {
		t.Fatal(err)
	}
	if ValidID(id) != nil {
		t.Fatalf("Commit returned id %q", id)
	}

	// Targets: new bytes, original mode and owner; the created file gets the plan's mode.
	for p, want := range map[string]fileState{
		manifest: {true, "manifest: new\n", 0o600, 1234, 2345, time.Time{}},
		kubeadm:  {true, "config: new\n", 0o644, 0, 0, time.Time{}},
		created:  {true, "created\n", 0o640, 0, 0, time.Time{}},
	} {
		got := stat(t, r, p)
		got.mtime = time.Time{}
		if got != want {
			t.Errorf("%s after commit = %+v, want %+v", p, got, want)
		}
	}
	if got := stat(t, r, "/etc/kubernetes/untouched.yaml"); got != orig["/etc/kubernetes/untouched.yaml"] {
		t.Errorf("unchanged file was touched: %+v", got)
	}
	// Nothing but the manifest in the static pod folder: no temp file, no snapshot.
	if got := dirNames(t, r.Host("/etc/kubernetes/manifests")); len(got) != 1 || got[0] != "kube-controller-manager.yaml" {
		t.Errorf("static pod folder holds %q", got)
	}

	// The snapshot: 0700 dirs, 0600 files, metadata as recorded.
	snapDir := r.Host(state + "/snapshots/" + id)
	for _, d := range []string{r.Host(state), r.Host(state + "/snapshots"), snapDir} {
		if fi, err := os.Lstat(d); err != nil || fi.Mode() != fs.ModeDir|0o700 {
			t.Errorf("%s: mode %v, %v; want drwx------", d, fi.Mode(), err)
		}
	}
	for _, n := range dirNames(t, snapDir) {
		if fi, _ := os.Lstat(filepath.Join(snapDir, n)); fi.Mode() != 0o600 {
			t.Errorf("snapshot file %s: mode %v, want 0600", n, fi.Mode())
		}
	}
	m, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || m.Op != "disable" || m.Distro != "kubeadm" || m.Command[1] != "disable" {
		t.Fatalf("meta = %+v", m)
	}
	f0 := m.Files[0]
	if f0.Path != manifest || !f0.Existed || f0.Mode != 0o600 || f0.UID != 1234 || f0.GID != 2345 ||
		f0.SHA256Before != sha([]byte("manifest: old\n")) || f0.SHA256After != sha([]byte("manifest: new\n")) ||
		!f0.ModTime.Equal(oldTime) || f0.Size != 14 {
		t.Errorf("manifest meta = %+v", f0)
	}
	if f2 := m.Files[2]; f2.Existed || f2.Stored != "" || f2.SHA256After != sha([]byte("created\n")) {
		t.Errorf("created file meta = %+v", f2)
	}
	if stored, _ := os.ReadFile(filepath.Join(snapDir, f0.Stored)); string(stored) != "manifest: old\n" {
		t.Errorf("stored copy = %q", stored)
	}

	// Roll back: bytes, mode, owner and mtime as before; the created file is gone.
	plan, pm, err := s.PlanRollback(id, false)
	if err != nil {
		t.Fatal(err)
	}
	if pm.ID != id || len(plan) != 3 || plan[2].After != nil || !plan[2].Changed() {
		t.Fatalf("plan = %+v", plan)
	}
	back, err := s.Restore(pm, plan, Info{Command: []string{"mirrorctl", "rollback"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{manifest, kubeadm, created, "/etc/kubernetes/untouched.yaml"} {
		if got := stat(t, r, p); got != orig[p] {
			t.Errorf("%s after rollback = %+v, want %+v", p, got, orig[p])
		}
	}

	// The rollback took its own snapshot, so it can be rolled back too.
	bm, err := s.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	if bm.RollbackOf != id || bm.Op != "rollback" || !bm.Files[2].Removed {
		t.Errorf("rollback snapshot meta = %+v", bm)
	}
	if latest, err := s.Latest(); err != nil || latest.ID != back {
		t.Fatalf("Latest = %v, %v; want %s", latest, err, back)
	}
	if _, _, _, err := s.Rollback(back, false, info); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{manifest: "manifest: new\n", kubeadm: "config: new\n", created: "created\n"} {
		if got := stat(t, r, p); got.data != want {
			t.Errorf("%s after rolling back the rollback = %q, want %q", p, got.data, want)
		}
	}
	if got := stat(t, r, created); got.mode != 0o640 {
		t.Errorf("re-created file mode %v, want 0640", got.mode)
	}
}

func TestCommitNoChangeTakesNoSnapshot(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "same\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{
		fileChange(t, r, manifest, []byte("same\n")),
		fileChange(t, r, "/etc/absent.yaml", nil), // missing and staying missing
	}, info)
	if err != nil || id != "" {
		t.Fatalf("Commit = %q, %v; want no snapshot", id, err)
	}
	if _, err := os.Lstat(r.Host(state + "/snapshots")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("snapshots folder exists after a no-change commit: %v", err)
	}
	if all, err := s.List(); err != nil || len(all) != 0 {
		t.Errorf("List = %v, %v", all, err)
	}
	if got := stat(t, r, manifest); !got.mtime.Equal(oldTime) {
		t.Errorf("unchanged file rewritten: mtime %v", got.mtime)
	}
}

func TestOpenListCreateNothing(t *testing.T) {
	r := newRoot(t)
	s := Open(r, state)
	if all, err := s.List(); err != nil || all != nil {
		t.Fatalf("List on a missing state dir = %v, %v", all, err)
	}
	if _, err := s.Latest(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest = %v, want ErrNotFound", err)
	}
	if _, err := s.Get("20261125T093012Z-1a2b3c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	if _, _, err := s.PlanRollback("20261125T093012Z-1a2b3c", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("PlanRollback = %v, want ErrNotFound", err)
	}
	if got := dirNames(t, r.Dir); len(got) != 0 {
		t.Errorf("read-only calls created %q", got)
	}
}

func TestWritesNeedTheLock(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "a\n", 0o600, 0, 0)
	s := Open(r, state)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("b\n"))}, info); err == nil || !strings.Contains(err.Error(), "call Lock first") {
		t.Errorf("Commit without lock: %v", err)
	}
	if _, err := s.Prune(1); err == nil {
		t.Error("Prune without lock succeeded")
	}
	if _, err := s.Restore(&Meta{}, nil, info); err == nil {
		t.Error("Restore without lock succeeded")
	}
	if got := stat(t, r, manifest); got.data != "a\n" {
		t.Errorf("file changed: %q", got.data)
	}
}

func TestDrift(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	put(t, r, kubeadm, "old config\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{
		fileChange(t, r, manifest, []byte("new\n")),
		fileChange(t, r, kubeadm, []byte("new config\n")),
	}, info)
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, manifest, "someone else's edit\n", 0o600, 0, 0)

	_, _, err = s.PlanRollback(id, false)
	if !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), manifest) || strings.Contains(err.Error(), kubeadm) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("PlanRollback after an edit = %v; want one line wrapping ErrDrift naming only %s", err, manifest)
	}
	if got := stat(t, r, manifest); got.data != "someone else's edit\n" {
		t.Fatal("PlanRollback wrote")
	}
	plan, m, err := s.PlanRollback(id, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(m, plan, info); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, r, manifest); got.data != "old\n" {
		t.Errorf("forced rollback left %q", got.data)
	}
	if got := stat(t, r, kubeadm); got.data != "old config\n" {
		t.Errorf("forced rollback left %q", got.data)
	}
}

// A run killed between two target writes leaves one file new and one old: that is not drift, and the
// rollback restores just the written one.
func TestRollbackAfterInterruptedCommit(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	put(t, r, kubeadm, "old config\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{
		fileChange(t, r, manifest, []byte("new\n")),
		fileChange(t, r, kubeadm, []byte("new config\n")),
	}, info)
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, kubeadm, "old config\n", 0o600, 0, 0) // as if never written
	plan, m, err := s.PlanRollback(id, false)
	if err != nil {
		t.Fatal(err)
	}
	if !plan[0].Changed() || plan[1].Changed() {
		t.Fatalf("plan changes: %v %v; want only the manifest", plan[0].Changed(), plan[1].Changed())
	}
	if _, err := s.Restore(m, plan, info); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, r, manifest); got.data != "old\n" {
		t.Errorf("manifest = %q", got.data)
	}
	if got := stat(t, r, kubeadm); !got.mtime.Equal(oldTime) {
		t.Errorf("file already in the snapshot's state was rewritten")
	}
}

func TestStalePlanWritesNothing(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	put(t, r, kubeadm, "old config\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	changes := []change.FileChange{
		fileChange(t, r, manifest, []byte("new\n")),
		fileChange(t, r, kubeadm, []byte("new config\n")),
	}
	put(t, r, kubeadm, "edited meanwhile\n", 0o600, 0, 0)
	if _, err := s.Commit(changes, info); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), kubeadm) {
		t.Fatalf("Commit = %v, want ErrStale naming %s", err, kubeadm)
	}
	if got := stat(t, r, manifest); got.data != "old\n" || !got.mtime.Equal(oldTime) {
		t.Errorf("manifest touched: %+v", got)
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Errorf("snapshot left: %v", all)
	}
}

// The third target's folder cannot be created, so its write fails after two files were replaced: both
// must come back byte for byte, with mode, owner and mtime, and no snapshot may remain.
func TestFailedWriteMidwayRestoresEarlierFiles(t *testing.T) {
	r := newRoot(t)
	failMkdir(t, "/etc/nowhere")
	put(t, r, manifest, "manifest old\n", 0o600, 1234, 2345)
	put(t, r, kubeadm, "config old\n", 0o640, 0, 0)
	s := Open(r, state)
	lock(t, s)
	changes := []change.FileChange{
		fileChange(t, r, manifest, []byte("manifest new\n")),
		fileChange(t, r, kubeadm, []byte("config new\n")),
		fileChange(t, r, "/etc/nowhere/new.yaml", []byte("x\n")),
	}
	before := []fileState{stat(t, r, manifest), stat(t, r, kubeadm)}
	_, err := s.Commit(changes, info)
	if err == nil || !strings.Contains(err.Error(), "/etc/nowhere/new.yaml") || !strings.Contains(err.Error(), "nothing changed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Commit = %v; want a one-line error naming the file and saying nothing changed", err)
	}
	if got := stat(t, r, manifest); got != before[0] {
		t.Errorf("manifest = %+v, want %+v", got, before[0])
	}
	if got := stat(t, r, kubeadm); got != before[1] {
		t.Errorf("kubeadm config = %+v, want %+v", got, before[1])
	}
	if got := dirNames(t, r.Host(state+"/snapshots")); len(got) != 0 {
		t.Errorf("snapshots left after a restored failure: %q", got)
	}
	for _, d := range []string{"/etc/kubernetes/manifests", "/etc/kubernetes"} {
		for _, n := range dirNames(t, r.Host(d)) {
			if strings.HasPrefix(n, ".") {
				t.Errorf("temp file %s left in %s", n, d)
			}
		}
	}
}

func TestPrune(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "v0\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	var ids []string
	for i := 1; i <= 5; i++ {
		id, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("v"+strconv.Itoa(i)+"\n"))}, info)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// An interrupted run's leftovers: a snapshot dir without meta.json.
	incomplete := "20000101T000000Z-abcdef"
	if err := os.Mkdir(r.Host(state+"/snapshots/"+incomplete), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Host(state+"/snapshots/"+incomplete+"/01-x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Something that is not ours: never touched.
	if err := os.Mkdir(r.Host(state+"/snapshots/keep-me"), 0o700); err != nil {
		t.Fatal(err)
	}

	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] {
		t.Fatalf("List = %v; want the 5 complete ones, newest first", metaIDs(all))
	}
	if _, err := s.Get(incomplete); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(incomplete) = %v, want ErrNotFound", err)
	}

	removed, err := s.Prune(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 4 || !contains(removed, incomplete) || !contains(removed, ids[0]) || !contains(removed, ids[2]) {
		t.Errorf("Prune removed %v; want the 3 oldest and the incomplete one", removed)
	}
	all, _ = s.List()
	if got := metaIDs(all); len(got) != 2 || got[0] != ids[4] || got[1] != ids[3] {
		t.Errorf("after Prune(2): %v, want %v", got, []string{ids[4], ids[3]})
	}
	if _, err := os.Stat(r.Host(state + "/snapshots/keep-me")); err != nil {
		t.Errorf("Prune touched a folder that is not a snapshot: %v", err)
	}
	if _, err := s.Prune(-1); err == nil {
		t.Error("Prune(-1) accepted")
	}
	if removed, err := s.Prune(0); err != nil || len(removed) != 2 {
		t.Errorf("Prune(0) = %v, %v", removed, err)
	}
}

func metaIDs(ms []Meta) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestBadIDs(t *testing.T) {
	r := newRoot(t)
	s := Open(r, state)
	// A file outside the snapshots folder that a bad id could reach.
	put(t, r, state+"/meta.json", `{"id":"../x"}`, 0o600, 0, 0)
	for _, id := range []string{"", "../x", "a/b", "..", ".", "/etc", "20261125T093012Z-1a2b3c/..", "../20261125T093012Z-1a2b3c",
		"20261125T093012Z-1A2B3C", "20261125T093012Z-1a2b3c\n", "20261125T093012Z", " 20261125T093012Z-1a2b3c"} {
		if err := ValidID(id); err == nil {
			t.Errorf("ValidID(%q) accepted", id)
		}
		if _, err := s.Get(id); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not a snapshot id") {
			t.Errorf("Get(%q) = %v; want a refusal of the id itself", id, err)
		}
		if _, _, err := s.PlanRollback(id, true); err == nil {
			t.Errorf("PlanRollback(%q) accepted", id)
		}
	}
	if err := ValidID(newID(time.Now())); err != nil {
		t.Errorf("generated id refused: %v", err)
	}
}

// A meta.json edited to point a rollback's copy outside its folder is refused.
func TestTamperedMetaRefused(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info)
	if err != nil {
		t.Fatal(err)
	}
	mp := r.Host(state + "/snapshots/" + id + "/meta.json")
	data, _ := os.ReadFile(mp)
	for name, edit := range map[string][2]string{
		"stored escapes": {`"stored": "01-`, `"stored": "../../../../etc/shadow`},
		"relative path":  {`"path": "/etc/`, `"path": "etc/`},
		"mode bits":      {`"mode": 384`, `"mode": 2048`},
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Replace(data, []byte(edit[0]), []byte(edit[1]), 1)
			if bytes.Equal(bad, data) {
				t.Fatalf("edit %q did not apply", edit[0])
			}
			if err := os.WriteFile(mp, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(id); err == nil {
				t.Error("tampered meta.json accepted")
			}
		})
	}
	// A stored copy that no longer matches its digest is refused even with force.
	if err := os.WriteFile(mp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Get(id)
	if err := os.WriteFile(r.Host(state+"/snapshots/"+id+"/"+m.Files[0].Stored), []byte("evil\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PlanRollback(id, true); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("PlanRollback with a corrupt copy = %v", err)
	}
}

func TestUnsafeStateDirRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r nodefs.Root)
		dir   string
	}{
		{"state dir is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/elsewhere", 0o700)
			mkdir(t, r, "/var/lib", 0o755)
			symlink(t, r.Host("/elsewhere"), r.Host(state))
		}, state},
		{"state dir world-writable", func(t *testing.T, r nodefs.Root) { mkdir(t, r, state, 0o777) }, state},
		{"state dir group-writable", func(t *testing.T, r nodefs.Root) { mkdir(t, r, state, 0o770) }, state},
		{"state dir is a file", func(t *testing.T, r nodefs.Root) { put(t, r, state, "x", 0o600, 0, 0) }, state},
		{"state dir owned by someone else", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, state, 0o700)
			if err := os.Lchown(r.Host(state), 4321, 4321); err != nil {
				t.Fatal(err)
			}
		}, state},
		{"snapshots folder is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, state, 0o700)
			mkdir(t, r, "/elsewhere", 0o700)
			symlink(t, r.Host("/elsewhere"), r.Host(state+"/snapshots"))
		}, state},
		{"snapshots folder world-writable", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, state, 0o700)
			mkdir(t, r, state+"/snapshots", 0o777)
		}, state},
		{"lock file is a symlink", func(t *testing.T, r nodefs.Root) {
			mkdir(t, r, "/run/mirrorctl", 0o700)
			put(t, r, "/elsewhere/f", "x", 0o600, 0, 0)
			symlink(t, r.Host("/elsewhere/f"), r.Host(LockPath))
		}, state},
		{"static pod folder", func(t *testing.T, r nodefs.Root) {}, "/etc/kubernetes/manifests/.mirrorctl"},
		{"root", func(t *testing.T, r nodefs.Root) {}, "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			put(t, r, manifest, "old\n", 0o600, 0, 0)
			tc.setup(t, r)
			s := Open(r, tc.dir)
			c := fileChange(t, r, manifest, []byte("new\n"))
			unlock, err := s.Lock(0)
			if err == nil {
				// Only a problem below the state dir may let Lock through; Commit must stop there.
				defer unlock()
				_, err = s.Commit([]change.FileChange{c}, info)
			}
			if !errors.Is(err, ErrUnsafe) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want a one-line error wrapping ErrUnsafe", err)
			}
			if got := stat(t, r, manifest); got.data != "old\n" {
				t.Error("target written despite an unsafe state dir")
			}
			if tc.dir == state && !strings.Contains(tc.name, "lock") {
				if _, err := s.List(); !errors.Is(err, ErrUnsafe) {
					t.Errorf("List = %v, want ErrUnsafe", err)
				}
			}
		})
	}
}

// The state dir must not share a folder with a target: its lock file would sit beside the manifest.
func TestStateDirBesideTargetRefused(t *testing.T) {
	r := newRoot(t)
	put(t, r, "/srv/cfg/config.yaml", "old\n", 0o600, 0, 0)
	s := Open(r, "/srv/cfg")
	if err := os.Chmod(r.Host("/srv/cfg"), 0o700); err != nil {
		t.Fatal(err)
	}
	lock(t, s)
	_, err := s.Commit([]change.FileChange{fileChange(t, r, "/srv/cfg/config.yaml", []byte("new\n"))}, info)
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Commit = %v, want ErrUnsafe", err)
	}
}

func mkdir(t *testing.T, r nodefs.Root, p string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(r.Host(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.Host(p), mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestLockContentionGoroutines(t *testing.T) {
	r := newRoot(t)
	a, b := Open(r, state), Open(r, state)
	unlockA, err := a.Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lock(0); err == nil {
		t.Error("a Store locked twice")
	}
	done := make(chan error)
	start := time.Now()
	go func() {
		_, err := b.Lock(300 * time.Millisecond)
		done <- err
	}()
	err = <-done
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", waited)
	}
	want := "another mirrorctl run holds the lock on /run/mirrorctl/lock (held by pid " + strconv.Itoa(os.Getpid()) + ")"
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second Lock = %v; want ErrLocked: %q", err, want)
	}

	// A waiter gets the lock as soon as it is released, not at its deadline.
	go func() {
		unlock, err := b.Lock(10 * time.Second)
		if err == nil {
			unlock()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	released := time.Now()
	unlockA()
	unlockA() // idempotent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(released); d > 2*time.Second {
		t.Errorf("waiter took %v to notice the release", d)
	}
}

// TestLockHelperProcess is not a test: TestLockContentionProcesses runs the test binary with it to hold
// the lock from another process.
func TestLockHelperProcess(t *testing.T) {
	root := os.Getenv("SNAPSHOT_TEST_LOCK_ROOT")
	if root == "" {
		t.Skip("helper process only")
	}
	r, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := Open(r, state).Lock(0)
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute) // hold it until killed
	unlock()                // keeps the lock's file reachable: a collected *os.File closes, and unlocks
}

func TestLockContentionProcesses(t *testing.T) {
	r := newRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "SNAPSHOT_TEST_LOCK_ROOT="+r.Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	s := Open(r, state)
	_, err = s.Lock(200 * time.Millisecond)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "held by pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Lock while another process holds it = %v", err)
	}

	// A holder killed outright leaves no stale lock.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	unlock, err := s.Lock(2 * time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder died = %v", err)
	}
	unlock()
}

func TestWriteFile(t *testing.T) {
	r := newRoot(t)
	put(t, r, "/etc/real.yaml", "old\n", 0o640, 1234, 2345)
	mkdir(t, r, "/etc/linked", 0o755)
	symlink(t, "/etc/real.yaml", r.Host("/etc/linked/via.yaml")) // absolute, taken under the root

	if err := WriteFile(r, "/etc/linked/via.yaml", []byte("new\n"), 0o640, 1234, 2345); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(r.Host("/etc/linked/via.yaml")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	got := stat(t, r, "/etc/real.yaml")
	if got.data != "new\n" || got.mode != 0o640 || got.uid != 1234 || got.gid != 2345 {
		t.Errorf("target = %+v", got)
	}

	symlink(t, "../../../../../../../../tmp", r.Host("/etc/out"))
	if err := WriteFile(r, "/etc/out/x", []byte("x"), 0o600, -1, -1); !errors.Is(err, nodefs.ErrEscapes) {
		t.Errorf("write through a link out of the root = %v, want ErrEscapes", err)
	}
	put(t, r, "/etc/afile", "x\n", 0o600, 0, 0)
	if err := WriteFile(r, "/etc/afile/x", []byte("x"), 0o600, -1, -1); err == nil || !strings.HasPrefix(err.Error(), "/etc/afile/x: ") {
		t.Errorf("write below a file = %v; want an error naming the node path", err)
	}
}

// `rollback` twice must not undo the first rollback: without an id it restores the newest change.
func TestRollbackWithoutIDIsIdempotent(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "original\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	disable, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("disabled\n"))}, info)
	if err != nil {
		t.Fatal(err)
	}
	first, _, m, err := s.Rollback("", false, info)
	if err != nil || first == "" || m.ID != disable {
		t.Fatalf("first rollback = %q, %v, %v", first, m, err)
	}
	second, plan, m, err := s.Rollback("", false, info)
	if err != nil || second != "" || m.ID != disable || plan[0].Changed() {
		t.Fatalf("second rollback = %q, %v, %v; want no change", second, m, err)
	}
	if got := stat(t, r, manifest); got.data != "original\n" {
		t.Fatalf("manifest = %q", got.data)
	}
	if latest, _ := s.Latest(); latest.ID != first {
		t.Errorf("Latest = %s, want the rollback's snapshot %s", latest.ID, first)
	}
	if lc, _ := s.LatestChange(); lc.ID != disable {
		t.Errorf("LatestChange = %s, want %s", lc.ID, disable)
	}
	// Undoing the rollback takes its id.
	if _, _, _, err := s.Rollback(first, false, info); err != nil {
		t.Fatal(err)
	}
	if got := stat(t, r, manifest); got.data != "disabled\n" {
		t.Errorf("after rolling back the rollback: %q", got.data)
	}
	stored, err := s.ReadStored(m, m.Files[0])
	if err != nil || string(stored) != "original\n" {
		t.Errorf("ReadStored = %q, %v", stored, err)
	}
}

func TestCommitCleansStaleTempFiles(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	dir := filepath.Dir(manifest)
	stale := dir + "/.kube-controller-manager.yaml5577006791947779410" // as renameio names them
	keep := []string{dir + "/.kube-controller-manager.yaml.swp", dir + "/.kube-controller-manager.yaml1"}
	for _, p := range append(keep, stale) {
		put(t, r, p, "x", 0o600, 0, 0)
	}
	s := Open(r, state)
	lock(t, s)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, []byte("new\n"))}, info); err != nil {
		t.Fatal(err)
	}
	if stat(t, r, stale).exists {
		t.Error("stale temp file left")
	}
	for _, p := range keep {
		if !stat(t, r, p).exists {
			t.Errorf("%s removed; it is not a temp file of ours", p)
		}
	}
}

// A rollback plan handed to Commit by mistake must not truncate the files it would "remove".
func TestCommitRefusesNilAfter(t *testing.T) {
	r := newRoot(t)
	put(t, r, manifest, "old\n", 0o600, 0, 0)
	s := Open(r, state)
	lock(t, s)
	if _, err := s.Commit([]change.FileChange{fileChange(t, r, manifest, nil)}, info); err == nil {
		t.Fatal("Commit accepted a nil After")
	}
	if got := stat(t, r, manifest); got.data != "old\n" {
		t.Errorf("manifest = %q", got.data)
	}
}

// A file the run created and someone emptied since: rollback refuses it as drift, and --force removes
// it, although no line of it differs from "nothing".
func TestForcedRollbackRemovesEmptiedCreatedFile(t *testing.T) {
	r := newRoot(t)
	if err := os.MkdirAll(r.Host("/etc/mirrorctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Open(r, state)
	lock(t, s)
	id, err := s.Commit([]change.FileChange{fileChange(t, r, created, []byte("created\n"))}, Info{Op: "disable"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Host(created), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PlanRollback(id, false); !errors.Is(err, ErrDrift) {
		t.Fatalf("PlanRollback without force: %v, want ErrDrift", err)
	}
	plan, m, err := s.PlanRollback(id, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !plan[0].Changed() || plan[0].After != nil {
		t.Fatalf("plan = %+v, want the removal of %s", plan, created)
	}
	if _, err := s.Restore(m, plan, Info{Op: "rollback"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(r.Host(created)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there after the forced rollback: %v", created, err)
	}
}

// A state dir reached through a symlink into a static pod folder is refused on the path the link
// leads to, and before anything is created: no lock, no folder, no file anywhere under the root.
func TestStateDirThroughLinkRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r nodefs.Root)
		dir   string
	}{
		{"parent links to /etc/kubernetes", func(t *testing.T, r nodefs.Root) {
			symlink(t, "/etc/kubernetes", r.Host("/x"))
		}, "/x/manifests"},
		{"parent links to the manifests folder (relative)", func(t *testing.T, r nodefs.Root) {
			symlink(t, "etc/kubernetes/manifests", r.Host("/m"))
		}, "/m/state"},
		{"parent links to the manifests folder (missing state dir below)", func(t *testing.T, r nodefs.Root) {
			symlink(t, "etc/kubernetes/manifests", r.Host("/m"))
		}, "/m/a/b/state"},
		{"the static pod folder is itself a link", func(t *testing.T, r nodefs.Root) {
			if err := os.Rename(r.Host("/etc/kubernetes/manifests"), r.Host("/srv")); err != nil {
				t.Fatal(err)
			}
			symlink(t, "/srv", r.Host("/etc/kubernetes/manifests"))
		}, "/srv/state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			put(t, r, manifest, "old\n", 0o600, 0, 0)
			if err := os.Chmod(r.Host("/etc/kubernetes/manifests"), 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, r)
			before := tree(t, r)
			s := Open(r, tc.dir)
			unlock, err := s.Lock(0)
			if err == nil {
				unlock()
			}
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "static pod folder") {
				t.Fatalf("Lock = %v, want ErrUnsafe naming the static pod folder", err)
			}
			if _, err := s.List(); !errors.Is(err, ErrUnsafe) {
				t.Errorf("List = %v, want ErrUnsafe", err)
			}
			if after := tree(t, r); !slices.Equal(before, after) {
				t.Errorf("a refused state dir created files:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// tree lists every path under the root.
func tree(t *testing.T, r nodefs.Root) []string {
	t.Helper()
	var all []string
	err := filepath.WalkDir(r.Dir, func(p string, _ fs.DirEntry, err error) error {
		all = append(all, r.Node(p))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// failMkdir makes creating any folder whose host path ends in suffix fail, for this test, so a write
// fails after the writes before it succeeded.
func failMkdir(t *testing.T, suffix string) {
	t.Helper()
	mkdirFault = func(dir string) error {
		if strings.HasSuffix(dir, suffix) {
			return errors.New("injected: cannot create folder")
		}
		return nil
	}
	t.Cleanup(func() { mkdirFault = nil })
}
