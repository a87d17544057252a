package patches

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	alias = NameAlias
	canon = NameCanonical
)

func TestSplitControllers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    []string
		wantErr string // substring of the error; "" = no error
	}{
		{value: "", want: nil},
		{value: "*", want: []string{"*"}},
		{value: "*,bootstrapsigner,tokencleaner", want: []string{"*", "bootstrapsigner", "tokencleaner"}},
		{value: "*,-endpointslicemirroring", want: []string{"*", "-endpointslicemirroring"}},
		{value: "-endpointslice-mirroring-controller", want: []string{"-endpointslice-mirroring-controller"}},
		{value: "foo,-foo", want: []string{"foo", "-foo"}},
		// pflag does not trim: the space is part of the name and kcm fails on the unknown controller.
		{value: "*, -foo", wantErr: `entry " -foo" contains whitespace`},
		{value: "*,-foo ", wantErr: `entry "-foo " contains whitespace`},
		{value: "*,\t-foo", wantErr: "contains whitespace"},
		{value: "*,-foo\n", wantErr: "contains whitespace"},
		{value: "*,foo\r", wantErr: "contains whitespace"},
		{value: `"*,-foo"`, wantErr: "quotes"},
		{value: `*,'foo'`, wantErr: "quotes"},
		{value: "*,,foo", wantErr: `entry "" is empty`},
		{value: ",", wantErr: "is empty"},
		{value: "*,", wantErr: "is empty"},
		{value: ",*", wantErr: "is empty"},
		{value: "*,-", wantErr: `entry "-" is not a controller name`},
		{value: "-*", wantErr: "is not a controller name"},
		{value: "*,--foo", wantErr: "is not a controller name"},
	}
	for _, tt := range tests {
		got, err := SplitControllers(tt.value)
		if tt.wantErr != "" {
			var be *BrokenEntryError
			if err == nil || !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitControllers(%q) = %q, %v; want BrokenEntryError containing %q", tt.value, got, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("SplitControllers(%q): error is not one line: %q", tt.value, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitControllers(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
		}
		if j := JoinControllers(got); j != tt.value {
			t.Errorf("JoinControllers(SplitControllers(%q)) = %q", tt.value, j)
		}
	}
}

func TestMirroringEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entries []string
		want    bool
	}{
		{nil, false}, // an empty --controllers= runs nothing
		{[]string{"*"}, true},
		{[]string{"*", "bootstrapsigner", "tokencleaner"}, true},
		{[]string{"*", "-" + alias}, false},
		{[]string{"*", "-" + canon}, false},
		{[]string{"-" + alias, "*"}, false},
		{[]string{"-" + canon, "*"}, false},
		// No "*": only named controllers run.
		{[]string{"foo"}, false},
		{[]string{"-" + alias}, false},
		{[]string{alias}, true},
		{[]string{canon}, true},
		{[]string{"foo", alias}, true},
		// First explicit match wins, under either name.
		{[]string{alias, "-" + alias}, true},
		{[]string{"-" + alias, alias}, false},
		{[]string{canon, "-" + alias, "*"}, true},
		{[]string{"-" + canon, alias, "*"}, false},
		{[]string{"*", alias, "-" + canon}, true},
		{[]string{"*", "-" + canon, alias}, false},
		// Near misses are other controllers.
		{[]string{"*", "-endpointslice"}, true},
		{[]string{"*", "-endpointslicemirroring-controller"}, true},
		{[]string{"-*", "*"}, true},
	}
	for _, tt := range tests {
		if got := MirroringEnabled(tt.entries); got != tt.want {
			t.Errorf("MirroringEnabled(%q) = %v, want %v", tt.entries, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	kubeadmDefault := []string{"*", "bootstrapsigner", "tokencleaner"}
	tests := []struct {
		name        string
		op          Op
		occ         [][]string
		ctrl        string
		want        [][]string
		wantChanged bool
	}{
		// No flag at all.
		{"disable no flag", Disable, nil, alias, [][]string{{"*", "-" + alias}}, true},
		{"disable no flag canonical", Disable, nil, canon, [][]string{{"*", "-" + canon}}, true},
		{"enable no flag", Enable, nil, alias, nil, false},

		// kubeadm's default list.
		{"disable kubeadm default", Disable, [][]string{kubeadmDefault}, alias,
			[][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + alias}}, true},
		{"disable kubeadm default canonical", Disable, [][]string{kubeadmDefault}, canon,
			[][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + canon}}, true},
		{"enable kubeadm default", Enable, [][]string{kubeadmDefault}, alias, [][]string{kubeadmDefault}, false},

		// Already off: no change, under either name (alias/canonical idempotency).
		{"disable already off alias, want alias", Disable, [][]string{{"*", "-" + alias}}, alias, [][]string{{"*", "-" + alias}}, false},
		{"disable already off alias, want canonical", Disable, [][]string{{"*", "-" + alias}}, canon, [][]string{{"*", "-" + alias}}, false},
		{"disable already off canonical, want alias", Disable, [][]string{{"*", "-" + canon}}, alias, [][]string{{"*", "-" + canon}}, false},
		{"disable already off, negative first", Disable, [][]string{{"-" + canon, "*"}}, alias, [][]string{{"-" + canon, "*"}}, false},
		{"disable no star", Disable, [][]string{{"foo", "bar"}}, alias, [][]string{{"foo", "bar"}}, false},
		{"disable empty flag", Disable, [][]string{{}}, alias, [][]string{{}}, false},

		// Already on.
		{"enable already on star", Enable, [][]string{{"*"}}, canon, [][]string{{"*"}}, false},
		{"enable already on positive alias, no star", Enable, [][]string{{"foo", alias}}, canon, [][]string{{"foo", alias}}, false},
		{"enable already on positive canonical, no star", Enable, [][]string{{canon}}, alias, [][]string{{canon}}, false},

		// Positive mentions are removed on disable; the negative is added only when still needed.
		{"disable star and positive", Disable, [][]string{{"*", alias}}, alias, [][]string{{"*", "-" + alias}}, true},
		{"disable star and both positives", Disable, [][]string{{"*", canon, "x", alias}}, canon, [][]string{{"*", "x", "-" + canon}}, true},
		{"disable no star positive", Disable, [][]string{{"foo", alias}}, alias, [][]string{{"foo"}}, true},
		{"disable no star positive only", Disable, [][]string{{canon}}, alias, [][]string{{}}, true},
		// foo before -foo: enabled (first match wins); removing the positive leaves the negative in charge.
		{"disable positive before negative", Disable, [][]string{{alias, "-" + alias, "*"}}, alias, [][]string{{"-" + alias, "*"}}, true},
		{"disable canonical positive before alias negative", Disable, [][]string{{"*", canon, "-" + alias}}, alias, [][]string{{"*", "-" + alias}}, true},

		// Enable: the reverse.
		{"enable after disable alias", Enable, [][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + alias}}, alias,
			[][]string{kubeadmDefault}, true},
		{"enable after disable canonical, name alias", Enable, [][]string{{"*", "-" + canon}}, alias, [][]string{{"*"}}, true},
		{"enable both negatives", Enable, [][]string{{"-" + alias, "*", "-" + canon}}, canon, [][]string{{"*"}}, true},
		{"enable negative before positive", Enable, [][]string{{"-" + alias, alias, "*"}}, alias, [][]string{{alias, "*"}}, true},
		{"enable no star", Enable, [][]string{{"foo"}}, alias, [][]string{{"foo", alias}}, true},
		{"enable no star canonical", Enable, [][]string{{"foo", "-" + alias}}, canon, [][]string{{"foo", canon}}, true},
		{"enable only negative", Enable, [][]string{{"-" + alias}}, alias, [][]string{{alias}}, true},
		{"enable empty flag", Enable, [][]string{{}}, alias, [][]string{{alias}}, true},

		// Repeated occurrences are concatenated; additions go to the last one.
		{"disable repeated", Disable, [][]string{{"*"}, {"foo"}}, alias, [][]string{{"*"}, {"foo", "-" + alias}}, true},
		{"disable repeated positive in second", Disable, [][]string{{"*"}, {alias}}, alias, [][]string{{"*"}, {"-" + alias}}, true},
		{"disable repeated positive in first", Disable, [][]string{{alias}, {"*"}}, canon, [][]string{{}, {"*", "-" + canon}}, true},
		{"disable repeated already off in first", Disable, [][]string{{"*", "-" + canon}, {"foo"}}, alias, [][]string{{"*", "-" + canon}, {"foo"}}, false},
		{"disable repeated: positive first, negative later", Disable, [][]string{{alias, "*"}, {"-" + canon}}, alias, [][]string{{"*"}, {"-" + canon}}, true},
		{"enable repeated", Enable, [][]string{{"*"}, {"-" + alias}}, alias, [][]string{{"*"}, {}}, true},
		{"enable repeated no star", Enable, [][]string{{"foo"}, {"-" + alias, "bar"}}, alias, [][]string{{"foo"}, {"bar", alias}}, true},
		{"enable repeated already on", Enable, [][]string{{"foo"}, {canon, "-" + alias}}, alias, [][]string{{"foo"}, {canon, "-" + alias}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := Plan(tt.op, tt.occ, tt.ctrl)
			if changed != tt.wantChanged || !reflect.DeepEqual(normOcc(got), normOcc(tt.want)) {
				t.Fatalf("Plan(%s, %q, %s) = %q, %v; want %q, %v", tt.op, tt.occ, tt.ctrl, got, changed, tt.want, tt.wantChanged)
			}
			checkPlanInvariants(t, tt.op, tt.occ, got, changed, tt.ctrl)
		})
	}
}

