package main

import (
	"fmt"
	"strings"
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

// lintResult is lint's JSON object: the changing-command keys (changed, snapshot, files, diff, warnings,
// dry_run) as disable prints them, plus the findings.
type lintResult struct {
	*engine.Result
	Findings []lint.Finding `json:"findings"` // what is left (after --fix: after the fix; with --dry-run: what the fix would leave)
	Fixed    []lint.Finding `json:"fixed"`    // what --fix repaired (or would repair)
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
	if looked, found := lint.Looked(root, o); !found {
		return fmt.Errorf("lint: nothing to check under %s: none of %s exists (is this a control-plane node? --root, --manifests-dir and --kubeadm-config say where to look)", root.Dir, strings.Join(looked, ", "))
	}
	findings, err := lint.Run(root, o)
	if err != nil {
		return err
	}
	r := &lintResult{Result: engine.NewResult(&change.Plan{Mirroring: change.Unknown}, c.Bool("dry-run")), Findings: findings, Fixed: []lint.Finding{}}
	if c.Bool("fix") {
		if err := lintFix(c, g, root, o, r); err != nil {
			return err
		}
	}
	if err := printLint(g, r); err != nil {
		return err
	}
	for _, f := range r.Findings {
		if f.Counts() {
			return &exitCode{Code: exitFindings}
		}
	}
	return nil
}

// lintFix runs the fix through the engine (unless --dry-run: written under the lock, snapshot first),
// then lints again. r.Findings becomes what is left.
func lintFix(c *cli.Context, g *globals, root nodefs.Root, o lint.Options, r *lintResult) error {
	env := newEnv(c, g, root)
	res, err := engine.Run(c.Context, env, engine.LintFix(env, o, engine.Job{DryRun: r.DryRun, LockTimeout: c.Duration("lock-timeout"), Force: c.Bool("force")}))
	if err != nil {
		return err
	}
	if path := c.String("save-plan"); path != "" {
		if _, err := savePlan(g, res.Plan, "lint-fix", engine.LintFixInputs(o), path); err != nil {
			return err
		}
	}
	r.Result = res
	fixedFiles := map[string]bool{}
	for _, f := range res.Files {
		fixedFiles[f.Path] = f.Changed
	}
	var left []lint.Finding
	for _, f := range r.Findings {
		if f.Fixable && fixedFiles[f.Path] {
			r.Fixed = append(r.Fixed, f)
		} else {
			left = append(left, f)
		}
	}
	if !r.DryRun && r.Changed {
		// What is really left: lint the node as it is now.
		after, err := lint.Run(root, o)
		if err != nil {
			return err
		}
		left = after
	}
	if left == nil {
		left = []lint.Finding{}
	}
	r.Findings = left
	return nil
}

// printLint prints findings on stdout (they are lint's result), and with --fix the diff first; the
// summary goes to stderr, like disable's.
func printLint(g *globals, r *lintResult) error {
	if g.json {
		g.redact(r.Diff)
		return writeJSON(g.stdout, r)
	}
	if r.Result != nil {
		for _, w := range r.Warnings {
			g.logf("warning", "%s", w)
		}
	}
	printDiffs(g, r.Changes)
	for _, f := range r.Findings {
		fmt.Fprintln(g.stdout, f.String())
	}
	n := 0
	for _, f := range r.Findings {
		if f.Counts() {
			n++
		}
	}
	switch {
	case len(r.Fixed) > 0 && r.DryRun:
		fmt.Fprintf(g.stderr, "lint: --fix would repair %d finding(s); %d left\n", len(r.Fixed), n)
	case len(r.Fixed) > 0:
		fmt.Fprintf(g.stderr, "lint: repaired %d finding(s)", len(r.Fixed))
		if r.Snapshot != nil {
			fmt.Fprintf(g.stderr, "; snapshot %s (undo: mirrorctl rollback%s %s)", *r.Snapshot, g.undoFlags(), *r.Snapshot)
		}
		fmt.Fprintf(g.stderr, "; %d left\n", n)
	case n == 0:
		fmt.Fprintln(g.stderr, "lint: no findings")
	default:
		fmt.Fprintf(g.stderr, "lint: %d finding(s)\n", n)
	}
	return nil
}
