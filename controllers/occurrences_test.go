package controllers_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mirrorctl/mirrorctl/controllers"
)

type occ = controllers.Occurrence

func TestOccurrences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		argv    []string
		want    []occ
		wantErr string // "broken", "missing" or ""
	}{
		{"none", []string{"kube-controller-manager", "--v=2"}, nil, ""},
		{"empty argv", nil, nil, ""},
		{"one token", []string{"kcm", "--controllers=*,-foo"},
			[]occ{{Flag: 1, Value: 1, Raw: "*,-foo", Entries: []string{"*", "-foo"}}}, ""},
		{"two tokens", []string{"kcm", "--controllers", "*,-foo", "--v=2"},
			[]occ{{Flag: 1, Value: 2, Raw: "*,-foo", Entries: []string{"*", "-foo"}}}, ""},
		// pflag takes the next argument whatever it looks like.
		{"two tokens, value starts with a dash", []string{"--controllers", "-foo"},
			[]occ{{Flag: 0, Value: 1, Raw: "-foo", Entries: []string{"-foo"}}}, ""},
		{"two tokens, value is the flag again", []string{"--controllers", "--controllers=x"},
			[]occ{{Flag: 0, Value: 1, Raw: "--controllers=x"}}, "broken"},
		{"repeated, both forms", []string{"kcm", "--controllers", "a,b", "--v=2", "--controllers=c"},
			[]occ{{Flag: 1, Value: 2, Raw: "a,b", Entries: []string{"a", "b"}}, {Flag: 4, Value: 4, Raw: "c", Entries: []string{"c"}}}, ""},
		{"empty value", []string{"kcm", "--controllers="}, []occ{{Flag: 1, Value: 1, Raw: ""}}, ""},
		{"empty value, two tokens", []string{"kcm", "--controllers", ""}, []occ{{Flag: 1, Value: 2, Raw: ""}}, ""},
		{"look-alike prefixes", []string{"kcm", "--controllers-foo=x", "--controllersx", "-controllers=y", "---controllers=z", "controllers=w", "--Controllers=v"}, nil, ""},
		{"look-alike prefix does not take the next argument", []string{"--controllers-foo", "--controllers=a"},
			[]occ{{Flag: 1, Value: 1, Raw: "a", Entries: []string{"a"}}}, ""},
		{"value missing at the end", []string{"kcm", "--controllers=a", "--controllers"},
			[]occ{{Flag: 1, Value: 1, Raw: "a", Entries: []string{"a"}}}, "missing"},
		{"broken entry, later occurrences still returned", []string{"--controllers=*, -foo", "--controllers=bar"},
			[]occ{{Flag: 0, Value: 0, Raw: "*, -foo"}, {Flag: 1, Value: 1, Raw: "bar", Entries: []string{"bar"}}}, "broken"},
		{"a missing value is reported before a broken entry", []string{"--controllers=,", "--controllers"},
			[]occ{{Flag: 0, Value: 0, Raw: ","}}, "missing"},
		{"-- ends the flags", []string{"kcm", "--controllers=a", "--", "--controllers=b"},
			[]occ{{Flag: 1, Value: 1, Raw: "a", Entries: []string{"a"}}}, ""},
		{"-- as a value is a value", []string{"--controllers", "--", "--controllers=b"},
			[]occ{{Flag: 0, Value: 1, Raw: "--"}, {Flag: 2, Value: 2, Raw: "b", Entries: []string{"b"}}}, "broken"},
		{"equals sign inside the value", []string{"--controllers==a"}, []occ{{Flag: 0, Value: 0, Raw: "=a", Entries: []string{"=a"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := controllers.Occurrences(tt.argv)
			for i, o := range got {
				var be *controllers.BrokenEntryError
				if _, serr := controllers.Split(o.Raw); (serr == nil) != (o.Err == nil) || o.Err != nil && (!errors.As(o.Err, &be) || o.Entries != nil) {
					t.Errorf("occurrence %d: Entries %q, Err %v; Split(%q) gives %v", i, o.Entries, o.Err, o.Raw, serr)
				}
				got[i].Err = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Occurrences(%q) = %+v, want %+v", tt.argv, got, tt.want)
			}
			var be *controllers.BrokenEntryError
			var me *controllers.MissingValueError
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
			case "broken":
				if !errors.As(err, &be) {
					t.Errorf("error %v, want a BrokenEntryError", err)
				}
			case "missing":
				if !errors.As(err, &me) || me.Flag != len(tt.argv)-1 || me.Name != "controllers" {
					t.Errorf("error %#v, want a MissingValueError at %d", err, len(tt.argv)-1)
				}
			}
		})
	}
}