// normOcc makes nil and empty occurrences compare equal.
func normOcc(occ [][]string) [][]string {
	out := [][]string{}
	for _, o := range occ {
		out = append(out, append([]string{}, o...))
	}
	return out
}

func TestPlanDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := [][]string{{"*", alias, "x"}}
	before := normOcc(in)
	Plan(Disable, in, alias)
	if !reflect.DeepEqual(normOcc(in), before) {
		t.Fatalf("Plan modified its input: %q, was %q", in, before)
	}
}

func TestNameFor(t *testing.T) {
	t.Parallel()
	v := func(major, minor int) Version { return Version{Major: major, Minor: minor, Known: true} }
	tests := []struct {
		v        Version
		override string
		want     string
		tooOld   bool
		wantErr  string
	}{
		{v: v(1, 18), tooOld: true},
		{v: v(1, 18), override: alias, tooOld: true},
		{v: v(1, 18), override: canon, tooOld: true},
		{v: v(1, 0), tooOld: true},
		{v: v(0, 99), tooOld: true},
		{v: v(1, 19), want: alias},
		{v: v(1, 27), want: alias},
		{v: v(1, 27), override: alias, want: alias},
		{v: v(1, 27), override: canon, wantErr: "unknown to Kubernetes 1.27"},
		{v: v(1, 19), override: canon, wantErr: "would not start"},
		{v: v(1, 28), want: canon},
		{v: v(1, 37), want: canon},
		{v: v(2, 0), want: canon},
		{v: v(1, 28), override: alias, want: alias},
		{v: v(1, 37), override: canon, want: canon},
		{v: Version{}, want: alias},
		{v: Version{}, override: alias, want: alias},
		// An explicit override on an unknown version is the user's call.
		{v: Version{}, override: canon, want: canon},
		{v: v(1, 30), override: "endpointslice", wantErr: "is not a name of the EndpointSlice mirroring controller"},
		{v: v(1, 30), override: "-" + alias, wantErr: "is not a name"},
	}
	for _, tt := range tests {
		got, err := NameFor(tt.v, tt.override)
		switch {
		case tt.tooOld:
			var e ErrTooOld
			if !errors.As(err, &e) || e.Version != tt.v || !strings.Contains(err.Error(), "from 1.19") {
				t.Errorf("NameFor(%v, %q) = %q, %v; want ErrTooOld", tt.v, tt.override, got, err)
			}
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NameFor(%v, %q) = %q, %v; want error containing %q", tt.v, tt.override, got, err, tt.wantErr)
			}
		default:
			if err != nil || got != tt.want {
				t.Errorf("NameFor(%v, %q) = %q, %v; want %q", tt.v, tt.override, got, err, tt.want)
			}
		}
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Version
	}{
		{"v1.29.0", Version{1, 29, true}},
		{"1.29", Version{1, 29, true}},
		{"v1.30.0-rc.1", Version{1, 30, true}},
		{"v1.29.3+k3s1", Version{1, 29, true}},
		{"v1.31.0-alpha.3.123+abcdef", Version{1, 31, true}},
		{" v1.28.2 ", Version{1, 28, true}},
		{"v1.18.20", Version{1, 18, true}},
		{"", Version{}},
		{"stable", Version{}},
		{"stable-1.29", Version{}},
		{"ci/latest", Version{}},
		{"latest", Version{}},
		{"v1", Version{}},
		{"1.x", Version{}},
		{"v1.29.0.1", Version{}},
	}
	for _, tt := range tests {
		if got := ParseVersion(tt.in); got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image string
		want  Version
	}{
		{"registry.k8s.io/kube-controller-manager:v1.29.0", Version{1, 29, true}},
		{"registry.k8s.io/kube-controller-manager:v1.37.2", Version{1, 37, true}},
		{"k8s.gcr.io/kube-controller-manager:v1.18.6", Version{1, 18, true}},
		{"kube-controller-manager:v1.27.3", Version{1, 27, true}},
		// Tag and digest: the tag counts.
		{"registry.k8s.io/kube-controller-manager:v1.31.1@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", Version{1, 31, true}},
		// Digest only: unknown.
		{"registry.k8s.io/kube-controller-manager@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", Version{}},
		// A registry port is not a tag.
		{"localhost:5000/kube-controller-manager", Version{}},
		{"localhost:5000/kube-controller-manager:v1.28.4", Version{1, 28, true}},
		{"10.0.0.1:5000/k8s/kube-controller-manager:v1.19.16", Version{1, 19, true}},
		{"localhost:5000/kube-controller-manager@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", Version{}},
		{"registry.k8s.io/kube-controller-manager:latest", Version{}},
		{"registry.k8s.io/kube-controller-manager", Version{}},
		{"", Version{}},
	}
	for _, tt := range tests {
		if got := ImageVersion(tt.image); got != tt.want {
			t.Errorf("ImageVersion(%q) = %+v, want %+v", tt.image, got, tt.want)
		}
	}
}

