package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// waitFlags are the health-gate flags of disable and enable.
func waitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "wait", Usage: "after writing, wait up to this long (e.g. 3m) for kube-controller-manager to restart healthy with the new flags; if it does not, roll back automatically and exit 1 (0: do not wait)"},
		&cli.StringFlag{Name: "wait-url", Value: health.DefaultURL, Usage: "kube-controller-manager healthz URL for --wait (TLS verification is skipped for loopback addresses only: kcm's serving cert is self-signed)"},
		&cli.BoolFlag{Name: "wait-accept-standby", Usage: "with --wait: accept a healthy kcm that is not the leader at once (a standby lists no controllers, so the new flags cannot be observed there); without it a kcm healthy but not leading is a standby once the leader lease (read with kcm's own kubeconfig: the static pod's --kubeconfig, e.g. /etc/kubernetes/controller-manager.conf, or the one k3s, k0s or MicroK8s writes for it) is another node's, or after 45 s (or half the --wait time) where the lease cannot be read; never while kcm's API server is unreachable or nobody renews the lease"},
	}
}

// gate builds the health gate of a changing command from its --wait flags; nil without --wait. It
// watches this node's kcm, through the lease kcm's own kubeconfig reads.
func gate(c *cli.Context, g *globals, root nodefs.Root, distro string) *engine.Gate {
	if c.Duration("wait") <= 0 {
		return nil
	}
	o := health.Options{
		URL:           c.String("wait-url"),
		Progress:      g.stderr,
		TTY:           isTerminal(g.stderr),
		AcceptStandby: c.Bool("wait-accept-standby"),
	}
	manifest := kcmManifest(root, distro)
	o.Lease, o.Hostname = engine.LeaseReader(root, kcmKubeconfig(root, distro, manifest))
	if manifest != nil {
		// kcm 1.23 and later list a health check per controller while they lead (its image tag says).
		o.ListsControllers = manifest.Version.AtLeast(1, 23)
	}
	return &engine.Gate{Timeout: c.Duration("wait"), Options: o, Interrupted: interruptCause}
}

// kcmKubeconfig returns kcm's own kubeconfig on this node: the health gate reads the leader lease with
// it, the server and credentials kcm itself uses, so "unreachable" means unreachable for kcm. A static
// pod kcm (kubeadm, RKE2, hand-made kubeadm-style control planes) names it in --kubeconfig; elsewhere
// the distribution's adapter knows the one kcm gets (distros.Layout). "" where none applies or the
// file is absent (a custom data dir), and the gate judges a standby by time.
// m is kcmManifest's result.
func kcmKubeconfig(root nodefs.Root, distro string, m *manifests.Manifest) string {
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

// kcmManifest returns this node's kcm static pod manifest where the distribution has one (kubeadm,
// RKE2), parsed; nil otherwise or when it does not parse.
func kcmManifest(root nodefs.Root, distro string) *manifests.Manifest {
	p := kcmLayout(distro).KCMManifest
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

// kcmLayout is the distribution's node layout; none for a name no adapter has.
func kcmLayout(distro string) distros.Layout {
	a, err := distros.Get(distro)
	if err != nil {
		return distros.Layout{}
	}
	return a.Layout()
}
