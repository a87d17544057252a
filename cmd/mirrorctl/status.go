package main

import (
	"fmt"
	"text/tabwriter"
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
		Flags: append(targetFlags(false),
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
			a, o, err := options(c, g, "")
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
	fmt.Fprintf(g.stdout, "distro: %s\nmirroring: %s\nendpoints controller: %s\n\n", r.Distro, r.Mirroring, r.Endpoints)
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tKIND\tVERSION\tMIRRORING\tENDPOINTS\tCONTROLLERS")
	for _, f := range r.Files {
		v := f.Controllers
		if v == "" {
			v = "(not set)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Path, f.Kind, f.Version, f.Mirroring, f.Endpoints, v)
	}
	return tw.Flush()
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
			type row struct {
				Name     string           `json:"name"`
				Detected bool             `json:"detected"`
				Evidence []string         `json:"evidence"`
				Targets  []distros.Target `json:"targets"`
				Error    string           `json:"error,omitempty"`
			}
			var rows []row
			for _, ad := range distros.All() {
				ev := ad.Detect(o.Root)
				r := row{Name: ad.Name(), Detected: len(ev) > 0, Evidence: append([]string{}, ev...), Targets: []distros.Target{}}
				if t, err := ad.Targets(o); err != nil {
					r.Error = err.Error()
				} else if t != nil {
					r.Targets = t
				}
				rows = append(rows, r)
			}
			if g.json {
				return writeJSON(g.stdout, rows)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DISTRO\tDETECTED\tTARGETS")
			for _, r := range rows {
				var ts []string
				for _, t := range r.Targets {
					ts = append(ts, t.Path)
				}
				det := "no"
				if r.Detected {
					det = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, det, joinOr(ts, "-"))
			}
			return tw.Flush()
		},
		Flags: targetFlags(false),
	}
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
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
