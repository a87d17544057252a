package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/lint"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// The planners: one per command that changes something. Each returns a Job for Run.

// Mutate is disable and enable: the adapter's plan, with lint's findings as warnings.
//
// With o.EndpointsController on disable, the job gets EndpointsGuard (configured by job.APIServers):
// no caller switches the Endpoints controller off unchecked by forgetting it.
func Mutate(env *Env, a distros.Adapter, o distros.Options, job Job) *Job {
	first := true
	job.Op = string(o.Op)
	if job.Guard == nil {
		job.Guard = EndpointsGuard(env, a, o, job.APIServers)
	}
	job.Plan = func(store *snapshot.Store, reads *distros.Reads) (*change.Plan, error) {
		if first {
			env.logf("plan", "%s on %s node (root %s)", o.Op, a.Name(), o.Root.Dir)
			first = false
		}
		o := o
		o.Reads = reads
		if o.Op == controllers.Enable {
			o.Added = AddedByUs(store)
		}
		p, err := a.Plan(o)
		if err != nil {
			return nil, err
		}
		// Lint findings (an EndpointSliceMirroring feature gate, backup files the kubelet would run, …)
		// are printed before every change: they are how nodes break after a "successful" edit. Lint
		// reads the files the plan read, as it read them.
		lo := lint.Options{KubeadmConfigs: o.Strings(distros.KubeadmConfigInput), Reads: reads}
		p.Warnings = append(lint.PreChangeWarnings(o.Root, lo, p), p.Warnings...)
		p.Remarks = append(lint.PreChangeNotes(p), p.Remarks...)
		p.Restart = restartFor(a.Name())
		if o.EndpointsController {
			// Every adapter reports the Endpoints controller's state after its edit; one that did not
			// has not established it, and nothing may say it did.
			switch want := change.StateOf(o.Op == controllers.Enable); p.Endpoints {
			case "":
				return nil, fmt.Errorf("internal error: the %s adapter does not report the Endpoints controller's state after the edit", a.Name())
			case want:
			default:
				p.Warnings = append(p.Warnings, fmt.Sprintf("the Endpoints controller stays %s", p.Endpoints))
			}
		}
		return p, nil
	}
	job.Unchanged = func(p *change.Plan) string {
		if p.Endpoints != "" {
			return fmt.Sprintf("mirroring is already %s and the Endpoints controller %s: nothing to change", p.Mirroring, p.Endpoints)
		}
		return fmt.Sprintf("mirroring is already %s: nothing to change", p.Mirroring)
	}
	return &job
}

// restartFor is the command that makes a change to distro's files take effect, when a service
// restart does (change.Plan.Restart); nil for the kubelet, another machine, or an unknown distro.
func restartFor(distro string) []string {
	a, err := distros.Get(distro)
	if err != nil {
		return nil
	}
	if act := a.Activation(); act.Kind == distros.ByServiceRestart {
		return act.Command
	}
	return nil
}

// AddedByUs finds, for distros.Options.Added, the files whose newest snapshot records a key the
// change created (snapshot.FileMeta.Added) and returns their bytes from before that change. Only the
// newest snapshot of each file counts: a later change (an enable, a rollback) took the key back or
// made it the operator's again. A state dir that cannot be read gives none; enable then edits the
// entry as it would without the record.
func AddedByUs(store *snapshot.Store) map[string][]byte {
	all, err := store.List()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	out := map[string][]byte{}
	for i := range all {
		m := &all[i]
		for _, f := range m.Files {
			if seen[f.Path] {
				continue
			}
			seen[f.Path] = true
			if len(f.Added) == 0 || !f.Existed {
				continue
			}
			if data, err := store.ReadStored(m, f); err == nil {
				out[f.Path] = data
			}
		}
	}
	return out
}

