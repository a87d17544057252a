package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Gate is the health gate (--wait): after the write, kube-controller-manager must come back healthy
// with mirroring in the planned state within Timeout, or the change is rolled back.
type Gate struct {
	Timeout time.Duration
	// Options are the health check's; Want is set from the plan.
	Options health.Options

	// The node and distribution whose kcm NewGate's gate watches: Run sets the lease reader and the
	// per-controller checks from the kcm manifest its replan read ("" distro: a Gate built by hand).
	root   nodefs.Root
	distro string
}

// run waits up to g.Timeout for kcm to be healthy with mirroring as plan p leaves it. If kcm is not
// there by the deadline it restores snapshot id (the caller holds the lock), waits again for kcm to be
// healthy in the old state, and returns an error saying what happened: the command exits 1 and the node
// is as before.
func (g *Gate) run(ctx context.Context, env *Env, store *snapshot.Store, p *change.Plan, id string) error {
	if g.Timeout <= 0 {
		return nil
	}
	CatchInterrupts(ctx)
	want := p.Mirroring == change.Enabled
	o := g.Options
	o.Want = want
	if p.Endpoints != "" {
		e := p.Endpoints == change.Enabled
		o.Endpoints = &e
	}
	err := waitFor(ctx, o, g.Timeout)
	if err == nil {
		return nil
	}
	var te *health.TimeoutError
	if !errors.As(err, &te) {
		// Interrupted or misconfigured: the change stays; say how to undo it.
		return fmt.Errorf("waiting for kube-controller-manager: %v; the change is in place (undo: %s)", InterruptCause(ctx, err), env.RollbackCommand(id))
	}
	if id == "" {
		return fmt.Errorf("%v; nothing was written, so there is nothing to roll back", te)
	}
	env.logf("rollback", "%v: restoring snapshot %s", te, id)
	plan, m, err := store.PlanRollback(id, false)
	if err != nil {
		return fmt.Errorf("%v; automatic rollback of snapshot %s failed: %v", te, id, err)
	}
	newID, err := store.Restore(m, plan, env.info(m.Distro, "auto-rollback"))
	if err != nil {
		return fmt.Errorf("%v; automatic rollback of snapshot %s failed: %v", te, id, err)
	}
	for _, f := range plan {
		if f.Changed() {
			env.logf("rollback", "restored %s", f.Path)
		}
	}
	saved := ""
	if newID != "" {
		saved = fmt.Sprintf(" (the failed state is kept as snapshot %s)", newID)
	}
	o.Want = !want
	o.Endpoints = nil // the state restored is the one before, whatever it was
	if err := waitFor(ctx, o, g.Timeout); err != nil {
		return fmt.Errorf("%v; rolled back to snapshot %s%s, but kube-controller-manager is still not healthy: %v; check `crictl ps -a` and the kubelet log", te, id, saved, err)
	}
	return fmt.Errorf("%v; rolled back to snapshot %s automatically%s and kube-controller-manager is healthy again with mirroring %s", te, id, saved, change.StateOf(!want))
}

func waitFor(ctx context.Context, o health.Options, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return health.Wait(ctx, o)
}

// NewGate is the health gate for a change on this node (root) of distribution distro: it watches kcm
// through the leader lease that kcm's own kubeconfig reads, and, for kcm 1.23 and later (its image
// tag says), the per-controller health checks a leader lists.
func NewGate(root nodefs.Root, distro string, timeout time.Duration, o health.Options) *Gate {
	return &Gate{Timeout: timeout, Options: o, root: root, distro: distro}
}

// prepare sets what the gate needs of kcm from the replan's read set: the manifest the plan parsed
// (read here if the planner did not read it), not a parse of its own.
func (g *Gate) prepare(reads *distros.Reads) {
	if g.distro == "" {
		return
	}
	manifest := kcmManifest(reads, g.distro)
	g.Options.Lease, g.Options.Hostname = LeaseReader(g.root, KCMKubeconfig(g.root, g.distro, manifest))
	if manifest != nil {
		g.Options.ListsControllers = manifest.Version.AtLeast(1, 23)
	}
}

// KCMKubeconfig returns kcm's own kubeconfig on this node: the health gate reads the leader lease with
// it, the server and credentials kcm itself uses, so "unreachable" means unreachable for kcm. A static
// pod kcm (kubeadm, RKE2, hand-made kubeadm-style control planes) names it in --kubeconfig; elsewhere
// the distribution's adapter knows the one kcm gets (distros.Layout). "" where none applies or the
// file is absent (a custom data dir), and the gate judges a standby by time.
// m is KCMManifest's result.
func KCMKubeconfig(root nodefs.Root, distro string, m *manifests.Manifest) string {
	path := ""
	if m != nil {
		path, _ = m.Flag("kubeconfig")
	}
	if path == "" {
		path = kcmLayout(distro).KCMKubeconfig
	}
	if path == "" || !root.Exists(path) {
		return ""
	}
	return path
}

// KCMManifest returns this node's kcm static pod manifest where the distribution has one (kubeadm,
// RKE2), parsed; nil otherwise or when it does not parse.
func KCMManifest(root nodefs.Root, distro string) *manifests.Manifest {
	return kcmManifest(distros.NewReads(root), distro)
}

func kcmManifest(reads *distros.Reads, distro string) *manifests.Manifest {
	p := kcmLayout(distro).KCMManifest
	if p == "" {
		return nil
	}
	f, err := reads.File(p, true)
	if err != nil || !f.Exists {
		return nil
	}
	m, err := reads.Manifest(p)
	if err != nil {
		return nil
	}
	return m
}

// kcmLayout is the distribution's node layout; none for a name no adapter has.
func kcmLayout(distro string) distros.Layout {
	a, err := distros.Get(distro)
	if err != nil {
		return distros.Layout{}
	}
	return a.Layout()
}

// LeaseReader returns the health gate's reader of kcm's leader lease, through kcm's own kubeconfig
// (node path) so that "unreachable" means unreachable for kcm, and this node's hostname as kcm puts it
// in its lease identity. It returns nil where kubeconfig is "" (the gate then judges a standby by
// time alone).
func LeaseReader(root nodefs.Root, kubeconfig string) (func(context.Context) (*health.Lease, error), string) {
	if kubeconfig == "" {
		return nil, ""
	}
	hostname := planfile.ReadIdentity(root).Hostname
	if root.Dir == "/" {
		hostname, _ = os.Hostname()
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
