package lint

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// PreChangeWarnings is lint's view of the node as warnings for disable and enable, printed before any
// change: the findings are how nodes break after a "successful" edit. It never fails the command: a
// node lint cannot read is one the command itself will report on. o.Reads is the plan's read set, so
// lint sees the bytes the plan saw, parsed once. Lint's notes are not among them (PreChangeNotes).
func PreChangeWarnings(root nodefs.Root, o Options, p *change.Plan) []string {
	var w []string
	if findings, err := Run(root, o); err == nil {
		for _, f := range findings {
			if f.Counts() {
				w = append(w, "lint: "+f.String())
			}
		}
	}
	return w
}

// PreChangeNotes says what reads EndpointSlices once mirroring is off, about the state after the
// change p (not before it), for every adapter alike: only when p leaves mirroring off and p's
// Kubernetes version is one the note is about (or unknown, since the notes say from which version
// they hold). Notes are worth knowing, nothing to fix: a script that fails on warnings must not fail
// on them.
func PreChangeNotes(p *change.Plan) []string {
	var n []string
	if p.Mirroring == change.Disabled && len(p.Files) > 0 {
		for _, f := range ConsumerNotes(p.Files[0].Path, p.Version) {
			n = append(n, "lint: "+f.String())
		}
	}
	return n
}
