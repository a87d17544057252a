package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/lint"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

func lintCommand() *cli.Command {
	return &cli.Command{
		Name:  "lint",
		Usage: "find what would break kube-controller-manager or undo a change on this node",
		Description: `Reads the static pod folder and the kubeadm configuration and reports, with file and line:
   - an EndpointSliceMirroring feature gate on any component (there is no such gate: the component
     will not start; --fix removes it from static pod manifests, with a diff and a snapshot like any
     change), also in kubeadm, k3s, RKE2, MicroK8s and k0s configs (reported, fixed by hand)
   - duplicate keys in a static pod manifest (the kubelet uses the last one, most tools the first)
   - files in /etc/kubernetes/manifests (and the RKE2/k3s static pod folders) the kubelet would run
     that are not real manifests (*.bak, *.orig, *~, Ansible backups, …) or define the same pod twice
   - a kubeadm ClusterConfiguration that would regenerate different --controllers at the next upgrade
   - broken --controllers entries (spaces, empty entries) and names unknown to the node's version
   - notes on what reads EndpointSlices when mirroring is off (1.34+ APIServices, 1.37+ services/proxy)

Exit status: 0 nothing found (notes do not count), 3 findings, 1 error. With --fix the status is
that of the findings left after the fix.

Examples:
   mirrorctl lint
   mirrorctl lint --fix --dry-run
   mirrorctl -o json lint --fix`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "kubeadm-config", TakesFile: true, Usage: "kubeadm config `FILE` or exported kubeadm-config ConfigMap to check (repeatable; default: /etc/kubernetes/kubeadm-config.yaml when present)"},
			&cli.StringFlag{Name: "manifests-dir", Value: distros.KubeadmManifestsDir, TakesFile: true, Usage: "static pod `DIR`"},
			&cli.BoolFlag{Name: "fix", Usage: "remove EndpointSliceMirroring feature gates (snapshot first, atomic writes)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "with --fix: print the diff and write nothing (no snapshot, no lock, no state dir)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			forceFlag(),
			&cli.StringFlag{Name: "save-plan", TakesFile: true, Usage: "with --fix --dry-run: save the fix as a plan to `FILE` (where you are: relative to the working directory, never under --root) for mirrorctl apply-plan FILE"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("lint takes no arguments (got %q)", c.Args().First())
			}
			if c.Bool("dry-run") && !c.Bool("fix") {
				return usageErr("lint: --dry-run goes with --fix")
			}
			if c.Bool("force") && !c.Bool("fix") {
				return usageErr("lint: --force goes with --fix")
			}
			if c.String("save-plan") != "" && !c.Bool("dry-run") {
				return usageErr("lint: --save-plan goes with --fix --dry-run")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			return runLint(c, g)
		},
	}
}

func runLint(c *cli.Context, g *globals) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	o := lint.Options{ManifestsDir: c.String("manifests-dir")}
	if c.IsSet("manifests-dir") {
		if o.ManifestsDir, err = g.nodeArg(root, "manifests-dir", o.ManifestsDir); err != nil {
			return err
		}
	}
	for _, p := range c.StringSlice("kubeadm-config") {
		n, err := g.nodeArg(root, "kubeadm-config", p)
		if err != nil {
			return err
		}
		o.KubeadmConfigs = append(o.KubeadmConfigs, n)
	}
	var save func(*change.Plan) error
	if path := c.String("save-plan"); path != "" {
		save = func(p *change.Plan) error {
			_, err := savePlan(g, p, "lint-fix", engine.LintFixInputs(o), path)
			return err
		}
	}
	job := engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout"), Force: c.Bool("force")}
	r, err := engine.Lint(c.Context, newEnv(c, g, root), o, c.Bool("fix"), job, save)
	if err != nil {
		return err
	}
	if g.json {
		g.secrets.Entries(r.Diff)
		if err := writeJSON(g.stdout, r); err != nil {
			return err
		}
	} else {
		for _, w := range r.Warnings {
			g.logf("warning", "%s", w)
		}
		printDiffs(g, r.Changes)
		r.WriteText(g.stdout, g.stderr, g.undoFlags())
	}
	if r.Counts() {
		return &exitCode{Code: exitFindings}
	}
	return nil
}
