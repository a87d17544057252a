package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// waitFlags are the health-gate flags of disable and enable.
func waitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "wait", Usage: "after writing, wait up to this long (e.g. 3m) for kube-controller-manager to restart healthy with the new flags; if it does not, roll back automatically and exit 1 (0: do not wait)"},
		&cli.StringFlag{Name: "wait-url", Value: health.DefaultURL, Usage: "kube-controller-manager healthz URL for --wait (TLS verification is skipped for loopback addresses only: kcm's serving cert is self-signed)"},
		&cli.BoolFlag{Name: "wait-accept-standby", Usage: "with --wait: accept a healthy kcm that is not the leader at once (a standby lists no controllers, so the new flags cannot be observed there); without it a kcm healthy but not leading is a standby once the leader lease (read with kcm's own kubeconfig: the static pod's --kubeconfig, e.g. /etc/kubernetes/controller-manager.conf, or the one k3s, k0s or MicroK8s writes for it) is another node's, or after 45 s (or half the --wait time) where the lease cannot be read; never while kcm's API server is unreachable or nobody renews the lease"},
	}
}

// waitOrRollback runs the health gate after a change that wrote snapshot id: it waits up to d for kcm
// to be healthy with mirroring in state want. If kcm is not there by the deadline it restores the
// snapshot (store must hold the lock), waits up to d again for kcm to be healthy in the old state, and
// returns an error saying what happened: the command exits 1 and the node is as before. d <= 0 skips
// the gate.
func waitOrRollback(c *cli.Context, g *globals, store *snapshot.Store, distro, id string, want bool, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	catchInterrupts(ctx)
	o := health.Options{
		URL:           c.String("wait-url"),
		Want:          want,
		Progress:      g.stderr,
		TTY:           isTerminal(g.stderr),
		AcceptStandby: c.Bool("wait-accept-standby"),
	}
	manifest := kcmManifest(store.Root(), distro)
	o.Lease, o.Hostname = kcmLease(store.Root(), g, distro, manifest)
	if manifest != nil {
		// kcm 1.23 and later list a health check per controller while they lead (its image tag says).
		o.ListsControllers = manifest.Version.AtLeast(1, 23)
	}
	err := waitFor(ctx, o, d)
	if err == nil {
		return nil
	}
	var te *health.TimeoutError
	if !errors.As(err, &te) {
		// Interrupted or misconfigured: the change stays; say how to undo it.
		return fmt.Errorf("waiting for kube-controller-manager: %v; the change is in place (undo: mirrorctl rollback %s)", interruptCause(ctx, err), id)
	}
	if id == "" {
		return fmt.Errorf("%v; nothing was written, so there is nothing to roll back", te)
	}
	g.logf("rollback", "%v: restoring snapshot %s", te, id)
	plan, m, err := store.PlanRollback(id, false)
	if err != nil {
		return fmt.Errorf("%v; automatic rollback of snapshot %s failed: %v", te, id, err)
	}
	newID, err := store.Restore(m, plan, snapshot.Info{Command: commandLine(c), ToolVersion: version, Distro: m.Distro, Op: "auto-rollback"})
	if err != nil {
		return fmt.Errorf("%v; automatic rollback of snapshot %s failed: %v", te, id, err)
	}
	for _, f := range plan {
		if f.Changed() {
			g.logf("rollback", "restored %s", f.Path)
		}
	}
	saved := ""
	if newID != "" {
		saved = fmt.Sprintf(" (the failed state is kept as snapshot %s)", newID)
	}
	o.Want = !want
	if err := waitFor(ctx, o, d); err != nil {
		return fmt.Errorf("%v; rolled back to snapshot %s%s, but kube-controller-manager is still not healthy: %v; check `crictl ps -a` and the kubelet log", te, id, saved, err)
	}
	return fmt.Errorf("%v; rolled back to snapshot %s automatically%s and kube-controller-manager is healthy again with mirroring %s", te, id, saved, change.StateOf(!want))
}

func waitFor(ctx context.Context, o health.Options, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return health.Wait(ctx, o)
}

// kcmKubeconfig returns kcm's own kubeconfig on this node: the health gate reads the leader lease with
// it, the server and credentials kcm itself uses, so "unreachable" means unreachable for kcm. A static
// pod kcm (kubeadm, RKE2, hand-made kubeadm-style control planes) names it in --kubeconfig; k3s, k0s and
// MicroK8s run kcm themselves with one they write: k3s <data-dir>/cred/controller.kubeconfig, k0s
// <cert-root>/ccm.conf (its controllermanager component), MicroK8s ${SNAP_DATA}/credentials/
// controller.config (its default args file). "" where none applies or the file is absent (a custom
// data dir), and the gate judges a standby by time.
// m is kcmManifest's result.
func kcmKubeconfig(root nodefs.Root, distro string, m *manifests.Manifest) string {
	path := ""
	if m != nil {
		path, _ = m.Flag("kubeconfig")
	}
	if path == "" {
		path = map[string]string{
			"kubeadm":  "/etc/kubernetes/controller-manager.conf",
			"k3s":      "/var/lib/rancher/k3s/server/cred/controller.kubeconfig",
			"rke2":     "/var/lib/rancher/rke2/server/cred/controller.kubeconfig",
			"k0s":      "/var/lib/k0s/pki/ccm.conf",
			"microk8s": "/var/snap/microk8s/current/credentials/controller.config",
		}[distro]
	}
	if path == "" || !root.Exists(path) {
		return ""
	}
	return path
}

// kcmManifest returns this node's kcm static pod manifest where the distribution has one (kubeadm,
// RKE2), parsed; nil otherwise or when it does not parse.
func kcmManifest(root nodefs.Root, distro string) *manifests.Manifest {
	p := map[string]string{"kubeadm": distros.KubeadmManifest, "rke2": distros.RKE2PodManifest}[distro]
	if p == "" {
		return nil
	}
	f, err := root.ReadFile(p, true)
	if err != nil || !f.Exists {
		return nil
	}
	m, err := manifests.Parse(f.Data)
	if err != nil {
		return nil
	}
	return m
}

// kcmLease returns the health gate's leader-lease reader and this node's hostname, or nil where kcm's
// kubeconfig is not found (the gate then judges a standby by time alone).
func kcmLease(root nodefs.Root, g *globals, distro string, m *manifests.Manifest) (func(context.Context) (*health.Lease, error), string) {
	kubeconfig := kcmKubeconfig(root, distro, m)
	if kubeconfig == "" {
		return nil, ""
	}
	hostname := planfile.ReadIdentity(root).Hostname
	if g.root == "/" || g.root == "" {
		hostname, _ = os.Hostname() // what kcm puts in its lease identity
	}
	var client *cluster.Client
	return func(ctx context.Context) (*health.Lease, error) {
		if client == nil {
			c, err := cluster.Load(root, kubeconfig)
			if err != nil {
				return nil, err
			}
			client = c
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		l, err := client.KCMLease(ctx)
		switch {
		case err == nil:
			return l, nil
		case errors.Is(err, cluster.ErrNoLease):
			return nil, nil
		case cluster.IsUnreachable(err):
			return nil, fmt.Errorf("%s: %w: %v", client.Host, health.ErrAPIUnreachable, err)
		}
		return nil, err
	}, hostname
}
