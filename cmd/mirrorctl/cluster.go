package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// kubeconfigFlag is --kubeconfig. The kubeconfig is found as kubectl finds it (cluster.LoadKubectl);
// on disable, enable, status and rollback the cluster is touched only when --kubeconfig or --context
// is given, so a node-only run never reaches for the API by surprise. Every command with
// --kubeconfig gets --context too (setUsageHandler).
func kubeconfigFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "kubeconfig", Usage: usage, TakesFile: true}
}

func contextFlag() cli.Flag {
	return &cli.StringFlag{Name: "context", Usage: "the kubeconfig context `NAME` to use (default: its current-context); like --kubeconfig, it makes disable, enable, status and rollback include the cluster"}
}

// wantsCluster says whether a node command should also reach the cluster: only when asked to.
func wantsCluster(c *cli.Context) bool {
	return c.String("kubeconfig") != "" || c.String("context") != ""
}

func timeoutFlag(d time.Duration) cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: d, Usage: "give up on the API server after this `DURATION`"}
}

// clusterClient loads the client as kubectl would (cluster.LoadKubectl): --kubeconfig (where the
// operator is, or under --root when absolute and --root is given), $KUBECONFIG, ~/.kube/config, and
// /etc/kubernetes/admin.conf under --root last; --context.
func clusterClient(c *cli.Context, g *globals) (*cluster.Client, error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil, err
	}
	k := cluster.Kubeconfig{Root: root, Context: c.String("context")}
	if p := c.String("kubeconfig"); p != "" {
		n, err := g.named(root, "kubeconfig", p)
		if err != nil {
			return nil, err
		}
		k.Given(n)
	}
	if g.v >= vRequests {
		k.Trace = func(format string, a ...any) { g.logf("api", format, a...) }
	}
	cl, err := cluster.LoadKubectl(k)
	if err != nil {
		return nil, err
	}
	g.vlogf(vDecisions, "kubeconfig", "%s", cl.Describe())
	return cl, nil
}

func clusterContext(c *cli.Context) (context.Context, context.CancelFunc) {
	d := c.Duration("timeout")
	if d <= 0 {
		d = 5 * time.Minute
	}
	engine.CatchInterrupts(c.Context)
	return context.WithTimeout(c.Context, d)
}

// liveCluster is the live step's way to the API server for disable, enable and rollback: only the
// --kubeconfig given (under --root), never a default, so a node-only run never reaches for the API.
func liveCluster(c *cli.Context, g *globals) (*engine.Cluster, error) {
	client, err := clusterClient(c, g)
	if err != nil {
		return nil, err
	}
	return &engine.Cluster{Client: client, Context: func() (context.Context, context.CancelFunc) { return clusterContext(c) }}, nil
}

// ---------------------------------------------------------------------------------------------------
// mirrorctl audit (issue 7 §2)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "answer, from the cluster, whether switching the mirroring controller off is safe",
		Description: `Reads the cluster through the API (paginated lists, never one request per object) and reports:
every EndpointSlice managed by the mirroring controller, grouped by Service (they go stale when
mirroring is off: kube-proxy reads only EndpointSlices); selector-less Services whose Endpoints lack
the skip-mirror label (mirrored now); APIServices behind such Services (1.34+ reads slices); and, per
control-plane node, kube-controller-manager's --controllers and whether mirroring runs, from the kcm
mirror pods. Each mirrored Endpoints gets its writer, from its managedFields: static (last written
with kubectl, or by anything longer ago than --static-after) or live (a controller writes it: move that
writer to EndpointSlices). "cost" counts the objects each controller keeps written and their size.
Writes nothing.

--endpoints-controller asks whether the Endpoints controller can be stopped: does anything outside the
control plane still read v1 Endpoints? It reads the API server's /metrics (request counts, not
clients) and, with --audit-log FILE (a kube-apiserver audit log, JSON lines, on this machine), names
every user and user agent that got, listed or watched Endpoints, with counts and the last time.

Exit status: 0 safe to disable; 3 something depends on mirroring (see "findings"), or with
--endpoints-controller: something reads Endpoints, or who does is unknown; 1 error.
The kubeconfig is found as kubectl finds it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config,
and /etc/kubernetes/admin.conf under --root last; --context picks a context.

Examples:
   mirrorctl audit
   mirrorctl -o json audit --kubeconfig /etc/kubernetes/admin.conf
   mirrorctl audit --endpoints-controller --audit-log audit.log`,
		Flags: []cli.Flag{
			kubeconfigFlag("kubeconfig `FILE` (default: $KUBECONFIG, else ~/.kube/config, else /etc/kubernetes/admin.conf under --root)"),
			&cli.IntFlag{Name: "page-size", Value: cluster.DefaultPageSize, Usage: "`N` objects per list request"},
			&cli.DurationFlag{Name: "static-after", Value: cluster.DefaultStaticAfter, Usage: "call an Endpoints static when its last writer has not written it for this `DURATION`"},
			&cli.BoolFlag{Name: "endpoints-controller", Usage: "also answer whether the Endpoints controller can be stopped: who still reads Endpoints (the exit status is that answer)"},
			&cli.StringFlag{Name: "audit-log", Usage: "with --endpoints-controller: a kube-apiserver audit log `FILE` (JSON lines) to name the clients that read Endpoints", TakesFile: true},
			timeoutFlag(2 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("audit takes no arguments (got %q)", c.Args().First())
			}
			if c.Int("page-size") < 1 {
				return usageErr("--page-size must be at least 1")
			}
			if c.Duration("static-after") <= 0 {
				return usageErr("--static-after must be positive")
			}
			if c.String("audit-log") != "" && !c.Bool("endpoints-controller") {
				return usageErr("--audit-log needs --endpoints-controller")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			client, err := clusterClient(c, g)
			if err != nil {
				return err
			}
			ctx, cancel := clusterContext(c)
			defer cancel()
			a, err := client.RunAudit(ctx, cluster.AuditOptions{PageSize: int64(c.Int("page-size")), StaticAfter: c.Duration("static-after"),
				EndpointsController: c.Bool("endpoints-controller"), AuditLog: c.String("audit-log")})
			if err != nil {
				return err
			}
			if g.json {
				err = writeJSON(g.stdout, a)
			} else {
				err = a.WriteText(g.stdout)
			}
			if err != nil {
				return err
			}
			if a.Unsafe() {
				return &exitCode{Code: exitFindings}
			}
			return nil
		},
	}
}

