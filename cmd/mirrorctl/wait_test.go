package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// fakeKubelet is an HTTPS kcm healthz endpoint that behaves like the kubelet restarting kcm from the
// manifest on disk: it reads the manifest at each request (after a restart delay once it changed) and
// answers the way kcm with those flags would: healthz with one [+] line per running controller, or no
// answer at all when startFails says kcm would not start with that manifest.
type fakeKubelet struct {
	root       string
	startFails func(manifest []byte) bool
	srv        *httptest.Server
	hits       atomic.Int64
}

func newFakeKubelet(t *testing.T, root string, startFails func([]byte) bool) *fakeKubelet {
	f := &fakeKubelet{root: root, startFails: startFails}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		data, err := os.ReadFile(filepath.Join(root, kcmPath))
		if err != nil || f.startFails(data) {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close() // not listening: kcm exited
			return
		}
		m, err := manifests.Parse(data)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		on, _ := m.Mirroring()
		var b strings.Builder
		b.WriteString("[+]leaderElection ok\n[+]endpoints-controller ok\n[+]endpointslice-controller ok\n")
		if on {
			b.WriteString("[+]endpointslice-mirroring-controller ok\n")
		}
		b.WriteString("[+]garbage-collector-controller ok\n[+]informer-sync ok\nhealthz check passed\n")
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKubelet) url() string { return f.srv.URL + "/healthz?verbose" }

// runDisableWithWait runs a kubeadm disable through the engine with the health gate that --wait d
// builds, inside a cli app carrying waitFlags, and returns the snapshot id the run logged.
func runDisableWithWait(t *testing.T, root string, args []string, d time.Duration) (string, string, error) {
	t.Helper()
	return runDisableWithGate(t, root, args, d, 0)
}

// runDisableWithGate is runDisableWithWait with the gate's time for one kcm restart set to restart
// (0: from the manifest, 45 s for kubeadm's), the least the rollback waits for the restored kcm.
func runDisableWithGate(t *testing.T, root string, args []string, d, restart time.Duration) (string, string, error) {
	t.Helper()
	return runDisableTuned(t, root, args, d, func(g *engine.Gate) {
		if restart > 0 {
			g.Restart = restart
		}
	})
}

// runDisableTuned is runDisableWithWait with the gate --wait builds changed by tune before the run.
func runDisableTuned(t *testing.T, root string, args []string, d time.Duration, tune func(*engine.Gate)) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{
		Flags:          waitFlags(),
		Writer:         &out,
		ErrWriter:      &errb,
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			g := &globals{root: root, stateDir: "/var/lib/mirrorctl", stdout: &out, stderr: &errb}
			r, err := nodefs.New(root)
			if err != nil {
				return err
			}
			a, _ := distros.Get("kubeadm")
			env := newEnv(c, g, r)
			job := engine.Job{LockTimeout: time.Second, Gate: gate(c, g, r, "kubeadm")}
			if job.Gate != nil {
				tune(job.Gate)
			}
			_, err = engine.Run(c.Context, env, engine.Mutate(env, a, distros.Options{Root: r, Op: controllers.Disable}, job))
			return err
		},
	}
	err := app.Run(append([]string{"mirrorctl", "--wait", d.String()}, args...))
	id := ""
	if m := regexp.MustCompile(`\[snapshot\] saved (\S+) in`).FindStringSubmatch(errb.String()); m != nil {
		id = m[1]
	}
	return id, errb.String(), err
}

func TestWaitHealthyKeepsChange(t *testing.T) {
	root := newNode(t)
	kl := newFakeKubelet(t, root, func([]byte) bool { return false })
	orig, _ := os.ReadFile(filepath.Join(root, kcmPath))
	id, log, err := runDisableWithWait(t, root, []string{"--wait-url", kl.url()}, 10*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	now, _ := os.ReadFile(filepath.Join(root, kcmPath))
	if bytes.Equal(now, orig) || id == "" {
		t.Fatal("the change was not kept")
	}
	if !strings.Contains(log, "[wait] kube-controller-manager is healthy, mirroring controller not running") {
		t.Errorf("log:\n%s", log)
	}
}

func TestWaitTimeoutRollsBack(t *testing.T) {
	root := newNode(t)
	orig, _ := os.ReadFile(filepath.Join(root, kcmPath))
	origCfg, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"))
	// kcm does not start with any manifest but the original (e.g. an unknown controller name).
	kl := newFakeKubelet(t, root, func(m []byte) bool { return !bytes.Equal(m, orig) })
	start := time.Now()
	id, log, err := runDisableWithWait(t, root, []string{"--wait-url", kl.url()}, 1500*time.Millisecond)
	if err == nil {
		t.Fatalf("no error\n%s", log)
	}
	msg := err.Error()
	for _, want := range []string{"did not become healthy without the mirroring controller", "rolled back to snapshot " + id + " automatically", "healthy again with mirroring enabled"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %s: the rollback wait should end as soon as kcm is healthy", el)
	}
	now, _ := os.ReadFile(filepath.Join(root, kcmPath))
	nowCfg, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"))
	if !bytes.Equal(now, orig) || !bytes.Equal(nowCfg, origCfg) {
		t.Error("files not restored byte for byte")
	}
	if !strings.Contains(log, "[rollback] restored /etc/kubernetes/manifests/kube-controller-manager.yaml") {
		t.Errorf("log:\n%s", log)
	}
	// The auto-rollback is itself a snapshot the operator can see.
	r, _ := nodefs.New(root)
	list, err := snapshot.Open(r, "/var/lib/mirrorctl").List()
	if err != nil || len(list) != 2 || list[len(list)-1].Op != "auto-rollback" && list[0].Op != "auto-rollback" {
		t.Errorf("snapshots after auto-rollback: %v %+v", err, list)
	}
}

func TestWaitTimeoutStillUnhealthy(t *testing.T) {
	root := newNode(t)
	kl := newFakeKubelet(t, root, func([]byte) bool { return true }) // kcm down whatever the flags
	// One restart taken as 400 ms: the rollback waits that long, not a real kcm's 45 s.
	_, log, err := runDisableWithGate(t, root, []string{"--wait-url", kl.url()}, 300*time.Millisecond, 400*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "but kube-controller-manager is still not healthy") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log, "[rollback] waiting up to 400ms for the restored kube-controller-manager") {
		t.Errorf("log:\n%s", log)
	}
}

