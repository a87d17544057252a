package controllers_test

import (
	"io"

	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
)

const (
	alias = controllers.NameAlias
	canon = controllers.NameCanonical
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
		got, err := controllers.Split(tt.value)
		if tt.wantErr != "" {
			var be *controllers.BrokenEntryError
			if err == nil || !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Split(%q) = %q, %v; want controllers.BrokenEntryError containing %q", tt.value, got, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("Split(%q): error is not one line: %q", tt.value, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
		}
		if j := controllers.Join(got); j != tt.value {
			t.Errorf("Join(controllers.Split(%q)) = %q", tt.value, j)
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
		if got := controllers.MirroringEnabled(tt.entries); got != tt.want {
			t.Errorf("MirroringEnabled(%q) = %v, want %v", tt.entries, got, tt.want)
		}
	}
}

func TestEdit(t *testing.T) {
	t.Parallel()
	kubeadmDefault := []string{"*", "bootstrapsigner", "tokencleaner"}
	tests := []struct {
		name        string
		op          controllers.Op
		occ         [][]string
		ctrl        string
		want        [][]string
		wantChanged bool
	}{
		// No flag at all.
		{"disable no flag", controllers.Disable, nil, alias, [][]string{{"*", "-" + alias}}, true},
		{"disable no flag canonical", controllers.Disable, nil, canon, [][]string{{"*", "-" + canon}}, true},
		{"enable no flag", controllers.Enable, nil, alias, nil, false},

		// kubeadm's default list.
		{"disable kubeadm default", controllers.Disable, [][]string{kubeadmDefault}, alias,
			[][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + alias}}, true},
		{"disable kubeadm default canonical", controllers.Disable, [][]string{kubeadmDefault}, canon,
			[][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + canon}}, true},
		{"enable kubeadm default", controllers.Enable, [][]string{kubeadmDefault}, alias, [][]string{kubeadmDefault}, false},

		// Already off: no change, under either name (alias/canonical idempotency).
		{"disable already off alias, want alias", controllers.Disable, [][]string{{"*", "-" + alias}}, alias, [][]string{{"*", "-" + alias}}, false},
		{"disable already off alias, want canonical", controllers.Disable, [][]string{{"*", "-" + alias}}, canon, [][]string{{"*", "-" + alias}}, false},
		{"disable already off canonical, want alias", controllers.Disable, [][]string{{"*", "-" + canon}}, alias, [][]string{{"*", "-" + canon}}, false},
		{"disable already off, negative first", controllers.Disable, [][]string{{"-" + canon, "*"}}, alias, [][]string{{"-" + canon, "*"}}, false},
		{"disable no star", controllers.Disable, [][]string{{"foo", "bar"}}, alias, [][]string{{"foo", "bar"}}, false},
		{"disable empty flag", controllers.Disable, [][]string{{}}, alias, [][]string{{}}, false},

		// Already on.
		{"enable already on star", controllers.Enable, [][]string{{"*"}}, canon, [][]string{{"*"}}, false},
		{"enable already on positive alias, no star", controllers.Enable, [][]string{{"foo", alias}}, canon, [][]string{{"foo", alias}}, false},
		{"enable already on positive canonical, no star", controllers.Enable, [][]string{{canon}}, alias, [][]string{{canon}}, false},

		// Positive mentions are removed on disable; the negative is added only when still needed.
		{"disable star and positive", controllers.Disable, [][]string{{"*", alias}}, alias, [][]string{{"*", "-" + alias}}, true},
		{"disable star and both positives", controllers.Disable, [][]string{{"*", canon, "x", alias}}, canon, [][]string{{"*", "x", "-" + canon}}, true},
		{"disable no star positive", controllers.Disable, [][]string{{"foo", alias}}, alias, [][]string{{"foo"}}, true},
		// The only entry: an empty list would make the caller drop the flag and kcm run "*" (issue 14 §14).
		{"disable no star positive only", controllers.Disable, [][]string{{canon}}, alias, [][]string{{"-" + alias}}, true},
		{"disable alias only, 1.27", controllers.Disable, [][]string{{alias}}, alias, [][]string{{"-" + alias}}, true},
		{"disable positives only, repeated", controllers.Disable, [][]string{{alias}, {canon}}, canon, [][]string{{"-" + canon}, {}}, true},
		// foo before -foo: enabled (first match wins); removing the positive leaves the negative in charge.
		{"disable positive before negative", controllers.Disable, [][]string{{alias, "-" + alias, "*"}}, alias, [][]string{{"-" + alias, "*"}}, true},
		{"disable canonical positive before alias negative", controllers.Disable, [][]string{{"*", canon, "-" + alias}}, alias, [][]string{{"*", "-" + alias}}, true},

		// controllers.Enable: the reverse.
		{"enable after disable alias", controllers.Enable, [][]string{{"*", "bootstrapsigner", "tokencleaner", "-" + alias}}, alias,
			[][]string{kubeadmDefault}, true},
		{"enable after disable canonical, name alias", controllers.Enable, [][]string{{"*", "-" + canon}}, alias, [][]string{{"*"}}, true},
		{"enable both negatives", controllers.Enable, [][]string{{"-" + alias, "*", "-" + canon}}, canon, [][]string{{"*"}}, true},
		{"enable negative before positive", controllers.Enable, [][]string{{"-" + alias, alias, "*"}}, alias, [][]string{{alias, "*"}}, true},
		{"enable no star", controllers.Enable, [][]string{{"foo"}}, alias, [][]string{{"foo", alias}}, true},
		{"enable no star canonical", controllers.Enable, [][]string{{"foo", "-" + alias}}, canon, [][]string{{"foo", canon}}, true},
		{"enable only negative", controllers.Enable, [][]string{{"-" + alias}}, alias, [][]string{{alias}}, true},
		{"enable empty flag", controllers.Enable, [][]string{{}}, alias, [][]string{{alias}}, true},

		// Repeated occurrences are concatenated; additions go to the last one.
		{"disable repeated", controllers.Disable, [][]string{{"*"}, {"foo"}}, alias, [][]string{{"*"}, {"foo", "-" + alias}}, true},
		{"disable repeated positive in second", controllers.Disable, [][]string{{"*"}, {alias}}, alias, [][]string{{"*"}, {"-" + alias}}, true},
		{"disable repeated positive in first", controllers.Disable, [][]string{{alias}, {"*"}}, canon, [][]string{{"-" + canon}, {"*"}}, true},
		// The first occurrence names it positively: the flip stays in that occurrence, one line changes (issue 14 §12).
		{"disable repeated positive first, star before", controllers.Disable, [][]string{{"*", canon}, {"bootstrapsigner", "tokencleaner"}}, canon,
			[][]string{{"*", "-" + canon}, {"bootstrapsigner", "tokencleaner"}}, true},
		{"enable repeated negative first, no star", controllers.Enable, [][]string{{"-" + canon, "x"}, {"y"}}, canon,
			[][]string{{"x", canon}, {"y"}}, true},
		// An empty occurrence that was there stays as it was.
		{"disable empty then star", controllers.Disable, [][]string{{}, {"*"}}, canon, [][]string{{}, {"*", "-" + canon}}, true},
		{"disable repeated already off in first", controllers.Disable, [][]string{{"*", "-" + canon}, {"foo"}}, alias, [][]string{{"*", "-" + canon}, {"foo"}}, false},
		{"disable repeated: positive first, negative later", controllers.Disable, [][]string{{alias, "*"}, {"-" + canon}}, alias, [][]string{{"*"}, {"-" + canon}}, true},
		{"enable repeated", controllers.Enable, [][]string{{"*"}, {"-" + alias}}, alias, [][]string{{"*"}, {}}, true},
		{"enable repeated no star", controllers.Enable, [][]string{{"foo"}, {"-" + alias, "bar"}}, alias, [][]string{{"foo"}, {"bar", alias}}, true},
		{"enable repeated already on", controllers.Enable, [][]string{{"foo"}, {canon, "-" + alias}}, alias, [][]string{{"foo"}, {canon, "-" + alias}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := controllers.Edit(tt.op, tt.occ, tt.ctrl)
			if changed != tt.wantChanged || !reflect.DeepEqual(controllerstest.NormOcc(got), controllerstest.NormOcc(tt.want)) {
				t.Fatalf("Edit(%s, %q, %s) = %q, %v; want %q, %v", tt.op, tt.occ, tt.ctrl, got, changed, tt.want, tt.wantChanged)
			}
			controllerstest.CheckEdit(t, tt.op, tt.occ, got, changed, tt.ctrl)
		})
	}
}

func TestEditDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := [][]string{{"*", alias, "x"}}
	before := controllerstest.NormOcc(in)
	controllers.Edit(controllers.Disable, in, alias)
	if !reflect.DeepEqual(controllerstest.NormOcc(in), before) {
		t.Fatalf("Plan modified its input: %q, was %q", in, before)
	}
}

func TestNameFor(t *testing.T) {
	t.Parallel()
	v := func(major, minor int) controllers.Version {
		return controllers.Version{Major: major, Minor: minor, Known: true}
	}
	tests := []struct {
		v        controllers.Version
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
		{v: controllers.Version{}, want: alias},
		{v: controllers.Version{}, override: alias, want: alias},
		// An explicit override on an unknown version is the user's call.
		{v: controllers.Version{}, override: canon, want: canon},
		{v: v(1, 30), override: "endpointslice", wantErr: "is not a name of the EndpointSlice mirroring controller"},
		{v: v(1, 30), override: "-" + alias, wantErr: "is not a name"},
	}
	for _, tt := range tests {
		got, err := controllers.NameFor(tt.v, tt.override)
		switch {
		case tt.tooOld:
			var e controllers.ErrTooOld
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
		want controllers.Version
	}{
		{"v1.29.0", controllers.Version{Major: 1, Minor: 29, Known: true}},
		{"1.29", controllers.Version{Major: 1, Minor: 29, Known: true}},
		{"v1.30.0-rc.1", controllers.Version{Major: 1, Minor: 30, Known: true}},
		{"v1.29.3+k3s1", controllers.Version{Major: 1, Minor: 29, Known: true}},
		{"v1.31.0-alpha.3.123+abcdef", controllers.Version{Major: 1, Minor: 31, Known: true}},
		{" v1.28.2 ", controllers.Version{Major: 1, Minor: 28, Known: true}},
		{"v1.18.20", controllers.Version{Major: 1, Minor: 18, Known: true}},
		{"", controllers.Version{}},
		{"stable", controllers.Version{}},
		{"stable-1.29", controllers.Version{}},
		{"ci/latest", controllers.Version{}},
		{"latest", controllers.Version{}},
		{"v1", controllers.Version{}},
		{"1.x", controllers.Version{}},
		{"v1.29.0.1", controllers.Version{}},
	}
	for _, tt := range tests {
		if got := controllers.ParseVersion(tt.in); got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image string
		want  controllers.Version
	}{
		{"registry.k8s.io/kube-controller-manager:v1.29.0", controllers.Version{Major: 1, Minor: 29, Known: true}},
		{"registry.k8s.io/kube-controller-manager:v1.37.2", controllers.Version{Major: 1, Minor: 37, Known: true}},
		{"k8s.gcr.io/kube-controller-manager:v1.18.6", controllers.Version{Major: 1, Minor: 18, Known: true}},
		{"kube-controller-manager:v1.27.3", controllers.Version{Major: 1, Minor: 27, Known: true}},
		// Tag and digest: the tag counts.
		{"registry.k8s.io/kube-controller-manager:v1.31.1@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", controllers.Version{Major: 1, Minor: 31, Known: true}},
		// Digest only: unknown.
		{"registry.k8s.io/kube-controller-manager@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", controllers.Version{}},
		// A registry port is not a tag.
		{"localhost:5000/kube-controller-manager", controllers.Version{}},
		{"localhost:5000/kube-controller-manager:v1.28.4", controllers.Version{Major: 1, Minor: 28, Known: true}},
		{"10.0.0.1:5000/k8s/kube-controller-manager:v1.19.16", controllers.Version{Major: 1, Minor: 19, Known: true}},
		{"localhost:5000/kube-controller-manager@sha256:9f9da5b27e03f89599cc40ba89150aebf3b4cff001e6db6d998674b34181e1a1", controllers.Version{}},
		{"registry.k8s.io/kube-controller-manager:latest", controllers.Version{}},
		{"registry.k8s.io/kube-controller-manager", controllers.Version{}},
		{"", controllers.Version{}},
	}
	for _, tt := range tests {
		if got := controllers.ImageVersion(tt.image); got != tt.want {
			t.Errorf("ImageVersion(%q) = %+v, want %+v", tt.image, got, tt.want)
		}
	}
}

func TestVersionString(t *testing.T) {
	t.Parallel()
	if s := (controllers.Version{Major: 1, Minor: 29, Known: true}).String(); s != "1.29" {
		t.Errorf("String = %q", s)
	}
	if s := (controllers.Version{}).String(); s != "unknown" {
		t.Errorf("String = %q", s)
	}
	if (controllers.Version{}).AtLeast(0, 0) {
		t.Error("unknown version is AtLeast(0, 0)")
	}
}

// splitOccurrences reads a fuzz input as repeated --controllers values separated by '|'.
func splitOccurrences(s string) ([][]string, bool) {
	if s == "" {
		return nil, true
	}
	var occ [][]string
	for _, v := range strings.Split(s, "|") {
		entries, err := controllers.Split(v)
		if err != nil {
			return nil, false
		}
		occ = append(occ, entries)
	}
	return occ, true
}

func FuzzSplitControllers(f *testing.F) {
	for _, s := range []string{"", "*", "*,bootstrapsigner,tokencleaner", "*, -foo", "*,,x", "-", "-*", "--x", "a\tb", `"*"`,
		`"tokencleaner",*`, `"a,b"`, `a"b`, `"a""b"`, `""`, `"a"b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		entries, err := controllers.Split(value)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		// Split reads what kcm's pflag reads; Join writes a value that reads back the same.
		if want := pflagValue(t, value); !reflect.DeepEqual(controllerstest.NormOcc([][]string{entries}), controllerstest.NormOcc([][]string{want})) {
			t.Fatalf("Split(%q) = %q; pflag reads %q", value, entries, want)
		}
		if again, err := controllers.Split(controllers.Join(entries)); err != nil || !reflect.DeepEqual(again, entries) {
			t.Fatalf("round trip %q -> %q -> %q -> %q, %v", value, entries, controllers.Join(entries), again, err)
		}
		if !strings.Contains(value, `"`) && controllers.Join(entries) != value {
			t.Fatalf("round trip %q -> %q -> %q", value, entries, controllers.Join(entries))
		}
		for _, e := range entries {
			if e == "" || strings.ContainsAny(e, " \t\r\n\"',") || e == "-" || e == "-*" || strings.HasPrefix(e, "--") {
				t.Fatalf("Split(%q) accepted entry %q", value, e)
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
		op, name := controllers.Disable, alias
		if enable {
			op = controllers.Enable
		}
		if canonical {
			name = canon
		}
		out, changed := controllers.Edit(op, occ, name)
		controllerstest.CheckEdit(t, op, occ, out, changed, name)
	})
}

func TestCheckEntry(t *testing.T) {
	for e, want := range map[string]controllers.EntryProblem{
		"*": controllers.EntryOK, "-" + controllers.NameAlias: controllers.EntryOK, "": controllers.EntryEmpty,
		" x": controllers.EntryUntrimmed, "'x'": controllers.EntryUntrimmed,
		"-": controllers.EntryNotAName, "-*": controllers.EntryNotAName, "--x": controllers.EntryNotAName,
	} {
		if got := controllers.CheckEntry(e); got != want {
			t.Errorf("CheckEntry(%q) = %d; want %d", e, got, want)
		}
	}
}

// pflagValue is what kube-controller-manager's own flag parsing (pflag's StringSlice, the type kcm
// registers --controllers with) stores for one --controllers=value.
func pflagValue(t *testing.T, value string) []string {
	t.Helper()
	fs := pflag.NewFlagSet("kcm", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	got := fs.StringSlice(controllers.FlagName, []string{"*"}, "")
	if err := fs.Parse([]string{controllers.Arg(value)}); err != nil {
		t.Fatalf("Split accepted %q, which pflag refuses: %v", value, err)
	}
	return *got
}

func TestSplitReadsCSVQuotesAsPflag(t *testing.T) {
	t.Parallel()
	for value, want := range map[string][]string{
		`"tokencleaner",*`:                   {"tokencleaner", "*"},
		`*,"-endpointslicemirroring"`:        {"*", "-endpointslicemirroring"},
		`"*","bootstrapsigner",tokencleaner`: {"*", "bootstrapsigner", "tokencleaner"},
	} {
		got, err := controllers.Split(value)
		if err != nil || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(pflagValue(t, value), want) {
			t.Errorf("Split(%q) = %q, %v; want %q as pflag reads it", value, got, err, want)
		}
	}
	for value, why := range map[string]string{
		`"a,b"`:     "holds a comma inside quotes",
		`a"b`:       "is not a comma-separated list",
		`"a"b`:      "is not a comma-separated list",
		`""`:        "is empty",
		`"a""b"`:    "contains whitespace or quotes",
		`" -foo",*`: "contains whitespace or quotes",
	} {
		if _, err := controllers.Split(value); err == nil || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Split(%q) = %v; want one line with %q", value, err, why)
		}
	}
}
