package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// ---------------------------------------------------------------------------------------------------
// mirrorctl prune-endpoints (issue 16 §5)

// pruneResult is prune-endpoints' JSON: the keys of skip, with the objects.
type pruneResult struct {
	Changed  bool                `json:"changed"`
	DryRun   bool                `json:"dry_run"`
	Snapshot *string             `json:"snapshot"` // the record id (for --rollback)
	Objects  []pruneObject       `json:"objects"`
	Files    []engine.FileResult `json:"files"`
	Diff     []change.DiffEntry  `json:"diff"`
	Warnings []string            `json:"warnings"`
	changes  []change.FileChange
}

type pruneObject struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"` // delete, create, none
	Note      string `json:"note,omitempty"`
}

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
				if p.Record, err = pruneRecord(c, g, c.Args().First()); err != nil {
					return err
				}
				g.logf("rollback", "record %s (%s, %s)", p.Record.ID, p.Record.Op, p.Record.Time.Format(time.RFC3339))
			} else if c.NArg() > 0 {
				return usageErr("prune-endpoints takes no arguments (got %q)", c.Args().First())
			}
			cl, err := liveCluster(c, g)
			if err != nil {
				return err
			}
			p.Cluster = *cl
			root, err := nodefs.New(g.root)
			if err != nil {
				return err
			}
			env := newEnv(c, g, root)
			r, err := engine.Run(c.Context, env, engine.PruneEndpointsJob(env, p, engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout")}))
			if err != nil {
				return err
			}
			return printPrune(g, newPruneResult(p, r))
		},
	}
}

func pruneRecord(c *cli.Context, g *globals, id string) (*cluster.Record, error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil, err
	}
	records := cluster.OpenRecords(newEnv(c, g, root).Store())
	var rec *cluster.Record
	if id == "" {
		rec, err = records.Latest(func(r *cluster.Record) bool { return len(r.Deleted) > 0 && r.RollbackOf == "" })
	} else {
		rec, err = records.Get(id)
	}
	if err != nil {
		return nil, err
	}
	if len(rec.Deleted) == 0 {
		return nil, fmt.Errorf("%s: record %s deleted no Endpoints (it is not a prune-endpoints record)", records.Dir(), rec.ID)
	}
	return rec, nil
}

func newPruneResult(p *engine.PruneEndpoints, r *engine.Result) *pruneResult {
	out := &pruneResult{Changed: r.Changed, DryRun: r.DryRun, Snapshot: r.Snapshot, Objects: []pruneObject{}, Files: r.Files, Diff: r.Diff,
		Warnings: append([]string{}, p.Warnings...), changes: r.Changes}
	for _, ch := range p.Changes {
		a := "delete"
		switch {
		case ch.Skip:
			a = "none"
		case ch.Create:
			a = "create"
		}
		out.Objects = append(out.Objects, pruneObject{Namespace: ch.Namespace, Name: ch.Name, Action: a, Note: ch.Note})
	}
	return out
}

func printPrune(g *globals, r *pruneResult) error {
	for _, w := range r.Warnings {
		g.logf("warning", "%s", w)
	}
	if g.json {
		g.redact(r.Diff)
		return writeJSON(g.stdout, r)
	}
	n := printDiffs(g, r.changes)
	verb := "changed"
	if r.DryRun {
		verb = "would change"
	}
	fmt.Fprintf(g.stderr, "%d Endpoints %s", n, verb)
	if r.Snapshot != nil {
		fmt.Fprintf(g.stderr, "; record %s (undo: mirrorctl prune-endpoints --rollback %s)", *r.Snapshot, *r.Snapshot)
	}
	fmt.Fprintln(g.stderr)
	return nil
}
