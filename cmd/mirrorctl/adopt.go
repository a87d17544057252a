package main

// mirrorctl adopt (issue 16 §2): the command layer only; the work is engine.Adopt and cluster.PlanAdopt.

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/engine"
)

func adoptCommand() *cli.Command {
	return &cli.Command{
		Name:      "adopt",
		Usage:     "replace the mirrored EndpointSlices of static selector-less Endpoints with EndpointSlices of mirrorctl's own, then label the Endpoints skip-mirror",
		ArgsUsage: "[NAME...] | --rollback [ID]",
		Description: `For each selected Endpoints of a selector-less Service, creates the EndpointSlices the mirroring
controller makes of it (same addresses, readiness, hostnames, node names, target references, ports,
one slice per subset and IP family), owned by the Service and labelled
endpointslice.kubernetes.io/managed-by=adopt.mirrorctl.io; only once they exist, labels the Endpoints
endpointslice.kubernetes.io/skip-mirror=true, and the mirroring controller deletes its copies. The
Service has a slice for each of its addresses at every moment. Refused: Endpoints a controller keeps
writing (live: their last writer, from managedFields, is not kubectl and wrote within --static-after;
the copy would go stale; --force adopts anyway), default/kubernetes, Endpoints of Services with a
selector. Endpoints labelled skip-mirror already are left out (nothing mirrors them). Idempotent: a second run changes nothing. The objects are recorded first; --rollback [ID]
removes the label, waits until the mirroring controller has re-created its slices, then deletes the
adopted ones (refusing objects changed since unless --force).

Exit status: 0 done (or nothing to do); 1 error or refusal, nothing changed; 2 usage.

Examples:
   mirrorctl adopt --namespace legacy --all --dry-run
   mirrorctl adopt --namespace legacy external-search
   mirrorctl -o json adopt --namespace legacy --selector team=storage
   mirrorctl adopt --rollback`,
		Flags: []cli.Flag{
			kubeconfigFlag("kubeconfig `FILE` (default: $KUBECONFIG, else ~/.kube/config, else /etc/kubernetes/admin.conf under --root)"),
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` of the Endpoints"},
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label `SELECTOR` for the Endpoints"},
			&cli.BoolFlag{Name: "all", Usage: "every Endpoints of a selector-less Service in the namespace"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff of every object and change nothing"},
			&cli.BoolFlag{Name: "force", Usage: "adopt live Endpoints too; with --rollback: undo objects changed since"},
			&cli.DurationFlag{Name: "static-after", Value: cluster.DefaultStaticAfter, Usage: "Endpoints whose addresses no controller wrote for this `DURATION` count as static"},
			&cli.BoolFlag{Name: "rollback", Usage: "undo an adoption (argument: its snapshot id; default the latest)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			timeoutFlag(5 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			if c.Bool("rollback") {
				if c.NArg() > 1 || c.String("selector") != "" || c.Bool("all") {
					return usageErr("adopt --rollback takes at most one snapshot id and no selection")
				}
				return runAdoptRollback(c, g, c.Args().First())
			}
			o := cluster.AdoptOptions{Namespace: c.String("namespace"), Selector: c.String("selector"), Names: c.Args().Slice(),
				All: c.Bool("all"), Force: c.Bool("force"), StaleAfter: c.Duration("static-after")}
			if err := cluster.CheckSelection(o.Namespace, o.Selector, o.Names, o.All); err != nil {
				return usageErr("adopt: %v", err)
			}
			if o.StaleAfter <= 0 {
				return usageErr("adopt: --static-after must be positive")
			}
			a := &engine.Adopt{Select: o}
			r, err := runLiveOnly(c, g, func(env *engine.Env, cl *engine.Cluster, job engine.Job) *engine.Job {
				a.Cluster = *cl
				return engine.AdoptJob(env, a, job)
			})
			if err != nil {
				return err
			}
			return printLive(g, engine.NewAdoptResult(a, r))
		},
	}
}

func runAdoptRollback(c *cli.Context, g *globals, id string) error {
	env, err := g.env(c)
	if err != nil {
		return err
	}
	rec, err := engine.AdoptRecord(env, id)
	if err != nil {
		return err
	}
	b := &engine.AdoptBack{Record: rec, Force: c.Bool("force")}
	r, err := runLiveOnly(c, g, func(env *engine.Env, cl *engine.Cluster, job engine.Job) *engine.Job {
		b.Cluster = *cl
		return engine.AdoptRollbackJob(env, b, job)
	})
	if err != nil {
		return err
	}
	return printLive(g, engine.NewAdoptBackResult(b, r))
}

// runLiveOnly runs a job with no node file change and one live step through the engine.
func runLiveOnly(c *cli.Context, g *globals, build func(*engine.Env, *engine.Cluster, engine.Job) *engine.Job) (*engine.Result, error) {
	cl, err := liveCluster(c, g)
	if err != nil {
		return nil, err
	}
	env, err := g.env(c)
	if err != nil {
		return nil, err
	}
	return engine.Run(c.Context, env, build(env, cl, engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout")}))
}

// printLive prints the result of skip, adopt and prune-endpoints: JSON, or the diff on stdout and
// the summary and the next steps on stderr.
func printLive(g *globals, r engine.LiveResult) error {
	t := r.Text()
	for _, w := range t.Warnings {
		g.logf("warning", "%s", w)
	}
	if g.json {
		g.secrets.Entries(t.Diff)
		return writeJSON(g.stdout, r)
	}
	printDiffs(g, t.Changes)
	fmt.Fprintln(g.stderr, t.Summary(g.undoFlags()))
	for _, n := range t.Notes {
		g.logf("next", "%s", n)
	}
	return nil
}
