// Package engine runs every change mirrorctl makes as one transaction. disable, enable, apply-plan,
// lint --fix, rollback and skip differ only in their Job: what plans the change, and which of the
// optional steps around the write they have. The phases, each logged as "[phase] …" on stderr:
//
//	plan      read the node (and the cluster) and propose the change; writes nothing
//	lock      take the node's lock (only when something would change and this is no dry run)
//	replan    plan again under the lock: another run may have changed the node since the first look
//	snapshot  save every file about to change (snapshot.Store.Commit, or Restore for a rollback) …
//	write     … then replace each file atomically
//	activate  make the change take effect where the kubelet does not (a service restart)
//	gate      wait for kube-controller-manager to be healthy with the new state, else roll back
//	live      the cluster objects (live kubeadm-config, skip-mirror labels), recorded first; on failure
//	          the files written above are rolled back, so a failed run leaves the node as it found it
//	record    print what to do next
//
// The command layer builds a Job from its flags and prints the Result; it decides nothing.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Env is what every run shares: where the node is, where the state lives, and how to talk.
type Env struct {
	Root     nodefs.Root
	StateDir string
	Command  []string // the command line, recorded in snapshots and cluster records
	Version  string   // mirrorctl's version, likewise
	Stderr   io.Writer
	Log      func(phase, format string, a ...any)
	// StateDirGiven: StateDir was named by the operator (--state-dir), not the default.
	StateDirGiven bool
	saidPrivate   bool
	// UndoFlags are the global flags an undo hint repeats so that `mirrorctl rollback` finds this
	// run's snapshot (" --root R --state-dir S" when not the defaults).
	UndoFlags string
}

// RollbackCommand is the rollback command line for a hint: its own flags, this run's global flags,
// the snapshot id.
func (e *Env) RollbackCommand(id string, flags ...string) string {
	return strings.Join(append([]string{"mirrorctl rollback"}, flags...), " ") + e.UndoFlags + " " + id
}

func (e *Env) logf(phase, format string, a ...any) {
	if e.Log != nil {
		e.Log(phase, format, a...)
	}
}

// Store opens the state dir (creating nothing). It may not be in any distribution's static pod folder:
// snapshot refuses only the few it knows by itself.
//
// Whose state it is: a run as root, a run given --state-dir or --root, and any run on a machine
// that has the node state dir use the node's (so a user's run on a node is told it needs root); a
// user's run where there is none (a workstation) keeps its lock, journal and snapshots in the user's
// own state folder (snapshot.PrivateStateDir), so editing one's own kind or kops file needs no root.
func (e *Env) Store() *snapshot.Store {
	opts := []snapshot.Option{snapshot.RefuseStaticPodDirs(distros.StaticPodDirs())}
	if dir := e.privateState(); dir != "" {
		opts = append(opts, snapshot.PrivateState(nodefs.Root{Dir: dir}))
	}
	return snapshot.Open(e.Root, e.StateDir, opts...)
}

func (e *Env) privateState() string {
	if os.Geteuid() == 0 || e.StateDirGiven || e.Root.Dir != "/" {
		return ""
	}
	if _, err := os.Lstat(e.Root.Host(e.StateDir)); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	dir, err := snapshot.PrivateStateDir()
	if err != nil {
		return ""
	}
	if !e.saidPrivate {
		e.saidPrivate = true
		e.logf("state", "not root and the node has no %s: this run's lock, journal and snapshots are under %s", e.StateDir, dir)
	}
	return dir
}

func (e *Env) info(distro, op string) snapshot.Info {
	return snapshot.Info{Command: e.Command, ToolVersion: e.Version, Distro: distro, Op: op}
}

