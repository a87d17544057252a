package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/lint"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// The planners: one per command that changes something. Each returns a Job for Run.

// Mutate is disable and enable: the adapter's plan, with lint's findings as warnings.
func Mutate(env *Env, a distros.Adapter, o distros.Options, job Job) *Job {
	first := true
	job.Op = string(o.Op)
	job.Plan = func(*snapshot.Store) (*change.Plan, error) {
		if first {
			env.logf("plan", "%s on %s node (root %s)", o.Op, a.Name(), o.Root.Dir)
			first = false
		}
		p, err := a.Plan(o)
		if err != nil {
			return nil, err
		}
		// Lint findings (an EndpointSliceMirroring feature gate, backup files the kubelet would run, …)
		// are printed before every change: they are how nodes break after a "successful" edit.
		p.Warnings = append(lint.PreChangeWarnings(o.Root, o.Strings(distros.KubeadmConfigInput), p), p.Warnings...)
		return p, nil
	}
	job.Unchanged = func(p *change.Plan) string {
		return fmt.Sprintf("mirroring is already %s: nothing to change", p.Mirroring)
	}
	return &job
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
func ApplyPlan(env *Env, f *planfile.File, force bool, job Job) *Job {
	job.Op = f.Operation
	job.Plan = func(*snapshot.Store) (*change.Plan, error) {
		var forced []string
		if force {
			if err := f.CheckIdentity(env.Root); err != nil {
				forced = append(forced, "--force: "+err.Error())
			}
		}
		changes, err := f.Check(env.Root, force)
		if err != nil {
			return nil, err
		}
		p := f.Plan(changes)
		p.Warnings = append(p.Warnings, forced...)
		if f.Node == (planfile.Identity{}) && planfile.ReadIdentity(env.Root) == (planfile.Identity{}) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("neither the plan nor this node has %s or %s: which node the plan was made on cannot be checked (each file's sha256 still is)", planfile.MachineIDPath, planfile.HostnamePath))
		}
		return p, nil
	}
	job.Unchanged = func(*change.Plan) string { return "the files already hold the planned bytes: nothing to change" }
	return &job
}

// LintFix removes what lint --fix repairs (EndpointSliceMirroring feature gates in static pods).
func LintFix(env *Env, o lint.Options, job Job) *Job {
	job.Op = "lint-fix"
	job.Plan = func(*snapshot.Store) (*change.Plan, error) {
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
	job.Plan = func(store *snapshot.Store) (*change.Plan, error) {
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
		p := &change.Plan{Distro: meta.Distro, Files: changes, Mirroring: change.Unknown}
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
	job.Plan = func(*snapshot.Store) (*change.Plan, error) {
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