// A --wait shorter than one kcm restart: the gate says so before it waits, and the rollback still gives
// the restored kcm one restart's time. Under the real kubelet a restored kcm 1.37 needs 31–34 s (the
// kubelet's back-off for the old pod, then the old kcm's 15 s lease), so --wait 35s once left it 1–4 s
// and a shorter one ended in "rolled back, but kube-controller-manager is still not healthy".
func TestWaitRecoveryGetsOneRestart(t *testing.T) {
	root := newNode(t)
	orig, _ := os.ReadFile(filepath.Join(root, kcmPath))
	var mu sync.Mutex
	changed := false
	var restoredAt time.Time
	// kcm fails with the change; once the original is back it needs 700 ms to start (the restart).
	kl := newFakeKubelet(t, root, func(m []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if !bytes.Equal(m, orig) {
			changed = true
			return true
		}
		if !changed {
			return false
		}
		if restoredAt.IsZero() {
			restoredAt = time.Now()
		}
		return time.Since(restoredAt) < 700*time.Millisecond
	})
	_, log, err := runDisableWithGate(t, root, []string{"--wait-url", kl.url()}, 300*time.Millisecond, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "automatically") || !strings.Contains(err.Error(), "healthy again with mirroring enabled") {
		t.Fatalf("err = %v\n%s", err, log)
	}
	for _, want := range []string{
		"[gate] --wait 300ms is shorter than one kube-controller-manager restart can take here (5s",
		"[rollback] waiting up to 5s for the restored kube-controller-manager",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if now, _ := os.ReadFile(filepath.Join(root, kcmPath)); !bytes.Equal(now, orig) {
		t.Error("not rolled back")
	}
}

func TestWaitZeroSkips(t *testing.T) {
	root := newNode(t)
	kl := newFakeKubelet(t, root, func([]byte) bool { return true })
	if _, _, err := runDisableWithWait(t, root, []string{"--wait-url", kl.url()}, 0); err != nil {
		t.Fatal(err)
	}
	if kl.hits.Load() != 0 {
		t.Error("polled with --wait 0")
	}
}

// The health gate reads the leader lease with kcm's own kubeconfig: the one a static pod manifest
// names in --kubeconfig, else the distribution's.
func TestKCMKubeconfig(t *testing.T) {
	write := func(t *testing.T, root, p, data string) {
		t.Helper()
		golden.WriteFile(t, filepath.Join(root, p), []byte(data), golden.FileMode(0o600))
	}
	podYAML := func(flags ...string) string {
		return "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-controller-manager\n    command: [kube-controller-manager" +
			strings.Join(append([]string{""}, flags...), ", ") + "]\n"
	}
	for _, c := range []struct {
		name, distro string
		setup        func(t *testing.T, root string)
		want         string
	}{
		{"kubeadm: the manifest's --kubeconfig", "kubeadm", func(t *testing.T, root string) {
			golden.CopyTree(t, "../../testdata/nodes/kubeadm", root, golden.FileMode(0o600))
			write(t, root, "/etc/kubernetes/controller-manager.conf", "x")
		}, "/etc/kubernetes/controller-manager.conf"},
		{"kubeadm: the file is missing", "kubeadm", func(t *testing.T, root string) {
			golden.CopyTree(t, "../../testdata/nodes/kubeadm", root, golden.FileMode(0o600))
		}, ""},
		{"a custom --kubeconfig", "kubeadm", func(t *testing.T, root string) {
			write(t, root, distros.KubeadmManifest, podYAML("--kubeconfig=/srv/kcm/kubeconfig"))
			write(t, root, "/srv/kcm/kubeconfig", "x")
			write(t, root, "/etc/kubernetes/controller-manager.conf", "x")
		}, "/srv/kcm/kubeconfig"},
		{"a custom --kubeconfig that is missing is not replaced by the default", "kubeadm", func(t *testing.T, root string) {
			write(t, root, distros.KubeadmManifest, podYAML("--kubeconfig", "/srv/kcm/kubeconfig"))
			write(t, root, "/etc/kubernetes/controller-manager.conf", "x")
		}, ""},
		{"no --kubeconfig: kubeadm's file", "kubeadm", func(t *testing.T, root string) {
			write(t, root, distros.KubeadmManifest, podYAML())
			write(t, root, "/etc/kubernetes/controller-manager.conf", "x")
		}, "/etc/kubernetes/controller-manager.conf"},
		{"RKE2: its generated manifest's --kubeconfig", "rke2", func(t *testing.T, root string) {
			golden.CopyTree(t, "../../testdata/distros/rke2/cis-sample/root", root, golden.FileMode(0o600))
			write(t, root, "/var/lib/rancher/rke2/server/cred/controller.kubeconfig", "x")
		}, "/var/lib/rancher/rke2/server/cred/controller.kubeconfig"},
		{"k3s: the one under its data dir", "k3s", func(t *testing.T, root string) {
			write(t, root, "/etc/rancher/k3s/config.yaml", "")
			write(t, root, "/var/lib/rancher/k3s/server/cred/controller.kubeconfig", "x")
		}, "/var/lib/rancher/k3s/server/cred/controller.kubeconfig"},
		{"k0s: ccm.conf under its cert root", "k0s", func(t *testing.T, root string) {
			write(t, root, "/etc/k0s/k0s.yaml", "")
			write(t, root, "/var/lib/k0s/pki/ccm.conf", "x")
		}, "/var/lib/k0s/pki/ccm.conf"},
		{"k0s with another data dir: none found", "k0s", func(t *testing.T, root string) {
			write(t, root, "/etc/k0s/k0s.yaml", "")
			write(t, root, "/srv/k0s/pki/ccm.conf", "x")
		}, ""},
		{"MicroK8s: the one its args file names", "microk8s", func(t *testing.T, root string) {
			golden.CopyTree(t, "../../testdata/distros/microk8s/default-args/root", root, golden.FileMode(0o600))
			write(t, root, "/var/snap/microk8s/current/credentials/controller.config", "x")
		}, "/var/snap/microk8s/current/credentials/controller.config"},
		{"kind: none (the gate is refused there)", "kind", func(t *testing.T, root string) {
			write(t, root, "/etc/kubernetes/controller-manager.conf", "x")
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			c.setup(t, root)
			r, err := nodefs.New(root)
			if err != nil {
				t.Fatal(err)
			}
			if got := engine.KCMKubeconfig(r, c.distro, engine.KCMManifest(r, c.distro)); got != c.want {
				t.Errorf("kcmKubeconfig(%s) = %q, want %q", c.distro, got, c.want)
			}
		})
	}
}

// Where the gate reads kcm's lease but this node's name is unknown (no /etc/hostname under --root) it
// says so before it waits: no lease holder is then taken for another node's until kcm was seen leading.
func TestWaitUnknownNameSaysSo(t *testing.T) {
	for _, named := range []bool{false, true} {
		root := newNode(t)
		golden.WriteFile(t, filepath.Join(root, "etc/kubernetes/controller-manager.conf"), []byte("apiVersion: v1\nkind: Config\n"), golden.FileMode(0o600))
		if named {
			golden.WriteFile(t, filepath.Join(root, "etc/hostname"), []byte("cp-1\n"), golden.FileMode(0o644))
		}
		kl := newFakeKubelet(t, root, func([]byte) bool { return false })
		_, log, err := runDisableWithWait(t, root, []string{"--wait-url", kl.url()}, 10*time.Second)
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		said := strings.Contains(log, "[gate] this node's name is unknown (no /etc/hostname under "+root+")") &&
			strings.Contains(log, "until then the gate waits for it to lead in the new state")
		if said == named {
			t.Errorf("/etc/hostname present: %v; the [gate] line about the unknown name: %v\n%s", named, said, log)
		}
	}
}

// Without /etc/hostname the gate asks the kcm that runs before the write: while it leads, its leader
// lease names this node (under the kubelet the old kcm is gone within a second of the write, before
// the gate's first poll).
func TestWaitLearnsNameBeforeTheWrite(t *testing.T) {
	root := newNode(t)
	kl := newFakeKubelet(t, root, func([]byte) bool { return false })
	var reads atomic.Int64
	_, log, err := runDisableTuned(t, root, []string{"--wait-url", kl.url()}, 10*time.Second, func(g *engine.Gate) {
		g.Options.Lease = func(context.Context) (*health.Lease, error) {
			reads.Add(1)
			return &health.Lease{Holder: "vm_0c4f", Renewed: time.Now(), Duration: 15 * time.Second}, nil
		}
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if !strings.Contains(log, "[gate] this node's name is unknown (no /etc/hostname under "+root+"), but kube-controller-manager leads now as vm (its leader lease)") ||
		strings.Contains(log, "until then the gate waits") || reads.Load() == 0 {
		t.Errorf("lease read %d times; log:\n%s", reads.Load(), log)
	}
}
