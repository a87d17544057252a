package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

const (
	manifest = "etc/kubernetes/manifests/kube-controller-manager.yaml"
	config   = "etc/kubernetes/kubeadm-config.yaml"
)

// node copies the bundled kubeadm sample node (manifest and kubeadm config) into a temp root.
func node(t *testing.T) (nodefs.Root, *Env, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{manifest, config} {
		data, err := os.ReadFile(filepath.Join("../testdata/nodes/kubeadm", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	env := &Env{Root: root, StateDir: "/var/lib/mirrorctl", Version: "test", Stderr: &log,
		Log: func(phase, format string, a ...any) {
			log.WriteString("[" + phase + "] ")
			log.WriteString(strings.TrimSpace(fmt.Sprintf(format, a...)) + "\n")
		}}
	return root, env, &log
}

func read(t *testing.T, r nodefs.Root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func disable(env *Env, job Job) *Job {
	a, _ := distros.Get("kubeadm")
	return Mutate(env, a, distros.Options{Root: env.Root, Op: controllers.Disable}, job)
}

// A dry run plans and writes nothing: no lock, no state dir, files untouched.
func TestDryRunWritesNothing(t *testing.T) {
	root, env, _ := node(t)
	before := read(t, root, manifest)
	r, err := Run(context.Background(), env, disable(env, Job{DryRun: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Changed || r.Snapshot != nil || len(r.Diff) != 2 {
		t.Fatalf("dry run result: changed %v snapshot %v diffs %d", r.Changed, r.Snapshot, len(r.Diff))
	}
	if read(t, root, manifest) != before {
		t.Error("the dry run wrote the manifest")
	}
	for _, p := range []string{"var/lib/mirrorctl", "run/mirrorctl"} {
		if _, err := os.Stat(filepath.Join(root.Dir, p)); err == nil {
			t.Errorf("the dry run created %s", p)
		}
	}
}

// The plan is made again under the lock: an edit another writer made between the first look and the
// lock is kept, not overwritten with the first plan's bytes (nor refused as stale).
func TestReplanUnderLock(t *testing.T) {
	root, env, log := node(t)
	job := disable(env, Job{LockTimeout: time.Second})
	plans := 0
	inner := job.Plan
	job.Plan = func(s *snapshot.Store, reads *distros.Reads) (*change.Plan, error) {
		if plans++; plans == 2 {
			f, err := os.OpenFile(filepath.Join(root.Dir, config), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("# edited by someone else\n")
			f.Close()
		}
		return inner(s, reads)
	}
	r, err := Run(context.Background(), env, job)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if plans != 2 {
		t.Errorf("planned %d times, want 2 (plan, replan)", plans)
	}
	if !r.Changed || r.Snapshot == nil {
		t.Errorf("result: changed %v snapshot %v", r.Changed, r.Snapshot)
	}
	if !strings.HasSuffix(read(t, root, config), "# edited by someone else\n") {
		t.Error("the other writer's edit was lost")
	}
	for _, phase := range []string{"[plan] disable on kubeadm node", "[snapshot] saved", "[write] wrote /" + manifest, "[write] wrote /" + config} {
		if !strings.Contains(log.String(), phase) {
			t.Errorf("log lacks %q:\n%s", phase, log)
		}
	}
}

// One lock per node: while a run holds it, another run waits for it, whatever its state dir.
func TestLockIsPerNode(t *testing.T) {
	_, env, _ := node(t)
	job := disable(env, Job{LockTimeout: time.Second})
	inner := job.Plan
	plans := 0
	job.Plan = func(s *snapshot.Store, reads *distros.Reads) (*change.Plan, error) {
		if plans++; plans == 2 {
			for _, dir := range []string{env.StateDir, "/var/lib/other"} {
				other := *env
				other.StateDir = dir
				if _, err := Run(context.Background(), &other, disable(&other, Job{})); !errors.Is(err, snapshot.ErrLocked) {
					t.Errorf("a run with state dir %s did not wait for the node's lock: %v", dir, err)
				}
			}
		}
		return inner(s, reads)
	}
	if _, err := Run(context.Background(), env, job); err != nil {
		t.Fatal(err)
	}
}

// failingLive is a cluster step whose write fails, as an API server that refuses the update would.
type failingLive struct{ applied bool }

func (f *failingLive) Plan(context.Context) ([]change.FileChange, error) { return nil, nil }
func (f *failingLive) Apply(context.Context, string) ([]change.FileChange, string, error) {
	f.applied = true
	return nil, "", errors.New("configmaps \"kubeadm-config\" is forbidden")
}

// A live step that fails after the files were written rolls the files back: exit 1 means the node is
// as it was.
func TestLiveFailureRestoresFiles(t *testing.T) {
	root, env, log := node(t)
	before, beforeCfg := read(t, root, manifest), read(t, root, config)
	live := &failingLive{}
	_, err := Run(context.Background(), env, disable(env, Job{LockTimeout: time.Second, Live: live}))
	if err == nil || !live.applied {
		t.Fatalf("err = %v, live applied %v", err, live.applied)
	}
	if !strings.Contains(err.Error(), "forbidden; the files were restored from snapshot ") {
		t.Errorf("error does not say the files were restored: %v", err)
	}
	if read(t, root, manifest) != before || read(t, root, config) != beforeCfg {
		t.Errorf("the files were not restored\n%s", log)
	}
}

// An activation that fails (a restart) leaves the change and says how to undo it.
func TestActivateFailureNamesUndo(t *testing.T) {
	root, env, _ := node(t)
	before := read(t, root, manifest)
	job := disable(env, Job{LockTimeout: time.Second})
	job.Activate = func(*change.Plan) error { return errors.New("--restart: systemctl restart k3s: exit status 1") }
	_, err := Run(context.Background(), env, job)
	if err == nil || !strings.Contains(err.Error(), "the files are written (undo: mirrorctl rollback ") {
		t.Fatalf("err = %v", err)
	}
	if read(t, root, manifest) == before {
		t.Error("the change is not in place")
	}
}

// Nothing to change: no lock, no snapshot, and the planner's own words for it.
func TestUnchangedTakesNoLock(t *testing.T) {
	root, env, log := node(t)
	if _, err := Run(context.Background(), env, disable(env, Job{LockTimeout: time.Second})); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	r, err := Run(context.Background(), env, disable(env, Job{LockTimeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed || r.Snapshot != nil {
		t.Errorf("second run: changed %v snapshot %v", r.Changed, r.Snapshot)
	}
	if !strings.Contains(log.String(), "[plan] mirroring is already disabled: nothing to change") {
		t.Errorf("log:\n%s", log)
	}
	_ = root
}
