package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// kubeconfigFlag is --kubeconfig. On audit and skip it falls back to $KUBECONFIG, then
// /etc/kubernetes/admin.conf; on disable, enable and rollback the live ClusterConfiguration is touched
// only when it is given, so a node-only run never reaches for the API by surprise.
func kubeconfigFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "kubeconfig", Usage: usage}
}

func timeoutFlag(d time.Duration) cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: d, Usage: "give up on the API server after this long"}
}

// clusterClient loads the client for audit and skip: --kubeconfig, $KUBECONFIG or admin.conf, all
// under --root.
func clusterClient(c *cli.Context, g *globals) (*cluster.Client, error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil, err
	}
	return cluster.Load(root, c.String("kubeconfig"))
}

func clusterContext(c *cli.Context) (context.Context, context.CancelFunc) {
	d := c.Duration("timeout")
	if d <= 0 {
		d = 5 * time.Minute
	}
	catchInterrupts(c.Context)
	return context.WithTimeout(c.Context, d)
}

// ---------------------------------------------------------------------------------------------------
// The live kubeadm-config step of disable/enable (issue 7 §1).

// liveStep is the live ClusterConfiguration part of a disable/enable run; nil without --kubeconfig.
type liveStep struct {
	client *cluster.Client
	op     controllers.Op
	edit   cluster.Editor
	plan   *cluster.LiveChange
}

// Changed reports whether the live ConfigMap would change (false on a nil step).
func (l *liveStep) Changed() bool { return l != nil && l.plan.Changed() }

// livePlan reads kube-system/kubeadm-config and plans the same text-preserving edit as for the files.
// It returns nil, nil when --kubeconfig is not set.
func livePlan(c *cli.Context, g *globals, op controllers.Op) (*liveStep, error) {
	if c.String("kubeconfig") == "" {
		return nil, nil
	}
	client, err := clusterClient(c, g)
	if err != nil {
		return nil, err
	}
	name := c.String("controller-name")
	l := &liveStep{client: client, op: op, edit: func(data []byte) ([]byte, bool, error) {
		out, _, changed, err := patches.EditKubeadmConfig(data, op, name)
		return out, changed, err
	}}
	ctx, cancel := clusterContext(c)
	defer cancel()
	if l.plan, err = client.PlanKubeadmConfig(ctx, l.edit); err != nil {
		return nil, err
	}
	g.logf("plan", "%s on the live ClusterConfiguration (%s via %s)", op, cluster.LivePath, client.Host)
	return l, nil
}

// addTo shows the step's planned change among the result's files and diffs.
func (l *liveStep) addTo(r *result) {
	if l == nil || l.plan == nil {
		return
	}
	addChange(r, l.plan.FileChange())
}

// replaceChange puts f in place of an earlier entry for the same path (a plan shown before the write),
// or adds it.
func replaceChange(r *result, f change.FileChange) {
	for i := range r.Files {
		if r.Files[i].Path != f.Path {
			continue
		}
		r.Files = append(r.Files[:i:i], r.Files[i+1:]...)
		for j := range r.changes {
			if r.changes[j].Path == f.Path {
				r.changes = append(r.changes[:j:j], r.changes[j+1:]...)
				break
			}
		}
		for j := range r.Diff {
			if r.Diff[j].AfterHeader == f.Path {
				r.Diff = append(r.Diff[:j:j], r.Diff[j+1:]...)
				break
			}
		}
		break
	}
	r.Changed = false
	for _, fr := range r.Files {
		r.Changed = r.Changed || fr.Changed
	}
	addChange(r, f)
}

func addChange(r *result, f change.FileChange) {
	ch := f.Changed()
	r.Files = append(r.Files, fileResult{Path: f.Path, Kind: f.Kind, Changed: ch})
	r.changes = append(r.changes, f)
	if ch {
		r.Changed = true
		r.Diff = append(r.Diff, f.AnsibleDiff())
	}
}

