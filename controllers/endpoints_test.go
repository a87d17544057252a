package controllers_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
)

const (
	epAlias = controllers.EndpointsAlias
	epCanon = controllers.EndpointsCanonical
)

// The rule EndpointsNameFor follows is the one every generated release table holds: the alias names
// the Endpoints controller everywhere, the canonical name exists from 1.28 and is what the alias
// resolves to there.
func TestEndpointsNameForAgreesWithReleases(t *testing.T) {
	t.Parallel()
	if got := controllers.EndpointsNameFor(controllers.Version{}); got != epAlias {
		t.Errorf("unknown version: %q, want the alias", got)
	}
	for _, r := range controllers.Releases() {
		v := controllers.ParseVersion(r.Minor)
		name := controllers.EndpointsNameFor(v)
		if r.Canonical[name] == "" {
			t.Errorf("%s: EndpointsNameFor = %q, which kube-controller-manager %s does not know", r.Minor, name, r.Source)
		}
		want := epAlias
		if v.AtLeast(1, 28) {
			want = epCanon
		}
		if name != want || r.Canonical[epAlias] != want {
			t.Errorf("%s: EndpointsNameFor = %q, alias resolves to %q; want %q", r.Minor, name, r.Canonical[epAlias], want)
		}
		if _, ok := r.Canonical[epCanon]; ok != v.AtLeast(1, 28) {
			t.Errorf("%s: %q known = %v", r.Minor, epCanon, ok)
		}
		if r.OffByDefault[r.Canonical[epAlias]] {
			t.Errorf("%s: the Endpoints controller is off by default: Edit's rules assume it is on", r.Minor)
		}
	}
}

func TestSelectionFor(t *testing.T) {
	t.Parallel()
	v127, v129 := controllers.ParseVersion("1.27"), controllers.ParseVersion("v1.29.2")
	for _, c := range []struct {
		sel  controllers.Selection
		v    controllers.Version
		want controllers.Switch
	}{
		{controllers.Selection{}, v129, controllers.Switch{Mirroring: canon}},
		{controllers.Selection{Endpoints: true}, v129, controllers.Switch{Mirroring: canon, Endpoints: epCanon}},
		{controllers.Selection{Endpoints: true}, v127, controllers.Switch{Mirroring: alias, Endpoints: epAlias}},
		{controllers.Selection{Endpoints: true}, controllers.Version{}, controllers.Switch{Mirroring: alias, Endpoints: epAlias}},
		{controllers.Selection{ControllerName: alias, Endpoints: true}, v129, controllers.Switch{Mirroring: alias, Endpoints: epCanon}},
	} {
		got, err := c.sel.For(c.v)
		if err != nil || got != c.want {
			t.Errorf("%+v.For(%s) = %+v, %v; want %+v", c.sel, c.v, got, err, c.want)
		}
	}
	if _, err := (controllers.Selection{ControllerName: canon, Endpoints: true}).For(v127); err == nil {
		t.Error("canonical mirroring name on 1.27: no error")
	}
}

func TestSwitchEdit(t *testing.T) {
	t.Parallel()
	both := controllers.Switch{Mirroring: canon, Endpoints: epCanon}
	old := controllers.Switch{Mirroring: alias, Endpoints: epAlias}
	kubeadmDefault := []string{"*", "bootstrapsigner", "tokencleaner"}
	for _, c := range []struct {
		name        string
		op          controllers.Op
		sw          controllers.Switch
		occ         [][]string
		want        [][]string
		wantChanged bool
	}{
		{"disable no flag", controllers.Disable, both, nil, [][]string{{"*", "-" + canon, "-" + epCanon}}, true},
		{"disable kubeadm default, 1.27", controllers.Disable, old, [][]string{kubeadmDefault},
			[][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + alias, "-" + epAlias}}, true},
		{"disable: mirroring off already", controllers.Disable, both, [][]string{{"*", "-" + alias}}, [][]string{{"*", "-" + alias, "-" + epCanon}}, true},
		{"disable: both off already, other names", controllers.Disable, both, [][]string{{"*", "-" + alias, "-" + epAlias}}, [][]string{{"*", "-" + alias, "-" + epAlias}}, false},
		{"disable: endpoints named positively", controllers.Disable, both, [][]string{{"*", epAlias}}, [][]string{{"*", "-" + canon, "-" + epCanon}}, true},
		{"disable: no star, only the endpoints controller", controllers.Disable, both, [][]string{{epCanon}}, [][]string{{"-" + epCanon}}, true},
		{"enable both", controllers.Enable, both, [][]string{{"*", "bootstrapsigner", "-" + canon, "-" + epAlias}}, [][]string{{"*", "bootstrapsigner"}}, true},
		{"enable mirroring alone keeps the Endpoints controller off", controllers.Enable, controllers.Mirror(canon),
			[][]string{{"*", "-" + canon, "-" + epCanon}}, [][]string{{"*", "-" + epCanon}}, true},
		{"enable no star", controllers.Enable, both, [][]string{{"foo"}}, [][]string{{"foo", canon, epCanon}}, true},
		{"enable already on", controllers.Enable, both, nil, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, changed := c.sw.Edit(c.op, c.occ)
			if changed != c.wantChanged || !reflect.DeepEqual(controllerstest.NormOcc(got), controllerstest.NormOcc(c.want)) {
				t.Fatalf("Edit(%s, %q) = %q, %v; want %q, %v", c.op, c.occ, got, changed, c.want, c.wantChanged)
			}
			checkSwitchEdit(t, c.sw, c.op, c.occ, got, changed)
		})
	}
}

