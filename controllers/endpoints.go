package controllers

import "fmt"

// The Endpoints controller's names (it writes an Endpoints object for every Service with a selector).
// "endpoint" is the only name up to 1.27 and an alias from 1.28, where "endpoints-controller" became the
// canonical name; that name is an unknown (fatal) controller before 1.28. Read in
// k8s.io/kubernetes@v1.27.16 cmd/kube-controller-manager/app/controllermanager.go (register("endpoint", …)),
// @v1.28.15 cmd/kube-controller-manager/names/controller_names.go (EndpointsController and
// KCMControllerAliases "endpoint"), @v1.29.15 and later app/core.go newEndpointsControllerDescriptor
// (aliases: "endpoint"); the generated tables (controllers_gen.go) hold the same for every release.
const (
	EndpointsAlias     = "endpoint"
	EndpointsCanonical = "endpoints-controller"
)

// IsEndpointsName reports whether a bare controller name (no sign) names the Endpoints controller.
func IsEndpointsName(name string) bool {
	return name == EndpointsAlias || name == EndpointsCanonical
}

// EndpointsEnabled is IsControllerEnabled for the Endpoints controller (on by default), under either name.
func EndpointsEnabled(entries []string) bool { return enabled(entries, IsEndpointsName) }

// EndpointsNameFor picks the Endpoints controller's name to write for a version, by the rule
// NameFor follows for the mirroring controller: the canonical name from 1.28 (what kcm logs and
// /healthz report), the alias below and when the version is unknown (every release accepts it).
func EndpointsNameFor(v Version) string {
	if v.AtLeast(1, 28) {
		return EndpointsCanonical
	}
	return EndpointsAlias
}

// Selection is what an operator asks disable or enable to switch, before a version picks the names:
// the mirroring controller always (under the name --controller-name gives, "" by version), and with
// --endpoints-controller the Endpoints controller too.
type Selection struct {
	ControllerName string
	Endpoints      bool
}

// For picks the names to write for version v (NameFor, EndpointsNameFor).
func (s Selection) For(v Version) (Switch, error) {
	name, err := NameFor(v, s.ControllerName)
	if err != nil {
		return Switch{}, err
	}
	sw := Switch{Mirroring: name}
	if s.Endpoints {
		sw.Endpoints = EndpointsNameFor(v)
	}
	return sw, nil
}

// Switch is what one disable or enable changes, each controller under the name to write: the mirroring
// controller, and the Endpoints controller when Endpoints is not "".
type Switch struct {
	Mirroring string
	Endpoints string
}

// Mirror switches the mirroring controller alone, under name: what every command did before
// --endpoints-controller, and what callers with a name in hand want.
func Mirror(name string) Switch { return Switch{Mirroring: name} }

// Names lists the names to write, the mirroring controller's first.
func (s Switch) Names() []string {
	if s.Endpoints == "" {
		return []string{s.Mirroring}
	}
	return []string{s.Mirroring, s.Endpoints}
}

// Done reports whether entries (a whole effective list) already give every controller of s the state
// op asks for.
func (s Switch) Done(op Op, entries []string) bool {
	want := op == Enable
	if MirroringEnabled(entries) != want {
		return false
	}
	return s.Endpoints == "" || EndpointsEnabled(entries) == want
}

// Pending lists the entries (Entries) of the controllers whose state in entries (a whole effective
// list) is not the one op asks for.
func (s Switch) Pending(op Op, entries []string) []string {
	want := op == Enable
	var out []string
	if MirroringEnabled(entries) != want {
		out = append(out, s.Entries(op)[0])
	}
	if s.Endpoints != "" && EndpointsEnabled(entries) != want {
		out = append(out, s.Entries(op)[1])
	}
	return out
}

// Is reports whether a bare controller name (no sign) names one of the controllers s switches.
func (s Switch) Is(name string) bool {
	return IsMirroringName(name) || s.Endpoints != "" && IsEndpointsName(name)
}

// Edit is controllers.Edit for each controller of s in turn: every other entry stays as it was, and
// each of them ends in the state op asks for. changed is false, and out is occ, when all of them were.
func (s Switch) Edit(op Op, occ [][]string) (out [][]string, changed bool) {
	out = occ
	for _, n := range s.Names() {
		var c bool
		out, c = Edit(op, out, n)
		changed = changed || c
	}
	if !changed {
		return occ, false
	}
	return out, true
}

// Entries are the entries a --controllers value must hold for s after op, in Names order ("-name" to
// disable, "name" to enable): what a k3s "controllers-=" drop-in puts first.
func (s Switch) Entries(op Op) []string {
	var out []string
	for _, n := range s.Names() {
		if op == Disable {
			n = "-" + n
		}
		out = append(out, n)
	}
	return out
}

// Describe names what s writes for a message: `the controller name "x"`, or with the Endpoints
// controller `the controller names "x" and "y"`.
func (s Switch) Describe() string {
	if s.Endpoints == "" {
		return fmt.Sprintf("the controller name %q", s.Mirroring)
	}
	return fmt.Sprintf("the controller names %q and %q", s.Mirroring, s.Endpoints)
}
