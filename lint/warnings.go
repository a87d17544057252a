package lint

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// PreChangeWarnings is lint's view of the node as warnings for disable and enable, printed before any
// change: the findings are how nodes break after a "successful" edit. What reads EndpointSlices once
// mirroring is off is said about the state after the change p, not before it. It never fails the
// command: a node lint cannot read is one the command itself will report on. o.Reads is the plan's
// read set, so lint sees the bytes the plan saw, parsed once.
func PreChangeWarnings(root nodefs.Root, o Options, p *change.Plan) []string {
	var w []string
	if findings, err := Run(root, o); err == nil {
		for _, f := range findings {
			if f.Check != CheckMirroringConsumers {
				w = append(w, "lint: "+f.String())
			}
		}
	}
	if p.Mirroring == change.Disabled && len(p.Files) > 0 {
		for _, f := range ConsumerNotes(p.Files[0].Path, p.Version) {
			w = append(w, "lint: "+f.String())
		}
	}
	return w
}
