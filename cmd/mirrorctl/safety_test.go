package main

// Proof suites of issue 5, run against the real CLI:
//   - crash safety: `disable` in a child process killed with SIGKILL at random instants;
//   - concurrency: 16 simultaneous `disable` processes on one root;
//   - the bad-input corpus of testdata/bad (see TestBadInputCorpus);
//   - security of the state dir and snapshot ids.
//
// Child processes re-execute this test binary (TestHelperProcess) with the mirrorctl arguments in the
// environment, so they run exactly the Main the tests run in-process.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/golden"
)

const (
	helperEnv     = "MIRRORCTL_TEST_HELPER_ARGS" // JSON list of mirrorctl arguments
	kubeadmCfgRel = "etc/kubernetes/kubeadm-config.yaml"
	stateRel      = "var/lib/mirrorctl"
)

// TestHelperProcess is not a test: it is the child process of the crash and concurrency tests.
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("child process of the crash and concurrency tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(99)
	}
	os.Exit(Main(append([]string{"mirrorctl"}, args...), os.Stdout, os.Stderr))
}

// helperCmd returns the command that runs mirrorctl args in a child process.
func helperCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(cleanEnv(), helperEnv+"="+string(raw))
	return cmd
}

// cleanEnv drops MIRRORCTL_* variables: each is a flag default, and must not leak into children.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "MIRRORCTL_") {
			env = append(env, e)
		}
	}
	return env
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func readRel(t *testing.T, root, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return b
}

// referenceDisable returns the bytes of the targets after an uninterrupted disable of the sample node.
func referenceDisable(t *testing.T) (orig, want map[string][]byte) {
	t.Helper()
	root := newNode(t)
	orig = map[string][]byte{kcmPath: readRel(t, root, kcmPath), kubeadmCfgRel: readRel(t, root, kubeadmCfgRel)}
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("reference disable: exit %d: %s", r.code, r.stderr)
	}
	want = map[string][]byte{kcmPath: readRel(t, root, kcmPath), kubeadmCfgRel: readRel(t, root, kubeadmCfgRel)}
	for p := range orig {
		if bytes.Equal(orig[p], want[p]) {
			t.Fatalf("reference disable did not change %s", p)
		}
	}
	return orig, want
}