// Every list TestEdit uses, through a switch of both controllers under each naming.
func TestSwitchEditProperties(t *testing.T) {
	t.Parallel()
	lists := [][][]string{nil, {{}}, {{"*"}}, {{"foo"}}, {{"*", "bootstrapsigner", "tokencleaner"}},
		{{"*", alias}}, {{"*", "-" + alias}}, {{"-" + canon, "*"}}, {{alias, "-" + alias, "*"}},
		{{"*", epAlias}}, {{"*", "-" + epAlias}}, {{epCanon, "-" + epAlias, "*"}}, {{"-" + epCanon}},
		{{"*"}, {"foo"}}, {{"*"}, {"-" + epCanon}}, {{"*", "-" + canon}, {"-" + epAlias, "x"}}, {{}, {"*", epCanon}},
		{{"x", "-" + alias}, {"y", epAlias}}}
	for _, sw := range []controllers.Switch{{Mirroring: alias, Endpoints: epAlias}, {Mirroring: canon, Endpoints: epCanon}} {
		for _, in := range lists {
			for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
				out, changed := sw.Edit(op, in)
				checkSwitchEdit(t, sw, op, in, out, changed)
			}
		}
	}
}

// checkSwitchEdit holds Switch.Edit to what kube-controller-manager decides (controllerstest.KCMEnabled,
// written apart from the code under test) on every generated release: both controllers in the wanted
// state, every other controller as it was, and a second edit changing nothing.
func checkSwitchEdit(t *testing.T, sw controllers.Switch, op controllers.Op, in, out [][]string, changed bool) {
	t.Helper()
	want := op == controllers.Enable
	before := controllerstest.Effective(in)
	after := controllerstest.Effective(controllerstest.Applied(in, out))
	if changed == sw.Done(op, before) {
		t.Fatalf("Edit(%s, %q): changed = %v, but Done before = %v", op, in, changed, sw.Done(op, before))
	}
	if !sw.Done(op, after) || len(sw.Pending(op, after)) != 0 {
		t.Fatalf("Edit(%s, %q) = %q: not done (pending %q)", op, in, out, sw.Pending(op, after))
	}
	for _, r := range controllers.Releases() {
		known := true
		for _, e := range after {
			if n := strings.TrimPrefix(e, "-"); n != "*" && sw.Is(n) && r.Canonical[n] == "" {
				known = false // kcm of this release would not start: nothing to judge
			}
		}
		if !known {
			continue
		}
		mir, ep := r.MirroringName(), "" // the Endpoints controller is an "other" one unless switched
		if sw.Endpoints != "" {
			ep = r.Canonical[epAlias]
		}
		for _, c := range r.Controllers() {
			switch c {
			case mir, ep:
				if got := controllerstest.KCMEnabled(r, c, after); got != want {
					t.Fatalf("Edit(%s, %q) = %q: on %s %s enabled = %v", op, in, out, r.Minor, c, got)
				}
			default:
				if controllerstest.KCMEnabled(r, c, before) != controllerstest.KCMEnabled(r, c, after) {
					t.Fatalf("Edit(%s, %q) = %q: on %s %s changes", op, in, out, r.Minor, c)
				}
			}
		}
	}
	for _, e := range after {
		if n := strings.TrimPrefix(e, "-"); sw.Is(n) && !slices.Contains(before, e) && !slices.Contains(sw.Names(), n) {
			t.Fatalf("Edit(%s, %q) = %q added %q, not a name of %+v", op, in, out, e, sw)
		}
	}
	if again, c2 := sw.Edit(op, out); c2 || !reflect.DeepEqual(controllerstest.NormOcc(again), controllerstest.NormOcc(out)) {
		t.Fatalf("Edit(%s) not idempotent: %q -> %q -> %q", op, in, out, again)
	}
}
