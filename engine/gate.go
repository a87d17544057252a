package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
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
	// Restart is how long one kcm restart can take on this node (see RestartTime): after a failed gate
	// the restored kcm gets at least this long, whatever Timeout is. 0: Run sets it from kcm's
	// manifest (tests set it).
	Restart time.Duration
	// restartWhy says what Restart is made of, for the log.
	restartWhy string
	// learned: Options.Hostname came from the lease while this node's kcm led (learnName).
	learned bool

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
	restart, why := g.Restart, g.restartWhy
	if restart <= 0 {
		restart, why = RestartTime(nil)
	}
	if why != "" {
		why = ": " + why
	}
	if g.Timeout < restart {
		env.logf("gate", "--wait %s is shorter than one kube-controller-manager restart can take here (%s%s): a good change may be rolled back; the rollback waits at least %s for the restored kcm", g.Timeout, restart, why, restart)
	}
	if g.Options.Lease != nil && g.Options.Hostname == "" && !g.learned {
		then := "until then the gate waits for it to lead in the new state"
		if !g.Options.ListsControllers {
			then = "kcm before 1.23 lists no controllers even as the leader, so until then the grace alone takes it for a standby"
		}
		env.logf("gate", "this node's name is unknown (no %s under %s), and kcm's leader lease names a node: a lease holder may be this node's own kcm, so no lease holder is taken for another node until this kcm was seen leading (the lease then names this node); %s", planfile.HostnamePath, g.root.Dir, then)
	}
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
	// The restored kcm restarts like any other: the operator's --wait may be shorter than that, and a
	// recovery cut short leaves the node reported broken while it is coming back.
	recovery := max(g.Timeout, restart)
	if recovery > g.Timeout {
		env.logf("rollback", "waiting up to %s for the restored kube-controller-manager, one restart's time%s", recovery, why)
	}
	if err := waitFor(ctx, o, recovery); err != nil {
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
	if g.Options.Lease == nil { // one set by the caller (tests) stays
		g.Options.Lease, g.Options.Hostname = LeaseReader(g.root, KCMKubeconfig(g.root, g.distro, manifest))
	}
	if g.Restart <= 0 {
		g.Restart, g.restartWhy = RestartTime(manifest)
	}
	if manifest != nil {
		g.Options.ListsControllers = manifest.Version.AtLeast(1, 23)
	}
}

// learnName asks, before the write, the kcm that runs now for this node's name where no file has it:
// while it leads, kcm's leader lease names this node, the identity that tells this node's own new kcm
// from another node's, which would otherwise take no standby (see health.judgeLease).
func (g *Gate) learnName(ctx context.Context, env *Env) {
	if g.Timeout <= 0 || g.Options.Lease == nil || g.Options.Hostname != "" {
		return
	}
	if h := health.LeaderName(ctx, g.Options); h != "" {
		g.Options.Hostname, g.learned = h, true
		env.logf("gate", "this node's name is unknown (no %s under %s), but kube-controller-manager leads now as %s (its leader lease): that is this node's name in the lease", planfile.HostnamePath, g.root.Dir, h)
	}
}

// What one kcm restart is made of beside its leader lease. The kubelet starts a static pod's new
// version only once the old one has terminated, re-checking with its pod workers' back-off: 10 s plus
// up to 50 % jitter (k8s.io/kubernetes pkg/kubelet: backOffPeriod, workerBackOffPeriodJitterFactor;
// 12–16 s observed). kcm then starts, waits out the old kcm's lease (kcm 1.37 does not release it on
// exit), takes it at its next retry, and syncs its informers before /healthz lists the controllers.
const (
	kubeletRestartBackOff = 15 * time.Second
	kcmStartMargin        = 13 * time.Second
	// kcm's leader election defaults (k8s.io/component-base config/v1alpha1 defaults.go).
	defaultLeaseDuration = 15 * time.Second
	defaultRetryPeriod   = 2 * time.Second
)

// RestartTime is how long one kcm restart can take under the kubelet, from kcm's manifest m (nil: kcm's
// defaults): the kubelet's back-off for the old pod, then, with leader election (--leader-elect, on by
// default), the lease duration and one retry period (--leader-elect-lease-duration,
// --leader-elect-retry-period), plus a margin for kcm's start. 45 s with the defaults; a restored kcm
// took 31–34 s under the real kubelet. It also says what it is made of.
func RestartTime(m *manifests.Manifest) (time.Duration, string) {
	lease, retry := defaultLeaseDuration, defaultRetryPeriod
	elect := true
	if m != nil {
		if v, ok := m.Flag("leader-elect"); ok {
			if b, err := strconv.ParseBool(v); err == nil {
				elect = b
			}
		}
		lease = durationFlag(m, "leader-elect-lease-duration", lease)
		retry = durationFlag(m, "leader-elect-retry-period", retry)
	}
	if !elect {
		d := kubeletRestartBackOff + kcmStartMargin
		return d, fmt.Sprintf("the kubelet's back-off %s + %s for kcm to start; no leader election", kubeletRestartBackOff, kcmStartMargin)
	}
	d := kubeletRestartBackOff + lease + retry + kcmStartMargin
	return d, fmt.Sprintf("the kubelet's back-off %s + kcm's leader lease %s + retry %s + %s for kcm to start", kubeletRestartBackOff, lease, retry, kcmStartMargin)
}

// durationFlag is kcm's duration flag --name from m (a Go duration, as pflag parses it), def when unset
// or not one kcm would accept.
func durationFlag(m *manifests.Manifest, name string, def time.Duration) time.Duration {
	v, ok := m.Flag(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return def
	}
	return d
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