// TestOccurrencesCommandAndArgs: a caller with a container's command and args passes their
// concatenation, the argv the kubelet runs, and maps indices back by the length of command. A flag at
// the end of command takes args[0] as its value, as kcm's pflag does.
func TestOccurrencesCommandAndArgs(t *testing.T) {
	t.Parallel()
	command := []string{"kube-controller-manager", "--v=2", "--controllers"}
	args := []string{"*,-endpointslicemirroring", "--controllers=foo"}
	got, err := controllers.Occurrences(append(append([]string{}, command...), args...))
	if err != nil {
		t.Fatal(err)
	}
	type at struct {
		field string
		index int
	}
	where := func(i int) at {
		if i < len(command) {
			return at{"command", i}
		}
		return at{"args", i - len(command)}
	}
	want := []struct{ flag, value at }{
		{at{"command", 2}, at{"args", 0}},
		{at{"args", 1}, at{"args", 1}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, o := range got {
		if where(o.Flag) != want[i].flag || where(o.Value) != want[i].value {
			t.Errorf("occurrence %d at %v/%v, want %v/%v", i, where(o.Flag), where(o.Value), want[i].flag, want[i].value)
		}
	}
	if e := controllers.Effective(got); controllers.Join(e) != "*,-endpointslicemirroring,foo" {
		t.Errorf("Effective = %q", e)
	}
}

func TestEffective(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		argv []string
		want []string
	}{
		{[]string{"kcm"}, []string{"*"}},         // kcm's default
		{[]string{"kcm", "--controllers="}, nil}, // set, and empty: no controller runs
		{[]string{"kcm", "--controllers=", "--controllers=a"}, []string{"a"}},
		{[]string{"kcm", "--controllers=a,b", "--controllers", "c"}, []string{"a", "b", "c"}},
	} {
		occ, err := controllers.Occurrences(tt.argv)
		if err != nil {
			t.Fatal(err)
		}
		if got := controllers.Effective(occ); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Effective(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}

func TestFirstBroken(t *testing.T) {
	t.Parallel()
	occ, _ := controllers.Occurrences([]string{"--controllers=a", "--controllers=b, c", "--controllers=,", "--controllers"})
	var be *controllers.BrokenEntryError
	if err := controllers.FirstBroken(occ); !errors.As(err, &be) || be.Value != "b, c" {
		t.Errorf("FirstBroken = %v, want the entry of \"b, c\"", err)
	}
	if err := controllers.FirstBroken(occ[:1]); err != nil {
		t.Errorf("FirstBroken = %v, want nil", err)
	}
}

func TestLast(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		argv []string
		want string
		ok   bool
	}{
		{[]string{"kcm", "--kubeconfig=/a"}, "/a", true},
		{[]string{"kcm", "--kubeconfig", "/b"}, "/b", true},
		{[]string{"kcm", "--kubeconfig=/a", "--kubeconfig", "/c"}, "/c", true},
		{[]string{"kcm", "--authentication-kubeconfig=/x", "--kubeconfig-dir=/y"}, "", false},
		{[]string{"kcm", "--kubeconfig"}, "", false},
		{[]string{"kcm", "--kubeconfig=/a", "--kubeconfig"}, "/a", true},
	} {
		if got, ok := controllers.Last(tt.argv, "kubeconfig"); got != tt.want || ok != tt.ok {
			t.Errorf("Last(%q) = %q, %v; want %q, %v", tt.argv, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzOccurrences compares Occurrences with pflag's own parsing of a FlagSet holding kcm's
// --controllers (a StringSlice, kcm's flag-name normalization) over the same argv. Every other flag is
// unknown to that FlagSet and allowed, as kcm's other flags are to Occurrences. Properties:
//   - the occurrences' raw values are exactly the values pflag hands the flag, in order;
//   - a bare --controllers at the end is a MissingValueError where pflag needs an argument;
//   - where Occurrences finds no broken entry, the effective list is pflag's, and "not set" agrees;
//   - a value pflag's CSV reading rejects is broken for Split too;
//   - indices point at the tokens the values came from.
//
// argv is the input split at "\n". Run: go test ./controllers -run '^$' -fuzz FuzzOccurrences -fuzztime 60s
func FuzzOccurrences(f *testing.F) {
	for _, s := range []string{
		"kube-controller-manager\n--controllers=*,-endpointslicemirroring",
		"kcm\n--controllers\n*,bootstrapsigner\n--v=2\n--controllers=tokencleaner",
		"--controllers",
		"--controllers=",
		"--controllers-foo=x\n--controllers\n--controllers=y",
		"--foo\nbar\n--controllers=a\n--\n--controllers=b",
		"-x\n--controllers\n-foo",
		"--controllers=\"a,b\",c",
		"--controllers=a, b\n--controllers=a\"b",
		"--kubeconfig\n--controllers=a",
		"--controllers=a,,b",
		"-abc\nd\n--controllers=*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, "\n")
		got, err := controllers.Occurrences(argv)

		fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Usage = func() {}
		fs.ParseErrorsAllowlist.UnknownFlags = true
		// component-base's cliflag.WordSepNormalizeFunc, which kcm's cli.Run installs.
		fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
			return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
		})
		fs.StringSlice("controllers", []string{"*"}, "")
		var raws []string
		perr := fs.ParseAll(argv, func(fl *pflag.Flag, v string) error {
			if fl.Name == "controllers" {
				raws = append(raws, v)
			}
			return fs.Set(fl.Name, v)
		})
		var syntax *pflag.InvalidSyntaxError
		if errors.Is(perr, pflag.ErrHelp) || errors.As(perr, &syntax) {
			return // pflag stopped at a token unrelated to --controllers ("--help", "-h", "---x", "--=x")
		}

		var gotRaws []string
		for _, o := range got {
			gotRaws = append(gotRaws, o.Raw)
			fl := argv[o.Flag]
			switch {
			case o.OneToken():
				if fl != "--controllers="+o.Raw {
					t.Fatalf("one-token occurrence %+v does not match argv[%d] = %q", o, o.Flag, fl)
				}
			case o.Value == o.Flag+1:
				if fl != "--controllers" || argv[o.Value] != o.Raw {
					t.Fatalf("two-token occurrence %+v does not match argv %q", o, argv)
				}
			default:
				t.Fatalf("occurrence %+v: value index neither Flag nor Flag+1", o)
			}
		}

		var required *pflag.ValueRequiredError
		var invalid *pflag.InvalidValueError
		var missing *controllers.MissingValueError
		var broken *controllers.BrokenEntryError
		switch {
		case errors.As(perr, &required):
			if !errors.As(err, &missing) {
				t.Fatalf("pflag: %v; Occurrences(%q): %v", perr, argv, err)
			}
			if !reflect.DeepEqual(gotRaws, raws) {
				t.Fatalf("values %q, pflag %q (argv %q)", gotRaws, raws, argv)
			}
			return
		case errors.As(perr, &invalid):
			// pflag stops at the value its CSV reader rejects; Split must reject it too.
			if len(raws) == 0 || len(gotRaws) < len(raws) || !reflect.DeepEqual(gotRaws[:len(raws)], raws) {
				t.Fatalf("values %q, pflag %q (argv %q)", gotRaws, raws, argv)
			}
			if o := got[len(raws)-1]; !errors.As(o.Err, &broken) || err == nil {
				t.Fatalf("pflag: %v; Occurrences(%q) accepts %q: %+v, %v", perr, argv, o.Raw, o, err)
			}
			return
		case perr != nil:
			t.Fatalf("pflag: unexpected error %v (argv %q)", perr, argv)
		}
		if errors.As(err, &missing) {
			t.Fatalf("Occurrences(%q): %v; pflag found a value", argv, err)
		}
		if !reflect.DeepEqual(gotRaws, raws) {
			t.Fatalf("values %q, pflag %q (argv %q)", gotRaws, raws, argv)
		}
		if fs.Changed("controllers") != (len(got) > 0) {
			t.Fatalf("pflag changed=%v, %d occurrences (argv %q)", fs.Changed("controllers"), len(got), argv)
		}
		if err != nil {
			return // Split is stricter than pflag (whitespace, empty entries, "-*"): kcm would reject or misread
		}
		want, _ := fs.GetStringSlice("controllers")
		eff := controllers.Effective(got)
		if len(want) != len(eff) || len(want) > 0 && !reflect.DeepEqual(want, eff) {
			t.Fatalf("effective %q, pflag %q (argv %q)", eff, want, argv)
		}
	})
}

func TestParseExtraArg(t *testing.T) {
	for _, c := range []struct {
		in   string
		want controllers.ExtraArg
		ok   bool
	}{
		{"controllers=*,-x", controllers.ExtraArg{Value: "*,-x", HasValue: true}, true},
		{"--controllers+=a=b", controllers.ExtraArg{Merge: "+", Value: "a=b", HasValue: true}, true},
		{"controllers-=-x", controllers.ExtraArg{Merge: "-", Value: "-x", HasValue: true}, true},
		{"controllers+-=x", controllers.ExtraArg{Merge: "+-", Value: "x", HasValue: true}, true},
		{"controllers", controllers.ExtraArg{Value: "true"}, true},
		{"controllers=", controllers.ExtraArg{HasValue: true}, true},
		{"node-monitor-period=5s", controllers.ExtraArg{}, false},
		{"controllersx=1", controllers.ExtraArg{}, false},
		{"---controllers=1", controllers.ExtraArg{}, false},
	} {
		got, ok := controllers.ParseExtraArg(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseExtraArg(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
		if ok && c.want.HasValue {
			if back := controllers.FormatExtraArg(got.Merge, got.Value); back != strings.TrimPrefix(c.in, "--") {
				t.Errorf("FormatExtraArg(%q, %q) = %q", got.Merge, got.Value, back)
			}
		}
	}
	if controllers.Arg("*") != "--controllers=*" {
		t.Errorf("Arg = %q", controllers.Arg("*"))
	}
}