// liveApply writes the live change after the files were committed as snapshot id ("" when no file
// changed). The ConfigMap's old data is recorded first under the same id (or a new one, then reported
// as the run's snapshot). It re-reads and re-plans on every conflict. If it fails, the files of
// snapshot id are rolled back, so a failed run leaves the node as it found it.
func liveApply(c *cli.Context, g *globals, l *liveStep, store *snapshot.Store, id string, r *result) error {
	if l == nil {
		return nil
	}
	records := cluster.OpenRecords(store)
	recID := id
	if recID == "" {
		recID = cluster.NewID(time.Now())
	}
	saved := false
	save := func(lc *cluster.LiveChange) error {
		saved = true
		return records.Save(&cluster.Record{ID: recID, Time: time.Now().UTC(), Op: string(l.op), Command: commandLine(c),
			ToolVersion: version, Server: l.client.Host, ConfigMaps: []cluster.ConfigMapRecord{lc.RecordOf()}})
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	lc, err := l.client.ApplyKubeadmConfig(ctx, l.edit, save)
	if err != nil {
		msg := err.Error()
		if saved {
			// Keep the record unless the ConfigMap is verifiably untouched: a timed-out update may
			// have landed, and the record is then the only copy of the old data.
			if cur, perr := l.client.PlanKubeadmConfig(ctx, func(b []byte) ([]byte, bool, error) { return b, false, nil }); perr == nil {
				if rec, gerr := records.Get(recID); gerr == nil && len(rec.ConfigMaps) == 1 && cur.Before == rec.ConfigMaps[0].DataBefore[rec.ConfigMaps[0].Key] {
					_ = records.Remove(recID)
				}
			}
		}
		if id != "" {
			if _, _, _, rerr := store.Rollback(id, false, snapshot.Info{Command: commandLine(c), ToolVersion: version, Op: "rollback"}); rerr != nil {
				return fmt.Errorf("%s; restoring the files of snapshot %s failed too (%v): run `mirrorctl rollback %s`", msg, id, rerr, id)
			}
			return fmt.Errorf("%s; the files were restored from snapshot %s", msg, id)
		}
		return errors.New(msg)
	}
	// Show what was actually written (a conflict may have re-planned it on a newer ConfigMap).
	replaceChange(r, lc.FileChange())
	if lc.Changed() {
		if r.Snapshot == nil {
			r.Snapshot = &recID
		}
		if lc.Attempts > 1 {
			g.logf("write", "%s: %d conflict(s) with other writers, re-planned on the newest version", cluster.LivePath, lc.Attempts-1)
		}
		g.logf("write", "updated %s (old data saved in %s/%s.json)", cluster.LivePath, records.Dir(), recID)
	}
	return nil
}

// liveRollbackStep is the cluster part of `rollback ID`: the objects record ID changed.
type liveRollbackStep struct {
	client *cluster.Client
	rec    *cluster.Record
	cms    []*cluster.LiveChange
	labels []cluster.LabelChange
	force  bool
}

// liveRollbackPlan finds the cluster record of snapshot id and plans putting its objects back,
// refusing drift unless --force. Without --kubeconfig it adds a warning when there is such a record
// and returns nil; it returns nil too when there is none.
func liveRollbackPlan(c *cli.Context, g *globals, store *snapshot.Store, id string, r *result) (*liveRollbackStep, error) {
	rec, err := cluster.OpenRecords(store).Get(id)
	if errors.Is(err, cluster.ErrNoRecord) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.String("kubeconfig") == "" {
		r.Warnings = append(r.Warnings, fmt.Sprintf("snapshot %s also changed cluster objects (%s); pass --kubeconfig to restore them too", id, describeRecord(rec)))
		return nil, nil
	}
	client, err := clusterClient(c, g)
	if err != nil {
		return nil, err
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	s := &liveRollbackStep{client: client, rec: rec, force: c.Bool("force")}
	for _, cm := range rec.ConfigMaps {
		lc, _, err := client.PlanConfigMapRollback(ctx, cm, s.force)
		if err != nil {
			return nil, err
		}
		s.cms = append(s.cms, lc)
		addChange(r, lc.FileChange())
	}
	if s.labels, err = client.PlanLabelRollback(ctx, rec.Labels, s.force); err != nil {
		return nil, err
	}
	for _, l := range s.labels {
		addChange(r, l.FileChange())
	}
	return s, nil
}

func describeRecord(rec *cluster.Record) string {
	var parts []string
	for _, cm := range rec.ConfigMaps {
		parts = append(parts, "configmap:"+cm.Namespace+"/"+cm.Name)
	}
	if n := len(rec.Labels); n > 0 {
		parts = append(parts, fmt.Sprintf("the skip-mirror label of %d Endpoints", n))
	}
	return strings.Join(parts, ", ")
}

// liveRollbackApply restores what liveRollbackPlan planned, recording the state it replaces under
// newID (the file rollback's snapshot id; a new id when that is "") so the rollback can be undone.
func liveRollbackApply(c *cli.Context, g *globals, s *liveRollbackStep, store *snapshot.Store, newID string, r *result) error {
	if s == nil {
		return nil
	}
	records := cluster.OpenRecords(store)
	if newID == "" {
		newID = cluster.NewID(time.Now())
	}
	back := &cluster.Record{ID: newID, Time: time.Now().UTC(), Op: "rollback", RollbackOf: s.rec.ID, Command: commandLine(c),
		ToolVersion: version, Server: s.client.Host}
	ctx, cancel := clusterContext(c)
	defer cancel()
	changed := false
	for _, cm := range s.rec.ConfigMaps {
		lc, err := s.client.RollbackConfigMap(ctx, cm, s.force, func(lc *cluster.LiveChange) error {
			back.ConfigMaps = append(back.ConfigMaps, lc.RecordOf())
			return records.Save(back)
		})
		if err != nil {
			return err
		}
		if lc.Changed() {
			changed = true
			g.logf("write", "restored %s", "configmap:"+cm.Namespace+"/"+cm.Name)
		}
	}
	var todo []cluster.LabelChange
	for _, l := range s.labels {
		if l.Changed() {
			todo = append(todo, l)
			back.Labels = append(back.Labels, l.Record())
		}
	}
	if len(todo) > 0 {
		if err := records.Save(back); err != nil {
			return err
		}
		if _, err := s.client.ApplyLabels(ctx, todo); err != nil {
			return err
		}
		changed = true
		g.logf("write", "restored the skip-mirror label of %d Endpoints", len(todo))
	}
	if changed && r.Snapshot == nil {
		r.Snapshot = &newID
	}
	return nil
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
mirror pods. Writes nothing.

Exit status: 0 safe to disable; 3 something depends on mirroring (see "findings"); 1 error.
The kubeconfig is --kubeconfig, else $KUBECONFIG, else /etc/kubernetes/admin.conf (under --root).

Examples:
   mirrorctl audit
   mirrorctl -o json audit --kubeconfig /etc/kubernetes/admin.conf`,
		Flags: []cli.Flag{
			kubeconfigFlag("kubeconfig (default: $KUBECONFIG, else /etc/kubernetes/admin.conf; under --root)"),
			&cli.IntFlag{Name: "page-size", Value: cluster.DefaultPageSize, Usage: "objects per list request"},
			timeoutFlag(2 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("audit takes no arguments (got %q)", c.Args().First())
			}
			if c.Int("page-size") < 1 {
				return usageErr("--page-size must be at least 1")
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
			a, err := client.RunAudit(ctx, cluster.AuditOptions{PageSize: int64(c.Int("page-size"))})
			if err != nil {
				return err
			}
			if g.json {
				err = writeJSON(g.stdout, a)
			} else {
				err = printAudit(g.stdout, a)
			}
			if err != nil {
				return err
			}
			if !a.Safe {
				return &exitCode{code: exitFindings}
			}
			return nil
		},
	}
}

func printAudit(w io.Writer, a *cluster.Audit) error {
	fmt.Fprintf(w, "server: %s (%s)\nmirroring on the control plane: %s\n", a.Server, a.ServerVersion, a.Mirroring)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }
	section("CONTROL PLANE (kube-controller-manager mirror pods)")
	if len(a.ControlPlane) == 0 {
		fmt.Fprintln(tw, "(none found)")
	} else {
		fmt.Fprintln(tw, "NODE\tPOD\tVERSION\tMIRRORING\tLEADER\tCONTROLLERS")
		for _, k := range a.ControlPlane {
			ctl := k.Controllers
			if k.Note != "" {
				ctl += " (" + k.Note + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Node, k.Pod, k.Version, k.Mirroring, map[bool]string{true: "yes", false: "-"}[k.Leader], ctl)
		}
	}
	section(fmt.Sprintf("MIRRORED ENDPOINTSLICES (%d; stale once mirroring is off)", a.Counts.MirroredSlices))
	if len(a.MirroredSlices) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE\tSLICES\tENDPOINTS")
		for _, m := range a.MirroredSlices {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", m.Namespace, m.Service, strings.Join(m.Slices, ","), m.Endpoints)
		}
	}
	section(fmt.Sprintf("SELECTOR-LESS SERVICES MIRRORED NOW (%d; Endpoints without %s=true)", len(a.WouldMirror), cluster.LabelSkipMirror))
	if len(a.WouldMirror) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE")
		for _, o := range a.WouldMirror {
			fmt.Fprintf(tw, "%s\t%s\n", o.Namespace, o.Name)
		}
	}
	section(fmt.Sprintf("APISERVICES BEHIND SELECTOR-LESS SERVICES (%d)", len(a.APIServices)))
	if len(a.APIServices) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "APISERVICE\tSERVICE\tMIRRORED SLICES")
		for _, s := range a.APIServices {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", s.Name, s.Service, s.MirroredSlices)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, s := range items {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	list("findings", a.Findings)
	list("warnings", a.Warnings)
	list("notes", a.Notes)
	verdict := "SAFE: nothing depends on the mirroring controller (exit 0)"
	if !a.Safe {
		verdict = "NOT SAFE: something depends on the mirroring controller (exit 3)"
	}
	fmt.Fprintf(w, "\n%s\nread %d services, %d endpoints, %d mirrored slices, %d apiservices in %d requests\n", verdict,
		a.Counts.Services, a.Counts.Endpoints, a.Counts.MirroredSlices, a.Counts.APIServices, a.Counts.Requests)
	return nil
}

// ---------------------------------------------------------------------------------------------------
// mirrorctl skip (issue 7 §3)

// skipResult is skip's JSON: the keys of the file-changing commands, plus the objects.
type skipResult struct {
	Changed   bool               `json:"changed"`
	DryRun    bool               `json:"dry_run"`
	Snapshot  *string            `json:"snapshot"`
	Namespace string             `json:"namespace"`
	Label     string             `json:"label"`
	Objects   []skipObject       `json:"objects"`
	Files     []fileResult       `json:"files"`
	Diff      []change.DiffEntry `json:"diff"`
	Warnings  []string           `json:"warnings"`
	Notes     []string           `json:"notes"`
	changes   []change.FileChange
}

type skipObject struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Before    *string `json:"label_before"`
	After     *string `json:"label_after"`
	Changed   bool    `json:"changed"`
}

func newSkipResult(ns string, changes []cluster.LabelChange, warnings []string, dryRun bool) *skipResult {
	r := &skipResult{DryRun: dryRun, Namespace: ns, Label: cluster.LabelSkipMirror, Objects: []skipObject{}, Files: []fileResult{},
		Diff: []change.DiffEntry{}, Warnings: append([]string{}, warnings...), Notes: []string{}}
	for _, ch := range changes {
		r.add(ch)
	}
	return r
}

func (r *skipResult) add(ch cluster.LabelChange) {
	f := ch.FileChange()
	r.Objects = append(r.Objects, skipObject{Namespace: ch.Namespace, Name: ch.Name, Before: ch.Before, After: ch.After, Changed: ch.Changed()})
	r.Files = append(r.Files, fileResult{Path: f.Path, Kind: f.Kind, Changed: ch.Changed()})
	r.changes = append(r.changes, f)
	if ch.Changed() {
		r.Changed = true
		r.Diff = append(r.Diff, f.AnsibleDiff())
	}
}

func printSkip(g *globals, r *skipResult, verb string) error {
	for _, w := range r.Warnings {
		g.logf("warning", "%s", w)
	}
	if g.json {
		return writeJSON(g.stdout, r)
	}
	n := 0
	for _, f := range r.changes {
		d := f.UnifiedDiff()
		if d == "" {
			continue
		}
		n++
		if g.color {
			d = colorize(d)
		}
		fmt.Fprint(g.stdout, d)
	}
	if r.DryRun {
		verb = "would be " + verb
	}
	fmt.Fprintf(g.stderr, "%d of %d Endpoints in %s %s", n, len(r.Objects), r.Namespace, verb)
	if r.Snapshot != nil {
		fmt.Fprintf(g.stderr, "; snapshot %s (undo: mirrorctl skip --rollback %s)", *r.Snapshot, *r.Snapshot)
	}
	fmt.Fprintln(g.stderr)
	for _, n := range r.Notes {
		g.logf("next", "%s", n)
	}
	return nil
}

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
			kubeconfigFlag("kubeconfig (default: $KUBECONFIG, else /etc/kubernetes/admin.conf; under --root)"),
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace of the Endpoints"},
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label selector for the Endpoints"},
			&cli.BoolFlag{Name: "all", Usage: "every Endpoints in the namespace"},
			&cli.BoolFlag{Name: "undo", Usage: "remove the label instead"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and change nothing"},
			&cli.BoolFlag{Name: "rollback", Usage: "restore the labels a skip run replaced (argument: its snapshot id; default the latest)"},
			&cli.BoolFlag{Name: "force", Usage: "with --rollback: restore even labels changed since"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another mirrorctl run on this node"},
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
				return runSkipRollback(c, g, c.Args().First())
			}
			o := cluster.SkipOptions{Namespace: c.String("namespace"), Selector: c.String("selector"), Names: c.Args().Slice(),
				All: c.Bool("all"), Undo: c.Bool("undo")}
			if o.Namespace == "" {
				return usageErr("skip: --namespace is required")
			}
			n := 0
			for _, set := range []bool{o.Selector != "", len(o.Names) > 0, o.All} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageErr("skip: select Endpoints with exactly one of --selector, NAME..., --all")
			}
			return runSkip(c, g, o)
		},
	}
}

func runSkip(c *cli.Context, g *globals, o cluster.SkipOptions) error {
	client, err := clusterClient(c, g)
	if err != nil {
		return err
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	verb, op := "labelled", "skip"
	if o.Undo {
		verb, op = "unlabelled", "unskip"
	}
	dryRun := c.Bool("dry-run")
	changes, warnings, err := client.PlanSkip(ctx, o)
	if err != nil {
		return err
	}
	r := newSkipResult(o.Namespace, changes, warnings, dryRun)
	if dryRun || !r.Changed {
		return printSkip(g, r, verb)
	}
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	store := snapshot.Open(root, g.stateDir)
	unlock, err := lockStore(c, store, c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	defer unlock()
	// Plan again under the lock, on fresh reads.
	if changes, warnings, err = client.PlanSkip(ctx, o); err != nil {
		return err
	}
	var todo []cluster.LabelChange
	for _, ch := range changes {
		if ch.Changed() {
			todo = append(todo, ch)
		}
	}
	if len(todo) == 0 {
		return printSkip(g, newSkipResult(o.Namespace, changes, warnings, false), verb)
	}
	records := cluster.OpenRecords(store)
	rec := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: op, Command: commandLine(c), ToolVersion: version, Server: client.Host}
	for _, ch := range todo {
		rec.Labels = append(rec.Labels, ch.Record())
	}
	if err := records.Save(rec); err != nil {
		return err
	}
	g.logf("snapshot", "saved the labels of %d Endpoints as %s in %s", len(todo), rec.ID, records.Dir())
	done, err := client.ApplyLabels(ctx, todo)
	if err != nil {
		if rerr := client.RevertLabels(ctx, todo[:done]); rerr != nil {
			return fmt.Errorf("%v; putting back the %d labels already changed failed too (%v): run `mirrorctl skip --rollback %s`", err, done, rerr, rec.ID)
		}
		_ = records.Remove(rec.ID)
		return fmt.Errorf("%v; the %d labels already changed were put back", err, done)
	}
	// A conflict may have re-read an object: record what was really replaced.
	rec.Labels = rec.Labels[:0]
	for _, ch := range todo {
		rec.Labels = append(rec.Labels, ch.Record())
	}
	if err := records.Save(rec); err != nil {
		return err
	}
	byName := map[string]cluster.LabelChange{}
	for _, ch := range todo {
		byName[ch.Name] = ch
	}
	for i, ch := range changes {
		if t, ok := byName[ch.Name]; ok {
			changes[i] = t
		}
	}
	r = newSkipResult(o.Namespace, changes, warnings, false)
	r.Snapshot = &rec.ID
	if !o.Undo {
		r.Notes = append(r.Notes, "the mirroring controller deletes the mirrored EndpointSlices of these Endpoints within seconds (if it runs)")
	}
	return printSkip(g, r, verb)
}

func runSkipRollback(c *cli.Context, g *globals, id string) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	store := snapshot.Open(root, g.stateDir)
	records := cluster.OpenRecords(store)
	dryRun := c.Bool("dry-run")
	if !dryRun {
		unlock, err := lockStore(c, store, c.Duration("lock-timeout"))
		if err != nil {
			return err
		}
		defer unlock()
	}
	var rec *cluster.Record
	if id == "" {
		rec, err = records.Latest(func(r *cluster.Record) bool { return len(r.Labels) > 0 && r.RollbackOf == "" })
	} else {
		rec, err = records.Get(id)
	}
	if err != nil {
		return err
	}
	if len(rec.Labels) == 0 {
		return fmt.Errorf("%s: record %s changed no labels (it belongs to `mirrorctl rollback`)", records.Dir(), rec.ID)
	}
	client, err := clusterClient(c, g)
	if err != nil {
		return err
	}
	ctx, cancel := clusterContext(c)
	defer cancel()
	changes, err := client.PlanLabelRollback(ctx, rec.Labels, c.Bool("force"))
	if err != nil {
		return err
	}
	ns := rec.Labels[0].Namespace
	r := newSkipResult(ns, changes, nil, dryRun)
	g.logf("rollback", "record %s (%s, %s)", rec.ID, rec.Op, rec.Time.Format(time.RFC3339))
	if dryRun || !r.Changed {
		return printSkip(g, r, "restored")
	}
	var todo []cluster.LabelChange
	for _, ch := range changes {
		if ch.Changed() {
			todo = append(todo, ch)
		}
	}
	back := &cluster.Record{ID: cluster.NewID(time.Now()), Time: time.Now().UTC(), Op: "rollback", RollbackOf: rec.ID, Command: commandLine(c), ToolVersion: version, Server: client.Host}
	for _, ch := range todo {
		back.Labels = append(back.Labels, ch.Record())
	}
	if err := records.Save(back); err != nil {
		return err
	}
	if _, err := client.ApplyLabels(ctx, todo); err != nil {
		return fmt.Errorf("%v (the labels before this rollback are in record %s)", err, back.ID)
	}
	r.Snapshot = &back.ID
	return printSkip(g, r, "restored")
}

// clusterOnlySnapshot stands in for the file snapshot of a run that changed only cluster objects
// (the files were already right, the live ConfigMap was not): `rollback ID` then restores just those.
func clusterOnlySnapshot(store *snapshot.Store, id string) (*snapshot.Meta, bool) {
	if id == "" || snapshot.ValidID(id) != nil {
		return nil, false
	}
	rec, err := cluster.OpenRecords(store).Get(id)
	if err != nil {
		return nil, false
	}
	return &snapshot.Meta{ID: rec.ID, Time: rec.Time, Op: rec.Op, Command: rec.Command, ToolVersion: rec.ToolVersion, RollbackOf: rec.RollbackOf}, true
}