// Job is one command's change.
type Job struct {
	Op          string // recorded in snapshots: disable, enable, lint-fix, rollback, …
	DryRun      bool
	LockTimeout time.Duration
	// Force rewrites targets with more than one hard link (splitting them from their other names),
	// with a warning each; without it such a target stops the run in the plan phase.
	Force bool

	// Plan reads the node and proposes the change. It runs in the plan phase and again, under the
	// lock, in the replan phase; it must write nothing. reads is the phase's read set, new for each
	// phase: whatever reads node files in the phase reads and parses them through it, once.
	Plan func(store *snapshot.Store, reads *distros.Reads) (*change.Plan, error)
	// Restore, when set, makes the write phase restore this snapshot (a rollback) instead of
	// committing the plan: the plan is then the rollback plan, and the snapshot taken first is of the
	// state the rollback replaces.
	Restore *snapshot.Meta
	// RestoreIn is the state dir holding Restore when it is not the run's own (an interrupted change
	// made with another --state-dir).
	RestoreIn *snapshot.Store
	// NoSnapshot makes a Restore skip the snapshot of the state it replaces (rollback --no-snapshot,
	// for a state dir whose file system is full): the rollback then cannot itself be rolled back.
	NoSnapshot bool
	// Live is the cluster step; nil for a node-only run.
	Live Live
	// Activate makes a written change take effect (a service restart); nil when the kubelet does.
	Activate func(p *change.Plan) error
	// Gate is the health gate; nil for none.
	Gate *Gate
	// Unchanged is the log line for a run with nothing to change ("" for none).
	Unchanged func(p *change.Plan) string
	// Guard checks the cluster before a change the node plan allows (disable --endpoints-controller:
	// every kube-apiserver new enough); it runs in the plan phase, after the planner, and returns
	// warnings, or the refusal that stops the run. nil: none.
	Guard func(ctx context.Context, p *change.Plan) ([]string, error)
	// APIServers configures the guard Mutate and ApplyPlan install for a disable that switches the
	// Endpoints controller off (EndpointsGuard); the zero value checks this node's files.
	APIServers APIServerCheck
}

// Live is the cluster part of a run: objects in the API server shown and changed like files.
type Live interface {
	// Plan reads the objects and returns their planned change, shown among the files. It runs in
	// the plan and replan phases.
	Plan(ctx context.Context) ([]change.FileChange, error)
	// Apply records the objects' state and writes the change, after the files were committed as
	// snapshot id ("" when no file changed). It returns what was written (a conflict may have
	// re-planned it) and the id its record was saved under ("" when nothing changed).
	Apply(ctx context.Context, id string) (written []change.FileChange, recordID string, err error)
}

