package main

// Regression tests for the two defects of issue 13, through the real CLI:
//   - lost update: runs with different --state-dir each took "the" lock (one per state dir) and
//     edited the same file at once, so one edit vanished while both reported it;
//   - a change of two files killed between its renames left them mixed, and nothing noticed.

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/snapshot"
)

const (
	txnHelperEnv  = "TXN_TEST_HELPER_ARGS" // JSON list of mirrorctl arguments
	txnCrashEnv   = "TXN_TEST_CRASH_POINT" // kill the child at the first crash point of this name
	featureGate   = "    - --feature-gates=EndpointSliceMirroring=false\n"
	gateAnchorKCM = "    - --bind-address=127.0.0.1\n"
)

// TestTxnHelperProcess is not a test: it runs mirrorctl like TestHelperProcess, killing itself with
// SIGKILL at the first crash point named by TXN_TEST_CRASH_POINT.
func TestTxnHelperProcess(t *testing.T) {
	raw := os.Getenv(txnHelperEnv)
	if raw == "" {
		t.Skip("child process of the transaction tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		os.Exit(99)
	}
	if point := os.Getenv(txnCrashEnv); point != "" {
		snapshot.SetCrashHook(func(p string) {
			if p == point {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		})
	}
	os.Exit(Main(append([]string{"mirrorctl"}, args...), os.Stdout, os.Stderr))
}

// txnChild runs mirrorctl args in a child process, killed at crash point point ("" : never).
func txnChild(point string, args ...string) (code int, stdout, stderr string, killed bool) {
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTxnHelperProcess$", "-test.count=1")
	cmd.Env = append(cleanEnv(), txnHelperEnv+"="+string(raw), txnCrashEnv+"="+point)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return -1, out.String(), errb.String(), true
	}
	if err != nil && cmd.ProcessState == nil {
		return -1, "", err.Error(), false
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String(), false
}

// nodeWithKCMGate is the sample kubeadm node whose kcm manifest also carries the feature gate lint
// --fix removes: `disable` and `lint --fix` then edit the same file, differently.
func nodeWithKCMGate(t *testing.T) string {
	t.Helper()
	root := newNode(t)
	p := filepath.Join(root, kcmPath)
	b := readRel(t, root, kcmPath)
	if !bytes.Contains(b, []byte(gateAnchorKCM)) {
		t.Fatal("fixture lacks --bind-address")
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(gateAnchorKCM), []byte(gateAnchorKCM+featureGate), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

type changeReport struct {
	Changed  bool    `json:"changed"`
	Snapshot *string `json:"snapshot"`
}

// TestDifferentStateDirsNeverLoseAnEdit races `disable --state-dir A` against `lint --fix --state-dir B`
// on one node, both editing the kcm manifest. Whatever the interleaving, the node ends with both edits
// (the bytes of the two run one after the other), and each run reports the change it made.
func TestDifferentStateDirsNeverLoseAnEdit(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// The two sequential orders give the reference bytes.
	want := map[string]bool{}
	for _, order := range [][2][]string{
		{{"--state-dir", "/var/lib/A", "disable"}, {"--state-dir", "/var/lib/B", "lint", "--fix"}},
		{{"--state-dir", "/var/lib/B", "lint", "--fix"}, {"--state-dir", "/var/lib/A", "disable"}},
	} {
		root := nodeWithKCMGate(t)
		for _, args := range order {
			if r := run(t, append([]string{"--root", root}, args...)...); r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
		}
		want[string(readRel(t, root, kcmPath))] = true
	}
	for w := range want {
		if strings.Contains(w, "EndpointSliceMirroring=false") || !strings.Contains(w, "-endpointslice-mirroring-controller") {
			t.Fatalf("reference manifest lacks an edit:\n%s", w)
		}
	}

	rounds := envInt("MIRRORCTL_TXN_RACE_ROUNDS", 30)
	for round := 0; round < rounds; round++ {
		root := nodeWithKCMGate(t)
		runs := [][]string{
			{"--root", root, "-o", "json", "--state-dir", "/var/lib/A", "disable"},
			{"--root", root, "-o", "json", "--state-dir", "/var/lib/B", "lint", "--fix"},
		}
		var wg sync.WaitGroup
		reports := make([]changeReport, len(runs))
		for i, args := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, stdout, stderr, _ := txnChild("", args...)
				if code != 0 {
					t.Errorf("round %d: %v: exit %d: %s", round, args[4:], code, stderr)
					return
				}
				if err := json.Unmarshal([]byte(stdout), &reports[i]); err != nil {
					t.Errorf("round %d: %v: %v\n%s", round, args[4:], err, stdout)
				}
			}()
		}
		wg.Wait()
		for i, r := range reports {
			if !r.Changed || r.Snapshot == nil {
				t.Errorf("round %d: %v reports changed=%v snapshot=%v: each run made its own edit", round, runs[i][4:], r.Changed, r.Snapshot)
			}
		}
		if got := string(readRel(t, root, kcmPath)); !want[got] {
			t.Fatalf("round %d: an edit was lost; the manifest is:\n%s", round, got)
		}
		if t.Failed() {
			return
		}
	}
}

type statusReport struct {
	Mirroring   string            `json:"mirroring"`
	Warnings    []string          `json:"warnings"`
	Interrupted *snapshot.Journal `json:"interrupted"`
}

// killDisableBetweenRenames runs `disable` in a child killed after its first target is replaced and
// checks what an operator then finds: the two files disagree, and status names the change.
func killDisableBetweenRenames(t *testing.T, root string, extra ...string) (snapshotID string) {
	t.Helper()
	args := append([]string{"--root", root}, extra...)
	if _, _, stderr, killed := txnChild("step done", append(args, "disable")...); !killed {
		t.Fatalf("disable was not killed between its renames: %s", stderr)
	}
	if s := strayInManifests(t, root); len(s) > 0 {
		t.Fatalf("stray files in the static pod folder: %v", s)
	}
	// JSON: the interrupted change with its snapshot, state dir, op and files.
	var st statusReport
	r := run(t, "--root", root, "-o", "json", "status")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.Interrupted == nil {
		t.Fatalf("status -o json after the kill: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	j := st.Interrupted
	stateDir := "/var/lib/mirrorctl"
	if len(extra) == 2 && extra[0] == "--state-dir" {
		stateDir = extra[1]
	}
	ids, err := filepath.Glob(filepath.Join(root, stateDir, "snapshots", "*", "meta.json"))
	if err != nil || len(ids) != 1 || filepath.Base(filepath.Dir(ids[0])) != j.Snapshot {
		t.Fatalf("status names snapshot %q; on disk %v", j.Snapshot, ids)
	}
	if j.StateDir != stateDir || j.Op != "disable" || strings.Join(j.Files, " ") != "/"+kcmPath+" /"+kubeadmCfgRel {
		t.Errorf("interrupted = %+v", j)
	}
	if st.Mirroring != "mixed" || !strings.Contains(strings.Join(st.Warnings, "\n"), j.Snapshot) {
		t.Errorf("status -o json: mirroring %q, warnings %q", st.Mirroring, st.Warnings)
	}
	// Text: a warning line naming the snapshot and both ways out.
	r = run(t, "--root", root, "status")
	var line string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, j.Snapshot) {
			line = l
		}
	}
	if r.code != 0 || !strings.HasPrefix(line, "[warning] ") || !strings.Contains(line, "`mirrorctl rollback`") || !strings.Contains(line, "`mirrorctl disable`") {
		t.Errorf("status text: exit %d, no warning naming %s and both ways out:\n%s", r.code, j.Snapshot, r.stderr)
	}
	return j.Snapshot
}

// txnNode is the sample node with the manifest owned by another user and an old mtime, so that a
// restore must bring back more than bytes.
func txnNode(t *testing.T) (root string, orig map[string]fileState) {
	t.Helper()
	root = newNode(t)
	if err := os.Chown(filepath.Join(root, kcmPath), 1234, 2345); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, kubeadmCfgRel), 0o640); err != nil {
		t.Fatal(err)
	}
	return root, snapFiles(t, root)
}