// Restart is the activate phase with --restart: the service restart the distribution's activation
// names (k3s, RKE2, k0s, MicroK8s), so the change takes effect.
func Restart(env *Env, distro string) func(*change.Plan) error {
	return func(*change.Plan) error {
		a, err := distros.Get(distro)
		if err != nil {
			return err
		}
		act := a.Activation()
		switch act.Kind {
		case distros.ByKubelet:
			env.logf("restart", "%s needs no restart: the kubelet picks up the manifest", distro)
			return nil
		case distros.Elsewhere:
			env.logf("restart", "%s needs no restart here: the change takes effect elsewhere", distro)
			return nil
		}
		argv := act.Command
		env.logf("restart", "%s", strings.Join(argv, " "))
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = env.Stderr, env.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("--restart: %s: %v", strings.Join(argv, " "), err)
		}
		return nil
	}
}

// ApplyPlan applies a saved plan: its planner checks, each time, that every target still has the bytes
// the plan recorded and that the node is the one it was made on (force: any node).
//
// A disable plan that switches the Endpoints controller off runs EndpointsGuard as disable does: the
// cluster may have changed since the plan was made.
func ApplyPlan(env *Env, f *planfile.File, force bool, job Job) *Job {
	job.Op = f.Operation
	if a, o, lo, err := planSetup(env.Root, f); err == nil && lo == nil && job.Guard == nil {
		job.Guard = EndpointsGuard(env, a, o, job.APIServers)
	}
	job.Plan = func(store *snapshot.Store, _ *distros.Reads) (*change.Plan, error) {
		var forced []string
		if force {
			if err := f.CheckIdentity(env.Root); err != nil {
				forced = append(forced, "--force: "+err.Error())
			}
		}
		allowed, err := PlanTargets(env.Root, f)
		if err != nil {
			return nil, err
		}
		if err := f.CheckTargets(allowed); err != nil {
			if f.Inputs == nil {
				return nil, fmt.Errorf("%w; the plan records no inputs (made by an older mirrorctl): make a new plan", err)
			}
			return nil, err
		}
		changes, err := f.Check(env.Root, force)
		if err != nil {
			return nil, err
		}
		manager, err := checkMadeByUs(env.Root, f, changes, AddedByUs(store))
		if err != nil {
			return nil, err
		}
		p := f.Plan(changes)
		p.Manager = manager
		p.Warnings = append(p.Warnings, forced...)
		p.Restart = restartFor(f.Distro)
		if f.Node == (planfile.Identity{}) && planfile.ReadIdentity(env.Root) == (planfile.Identity{}) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("neither the plan nor this node has %s or %s: which node the plan was made on cannot be checked (each file's sha256 still is)", planfile.MachineIDPath, planfile.HostnamePath))
		}
		return p, nil
	}
	job.Unchanged = func(*change.Plan) string { return "the files already hold the planned bytes: nothing to change" }
	return &job
}

// lintFixManifestsDir is the input a lint-fix plan records: the folder lint --fix edited.
const lintFixManifestsDir = "manifests-dir"

// PlanInputs are the inputs a disable or enable plan records: --controller-name and the values of
// the inputs adapter a declares. apply-plan recomputes the plan's targets from them (PlanTargets).
func PlanInputs(a distros.Adapter, o distros.Options) planfile.Inputs {
	in := planfile.Inputs{ControllerName: o.ControllerName, EndpointsController: o.EndpointsController, Values: map[string]any{}}
	for _, d := range a.Inputs() {
		if v, ok := o.Inputs[d.Name]; ok {
			in.Values[d.Name] = v
		}
	}
	return in
}

// LintFixInputs are the inputs a lint-fix plan records.
func LintFixInputs(o lint.Options) planfile.Inputs {
	return planfile.Inputs{Values: map[string]any{lintFixManifestsDir: o.ManifestsDir}}
}