// Run runs job through the phases and returns its result. On an error nothing on the node differs
// from before the run, unless the error says so and names the snapshot to roll back to.
func Run(ctx context.Context, env *Env, job *Job) (*Result, error) {
	store := env.Store()
	p, r, _, err := plan(ctx, env, job, store)
	if err != nil || job.DryRun || !r.Changed {
		return r, err
	}

	unlock, err := store.Lock(job.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	CatchInterrupts(ctx)
	p, r, reads, err := plan(ctx, env, job, store)
	if err != nil || !r.Changed {
		return r, err
	}
	if job.Gate != nil {
		// What the gate needs of kcm (its kubeconfig, its version) as the replan read it, before the write.
		job.Gate.prepare(reads)
		job.Gate.learnName(ctx, env)
	}

	id, err := write(env, job, store, p)
	if err != nil {
		return nil, err
	}
	if id != "" {
		r.Snapshot = &id
	}
	if job.Activate != nil && p.Changed() {
		if err := job.Activate(p); err != nil {
			return nil, fmt.Errorf("%w; the files are written (undo: %s)", err, env.RollbackCommand(id))
		}
		r.PendingRestart = nil
	}
	if job.Gate != nil {
		if err := job.Gate.run(ctx, env, store, p, id); err != nil {
			return nil, err
		}
	}
	if job.Live != nil {
		if err := live(ctx, env, job, store, id, r); err != nil {
			return nil, err
		}
	}
	for _, n := range p.Notes {
		env.logf("next", "%s", n)
	}
	return r, nil
}

// plan runs the planner and the live step's plan and builds the result they would give. It returns the
// phase's read set too.
func plan(ctx context.Context, env *Env, job *Job, store *snapshot.Store) (*change.Plan, *Result, *distros.Reads, error) {
	reads := distros.NewReads(env.Root)
	p, err := job.Plan(store, reads)
	if err != nil {
		return nil, nil, nil, err
	}
	// A rollback puts files back as they were and is never refused for their links; every other write
	// would split a hard-linked target from its other names.
	if job.Restore == nil {
		split, err := snapshot.CheckHardLinks(p.Files, job.Force)
		if err != nil {
			return nil, nil, nil, err
		}
		p.Warnings = append(p.Warnings, split...)
	}
	if job.Guard != nil {
		w, err := job.Guard(ctx, p)
		if err != nil {
			return nil, nil, nil, err
		}
		p.Warnings = append(p.Warnings, w...)
	}
	r := NewResult(p, job.DryRun)
	if job.Live != nil {
		CatchInterrupts(ctx)
		lc, err := job.Live.Plan(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, c := range lc {
			r.Add(c)
		}
	}
	if !r.Changed && job.Unchanged != nil {
		if msg := job.Unchanged(p); msg != "" {
			env.logf("plan", "%s", msg)
		}
	}
	return p, r, reads, nil
}

// write is the snapshot and write phases: the files' old state is saved, then each is replaced.
func write(env *Env, job *Job, store *snapshot.Store, p *change.Plan) (string, error) {
	if !p.Changed() {
		return "", nil
	}
	var id string
	var err error
	verb := "wrote"
	if job.Restore != nil {
		verb = "restored"
		in := store
		if job.RestoreIn != nil {
			in = job.RestoreIn
		}
		var opts []snapshot.RestoreOption
		if job.NoSnapshot {
			opts = append(opts, snapshot.NoSnapshot())
		}
		id, err = in.Restore(job.Restore, p.Files, env.info(job.Restore.Distro, job.Op), opts...)
		switch {
		case err == nil && job.NoSnapshot:
			env.logf("snapshot", "none taken (--no-snapshot): this rollback cannot itself be rolled back")
		case err == nil && id != "":
			env.logf("snapshot", "saved the pre-rollback state as %s", id)
		case errors.Is(err, snapshot.ErrNoSpace):
			err = fmt.Errorf("%w; nothing written: free space in %s and run it again, or `%s` restores without saving the current state (that rollback cannot be undone)", err, in.Dir(), env.RollbackCommand(job.Restore.ID, "--no-snapshot"))
		}
	} else if job.NoSnapshot {
		return "", errors.New("internal error: NoSnapshot is for a rollback only")
	} else {
		info := env.info(p.Distro, job.Op)
		info.SplitHardLinks = job.Force
		id, err = store.Commit(p.Files, info)
		if err == nil && id != "" {
			env.logf("snapshot", "saved %s in %s", id, env.StateDir)
		}
	}
	if err != nil {
		return "", err
	}
	for _, f := range p.Files {
		if f.Changed() {
			env.logf("write", "%s %s", verb, f.Path)
		}
	}
	return id, nil
}

// live is the live phase: on failure the files of snapshot id are rolled back, so a failed run leaves
// the node as it found it.
func live(ctx context.Context, env *Env, job *Job, store *snapshot.Store, id string, r *Result) error {
	written, recID, err := job.Live.Apply(ctx, id)
	if err != nil {
		if id == "" {
			return err
		}
		if _, _, _, rerr := store.Rollback(id, false, env.info("", "rollback")); rerr != nil {
			return fmt.Errorf("%v; restoring the files of snapshot %s failed too (%v): run `%s`", err, id, rerr, env.RollbackCommand(id))
		}
		return fmt.Errorf("%v; the files were restored from snapshot %s", err, id)
	}
	for _, c := range written {
		r.Replace(c)
	}
	if r.Snapshot == nil && recID != "" {
		r.Snapshot = &recID
	}
	return nil
}
