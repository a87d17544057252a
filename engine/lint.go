package engine

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/lint"
)

// LintResult is lint's JSON object: the changing-command keys (changed, snapshot, files, diff, warnings,
// dry_run) as disable prints them, plus the findings.
type LintResult struct {
	*Result
	Findings []lint.Finding `json:"findings"` // what is left (after --fix: after the fix; with --dry-run: what the fix would leave)
	Fixed    []lint.Finding `json:"fixed"`    // what --fix repaired (or would repair)
}

// Lint lints the node, and with fix runs the fix through the engine (unless job.DryRun: written under
// the lock, snapshot first; save, when not nil, gets the dry run's plan), then lints again.
func Lint(ctx context.Context, env *Env, o lint.Options, fix bool, job Job, save func(*change.Plan) error) (*LintResult, error) {
	if looked, found := lint.Looked(env.Root, o); !found {
		return nil, fmt.Errorf("lint: nothing to check under %s: none of %s exists (is this a control-plane node? --root, --manifests-dir and --kubeadm-config say where to look)", env.Root.Dir, strings.Join(looked, ", "))
	}
	findings, err := lint.Run(env.Root, o)
	if err != nil {
		return nil, err
	}
	r := &LintResult{Result: NewResult(&change.Plan{Mirroring: change.Unknown}, job.DryRun), Findings: findings, Fixed: []lint.Finding{}}
	if !fix {
		return r, nil
	}
	res, err := Run(ctx, env, LintFix(env, o, job))
	if err != nil {
		return nil, err
	}
	if save != nil {
		if err := save(res.Plan); err != nil {
			return nil, err
		}
	}
	r.Result = res
	fixedFiles := map[string]bool{}
	for _, f := range res.Files {
		fixedFiles[f.Path] = f.Changed
	}
	var left []lint.Finding
	for _, f := range r.Findings {
		if f.Fixable && fixedFiles[f.Path] {
			r.Fixed = append(r.Fixed, f)
		} else {
			left = append(left, f)
		}
	}
	if !r.DryRun && r.Changed {
		// What is really left: lint the node as it is now.
		if left, err = lint.Run(env.Root, o); err != nil {
			return nil, err
		}
	}
	if left == nil {
		left = []lint.Finding{}
	}
	r.Findings = left
	return r, nil
}

// Counts says whether a finding left counts (exit status 3); notes do not.
func (r *LintResult) Counts() bool {
	for _, f := range r.Findings {
		if f.Counts() {
			return true
		}
	}
	return false
}

// WriteText prints the findings on stdout (they are lint's result) and the summary on stderr, like
// disable's; undo is the global flags the undo hint repeats. The diff comes before, from the caller.
func (r *LintResult) WriteText(stdout, stderr io.Writer, undo string) {
	for _, f := range r.Findings {
		fmt.Fprintln(stdout, f.String())
	}
	n := 0
	for _, f := range r.Findings {
		if f.Counts() {
			n++
		}
	}
	switch {
	case len(r.Fixed) > 0 && r.DryRun:
		fmt.Fprintf(stderr, "lint: --fix would repair %d finding(s); %d left\n", len(r.Fixed), n)
	case len(r.Fixed) > 0:
		fmt.Fprintf(stderr, "lint: repaired %d finding(s)", len(r.Fixed))
		if r.Snapshot != nil {
			fmt.Fprintf(stderr, "; snapshot %s (undo: mirrorctl rollback%s %s)", *r.Snapshot, undo, *r.Snapshot)
		}
		fmt.Fprintf(stderr, "; %d left\n", n)
	case n == 0:
		fmt.Fprintln(stderr, "lint: no findings")
	default:
		fmt.Fprintf(stderr, "lint: %d finding(s)\n", n)
	}
}
