package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "report whether mirroring is on or off in each target file, and whether the files agree",
		Description: `Reads every target file and prints, per file, the effective --controllers value and whether the
EndpointSlice mirroring controller and the Endpoints controller run with it. "mixed" means the files
disagree (on kubeadm, the manifest would be regenerated from the ClusterConfiguration at the next
upgrade). Writes nothing.

Examples:
   mirrorctl status
   mirrorctl -o json status --kubeadm-config /etc/kubernetes/kubeadm-config.yaml`,
		Flags: append(targetFlags(false), fileFlag(),
			exitCodeFlag("exit 3 when mirroring is mixed (the files, or the live ClusterConfiguration, disagree)"),
			kubeconfigFlag("also report the live ClusterConfiguration (ConfigMap kube-system/kubeadm-config) through this kubeconfig `FILE`"),
			timeoutFlag(2*time.Minute),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("status takes no arguments (got %q)", c.Args().First())
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			var a distros.Adapter
			var o distros.Options
			if filesGiven(c) {
				a, o, err = filesOptions(c, g, "")
			} else {
				a, o, err = options(c, g, "")
			}
			if err != nil {
				return err
			}
			var live func() (change.FileStatus, error)
			if wantsCluster(c) {
				cl, err := liveCluster(c, g)
				if err != nil {
					return err
				}
				o.Node = engine.NodeInfo(cl, o.Root)
				live = func() (change.FileStatus, error) { return liveStatus(c, g) }
			}
			r, err := engine.Status(a, o, live)
			if err != nil {
				return err
			}
			if err := printStatus(g, r); err != nil {
				return err
			}
			if c.Bool("exit-code") && (r.Mirroring == change.Mixed || r.Endpoints == change.Mixed) {
				return &exitCode{Code: exitFindings}
			}
			return nil
		},
	}
}

func printStatus(g *globals, r *engine.StatusResult) error {
	if g.json {
		return writeJSON(g.stdout, r)
	}
	for _, w := range r.Warnings {
		g.logf("warning", "%s", w)
	}
	return r.WriteText(g.stdout)
}

func distrosCommand() *cli.Command {
	return &cli.Command{
		Name:  "distros",
		Usage: "list the distribution adapters, whether each is detected under --root, and its target files",
		Action: func(c *cli.Context) error {
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			o, err := baseOptions(c, g, "")
			if err != nil {
				return err
			}
			rows := engine.Distros(o)
			if g.json {
				return writeJSON(g.stdout, rows)
			}
			return engine.WriteDistros(g.stdout, rows)
		},
		Flags: targetFlags(false),
	}
}

// liveStatus reads the live ClusterConfiguration through --kubeconfig.
func liveStatus(c *cli.Context, g *globals) (change.FileStatus, error) {
	client, err := clusterClient(c, g)
	if err != nil {
		return change.FileStatus{}, err
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	return client.KubeadmConfigStatus(ctx)
}
