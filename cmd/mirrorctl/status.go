package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

type statusResult struct {
	Distro    string              `json:"distro"`
	Mirroring string              `json:"mirroring"`
	Agree     bool                `json:"agree"`
	Files     []change.FileStatus `json:"files"`
	Warnings  []string            `json:"warnings"`
	// Interrupted is a change that died between its files (null when none): see snapshot.Journal.
	Interrupted *snapshot.Journal `json:"interrupted"`
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "report whether mirroring is on or off in each target file, and whether the files agree",
		Description: `Reads every target file and prints, per file, the effective --controllers value and whether the
EndpointSlice mirroring controller runs with it. "mixed" means the files disagree (on kubeadm, the
manifest would be regenerated from the ClusterConfiguration at the next upgrade). Writes nothing.

Examples:
   mirrorctl status
   mirrorctl -o json status --kubeadm-config /etc/kubernetes/kubeadm-config.yaml`,
		Flags: append(targetFlags(),
			kubeconfigFlag("also report the live ClusterConfiguration (ConfigMap kube-system/kubeadm-config) through this kubeconfig (under --root)"),
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
			st, err := a.Status(o)
			if err != nil {
				return err
			}
			if c.String("kubeconfig") != "" {
				fs, err := liveStatus(c, g)
				if err != nil {
					return err
				}
				st.Files = append(st.Files, fs)
				st.Summarize()
				if st.Mirroring == change.Mixed {
					st.Warnings = append(st.Warnings, "the node and the live ClusterConfiguration disagree: `kubeadm upgrade` and `kubeadm join --control-plane` regenerate the manifest from the ConfigMap")
				}
			}
			if st.Mirroring == "" {
				st.Summarize()
			}
			r := statusResult{Distro: st.Distro, Mirroring: st.Mirroring, Agree: st.Mirroring != change.Mixed,
				Files: st.Files, Warnings: append([]string{}, st.Warnings...)}
			if r.Interrupted, err = snapshot.Interrupted(o.Root); err != nil {
				r.Warnings = append(r.Warnings, "cannot tell whether a change was interrupted: "+err.Error())
			} else if r.Interrupted != nil {
				r.Warnings = append(r.Warnings, r.Interrupted.Advice())
			}
			if r.Files == nil {
				r.Files = []change.FileStatus{}
			}
			if g.json {
				return writeJSON(g.stdout, r)
			}
			for _, w := range r.Warnings {
				g.logf("warning", "%s", w)
			}
			fmt.Fprintf(g.stdout, "distro: %s\nmirroring: %s\n\n", r.Distro, r.Mirroring)
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "FILE\tKIND\tVERSION\tMIRRORING\tCONTROLLERS")
			for _, f := range r.Files {
				v := f.Controllers
				if v == "" {
					v = "(not set)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Path, f.Kind, f.Version, f.Mirroring, v)
			}
			return tw.Flush()
		},
	}
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
		Flags: targetFlags(),
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

// liveStatus reads the live ClusterConfiguration the way the files are read: it is what kubeadm
// regenerates the manifest from, so status must show it when it can reach it.
func liveStatus(c *cli.Context, g *globals) (change.FileStatus, error) {
	client, err := clusterClient(c, g)
	if err != nil {
		return change.FileStatus{}, err
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	lc, err := client.PlanKubeadmConfig(ctx, func(b []byte) ([]byte, bool, error) { return b, false, nil })
	if err != nil {
		return change.FileStatus{}, err
	}
	path := cluster.LivePath
	st, err := patches.ReadKubeadmConfig([]byte(lc.Before))
	if err != nil {
		return change.FileStatus{}, fmt.Errorf("%s: %w", path, err)
	}
	fs := change.FileStatus{Path: path, Kind: cluster.KindLive, Mirroring: change.StateOf(st.Mirroring),
		Controllers: controllers.Join(st.Controllers), Version: st.Version.String()}
	if !st.Set {
		fs.Note = "controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
	}
	return fs, nil
}