// fileState is what a restore must bring back of a file: bytes, mode, owner, mtime.
type fileState struct {
	data     string
	mode     fs.FileMode
	uid, gid uint32
	mtime    time.Time
}

func snapFiles(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	for _, p := range []string{kcmPath, kubeadmCfgRel} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[p] = fileState{data: string(readRel(t, root, p)), mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime()}
	}
	return out
}

func checkRestored(t *testing.T, root string, orig map[string]fileState, what string) {
	t.Helper()
	for p, want := range snapFiles(t, root) {
		if want != orig[p] {
			t.Errorf("%s: %s not restored: mode %v uid %d mtime %v (want %v %d %v), bytes equal %v", what, p, want.mode, want.uid, want.mtime, orig[p].mode, orig[p].uid, orig[p].mtime, want.data == orig[p].data)
		}
	}
	var st statusReport
	if r := run(t, "--root", root, "-o", "json", "status"); json.Unmarshal([]byte(r.stdout), &st) != nil || st.Interrupted != nil || st.Mirroring != "enabled" {
		t.Errorf("%s: status after: %+v (%s)", what, st, r.stderr)
	}
}

func TestKilledBetweenRenamesThenRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	root, orig := txnNode(t)
	// The killed run used another state dir: the interrupted change is found all the same.
	id := killDisableBetweenRenames(t, root, "--state-dir", "/var/lib/A")
	after := snapFiles(t, root)
	if after[kcmPath].data == orig[kcmPath].data || after[kubeadmCfgRel].data != orig[kubeadmCfgRel].data {
		t.Fatal("the kill did not land between the manifest and the kubeadm config")
	}

	// Another op is refused, in one line naming the snapshot and the ways out, writing nothing.
	before := hashTree(t, root)
	r := run(t, "--root", root, "enable")
	last := strings.TrimSpace(r.stderr[strings.LastIndex(strings.TrimRight(r.stderr, "\n"), "\n")+1:])
	if r.code != 1 || !strings.HasPrefix(last, "mirrorctl: ") || !strings.Contains(last, id) || !strings.Contains(last, "`mirrorctl rollback`") || !strings.Contains(last, "`mirrorctl disable`") {
		t.Errorf("enable during an interrupted disable: exit %d, last line %q", r.code, last)
	}
	diffTrees(t, before, hashTree(t, root))

	// rollback (no id, default state dir) restores both files.
	if r := run(t, "--root", root, "rollback"); r.code != 0 || !strings.Contains(r.stderr, id) {
		t.Fatalf("rollback: exit %d: %s", r.code, r.stderr)
	}
	checkRestored(t, root, orig, "rollback after the kill")
	if r := run(t, "--root", root, "enable"); r.code != 0 {
		t.Errorf("enable after the rollback: exit %d: %s", r.code, r.stderr)
	}
}

func TestKilledBetweenRenamesThenRerunThenRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	_, want := referenceDisable(t)
	root, orig := txnNode(t)
	id := killDisableBetweenRenames(t, root)

	m, r := runJSON(t, "--root", root, "-o", "json", "disable")
	if r.code != 0 || m["changed"] != true || m["mirroring"] != "disabled" {
		t.Fatalf("re-run of disable: exit %d: %v %s", r.code, m, r.stderr)
	}
	for p, b := range want {
		if got := readRel(t, root, p); !bytes.Equal(got, b) {
			t.Errorf("%s after the re-run is not what an uninterrupted disable writes", p)
		}
	}
	// The re-run's snapshot completes the interrupted one and holds both files' original bytes.
	newID, _ := m["snapshot"].(string)
	show, r := runJSON(t, "--root", root, "-o", "json", "snapshots", "show", newID)
	if r.code != 0 || show["completes"] != id || len(show["files"].([]any)) != 2 {
		t.Errorf("snapshots show %s: %v", newID, show)
	}
	var st statusReport
	if r := run(t, "--root", root, "-o", "json", "status"); json.Unmarshal([]byte(r.stdout), &st) != nil || st.Interrupted != nil || st.Mirroring != "disabled" {
		t.Errorf("status after the re-run: %+v", st)
	}

	if r := run(t, "--root", root, "rollback"); r.code != 0 {
		t.Fatalf("rollback: exit %d: %s", r.code, r.stderr)
	}
	checkRestored(t, root, orig, "rollback after the re-run")
}