// planSetup rebuilds, from a plan's operation, distro and recorded inputs (none recorded: the
// defaults), how mirrorctl made it: the adapter and its options for disable and enable, lint's
// options for lint-fix. A plan whose inputs the adapter does not read, or of another operation, is
// refused.
func planSetup(root nodefs.Root, f *planfile.File) (distros.Adapter, distros.Options, *lint.Options, error) {
	in := planfile.Inputs{}
	if f.Inputs != nil {
		in = *f.Inputs
	}
	switch f.Operation {
	case "lint-fix":
		o := lint.Options{}
		for k, v := range in.Values {
			s, ok := v.(string)
			if k != lintFixManifestsDir || !ok {
				return nil, distros.Options{}, nil, fmt.Errorf("plan: a lint-fix plan records input %s, which lint --fix does not read; nothing written", k)
			}
			o.ManifestsDir = s
		}
		if in.ControllerName != "" {
			return nil, distros.Options{}, nil, errors.New("plan: a lint-fix plan records a controller name, which lint --fix does not read; nothing written")
		}
		if in.EndpointsController {
			return nil, distros.Options{}, nil, errors.New("plan: a lint-fix plan records endpoints_controller, which lint --fix does not read; nothing written")
		}
		return nil, distros.Options{}, &o, nil
	case string(controllers.Disable), string(controllers.Enable):
	default:
		return nil, distros.Options{}, nil, fmt.Errorf("plan: operation %q: apply-plan applies disable, enable and lint-fix plans; nothing written", f.Operation)
	}
	a, err := distros.Get(f.Distro)
	if err != nil {
		return nil, distros.Options{}, nil, fmt.Errorf("plan: %w; nothing written", err)
	}
	o := distros.Options{Root: root, Op: controllers.Op(f.Operation), ControllerName: in.ControllerName,
		EndpointsController: in.EndpointsController, Inputs: distros.Values{}}
	for k, v := range in.Values {
		if !readsInput(a, k, v) {
			return nil, o, nil, fmt.Errorf("plan: records input %s=%v, which is not an input of the %s adapter of that kind; nothing written", k, v, a.Name())
		}
		o.Inputs[k] = v
	}
	return a, o, nil, nil
}

// PlanTargets recomputes the node paths a plan may change: what the adapter's Targets lists for
// disable and enable with the plan's recorded inputs, the static pod manifests lint --fix may edit for
// lint-fix.
func PlanTargets(root nodefs.Root, f *planfile.File) ([]string, error) {
	a, o, lo, err := planSetup(root, f)
	if err != nil {
		return nil, err
	}
	if lo != nil {
		return lint.FixTargets(root, *lo)
	}
	ts, err := a.Targets(o)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, t := range ts {
		paths = append(paths, t.Path)
	}
	return paths, nil
}

// checkMadeByUs refuses a plan whose new bytes are not what mirrorctl makes of the node's files now,
// with the plan's recorded inputs: the targets' bytes are the plan's "before" (f.Check), so the same
// operation must give the plan's "after". A plan forged to write other bytes, into a file its
// recorded inputs name (a "kubeadm config" at /etc/cron.d/x), is refused: the adapter does not make
// those bytes, or cannot read the file at all. The same plan says which tool manages the node, if any
// (a managed node's plan applies only when it recorded --i-understand-node-is-managed). added is
// distros.Options.Added, as the enable that made the plan saw it.
func checkMadeByUs(root nodefs.Root, f *planfile.File, changes []change.FileChange, added map[string][]byte) (*change.NodeManager, error) {
	a, o, lo, err := planSetup(root, f)
	if err != nil {
		return nil, err
	}
	if o.Op == controllers.Enable {
		o.Added = added // as the enable that made the plan saw them
	}
	var fresh []change.FileChange
	var manager *change.NodeManager
	if lo != nil {
		fresh, err = lint.Fix(root, *lo)
	} else {
		var p *change.Plan
		if p, err = a.Plan(o); err == nil {
			fresh, manager = p.Files, p.Manager
		}
	}
	if err != nil {
		return nil, fmt.Errorf("plan: mirrorctl %s cannot make this plan from the node's files (%v); nothing written", f.Operation, err)
	}
	made := map[string][]byte{}
	for _, c := range fresh {
		if c.Changed() {
			made[c.Path] = c.After
		}
	}
	for _, c := range changes {
		if !c.Changed() {
			continue
		}
		if after, ok := made[c.Path]; !ok || !bytes.Equal(after, c.After) {
			return nil, fmt.Errorf("plan: %s: the plan's new bytes are not what mirrorctl %s makes of this file now (forged, or made by another mirrorctl version); nothing written: make a new plan", c.Path, f.Operation)
		}
	}
	return manager, nil
}

