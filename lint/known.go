package lint

import "github.com/mirrorctl/mirrorctl/controllers"

// knownControllers maps a Kubernetes minor version to every name its kube-controller-manager accepts
// in --controllers (canonical names and aliases), from the tables generated in controllers.
var knownControllers = func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, r := range controllers.Releases() {
		names := map[string]bool{}
		for n := range r.Canonical {
			names[n] = true
		}
		out[r.Minor] = names
	}
	return out
}()
