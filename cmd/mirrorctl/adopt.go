package main

// mirrorctl adopt (issue 16 §2): the command layer only; the work is engine.Adopt and cluster.PlanAdopt.

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// adoptResult is adopt's JSON: the keys of skip, with the slices of each object.
type adoptResult struct {
	Changed   bool                `json:"changed"`
	DryRun    bool                `json:"dry_run"`
	Snapshot  *string             `json:"snapshot"`
	Namespace string              `json:"namespace"`
	ManagedBy string              `json:"managed_by"`
	Objects   []adoptObject       `json:"objects"`
	Files     []engine.FileResult `json:"files"`
	Diff      []change.DiffEntry  `json:"diff"`
	Warnings  []string            `json:"warnings"`
	Notes     []string            `json:"notes"`
	changes   []change.FileChange
}

type adoptObject struct {
	Namespace      string          `json:"namespace"`
	Name           string          `json:"name"`
	Writer         *cluster.Writer `json:"writer,omitempty"`
	Endpoints      int             `json:"endpoints"`
	SlicesCreated  []string        `json:"slices_created"`
	SlicesAdopted  []string        `json:"slices_adopted"`
	SlicesDeleted  []string        `json:"slices_deleted"`
	MirroredSlices []string        `json:"mirrored_slices"`
	Before         *string         `json:"label_before"`
	After          *string         `json:"label_after"`
	Changed        bool            `json:"changed"`
}

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
			if o.Namespace == "" {
				return usageErr("adopt: --namespace is required")
			}
			n := 0
			for _, set := range []bool{o.Selector != "", len(o.Names) > 0, o.All} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageErr("adopt: select Endpoints with exactly one of --selector, NAME..., --all")
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
			out := newAdoptResult(o.Namespace, r, a.Warnings)
			for _, ad := range a.Adoptions {
				w := ad.Writer
				obj := adoptObject{Namespace: ad.Namespace, Name: ad.Name, Writer: &w, Endpoints: ad.Endpoints, SlicesCreated: []string{},
					SlicesAdopted: append([]string{}, ad.Adopted...), SlicesDeleted: []string{}, MirroredSlices: append([]string{}, ad.Mirrored...),
					Before: ad.Label.Before, After: ad.Label.After, Changed: ad.Changed()}
				for _, s := range ad.Create {
					obj.SlicesCreated = append(obj.SlicesCreated, s.Name)
					obj.SlicesAdopted = append(obj.SlicesAdopted, s.Name)
				}
				out.Objects = append(out.Objects, obj)
			}
			if r.Snapshot != nil {
				out.Notes = append(out.Notes, "the mirroring controller deletes the mirrored EndpointSlices of these Endpoints within seconds (if it runs); `mirrorctl audit` then finds nothing of theirs to mirror",
					"where mirroring is already off, nothing deletes those copies: once the adopted slices are in place, delete the slices `mirrorctl audit` lists under mirrored_slices with kubectl")
			}
			return printAdopt(g, out, "adopted")
		},
	}
}

func newAdoptResult(ns string, r *engine.Result, warnings []string) *adoptResult {
	return &adoptResult{Changed: r.Changed, DryRun: r.DryRun, Snapshot: r.Snapshot, Namespace: ns, ManagedBy: cluster.AdoptController,
		Objects: []adoptObject{}, Files: r.Files, Diff: r.Diff, Warnings: append(append([]string{}, r.Warnings...), warnings...), Notes: []string{}, changes: r.Changes}
}

func runAdoptRollback(c *cli.Context, g *globals, id string) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	records := cluster.OpenRecords(newEnv(c, g, root).Store())
	var rec *cluster.Record
	if id == "" {
		rec, err = records.Latest(func(r *cluster.Record) bool { return r.Op == "adopt" && r.RollbackOf == "" })
	} else {
		rec, err = records.Get(id)
	}
	if err != nil {
		return err
	}
	if rec.Op != "adopt" {
		return fmt.Errorf("%s: record %s is not an adoption (it is a %s: undo it with `mirrorctl rollback` or `mirrorctl skip --rollback`)", records.Dir(), rec.ID, rec.Op)
	}
	g.logf("rollback", "record %s (%s, %s)", rec.ID, rec.Op, rec.Time.Format(time.RFC3339))
	b := &engine.AdoptBack{Record: rec, Force: c.Bool("force")}
	r, err := runLiveOnly(c, g, func(env *engine.Env, cl *engine.Cluster, job engine.Job) *engine.Job {
		b.Cluster = *cl
		return engine.AdoptRollbackJob(env, b, job)
	})
	if err != nil {
		return err
	}
	ns := ""
	if len(rec.Slices) > 0 {
		ns = rec.Slices[0].Namespace
	} else if len(rec.Labels) > 0 {
		ns = rec.Labels[0].Namespace
	}
	out := newAdoptResult(ns, r, nil)
	for _, o := range b.Objects() {
		out.Objects = append(out.Objects, adoptObject{Namespace: o.Namespace, Name: o.Name, SlicesCreated: []string{}, SlicesAdopted: []string{},
			SlicesDeleted: o.Deleted, MirroredSlices: []string{}, Before: o.Before, After: o.After, Changed: o.Changed})
	}
	return printAdopt(g, out, "restored to mirroring")
}

// runLiveOnly runs a job with no node file change and one live step through the engine.
func runLiveOnly(c *cli.Context, g *globals, build func(*engine.Env, *engine.Cluster, engine.Job) *engine.Job) (*engine.Result, error) {
	cl, err := liveCluster(c, g)
	if err != nil {
		return nil, err
	}
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil, err
	}
	env := newEnv(c, g, root)
	return engine.Run(c.Context, env, build(env, cl, engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout")}))
}

func printAdopt(g *globals, r *adoptResult, verb string) error {
	for _, w := range r.Warnings {
		g.logf("warning", "%s", w)
	}
	if g.json {
		g.redact(r.Diff)
		return writeJSON(g.stdout, r)
	}
	printDiffs(g, r.changes)
	n := 0
	for _, o := range r.Objects {
		if o.Changed {
			n++
		}
	}
	if r.DryRun {
		verb = "would be " + verb
	}
	fmt.Fprintf(g.stderr, "%d of %d Endpoints in %s %s", n, len(r.Objects), r.Namespace, verb)
	switch {
	case r.Snapshot != nil && verb == "adopted":
		fmt.Fprintf(g.stderr, "; snapshot %s (undo: mirrorctl adopt%s --rollback %s)", *r.Snapshot, g.undoFlags(), *r.Snapshot)
	case r.Snapshot != nil:
		fmt.Fprintf(g.stderr, "; snapshot %s", *r.Snapshot)
	}
	fmt.Fprintln(g.stderr)
	for _, n := range r.Notes {
		g.logf("next", "%s", n)
	}
	return nil
}