// strayInManifests lists non-dot entries of the static pod folder other than the kcm manifest: the
// kubelet would run them.
func strayInManifests(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "etc/kubernetes/manifests"))
	if err != nil {
		t.Fatal(err)
	}
	var stray []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && e.Name() != "kube-controller-manager.yaml" {
			stray = append(stray, e.Name())
		}
	}
	return stray
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestCrashSafety kills `disable` with SIGKILL at random instants. After every kill: each target holds
// exactly its old or its new bytes; the static pod folder holds no stray file; `snapshots list` works;
// `rollback` restores the original (or there was nothing to roll back and the files are the original);
// and a fresh `disable` then succeeds (the state dir is not wedged).
//
// MIRRORCTL_CRASH_RUNS (default 200; 2000 with MIRRORCTL_STRESS=1) sets the number of runs and
// MIRRORCTL_CRASH_SEED replays a run; the seed is printed.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns hundreds of processes")
	}
	runs := 200
	if os.Getenv("MIRRORCTL_STRESS") == "1" {
		runs = 2000
	}
	runs = envInt("MIRRORCTL_CRASH_RUNS", runs)
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("MIRRORCTL_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("crash test: %d runs, seed %d (replay: MIRRORCTL_CRASH_SEED=%d)", runs, seed, seed)
	orig, want := referenceDisable(t)

	// Calibrate: how long an uninterrupted child takes, start to exit, and when it starts to work (its
	// first log line, "[plan] …", comes after process start-up and before any write). Children run as
	// many at a time as the workers below, so the timing matches the load they will see.
	const workers = 4
	var full, work time.Duration
	var calMu sync.Mutex
	var calWG sync.WaitGroup
	for i := 0; i < workers; i++ {
		calWG.Add(1)
		go func() {
			defer calWG.Done()
			root := newNode(t)
			cmd := helperCmd(t, "--root", root, "disable")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Error(err)
				return
			}
			buf := make([]byte, 4096)
			n, _ := stderr.Read(buf)
			first := time.Since(start)
			rest := new(bytes.Buffer)
			rest.ReadFrom(stderr)
			if err := cmd.Wait(); err != nil {
				t.Errorf("uninterrupted child: %v\n%s%s", err, buf[:n], rest)
				return
			}
			el := time.Since(start)
			calMu.Lock()
			full = max(full, el)
			if work == 0 || first < work {
				work = first
			}
			calMu.Unlock()
		}()
	}
	calWG.Wait()
	if t.Failed() {
		return
	}

	// Each kill instant is a fraction of the kill window, drawn up front from the seed: half over the
	// whole run, half over its working part, where the snapshot and the writes happen. The window
	// follows the load: after every batch in which no child got to finish, it grows by half (kills are
	// landing before the writes); when most children finish, it shrinks. The seed fixes the fractions.
	rng := rand.New(rand.NewSource(seed))
	fracs := make([]float64, runs)
	for i := range fracs {
		fracs[i] = rng.Float64()
	}
	span := full + full/10
	t.Logf("an uninterrupted disable takes up to %s, working from %s; initial kill window %s", full, work, span)
	delayFor := func(i int, span time.Duration) time.Duration {
		if i%2 == 0 {
			return time.Duration(fracs[i] * float64(span))
		}
		return work + time.Duration(fracs[i]*float64(max(span-work, time.Millisecond)))
	}

	var mu sync.Mutex
	var total crashOutcome
	batchRuns, batchExited := 0, 0
	const batch = 20
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				mu.Lock()
				delay := delayFor(i, span)
				mu.Unlock()
				o, err := crashOnce(t, delay, orig, want)
				if err != nil {
					t.Errorf("run %d (delay %s, seed %d): %v", i, delay, seed, err)
					continue
				}
				mu.Lock()
				total.old += o.old
				total.new += o.new
				total.exited += o.exited
				total.rolledBack += o.rolledBack
				total.mixed += o.mixed
				batchRuns++
				batchExited += o.exited
				if batchRuns == batch {
					switch {
					case batchExited == 0:
						span += span / 2
					case batchExited > batch*6/10:
						span -= span / 5
					}
					batchRuns, batchExited = 0, 0
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < runs; i++ {
		if t.Failed() {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	t.Logf("final kill window %s", span)
	t.Logf("outcomes over %d runs: %d targets found old, %d new; %d runs killed between the two writes (manifest and kubeadm config disagreeing until rollback); %d children finished before the kill; %d rollbacks restored files", runs, total.old, total.new, total.mixed, total.exited, total.rolledBack)
	if !t.Failed() && runs >= 50 && (total.old == 0 || total.new == 0) {
		t.Errorf("every kill landed on the same side of the write (old %d, new %d): the kill window misses the change", total.old, total.new)
	}
}

type crashOutcome struct{ old, new, mixed, exited, rolledBack int }

func crashOnce(t *testing.T, delay time.Duration, orig, want map[string][]byte) (crashOutcome, error) {
	var o crashOutcome
	root := newNode(t)
	cmd := helperCmd(t, "--root", root, "disable")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		return o, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		o.exited++
		if err != nil {
			return o, fmt.Errorf("child failed on its own: %v: %s", err, errb.String())
		}
	case <-time.After(delay):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}

	// 1. Every target is exactly old or new.
	oldBefore := o.old
	for _, p := range []string{kcmPath, kubeadmCfgRel} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return o, fmt.Errorf("%s after kill: %v", p, err)
		}
		switch {
		case bytes.Equal(b, orig[p]):
			o.old++
		case bytes.Equal(b, want[p]):
			o.new++
		default:
			return o, fmt.Errorf("%s is torn after the kill: %d bytes, sha %s (old %s, new %s)", p, len(b), sum(b), sum(orig[p]), sum(want[p]))
		}
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || fi.Mode().Perm() != 0o600 {
			return o, fmt.Errorf("%s: mode after kill %v (%v)", p, fi.Mode(), err)
		}
	}
	if o.old-oldBefore == 1 {
		o.mixed++
	}
	// 2. Nothing the kubelet would run was left in the static pod folder.
	if s := strayInManifests(t, root); len(s) > 0 {
		return o, fmt.Errorf("stray files in the static pod folder: %v", s)
	}
	// 3. The state dir is usable.
	if r := run(t, "--root", root, "-o", "json", "snapshots", "list"); r.code != 0 {
		return o, fmt.Errorf("snapshots list after kill: exit %d: %s", r.code, r.stderr)
	}
	// 4. Rollback restores the original, or there was nothing to roll back and the files are original.
	r := run(t, "--root", root, "rollback")
	switch r.code {
	case 0:
		if strings.Contains(r.stderr, "restored") || strings.Contains(r.stderr, "changed") {
			o.rolledBack++
		}
	case 1:
		if !strings.Contains(r.stderr, "no such snapshot") && !strings.Contains(r.stderr, "no snapshot") {
			return o, fmt.Errorf("rollback after kill: %s", strings.TrimSpace(r.stderr))
		}
	default:
		return o, fmt.Errorf("rollback after kill: exit %d: %s", r.code, r.stderr)
	}
	for _, p := range []string{kcmPath, kubeadmCfgRel} {
		if b := readRel(t, root, p); !bytes.Equal(b, orig[p]) {
			return o, fmt.Errorf("%s is not the original after rollback (exit %d: %s)", p, r.code, strings.TrimSpace(r.stderr))
		}
	}
	// 5. And the node can be changed again.
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		return o, fmt.Errorf("disable after kill and rollback: exit %d: %s", r.code, r.stderr)
	}
	for _, p := range []string{kcmPath, kubeadmCfgRel} {
		if b := readRel(t, root, p); !bytes.Equal(b, want[p]) {
			return o, fmt.Errorf("%s: disable after kill and rollback wrote different bytes", p)
		}
	}
	return o, nil
}

