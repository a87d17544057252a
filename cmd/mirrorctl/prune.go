package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/engine"
)

// ---------------------------------------------------------------------------------------------------
// mirrorctl prune-endpoints (issue 16 §5)

func pruneEndpointsCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune-endpoints",
		Usage:     "delete the stale Endpoints a stopped Endpoints controller left behind, recording them for a restore",
		ArgsUsage: "| --rollback [ID]",
		Description: `After the Endpoints controller is switched off (KEP-4974), the Endpoints it wrote stay, stale. This
deletes only Endpoints labelled endpoints.kubernetes.io/managed-by=endpoint-controller (1.33+) whose
Service still exists and still has a selector; others are counted in a warning and left alone. Each
object is saved whole in the state dir first, and deleted only if unchanged since it was read.
Refuses (exit 1, nothing deleted) while the Endpoints controller may run on a control-plane node (it
would write them again at once), judged from the kube-controller-manager mirror pods; --force
deletes anyway. --rollback [ID] creates the deleted objects again (the latest prune without an ID).

Examples:
   mirrorctl prune-endpoints --dry-run
   mirrorctl prune-endpoints --namespace shop
   mirrorctl prune-endpoints --rollback`,
		Flags: []cli.Flag{
			kubeconfigFlag("kubeconfig (default: $KUBECONFIG, else /etc/kubernetes/admin.conf; under --root)"),
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "only this namespace (default: all)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what would be deleted and change nothing"},
			&cli.BoolFlag{Name: "rollback", Usage: "create again the Endpoints a prune deleted (argument: its record id; default the latest)"},
			&cli.BoolFlag{Name: "force", Usage: "delete even while the Endpoints controller may run; with --rollback: leave objects someone else created meanwhile"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another mirrorctl run on this node"},
			timeoutFlag(5 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			p := &engine.PruneEndpoints{Select: cluster.PruneOptions{Namespace: c.String("namespace"), Force: c.Bool("force")}, Force: c.Bool("force")}
			if c.Bool("rollback") {
				if c.NArg() > 1 || c.String("namespace") != "" {
					return usageErr("prune-endpoints --rollback takes at most one record id and no --namespace")
				}
				env, err := g.env(c)
				if err != nil {
					return err
				}
				if p.Record, err = engine.PruneRecord(env, c.Args().First()); err != nil {
					return err
				}
			} else if c.NArg() > 0 {
				return usageErr("prune-endpoints takes no arguments (got %q)", c.Args().First())
			}
			r, err := runLiveOnly(c, g, func(env *engine.Env, cl *engine.Cluster, job engine.Job) *engine.Job {
				p.Cluster = *cl
				return engine.PruneEndpointsJob(env, p, job)
			})
			if err != nil {
				return err
			}
			return printLive(g, engine.NewPruneResult(p, r))
		},
	}
}