// ---------------------------------------------------------------------------------------------------
// mirrorctl skip (issue 7 §3)

func skipCommand() *cli.Command {
	return &cli.Command{
		Name:      "skip",
		Usage:     "label Endpoints endpointslice.kubernetes.io/skip-mirror=true so the controller stops mirroring them (works on managed clusters too)",
		ArgsUsage: "[NAME...] | --rollback [ID]",
		Description: `Labels the selected Endpoints of one namespace endpointslice.kubernetes.io/skip-mirror=true; the
mirroring controller then deletes their mirrored EndpointSlices. This is the per-object alternative to
switching the controller off, and the only one on managed control planes. --undo removes the label.
Idempotent: objects already in the wanted state are not touched, and a run that changes nothing takes
no snapshot. The labels' previous values are saved in the state dir first; --rollback [ID] puts them
back (the latest skip without an ID), refusing objects changed since unless --force.
default/kubernetes is never touched: the API server manages it.

Examples:
   mirrorctl skip --namespace legacy --dry-run --all
   mirrorctl skip --namespace legacy external-db external-cache
   mirrorctl -o json skip --namespace legacy --selector team=storage --undo
   mirrorctl skip --rollback`,
		Flags: []cli.Flag{
			kubeconfigFlag("kubeconfig `FILE` (default: $KUBECONFIG, else ~/.kube/config, else /etc/kubernetes/admin.conf under --root)"),
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` of the Endpoints"},
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label `SELECTOR` for the Endpoints"},
			&cli.BoolFlag{Name: "all", Usage: "every Endpoints in the namespace"},
			&cli.BoolFlag{Name: "undo", Usage: "remove the label instead"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and change nothing"},
			&cli.BoolFlag{Name: "rollback", Usage: "restore the labels a skip run replaced (argument: its snapshot id; default the latest)"},
			&cli.BoolFlag{Name: "force", Usage: "with --rollback: restore even labels changed since"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			timeoutFlag(5 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			if c.Bool("rollback") {
				if c.NArg() > 1 || c.String("selector") != "" || c.Bool("all") || c.Bool("undo") {
					return usageErr("skip --rollback takes at most one snapshot id and no selection")
				}
				env, err := g.env(c)
				if err != nil {
					return err
				}
				rec, err := engine.SkipRecord(env, c.Args().First())
				if err != nil {
					return err
				}
				return runSkip(c, g, &engine.Labels{Op: "rollback", Record: rec, Force: c.Bool("force")}, rec.Labels[0].Namespace)
			}
			o := cluster.SkipOptions{Namespace: c.String("namespace"), Selector: c.String("selector"), Names: c.Args().Slice(),
				All: c.Bool("all"), Undo: c.Bool("undo")}
			if err := cluster.CheckSelection(o.Namespace, o.Selector, o.Names, o.All); err != nil {
				return usageErr("skip: %v", err)
			}
			return runSkip(c, g, &engine.Labels{Op: map[bool]string{false: "skip", true: "unskip"}[o.Undo], Select: o}, o.Namespace)
		},
	}
}

// runSkip runs the label step l on the Endpoints of namespace ns through the engine.
func runSkip(c *cli.Context, g *globals, l *engine.Labels, ns string) error {
	r, err := runLiveOnly(c, g, func(env *engine.Env, cl *engine.Cluster, job engine.Job) *engine.Job {
		l.Cluster = *cl
		return engine.Skip(env, l, job)
	})
	if err != nil {
		return err
	}
	return printLive(g, engine.NewSkipResult(ns, l, r))
}
