package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/health"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// waitFlags are the health-gate flags of disable and enable.
func waitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "wait", Usage: "after writing, wait up to `DURATION` (e.g. 3m) for kube-controller-manager to restart healthy with the new flags; if it does not, roll back automatically, wait for the restored kcm (at least one restart: 45 s with kubeadm's flags) and exit 1 (0: do not wait)"},
		&cli.StringFlag{Name: "wait-url", Value: health.DefaultURL, Usage: "kube-controller-manager healthz `URL` for --wait (TLS verification is skipped for loopback addresses only: kcm's serving cert is self-signed)"},
		&cli.BoolFlag{Name: "wait-accept-standby", Usage: "with --wait: accept a healthy kcm that is not the leader at once (a standby lists no controllers, so the new flags cannot be observed there); without it a kcm healthy but not leading is a standby once the leader lease (read with kcm's own kubeconfig: the static pod's --kubeconfig, e.g. /etc/kubernetes/controller-manager.conf, or the one k3s, k0s or MicroK8s writes for it) is another node's, or after 45 s (or half the --wait time) where the lease cannot be read; never while kcm's API server is unreachable or nobody renews the lease"},
	}
}

// gate builds the health gate of a changing command from its --wait flags; nil without --wait.
func gate(c *cli.Context, g *globals, root nodefs.Root, distro string) *engine.Gate {
	if c.Duration("wait") <= 0 {
		return nil
	}
	return engine.NewGate(root, distro, c.Duration("wait"), health.Options{
		URL:           c.String("wait-url"),
		Progress:      g.stderr,
		TTY:           cliflags.IsTerminal(g.stderr),
		AcceptStandby: c.Bool("wait-accept-standby"),
	})
}