// readsInput says whether adapter a declares an input named name of v's kind (Options panics on a
// value of the wrong kind: a forged plan must not get that far).
func readsInput(a distros.Adapter, name string, v any) bool {
	for _, d := range a.Inputs() {
		if d.Name != name {
			continue
		}
		switch v.(type) {
		case string:
			return d.Kind == distros.StringInput
		case bool:
			return d.Kind == distros.BoolInput
		case []string:
			return d.Kind == distros.StringsInput
		}
	}
	return false
}

// LintFix removes what lint --fix repairs (EndpointSliceMirroring feature gates in static pods).
func LintFix(env *Env, o lint.Options, job Job) *Job {
	job.Op = "lint-fix"
	job.Plan = func(_ *snapshot.Store, reads *distros.Reads) (*change.Plan, error) {
		o := o
		o.Reads = reads
		changes, err := lint.Fix(env.Root, o)
		if err != nil {
			return nil, err
		}
		return &change.Plan{Distro: "kubeadm", Op: "lint-fix", Files: changes, Mirroring: change.Unknown}, nil
	}
	return &job
}

// Rollback restores snapshot id (the latest change when ""), and with a cluster the objects its run
// changed. Without one, a run that changed cluster objects is named in a warning.
func Rollback(env *Env, id string, force bool, c *Cluster, job Job) *Job {
	job.Op = "rollback"
	var step *RecordRollback
	if c != nil {
		step = &RecordRollback{Cluster: *c, Env: env, Force: force}
	}
	job.Plan = func(store *snapshot.Store, _ *distros.Reads) (*change.Plan, error) {
		// Without an id: an interrupted change's snapshot (from whichever state dir holds it), else
		// the latest change.
		var changes []change.FileChange
		owner, meta, err := store.RollbackTarget(id)
		if err == nil {
			store = owner
			changes, meta, err = store.PlanRollback(meta.ID, force)
		}
		if errors.Is(err, snapshot.ErrNotFound) && id != "" {
			// A run that changed only cluster objects (the files were already as wanted) has a
			// cluster record under its id and no file snapshot.
			if rec, rerr := FindRecord(store, id); rerr == nil && rec != nil {
				changes, meta, err = nil, &snapshot.Meta{ID: rec.ID, Time: rec.Time, Op: rec.Op, Command: rec.Command,
					ToolVersion: rec.ToolVersion, RollbackOf: rec.RollbackOf}, nil
			}
		}
		if err != nil {
			return nil, err
		}
		job.Restore, job.RestoreIn = meta, store
		p := &change.Plan{Distro: meta.Distro, Files: changes, Mirroring: change.Unknown, Restart: restartFor(meta.Distro)}
		if job.NoSnapshot {
			p.Warnings = append(p.Warnings, "--no-snapshot: the state this rollback replaces is not saved, so this rollback cannot itself be rolled back")
		}
		rec, err := FindRecord(store, meta.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case rec != nil && step == nil:
			p.Warnings = append(p.Warnings, fmt.Sprintf("snapshot %s also changed cluster objects (%s); pass --kubeconfig to restore them too", meta.ID, DescribeRecord(rec)))
		case rec != nil:
			step.Record = rec
		}
		return p, nil
	}
	if step != nil {
		job.Live = &optionalLive{step: step}
	}
	return &job
}

// optionalLive runs a RecordRollback only when the planner found a record for it.
type optionalLive struct{ step *RecordRollback }

func (o *optionalLive) Plan(ctx context.Context) ([]change.FileChange, error) {
	if o.step.Record == nil {
		return nil, nil
	}
	return o.step.Plan(ctx)
}

func (o *optionalLive) Apply(ctx context.Context, id string) ([]change.FileChange, string, error) {
	if o.step.Record == nil {
		return nil, "", nil
	}
	return o.step.Apply(ctx, id)
}