func TestVersionString(t *testing.T) {
	t.Parallel()
	if s := (Version{1, 29, true}).String(); s != "1.29" {
		t.Errorf("String = %q", s)
	}
	if s := (Version{}).String(); s != "unknown" {
		t.Errorf("String = %q", s)
	}
	if (Version{}).AtLeast(0, 0) {
		t.Error("unknown version is AtLeast(0, 0)")
	}
}

// controllerEnabled is kube-controller-manager's IsControllerEnabled for a controller that is on by
// default, written independently of MirroringEnabled so the two check each other.
func controllerEnabled(name string, entries []string) bool {
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

// effective is the list kcm sees: no flag at all means the default "*".
func effective(occ [][]string) []string {
	if len(occ) == 0 {
		return []string{"*"}
	}
	return flatten(occ)
}

// checkPlanInvariants asserts the promises of Plan that hold for every input.
func checkPlanInvariants(t *testing.T, op Op, in, out [][]string, changed bool, name string) {
	t.Helper()
	want := op == Enable
	before, after := effective(in), effective(out)
	if got := MirroringEnabled(after); got != want {
		t.Fatalf("Plan(%s, %q) = %q: mirroring enabled = %v", op, in, out, got)
	}
	if changed == (MirroringEnabled(before) == want) {
		t.Fatalf("Plan(%s, %q): changed = %v but mirroring was already enabled=%v", op, in, changed, MirroringEnabled(before))
	}
	if !changed && !reflect.DeepEqual(normOcc(in), normOcc(out)) {
		t.Fatalf("Plan(%s, %q) = %q with changed=false", op, in, out)
	}
	for _, o := range out {
		for _, e := range o {
			if e == "" || strings.ContainsAny(e, " \t\r\n,") {
				t.Fatalf("Plan(%s, %q) = %q: entry %q is empty or has whitespace", op, in, out, e)
			}
		}
	}
	if slices.Contains(before, "*") != slices.Contains(after, "*") {
		t.Fatalf("Plan(%s, %q) = %q: presence of * changed", op, in, out)
	}
	// Every other controller keeps its state: check each name in either list and one named nowhere.
	others := map[string]bool{"some-other-controller": true}
	for _, e := range append(slices.Clone(before), after...) {
		n := strings.TrimPrefix(e, "-")
		if n != "*" && !IsMirroringName(n) {
			others[n] = true
		}
	}
	for n := range others {
		if controllerEnabled(n, before) != controllerEnabled(n, after) {
			t.Fatalf("Plan(%s, %q) = %q changes controller %q", op, in, out, n)
		}
	}
	// The independent evaluator agrees with MirroringEnabled under both names.
	if controllerEnabled(canon, canonicalize(after)) != want {
		t.Fatalf("Plan(%s, %q) = %q: canonicalized evaluation disagrees", op, in, out)
	}
	// Only the chosen name is ever added.
	for _, e := range after {
		if IsMirroringName(strings.TrimPrefix(e, "-")) && !slices.Contains(before, e) && strings.TrimPrefix(e, "-") != name {
			t.Fatalf("Plan(%s, %q, %s) = %q added %q", op, in, name, out, e)
		}
	}
	// Idempotent: planning again changes nothing.
	if again, changed2 := Plan(op, out, name); changed2 || !reflect.DeepEqual(normOcc(again), normOcc(out)) {
		t.Fatalf("Plan(%s) not idempotent: %q -> %q -> %q", op, in, out, again)
	}
}

// canonicalize maps the alias to the canonical name, as kcm 1.28+ does before evaluating.
func canonicalize(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		switch e {
		case alias:
			e = canon
		case "-" + alias:
			e = "-" + canon
		}
		out[i] = e
	}
	return out
}

