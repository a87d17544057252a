package lint

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// PreChangeWarnings is lint's view of the node as warnings for disable and enable, printed before any
// change: the findings are how nodes break after a "successful" edit. What reads EndpointSlices once
// mirroring is off is said about the state after the change p, not before it. It never fails the
// command: a node lint cannot read is one the command itself will report on.
func PreChangeWarnings(root nodefs.Root, kubeadmConfigs []string, p *change.Plan) []string {
	var w []string
	if findings, err := Run(root, Options{KubeadmConfigs: kubeadmConfigs}); err == nil {
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
