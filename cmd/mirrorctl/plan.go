package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
)

// savePlan saves a dry-run's plan, made from inputs in, to path (a host path, not under --root) and
// returns its sha256.
func savePlan(g *globals, p *change.Plan, op string, in planfile.Inputs, path string) (string, error) {
	if path == "" {
		return "", usageErr("--save-plan: empty file name")
	}
	root, err := nodefs.New(g.root)
	if err != nil {
		return "", err
	}
	return engine.SavePlan(&engine.Env{Root: root, Version: version, Log: g.logf}, p, op, in, path)
}

func readPlan(path string) (*planfile.File, string, error) { return planfile.Read(path, version) }

func printPlanResult(g *globals, r *engine.Result, path, sum string, f *planfile.File) error {
	return printResult(g, r, engine.NewPlanResult(r, path, sum, f))
}

// show-plan and apply-plan have no "Examples:" section: every example there runs in a test on the
// sample node, and these need a saved plan; the help shows the workflow in prose instead.

func showPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "show-plan",
		Usage:     "print a saved plan's diff and summary",
		ArgsUsage: "FILE",
		Description: `Reads a plan saved by ` + "`disable --dry-run --save-plan FILE`" + ` (or enable), checks it (format,
checksum, that its diff is the diff of the bytes it would write) and prints the diff on stdout and
the summary on stderr, exactly as the dry-run did. With -o json it prints the dry-run's JSON object
plus a "plan" key (file, sha256, operation, created, mirrorctl_version, node). It does not look at
the node: use ` + "`apply-plan --dry-run FILE`" + ` to check that the plan still applies.

FILE is a host path (not under --root). The workflow, with a plan named disable.plan:
   on the node: ` + "`mirrorctl disable --dry-run --save-plan disable.plan`" + ` (prints the plan's sha256)
   in review:   ` + "`mirrorctl show-plan disable.plan`" + `, and cite the sha256 in the ticket
   on the node: ` + "`mirrorctl apply-plan --expect-sha256 SHA256 disable.plan`" + ``,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("show-plan takes one plan file")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			path := c.Args().First()
			f, sum, err := readPlan(path)
			if err != nil {
				return err
			}
			g.logf("plan", "%s", engine.DescribePlan(path, sum, f))
			return printPlanResult(g, engine.NewResult(f.Plan(f.Changes()), true), path, sum, f)
		},
	}
}

func applyPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply-plan",
		Usage:     "apply exactly a reviewed plan saved with --save-plan, if the node has not changed since",
		ArgsUsage: "FILE",
		Description: `Applies a plan saved by ` + "`disable --dry-run --save-plan FILE`" + ` (or enable): takes the lock,
checks that every target file still has the sha256 the plan recorded and that the node is the one
the plan was made on (/etc/hostname and /etc/machine-id under --root), then snapshots the files and
writes exactly the plan's bytes, with the same guarantees and JSON result as disable. If any file
changed since the plan was made it refuses and writes nothing: make a new plan.

Idempotent: when the files already hold the planned bytes (the plan was applied before) nothing is
written ("changed": false). A file that holds anything else is refused.

FILE is a host path (not under --root). --force overrides only the node identity check, never a
changed file. --expect-sha256 refuses any plan file but the one a change ticket cites. --wait
gates the change on kube-controller-manager's health exactly as for disable (automatic rollback).

For example, after ` + "`mirrorctl disable --dry-run --save-plan disable.plan`" + ` and review:
   ` + "`mirrorctl apply-plan --dry-run disable.plan`" + ` (does it still apply?), then
   ` + "`mirrorctl apply-plan --expect-sha256 SHA256 disable.plan`" + `.`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "check the plan against the node and print what it would change; write nothing"},
			&cli.BoolFlag{Name: "force", Usage: "apply a plan made on a node with another hostname or machine-id (the files must still match), and rewrite a target that has more than one hard link (its other names keep the old bytes); with a warning"},
			exitCodeFlag("with --dry-run: exit 3 when the plan would change something, 0 when the node already holds it"),
			&cli.StringFlag{Name: "expect-sha256", Usage: "refuse the plan unless the file's sha256 is `SHA256` (the digest a ticket cites)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			skipAPIServerCheckFlag(),
			kubeconfigFlag("for a plan that switches the Endpoints controller off: read every kube-apiserver's version through this kubeconfig `FILE` instead of this node's files"),
			timeoutFlag(2 * time.Minute),
		}, waitFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("apply-plan takes one plan file")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			return runApplyPlan(c, g, c.Args().First())
		},
	}
}

func runApplyPlan(c *cli.Context, g *globals, path string) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	if err := checkExitCode(c); err != nil {
		return err
	}
	f, sum, err := readPlan(path)
	if err != nil {
		return err
	}
	if err := engine.ExpectSHA256(path, sum, c.String("expect-sha256")); err != nil {
		return err
	}
	g.logf("plan", "%s", engine.DescribePlan(path, sum, f))
	if _, known := map[string]bool{change.Enabled: true, change.Disabled: false}[f.MirroringAfter]; c.Duration("wait") > 0 && !known {
		return usageErr("--wait: the plan leaves mirroring %q, so there is no state to wait for", f.MirroringAfter)
	}
	env := newEnv(c, g, root)
	job := engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout"), Force: c.Bool("force"), Gate: gate(c, g, root, f.Distro)}
	job.APIServers.Skip = c.Bool("skip-apiserver-version-check")
	if wantsCluster(c) {
		if job.APIServers.Cluster, err = liveCluster(c, g); err != nil {
			return err
		}
	}
	r, err := engine.Run(c.Context, env, engine.ApplyPlan(env, f, c.Bool("force"), job))
	if err != nil {
		return err
	}
	if err := printPlanResult(g, r, path, sum, f); err != nil {
		return err
	}
	return wouldChange(c, r.Changed)
}