// Skip labels (or unlabels) Endpoints, or with a record restores the labels it replaced.
func Skip(env *Env, l *Labels, job Job) *Job {
	job.Op = l.Op
	l.Env = env
	job.Plan = func(*snapshot.Store, *distros.Reads) (*change.Plan, error) {
		return &change.Plan{Mirroring: change.Unknown}, nil
	}
	job.Live = l
	return &job
}

// StateAfter is the node's mirroring state after a rollback: for a dry run, what the kcm manifest the
// rollback would restore says; otherwise read with the detected adapter; unknown when neither says.
func StateAfter(env *Env, changes []change.FileChange, dryRun bool) string {
	if dryRun {
		for _, f := range changes {
			if f.Kind != distros.KindStaticPod || f.After == nil {
				continue
			}
			if m, err := manifests.Parse(f.After); err == nil {
				if on, err := m.Mirroring(); err == nil {
					return change.StateOf(on)
				}
			}
		}
		return change.Unknown
	}
	a, err := distros.Detect(env.Root)
	if err != nil {
		return change.Unknown
	}
	st, err := a.Status(distros.Options{Root: env.Root})
	if err != nil {
		return change.Unknown
	}
	st.Summarize()
	return st.Mirroring
}

// SavePlan saves a dry run's plan p, made from inputs in, to path (a host path, not under --root),
// refusing the folders whose files a kubelet runs, and says where it went and whether it holds
// credentials.
func SavePlan(env *Env, p *change.Plan, op string, in planfile.Inputs, path string) (string, error) {
	s, err := planfile.Save(env.Root, p, op, in, path, env.Version, distros.StaticPodDirs())
	if err != nil {
		return "", err
	}
	env.logf("plan", "saved %s sha256 %s", path, s.SHA256)
	for _, t := range s.Secrets {
		env.logf("warning", "%s holds the complete contents of %s, which has a %s: keep the plan as private as that file, and cite its sha256 rather than paste it", path, t.Path, t.Kind)
	}
	return s.SHA256, nil
}

// MutateFiles is disable and enable on -f files: their own plan. lint's checks look at a node, and -f
// files are not one.
func MutateFiles(env *Env, fs *distros.Files, o distros.Options, job Job) *Job {
	first := true
	job.Op = string(o.Op)
	job.Plan = func(_ *snapshot.Store, reads *distros.Reads) (*change.Plan, error) {
		if first {
			env.logf("plan", "%s on %d file(s) given with -f", o.Op, len(fs.Paths))
			first = false
		}
		if o.Op == controllers.Disable && o.EndpointsController && !job.APIServers.Skip {
			// Repository files configure clusters elsewhere: no kube-apiserver of theirs is in reach.
			return nil, fmt.Errorf("refusing to switch the Endpoints controller off in -f files: the kube-apiserver versions of the cluster they configure cannot be checked from here (every one must be %s or newer; check with `mirrorctl disable --endpoints-controller --dry-run --kubeconfig …` against the cluster), then pass %s", distros.EndpointsFreeAPIServer, distros.SkipAPIServerCheckFlag)
		}
		if o.Op == controllers.Disable && o.EndpointsController {
			env.logf("warning", "%s: the kube-apiserver versions were not checked; one older than %s reads Endpoints (services/proxy), which nothing updates once the Endpoints controller is off", distros.SkipAPIServerCheckFlag, distros.EndpointsFreeAPIServer)
		}
		o := o
		o.Reads = reads
		p, err := fs.Plan(o)
		if err != nil {
			return nil, err
		}
		if o.EndpointsController && p.Endpoints != change.StateOf(o.Op == controllers.Enable) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the Endpoints controller stays %s", p.Endpoints))
		}
		return p, nil
	}
	job.Unchanged = func(p *change.Plan) string {
		if p.Endpoints != "" {
			return fmt.Sprintf("mirroring is already %s and the Endpoints controller %s: nothing to change", p.Mirroring, p.Endpoints)
		}
		return fmt.Sprintf("mirroring is already %s: nothing to change", p.Mirroring)
	}
	return &job
}