// splitOccurrences reads a fuzz input as repeated --controllers values separated by '|'.
func splitOccurrences(s string) ([][]string, bool) {
	if s == "" {
		return nil, true
	}
	var occ [][]string
	for _, v := range strings.Split(s, "|") {
		entries, err := SplitControllers(v)
		if err != nil {
			return nil, false
		}
		occ = append(occ, entries)
	}
	return occ, true
}

func FuzzSplitControllers(f *testing.F) {
	for _, s := range []string{"", "*", "*,bootstrapsigner,tokencleaner", "*, -foo", "*,,x", "-", "-*", "--x", "a\tb", `"*"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		entries, err := SplitControllers(value)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if JoinControllers(entries) != value {
			t.Fatalf("round trip %q -> %q -> %q", value, entries, JoinControllers(entries))
		}
		for _, e := range entries {
			if e == "" || strings.ContainsAny(e, " \t\r\n\"',") || e == "-" || e == "-*" || strings.HasPrefix(e, "--") {
				t.Fatalf("SplitControllers(%q) accepted entry %q", value, e)
			}
		}
	})
}

func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		"", "*", "*,bootstrapsigner,tokencleaner", "*,-endpointslicemirroring", "*,-endpointslice-mirroring-controller",
		"foo", "endpointslicemirroring,-endpointslicemirroring,*", "*|endpointslicemirroring", "-endpointslicemirroring|*,x",
		"foo|-endpointslice-mirroring-controller,bar", "", "*,endpointslice-mirroring-controller,-foo,foo",
	} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, flags string, enable, canonical bool) {
		occ, ok := splitOccurrences(flags)
		if !ok {
			return
		}
		op, name := Disable, alias
		if enable {
			op = Enable
		}
		if canonical {
			name = canon
		}
		out, changed := Plan(op, occ, name)
		checkPlanInvariants(t, op, occ, out, changed, name)
	})
}