// TestConcurrentDisable starts 16 `disable` processes on one root at once. Exactly one changes the
// node and takes the one snapshot; the others report no change (they waited for the lock and planned
// again) or, with no lock timeout, a clear "locked" error; and the result is the normal disable.
func TestConcurrentDisable(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	_, want := referenceDisable(t)
	rounds := 3
	if os.Getenv("MIRRORCTL_STRESS") == "1" {
		rounds = 30
	}
	for round := 0; round < envInt("MIRRORCTL_CONCURRENCY_ROUNDS", rounds); round++ {
		root := newNode(t)
		const n = 16
		type res struct {
			code           int
			stdout, stderr string
			timeout        string
		}
		results := make([]res, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			// Half wait for the lock (the default), half give up at once.
			lt := "30s"
			if i%2 == 1 {
				lt = "0s"
			}
			cmd := helperCmd(t, "--root", root, "-o", "json", "disable", "--lock-timeout", lt)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				err := cmd.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					code = -1
				}
				results[i] = res{code, out.String(), errb.String(), lt}
			}(i)
		}
		close(start)
		wg.Wait()
		changed, unchanged, locked := 0, 0, 0
		var snaps []string
		for i, r := range results {
			switch r.code {
			case 0:
				var m struct {
					Changed  bool    `json:"changed"`
					Snapshot *string `json:"snapshot"`
					Mirror   string  `json:"mirroring"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
					t.Fatalf("process %d: stdout is not JSON: %v\n%s", i, err, r.stdout)
				}
				if m.Mirror != "disabled" {
					t.Errorf("process %d: mirroring %q", i, m.Mirror)
				}
				if m.Changed {
					changed++
					if m.Snapshot == nil {
						t.Errorf("process %d changed the node without a snapshot", i)
					} else {
						snaps = append(snaps, *m.Snapshot)
					}
				} else {
					unchanged++
					if m.Snapshot != nil {
						t.Errorf("process %d changed nothing but reports snapshot %s", i, *m.Snapshot)
					}
				}
			case 1:
				line := strings.TrimSpace(r.stderr[strings.LastIndex(strings.TrimRight(r.stderr, "\n"), "\n")+1:])
				if r.timeout != "0s" || !strings.Contains(line, "another mirrorctl run holds the lock on /run/mirrorctl/lock") {
					t.Errorf("process %d (lock timeout %s): exit 1: %q", i, r.timeout, line)
				}
				locked++
			default:
				t.Errorf("process %d: exit %d: %s", i, r.code, r.stderr)
			}
		}
		t.Logf("round %d: %d changed, %d unchanged, %d locked", round, changed, unchanged, locked)
		if changed != 1 {
			t.Errorf("%d processes changed the node, want exactly 1", changed)
		}
		list := run(t, "--root", root, "-o", "json", "snapshots", "list")
		var snapList []map[string]any
		if err := json.Unmarshal([]byte(list.stdout), &snapList); err != nil {
			// Some list formats wrap the array; fall back to counting snapshot dirs with meta.json.
			snapList = nil
		}
		metas, _ := filepath.Glob(filepath.Join(root, stateRel, "snapshots", "*", "meta.json"))
		if len(metas) != 1 {
			t.Errorf("%d snapshots on disk, want 1: %v", len(metas), metas)
		}
		if len(snaps) == 1 && len(metas) == 1 && filepath.Base(filepath.Dir(metas[0])) != snaps[0] {
			t.Errorf("snapshot on disk %s is not the one reported (%s)", metas[0], snaps[0])
		}
		for _, p := range []string{kcmPath, kubeadmCfgRel} {
			if !bytes.Equal(readRel(t, root, p), want[p]) {
				t.Errorf("%s: not the normal disable result", p)
			}
		}
		if s := strayInManifests(t, root); len(s) > 0 {
			t.Errorf("stray files: %v", s)
		}
	}
}

// TestStateDirSecurity: the state dir and snapshots are private, unsafe state dirs are refused, and
// snapshot ids cannot name paths.
func TestStateDirSecurity(t *testing.T) {
	t.Run("modes", func(t *testing.T) {
		root := newNode(t)
		if r := run(t, "--root", root, "disable"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		state := filepath.Join(root, stateRel)
		err := filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir() && fi.Mode().Perm() != 0o700:
				t.Errorf("%s: dir mode %04o, want 0700", p, fi.Mode().Perm())
			case fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600:
				t.Errorf("%s: file mode %04o, want 0600", p, fi.Mode().Perm())
			case fi.Mode()&fs.ModeSymlink != 0:
				t.Errorf("%s: symlink in the state dir", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	unsafe := []struct {
		name  string
		setup func(t *testing.T, root string)
		msg   string
	}{
		{"state dir is a symlink", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "var/lib"), 0o755)
			os.Mkdir(filepath.Join(root, "elsewhere"), 0o700)
			os.Symlink("../../elsewhere", filepath.Join(root, stateRel))
		}, "symlink"},
		{"state dir writable by others", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, stateRel), 0o700)
			os.Chmod(filepath.Join(root, stateRel), 0o777)
		}, "writable by group or others"},
		{"snapshots dir is a symlink", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, stateRel), 0o700)
			os.Mkdir(filepath.Join(root, "elsewhere"), 0o700)
			os.Symlink("../../../elsewhere", filepath.Join(root, stateRel, "snapshots"))
		}, "symlink"},
		{"lock file is a symlink", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "run/mirrorctl"), 0o700)
			os.WriteFile(filepath.Join(root, "target"), []byte("x"), 0o600)
			os.Symlink("../../target", filepath.Join(root, lockRel))
		}, "/run/mirrorctl/lock: refusing an unsafe state dir: the lock file is a symlink"},
		{"state dir is a file", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "var/lib"), 0o755)
			os.WriteFile(filepath.Join(root, stateRel), []byte("x"), 0o600)
		}, "not a directory"},
	}
	for _, c := range unsafe {
		t.Run(c.name, func(t *testing.T) {
			root := newNode(t)
			c.setup(t, root)
			before := hashTree(t, root)
			r := run(t, "--root", root, "disable")
			if r.code != 1 || !strings.Contains(r.stderr, "/var/lib/mirrorctl") && !strings.Contains(c.msg, "/run/mirrorctl") || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("exit %d, stderr %q; want 1 naming the state dir and %q", r.code, r.stderr, c.msg)
			}
			diffTrees(t, before, hashTree(t, root))
		})
	}
	t.Run("state dir in the static pod folder", func(t *testing.T) {
		root := newNode(t)
		before := hashTree(t, root)
		r := run(t, "--root", root, "--state-dir", "/etc/kubernetes/manifests/.mirrorctl", "disable")
		if r.code != 1 || !strings.Contains(r.stderr, "static pod folder") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		diffTrees(t, before, hashTree(t, root))
	})
	t.Run("snapshot ids are validated", func(t *testing.T) {
		root := newNode(t)
		if r := run(t, "--root", root, "disable"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		os.WriteFile(filepath.Join(root, "var/lib/x"), []byte("x"), 0o600)
		for _, id := range []string{"../x", "../../etc", "/etc/passwd", "snapshots/../../x", "..", ".", "", "20261125T093012Z-1a2b3c/../x", "20261125T093012Z-1A2B3C"} {
			for _, cmd := range [][]string{{"rollback", id}, {"rollback", "--dry-run", id}, {"snapshots", "show", id}} {
				if id == "" && cmd[0] == "rollback" {
					continue // "" means latest
				}
				before := hashTree(t, root)
				r := run(t, append([]string{"--root", root}, cmd...)...)
				if r.code == 0 {
					t.Errorf("%v: exit 0", cmd)
				}
				if r.code == 1 && !strings.Contains(r.stderr, "not a snapshot id") && !strings.Contains(r.stderr, "no such snapshot") {
					t.Errorf("%v: %q", cmd, r.stderr)
				}
				diffTrees(t, before, hashTree(t, root))
			}
		}
	})
}

func withoutLock(m map[string]fileSig) map[string]fileSig {
	out := make(map[string]fileSig, len(m))
	for k, v := range m {
		if k != lockRel && k != filepath.Dir(lockRel) && k != "run" {
			out[k] = v
		}
	}
	return out
}

// fileSig is what must not change: contents (hashed), mode, owner, mtime, symlink target.
type fileSig struct {
	hash     string
	mode     fs.FileMode
	uid, gid uint32
	mtime    time.Time
	link     string
}

// hashTree records every entry under root (directories by mode and owner only: lock files may come and go).
func hashTree(t *testing.T, root string) map[string]fileSig {
	t.Helper()
	m := map[string]fileSig{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		s := fileSig{mode: fi.Mode()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			s.uid, s.gid = st.Uid, st.Gid
		}
		switch {
		case fi.Mode().IsRegular():
			s.mtime = fi.ModTime()
			f, err := os.Open(p)
			if err == nil {
				h := sha256.New()
				buf := make([]byte, 1<<20)
				for {
					n, err := f.Read(buf)
					h.Write(buf[:n])
					if err != nil {
						break
					}
				}
				f.Close()
				s.hash = hex.EncodeToString(h.Sum(nil))
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			s.link, _ = os.Readlink(p)
		case fi.Mode()&fs.ModeNamedPipe != 0:
			s.mtime = fi.ModTime()
		}
		rel, _ := filepath.Rel(root, p)
		m[rel] = s
		return nil
	})
	return m
}

// lockRel and its folders are exempt from diffTrees: a run that fails after taking the lock leaves the
// lock file (by design: removing a flock file races with the next locker) with its holder's pid, so its
// mtime moves. It is mirrorctl's own state, not a node file.
var lockRel = "run/mirrorctl/lock"

func diffTrees(t *testing.T, before, after map[string]fileSig) {
	t.Helper()
	before, after = withoutLock(before), withoutLock(after)
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := after[k]
		if !ok {
			t.Errorf("%s: removed", k)
		} else if a != before[k] {
			t.Errorf("%s: changed: %+v -> %+v", k, before[k], a)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: created", k)
		}
	}
}

// badCase is testdata/bad/<class>/case.txt: "key: value" lines, "#" comments.
type badCase struct {
	name, desc      string
	base            string   // kubeadm, k3s, microk8s, k0s or empty
	args            []string // after --root ROOT
	file, errSubstr string
	setup           string   // generated condition: huge, fifo, hardlink, unreadable, immutable, immutable-dir
	ops             []string // variants to run: disable (args as given), enable (args[0] replaced), dry-run (--dry-run added)
	stateCreated    bool     // the failure comes from the write: the state dir may be created (no snapshot may remain)
	bug             string   // a known bug makes this class fail: the test skips it, saying so
	secret          string   // text of the input that no output may print (a credential)
	dir             string
}

// Base nodes a class overlays its root/ onto.
var badBases = map[string]string{
	"kubeadm":  "../../testdata/nodes/kubeadm",
	"k3s":      "../../testdata/distros/k3s/cis-sample/root",
	"microk8s": "../../testdata/distros/microk8s/default-args/root",
	"k0s":      "../../testdata/distros/k0s/dualstack-doc/root",
	"empty":    "",
}

func loadBadCases(t *testing.T) []badCase {
	t.Helper()
	dirs, err := filepath.Glob("../../testdata/bad/*/case.txt")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no bad-input classes: %v", err)
	}
	var cases []badCase
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := badCase{name: filepath.Base(filepath.Dir(p)), dir: filepath.Dir(p), base: "kubeadm", args: []string{"disable"}, ops: []string{"disable", "enable", "dry-run"}}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "# ") && c.desc == "" {
				c.desc = strings.TrimPrefix(line, "# ")
				continue
			}
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch k {
			case "base":
				c.base = v
			case "args":
				c.args = strings.Fields(v)
			case "file":
				c.file = v
			case "error":
				c.errSubstr = v
			case "setup":
				c.setup = v
			case "ops":
				c.ops = strings.Fields(v)
			case "secret":
				c.secret = v
			case "state":
				c.stateCreated = v == "created"
			case "bug":
				c.bug = v
			default:
				t.Fatalf("%s: unknown key %q", p, k)
			}
		}
		if _, ok := badBases[c.base]; !ok || c.file == "" {
			t.Fatalf("%s: bad base %q or no file", p, c.base)
		}
		cases = append(cases, c)
	}
	return cases
}

// overlay copies src over dst: regular files (0600), directories, and symlinks as links; an entry of
// another type at the destination is replaced.
func overlay(t *testing.T, src, dst string) {
	t.Helper()
	if src == "" {
		return
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return
	}
	golden.CopyTree(t, src, dst, golden.FileMode(0o600), golden.DirMode(0o700))
}

// applySetup makes the generated conditions that cannot live in git. It returns a cleanup to run
// before the temp dir is removed, or skips the test with the reason.
func applySetup(t *testing.T, c badCase, root string) {
	t.Helper()
	host := filepath.Join(root, c.file)
	switch c.setup {
	case "":
	case "huge":
		// The real file followed by a 100 MB YAML comment: valid YAML, absurd size.
		f, err := os.OpenFile(host, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		line := "# " + strings.Repeat("x", 1021) + "\n"
		chunk := []byte(strings.Repeat(line, 1024))
		for i := 0; i < 100; i++ {
			if _, err := f.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	case "fifo":
		os.Remove(host)
		if err := syscall.Mkfifo(host, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	case "hardlink":
		// A second name outside the static pod folder, as an admin's `ln` backup would be.
		if err := os.Link(host, filepath.Join(root, "etc/kubernetes", filepath.Base(host)+".link")); err != nil {
			t.Skipf("link: %v", err)
		}
	case "unreadable":
		if os.Geteuid() == 0 {
			t.Skip("running as root, which reads a mode 0000 file anyway; the FIFO and directory classes cover unreadable targets")
		}
		os.Chmod(host, 0)
		t.Cleanup(func() { os.Chmod(host, 0o600) })
	case "immutable", "immutable-dir":
		target := host
		if c.setup == "immutable-dir" {
			target = filepath.Join(root, "etc/kubernetes/manifests")
		}
		if out, err := exec.Command("chattr", "+i", target).CombinedOutput(); err != nil {
			t.Skipf("chattr +i not supported here (%v: %s): no way to simulate a read-only file system without mounts", err, strings.TrimSpace(string(out)))
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", target).Run() })
	default:
		t.Fatalf("unknown setup %q", c.setup)
	}
}

// TestBadInputCorpus runs every class of testdata/bad with disable, enable and disable --dry-run:
// each must exit 1 with one line on stderr naming the file, and leave every file under the root as
// it was (contents, mode, owner, mtime, symlink targets).
func TestBadInputCorpus(t *testing.T) {
	cases := loadBadCases(t)
	if len(cases) < 40 {
		t.Errorf("%d bad-input classes, want at least 40", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.bug != "" && os.Getenv("MIRRORCTL_KNOWN_BUGS") != "1" {
				t.Skipf("KNOWN BUG (run with MIRRORCTL_KNOWN_BUGS=1 to see it fail): %s", c.bug)
			}
			for _, op := range c.ops {
				root := t.TempDir()
				if b := badBases[c.base]; b != "" {
					overlay(t, b, root)
				}
				overlay(t, filepath.Join(c.dir, "root"), root)
				applySetup(t, c, root)
				args := append([]string{}, c.args...)
				for i := range args {
					// A host path under the root (a --save-plan FILE) is spelled $ROOT/... in args.
					args[i] = strings.ReplaceAll(args[i], "$ROOT", root)
				}
				switch op {
				case "enable":
					args[0] = "enable"
				case "dry-run":
					args = append(args, "--dry-run")
				}
				before := hashTree(t, root)
				global := []string{"--root", root}
				if slices.Contains(args, "-f") {
					// -f files are on this machine, never under --root: they are named $ROOT/... instead.
					global = []string{"--state-dir", filepath.Join(root, stateRel)}
				}
				r := runBounded(t, 20*time.Second, append(global, args...)...)
				if c.secret != "" && strings.Contains(r.stdout+r.stderr, c.secret) {
					t.Errorf("%v: the output prints the secret %q", args, c.secret)
				}
				if r.code != 1 {
					t.Fatalf("%v: exit %d, want 1 (%s)\nstdout: %.300s\nstderr: %s", args, r.code, c.desc, r.stdout, r.stderr)
				}
				lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
				last := lines[len(lines)-1]
				for _, l := range lines[:len(lines)-1] {
					if !strings.HasPrefix(l, "[") {
						t.Errorf("%v: stderr line %q is neither a [phase] log nor the error", args, l)
					}
				}
				if !strings.HasPrefix(last, "mirrorctl: ") || !strings.Contains(last, c.file) || !strings.Contains(last, c.errSubstr) {
					t.Errorf("%v: error line %q; want one line naming %s and containing %q", args, last, c.file, c.errSubstr)
				}
				t.Logf("%v: %s", args, last)
				if len(last) > 600 {
					t.Errorf("%v: error line is %d bytes long", args, len(last))
				}
				after := hashTree(t, root)
				if c.stateCreated {
					// A failed write leaves the state dir (and its lock) but no snapshot: Commit removes it.
					snaps, _ := os.ReadDir(filepath.Join(root, stateRel, "snapshots"))
					if len(snaps) > 0 {
						t.Errorf("%v: a snapshot remains after the failed write: %v", args, snaps)
					}
					for _, p := range []string{"var", "var/lib", stateRel, filepath.Join(stateRel, "snapshots")} {
						if _, ok := before[p]; !ok {
							delete(after, p)
						}
					}
				}
				diffTrees(t, before, after)
			}
		})
	}
}

// runBounded runs Main in-process but fails the test instead of hanging when a bad input makes it
// block (a FIFO opened for reading, a parser that never returns).
func runBounded(t *testing.T, d time.Duration, args ...string) runResult {
	t.Helper()
	done := make(chan runResult, 1)
	go func() {
		var out, errb bytes.Buffer
		code := Main(append([]string{"mirrorctl"}, args...), &out, &errb)
		done <- runResult{code, out.String(), errb.String()}
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("%v: still running after %s", args, d)
		return runResult{}
	}
}

// TestCrashDuringRollback kills `rollback` itself at random instants after a disable: every target is
// old or new, the state dir is usable, and running `rollback` again finishes the job.
func TestCrashDuringRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	runs := 40
	if os.Getenv("MIRRORCTL_STRESS") == "1" {
		runs = 400
	}
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("MIRRORCTL_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("rollback crash test: %d runs, seed %d", runs, seed)
	orig, want := referenceDisable(t)
	rng := rand.New(rand.NewSource(seed))
	var full time.Duration
	for i := 0; i < 2; i++ {
		root := newNode(t)
		if r := run(t, "--root", root, "disable"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		start := time.Now()
		if out, err := helperCmd(t, "--root", root, "rollback").CombinedOutput(); err != nil {
			t.Fatalf("uninterrupted rollback: %v\n%s", err, out)
		}
		full = max(full, time.Since(start))
	}
	restored := 0
	for i := 0; i < runs && !t.Failed(); i++ {
		delay := time.Duration(rng.Int63n(int64(full + full/10)))
		root := newNode(t)
		if r := run(t, "--root", root, "disable"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		cmd := helperCmd(t, "--root", root, "rollback")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		for _, p := range []string{kcmPath, kubeadmCfgRel} {
			b := readRel(t, root, p)
			if !bytes.Equal(b, orig[p]) && !bytes.Equal(b, want[p]) {
				t.Fatalf("run %d (delay %s, seed %d): %s torn by a killed rollback", i, delay, seed, p)
			}
			if bytes.Equal(b, orig[p]) {
				restored++
			}
		}
		if s := strayInManifests(t, root); len(s) > 0 {
			t.Fatalf("run %d: stray files %v", i, s)
		}
		if r := run(t, "--root", root, "snapshots", "list"); r.code != 0 {
			t.Fatalf("run %d: snapshots list: %s", i, r.stderr)
		}
		if r := run(t, "--root", root, "rollback"); r.code != 0 {
			t.Fatalf("run %d (delay %s, seed %d): rollback after a killed rollback: %s", i, delay, seed, r.stderr)
		}
		for _, p := range []string{kcmPath, kubeadmCfgRel} {
			if !bytes.Equal(readRel(t, root, p), orig[p]) {
				t.Fatalf("run %d (delay %s, seed %d): %s not restored", i, delay, seed, p)
			}
		}
	}
	t.Logf("%d of %d targets were already restored when the rollback was killed", restored, 2*runs)
}
