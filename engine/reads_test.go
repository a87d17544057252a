//go:build linux

package engine

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// opens counts the times a file is opened, by anyone, through inotify: a read that bypasses the phase's
// read set (a fresh one, or the file read directly) shows here, where the read set's own counter
// cannot see it.
type opens struct{ fd int }

func watchOpens(t *testing.T, hostPath string) *opens {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	// The closes too: the kernel merges an event into an identical one still queued, so opens alone
	// would count one for any number of reads.
	if _, err := syscall.InotifyAddWatch(fd, hostPath, syscall.IN_OPEN|syscall.IN_CLOSE); err != nil {
		t.Fatal(err)
	}
	return &opens{fd}
}

// since returns the opens since the last call: the kernel queues the events at open time, so they are
// all there once the reads returned.
func (o *opens) since(t *testing.T) int {
	t.Helper()
	n := 0
	buf := make([]byte, 64*syscall.SizeofInotifyEvent)
	for {
		k, err := syscall.Read(o.fd, buf)
		if err == syscall.EAGAIN {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= k; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&syscall.IN_OPEN != 0 {
				n++
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// watched are the files a kubeadm plan reads from several places.
var watched = []string{distros.KubeadmManifest, distros.KubeadmDefaultConfig}

// phases runs a kubeadm disable through Run on the sample node (after prepare, when set) and returns
// the read set of each phase that planned, with the times each phase opened each watched file.
func phases(t *testing.T, dryRun bool, prepare func(root nodefs.Root)) (reads []*distros.Reads, opened []map[string]int, r *Result) {
	t.Helper()
	root, env, log := node(t)
	if prepare != nil {
		prepare(root)
	}
	watch := map[string]*opens{}
	for _, p := range watched {
		watch[p] = watchOpens(t, root.Host(p))
	}
	job := disable(env, Job{DryRun: dryRun, LockTimeout: time.Second})
	inner := job.Plan
	job.Plan = func(s *snapshot.Store, rs *distros.Reads) (*change.Plan, error) {
		for _, w := range watch {
			w.since(t) // what happened between phases is not theirs
		}
		p, err := inner(s, rs)
		n := map[string]int{}
		for path, w := range watch {
			n[path] = w.since(t)
		}
		reads, opened = append(reads, rs), append(opened, n)
		return p, err
	}
	r, err := Run(context.Background(), env, job)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	return reads, opened, r
}

// The adapter, lint's pre-change checks and lint's view of the adapter's status all read the kcm
// manifest and the kubeadm config in the plan phase: each is opened and parsed once there. With
// controllers set in the config, lint's check of its entries reads it too.
func TestPlanParsesEachFileOnce(t *testing.T) {
	for name, prepare := range map[string]func(nodefs.Root){
		"sample": nil,
		"controllers set in the config": func(root nodefs.Root) {
			cfg := root.Host(distros.KubeadmDefaultConfig)
			data, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), "    allocate-node-cidrs: \"true\"\n",
				"    allocate-node-cidrs: \"true\"\n    controllers: \"*,bootstrapsigner,tokencleaner\"\n", 1))
			if err := os.WriteFile(cfg, data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			reads, opened, r := phases(t, true, prepare)
			if len(reads) != 1 || !r.Changed {
				t.Fatalf("a dry run of a change planned %d times (changed: %v); want once", len(reads), r.Changed)
			}
			for _, p := range watched {
				if opened[0][p] != 1 || reads[0].Parses(p) != 1 {
					t.Errorf("%s: opened %d times and parsed %d times in the plan phase; want once each", p, opened[0][p], reads[0].Parses(p))
				}
			}
		})
	}
}

// The health gate takes kcm's version and kubeconfig (the one its --kubeconfig names) from the
// replan's parse.
func TestGateUsesThePhaseParse(t *testing.T) {
	reads, _, _ := phases(t, true, nil)
	root := reads[0].Root
	if err := os.WriteFile(root.Host("/etc/kubernetes/controller-manager.conf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	g := NewGate(root, "kubeadm", time.Minute, health.Options{})
	g.prepare(reads[0])
	if n := reads[0].Parses(distros.KubeadmManifest); n != 1 {
		t.Errorf("the gate parsed the manifest again: %d parses", n)
	}
	if !g.Options.ListsControllers || g.Options.Lease == nil {
		t.Errorf("gate not set up from the v1.29 manifest naming controller-manager.conf: %+v", g.Options)
	}
	if want, _ := RestartTime(kcmManifest(reads[0], "kubeadm")); g.Restart != want || want == 0 {
		t.Errorf("the gate's restart time is %s, want %s from the manifest", g.Restart, want)
	}
}

// Each phase has a read set of its own (the replan under the lock reads the disk again, see
// TestReplanUnderLock), and each opens and parses the manifest once.
func TestEachPhaseParsesOnce(t *testing.T) {
	reads, opened, r := phases(t, false, nil)
	if len(reads) != 2 || reads[0] == reads[1] || !r.Changed {
		t.Fatalf("plan and replan: %d phases, shared read set %v, changed %v", len(reads), len(reads) == 2 && reads[0] == reads[1], r.Changed)
	}
	for i := range reads {
		for _, p := range watched {
			if opened[i][p] != 1 || reads[i].Parses(p) != 1 {
				t.Errorf("phase %d: %s opened %d times and parsed %d times; want once each", i+1, p, opened[i][p], reads[i].Parses(p))
			}
		}
	}
}
