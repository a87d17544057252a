package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWaitStandby proves the leader-lease side of the health gate (`--wait`) with real kube-apiserver
// and kube-controller-manager 1.37 processes, kcm's leader election on:
//
//   - lease_elsewhere: another node holds kcm's lease and keeps renewing it, so the kcm the kubelet
//     restarts from the edited manifest is a standby. `disable --wait` accepts it from the lease, read
//     with kcm's own kubeconfig, well before the 45 s grace, and says who leads.
//   - apiserver_unreachable: kcm's kubeconfig names a port nobody listens on, so kcm can never lead.
//     `disable --wait` does not take it for a standby when the grace is over: it times out, rolls the
//     change back, and says the API server is unreachable.
func TestWaitStandby(t *testing.T) {
	kcm137 := bin(t, set137, "kube-controller-manager")
	mirrorctlBin(t)
	c := newCluster(t)
	sub := func(name string, f func(t *testing.T)) { c.run(t, name, f) }
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// A node root of its own, with kcm's kubeconfig and certificates, and /etc/hostname as kcm (which
	// runs on this machine) puts it in its lease identity.
	node := func(t *testing.T) (root, manifest string) {
		root = t.TempDir()
		copyFile(t, filepath.Join(c.root, "etc/kubernetes/controller-manager.conf"), filepath.Join(root, "etc/kubernetes/controller-manager.conf"))
		copyTree(t, filepath.Join(c.root, "etc/kubernetes/pki"), filepath.Join(root, "etc/kubernetes/pki"))
		writeFile(t, filepath.Join(root, "etc/hostname"), []byte(hostname+"\n"), 0o644)
		manifest = filepath.Join(root, nodeManifest)
		copyFile(t, repoFile("testdata/kubeadm/v1.37/kube-controller-manager.yaml"), manifest)
		return root, manifest
	}

	sub("lease_elsewhere", func(t *testing.T) {
		root, manifest := node(t)
		const other = "cp-other-node_0b5e"
		holdLease(t, c, other)
		k := startMiniKubeletWith(t, c, kcm137, manifest, true)
		defer k.logEvents(t)
		defer k.stop()
		k.use(c)
		waitStandby(t, c, k)
		before := readFile(t, manifest)
		r := runMirrorctl(t, root, "-o", "json", "disable", "--wait", "90s", "--wait-url", k.url())
		took := r.exitAt.Sub(r.startAt)
		t.Logf("mirrorctl exited %d after %s; stderr:\n%s", r.code, took.Round(time.Millisecond), r.stderr)
		if r.code != 0 {
			t.Fatalf("disable --wait on a standby: exit %d, want 0", r.code)
		}
		if readFile(t, manifest) == before {
			t.Fatal("the manifest is unchanged")
		}
		if want := "a standby: the leader lease is held by cp-other-node"; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
		if took >= 40*time.Second {
			t.Errorf("took %s: the standby was accepted by the grace, not the lease", took)
		}
		// The kcm that was running when mirrorctl returned was started from the edited manifest.
		starts, ok := k.current()
		if !ok || string(starts[len(starts)-1].manifest) == before {
			t.Errorf("mirrorctl returned before the kubelet restarted kcm from the change")
		}
	})

	sub("apiserver_unreachable", func(t *testing.T) {
		root, manifest := node(t)
		conf := filepath.Join(root, "etc/kubernetes/controller-manager.conf")
		dead := fmt.Sprintf("https://127.0.0.1:%d", freePorts(t, 1)[0])
		b := regexp.MustCompile(`server: \S+`).ReplaceAll([]byte(readFile(t, conf)), []byte("server: "+dead))
		writeFile(t, conf, b, 0o600)
		k := startMiniKubeletWith(t, c, kcm137, manifest, true)
		defer k.logEvents(t)
		defer k.stop()
		k.use(c)
		before := readFile(t, manifest)
		const wait = 12 * time.Second // the grace is half of it
		r := runMirrorctl(t, root, "disable", "--wait", wait.String(), "--wait-url", k.url())
		t.Logf("mirrorctl exited %d after %s; stderr:\n%s", r.code, r.exitAt.Sub(r.startAt).Round(time.Millisecond), r.stderr)
		if r.code != 1 {
			t.Fatalf("disable --wait with kcm's API server unreachable: exit %d, want 1", r.code)
		}
		if !strings.Contains(r.stderr, "[wait] kube-controller-manager's API server is unreachable with its kubeconfig") {
			t.Errorf("mirrorctl never said kcm's API server is unreachable")
		}
		last := lastNonEmptyLine(r.stderr)
		for _, want := range []string{"unreachable with its kubeconfig", dead, "rolled back to snapshot"} {
			if !strings.Contains(last, want) {
				t.Errorf("the error line lacks %q: %s", want, last)
			}
		}
		if got := readFile(t, manifest); got != before {
			t.Errorf("the manifest was not rolled back:\n%s", got)
		}
	})
}

// holdLease makes holder kcm's leader: it creates (or takes over) kube-system/kube-controller-manager
// and renews it every 2 s until the test ends, as a kcm on another control-plane node would.
func holdLease(t *testing.T, c *cluster, holder string) {
	t.Helper()
	leases := c.client.CoordinationV1().Leases("kube-system")
	dur := int32(15)
	renew := func(ctx context.Context) error {
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Get(ctx, "kube-controller-manager", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-controller-manager"},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	}
	if err := renew(context.Background()); err != nil {
		t.Fatalf("lease for %s: %v", holder, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
				_ = renew(ctx) // a conflict with kcm's own attempt is retried at the next tick
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitStandby waits until kcm answers healthy without leading, and checks it stays so: another node
// holds the lease.
func waitStandby(t *testing.T, c *cluster, k *miniKubelet) {
	t.Helper()
	client := healthClient()
	cond := func() (bool, error) {
		s := probeHealth(client, k.url())
		return s.err == nil && !s.leading, s
	}
	waitFor(t, "kcm healthy and standing by", startTimeout, []*proc{c.etcd, c.api}, cond)
	c.holdsFor("kcm stays a standby", 3*time.Second, func() (bool, string) {
		ok, s := cond()
		return ok, s.Error()
	})
}
