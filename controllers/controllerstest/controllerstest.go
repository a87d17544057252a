// Package controllerstest holds checks on the --controllers algebra that tests in several packages
// share: an independent evaluator of kcm's IsControllerEnabled, and the invariants every edit keeps.
package controllerstest

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// NormOcc makes nil and empty occurrences compare equal.
func NormOcc(occ [][]string) [][]string {
	out := [][]string{}
	for _, o := range occ {
		out = append(out, append([]string{}, o...))
	}
	return out
}

// ControllerEnabled is kube-controller-manager's IsControllerEnabled for a controller that is on by
// default, written independently of controllers.MirroringEnabled so the two check each other.
func ControllerEnabled(name string, entries []string) bool {
	star := false
	for _, e := range entries {
		if e == name {
			return true
		}
		if e == "-"+name {
			return false
		}
		if e == "*" {
			star = true
		}
	}
	return star
}

// KCMEnabled is what kube-controller-manager decides for the controller with canonical name name of
// release r: its options' ApplyTo first replaces every alias by its canonical name, keeping the "-" sign
// (k8s.io/controller-manager@v0.37.2 options/generic.go ApplyTo), then IsControllerEnabled takes the first
// explicit entry, else "*" turns on what is not off by default, else nothing runs
// (k8s.io/controller-manager@v0.37.2 app/helper.go). Re-stated here, not shared with the code under test.
func KCMEnabled(r controllers.Release, name string, entries []string) bool {
	star := false
	for _, e := range entries {
		neg := strings.HasPrefix(e, "-")
		n := strings.TrimPrefix(e, "-")
		if c, ok := r.Canonical[n]; ok {
			n = c
		}
		switch {
		case !neg && n == name:
			return true
		case neg && n == name:
			return false
		case e == "*":
			star = true
		}
	}
	return star && !r.OffByDefault[name]
}

// Applied is the command line a caller writes from Edit's result: an occurrence that Edit emptied is
// dropped, one that was empty already stays; nil means no flag at all (kcm's default "*").
func Applied(in, out [][]string) [][]string {
	var kept [][]string
	for i, o := range out {
		if len(o) == 0 && (i >= len(in) || len(in[i]) > 0) {
			continue
		}
		kept = append(kept, o)
	}
	return kept
}

// Effective is the list kcm sees: no flag at all means the default "*".
func Effective(occ [][]string) []string {
	if len(occ) == 0 {
		return []string{"*"}
	}
	return controllers.Flatten(occ)
}

// CheckEdit asserts the promises of controllers.Edit that hold for every input.
func CheckEdit(t testing.TB, op controllers.Op, in, out [][]string, changed bool, name string) {
	t.Helper()
	want := op == controllers.Enable
	before, after := Effective(in), Effective(Applied(in, out))
	if got := controllers.MirroringEnabled(after); got != want {
		t.Fatalf("controllers.Edit(%s, %q) = %q: mirroring enabled = %v", op, in, out, got)
	}
	if changed == (controllers.MirroringEnabled(before) == want) {
		t.Fatalf("controllers.Edit(%s, %q): changed = %v but mirroring was already enabled=%v", op, in, changed, controllers.MirroringEnabled(before))
	}
	if !changed && !reflect.DeepEqual(NormOcc(in), NormOcc(out)) {
		t.Fatalf("controllers.Edit(%s, %q) = %q with changed=false", op, in, out)
	}
	for _, o := range out {
		for _, e := range o {
			if e == "" || strings.ContainsAny(e, " \t\r\n,") {
				t.Fatalf("controllers.Edit(%s, %q) = %q: entry %q is empty or has whitespace", op, in, out, e)
			}
		}
	}
	if slices.Contains(before, "*") != slices.Contains(after, "*") {
		t.Fatalf("controllers.Edit(%s, %q) = %q: presence of * changed", op, in, out)
	}
	// Every other controller keeps its state: check each name in either list and one named nowhere.
	others := map[string]bool{"some-other-controller": true}
	for _, e := range append(slices.Clone(before), after...) {
		n := strings.TrimPrefix(e, "-")
		if n != "*" && !controllers.IsMirroringName(n) {
			others[n] = true
		}
	}
	for n := range others {
		if ControllerEnabled(n, before) != ControllerEnabled(n, after) {
			t.Fatalf("controllers.Edit(%s, %q) = %q changes controller %q", op, in, out, n)
		}
	}
	// Every controller of every release keeps its state, judged as kcm judges it (aliases resolved,
	// off-by-default controllers honoured), and the mirroring controller ends in the wanted state on every
	// release that knows every mirroring name the list uses.
	for _, r := range controllers.Releases() {
		mirroring := r.MirroringName()
		for _, c := range r.Controllers() {
			if c == mirroring {
				continue
			}
			if KCMEnabled(r, c, before) != KCMEnabled(r, c, after) {
				t.Fatalf("controllers.Edit(%s, %q) = %q: on %s controller %q goes from enabled=%v to %v",
					op, in, out, r.Minor, c, KCMEnabled(r, c, before), KCMEnabled(r, c, after))
			}
		}
		if _, ok := r.Canonical[controllers.NameCanonical]; !ok && slices.ContainsFunc(after, func(e string) bool {
			return strings.TrimPrefix(e, "-") == controllers.NameCanonical
		}) {
			continue // a name kcm of this release does not know: it would not start
		}
		if got := KCMEnabled(r, mirroring, after); got != want {
			t.Fatalf("controllers.Edit(%s, %q) = %q: on %s mirroring enabled = %v", op, in, out, r.Minor, got)
		}
	}
	// The independent evaluator agrees with controllers.MirroringEnabled under both names.
	if ControllerEnabled(controllers.NameCanonical, Canonicalize(after)) != want {
		t.Fatalf("controllers.Edit(%s, %q) = %q: canonicalized evaluation disagrees", op, in, out)
	}
	// Only the chosen name is ever added.
	for _, e := range after {
		if controllers.IsMirroringName(strings.TrimPrefix(e, "-")) && !slices.Contains(before, e) && strings.TrimPrefix(e, "-") != name {
			t.Fatalf("controllers.Edit(%s, %q, %s) = %q added %q", op, in, name, out, e)
		}
	}
	// Idempotent: planning again changes nothing.
	if again, changed2 := controllers.Edit(op, out, name); changed2 || !reflect.DeepEqual(NormOcc(again), NormOcc(out)) {
		t.Fatalf("controllers.Edit(%s) not idempotent: %q -> %q -> %q", op, in, out, again)
	}
}

// Canonicalize maps the controllers.NameAlias to the canonical name, as kcm 1.28+ does before evaluating.
func Canonicalize(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		switch e {
		case controllers.NameAlias:
			e = controllers.NameCanonical
		case "-" + controllers.NameAlias:
			e = "-" + controllers.NameCanonical
		}
		out[i] = e
	}
	return out
}
