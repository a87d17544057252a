package controllers

import (
	"maps"
	"slices"
)

// Release is what one kube-controller-manager release knows about its controllers (generated from the
// Kubernetes source into controllers_gen.go). Edit does not need it: it is the ground truth that lint and
// the tests check --controllers lists against.
type Release struct {
	Minor  string // "1.29"
	Source string // the module version read: "k8s.io/kubernetes@v1.29.15"
	// Canonical maps every name the release accepts in --controllers, canonical names and aliases, to its
	// canonical name (before 1.28 there are no aliases: each name maps to itself).
	Canonical map[string]string
	// OffByDefault holds the canonical names "*" leaves off.
	OffByDefault map[string]bool
}

// Releases returns the releases with a generated table, oldest first.
func Releases() []Release { return slices.Clone(releases) }

// ReleaseFor returns the table of v's minor version, if one was generated.
func ReleaseFor(v Version) (Release, bool) {
	for _, r := range releases {
		if v.Known && r.Minor == v.String() {
			return r, true
		}
	}
	return Release{}, false
}

// Controllers returns the release's canonical controller names, sorted.
func (r Release) Controllers() []string {
	set := map[string]bool{}
	for _, c := range r.Canonical {
		set[c] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// MirroringName returns the name the release's mirroring controller is known by canonically.
func (r Release) MirroringName() string { return r.Canonical[NameAlias] }
