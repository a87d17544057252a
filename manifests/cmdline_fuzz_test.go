package manifests

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
	"github.com/spf13/pflag"
)

// kcmParse parses a kcm command line with kcm's own flag library and flag type (pflag, --controllers
// a StringSlice defaulting to "*"; repeated flags append), and returns the merged list. Other flags are
// registered as strings, so "--v=2" parses as in kcm. ok is false when pflag refuses the line or kcm
// would refuse its positional arguments.
func kcmParse(argv []string) (list []string, ok bool) {
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	got := fs.StringSlice(controllers.FlagName, []string{"*"}, "")
	fs.String("v", "", "")
	fs.String("leader-elect", "", "")
	if len(argv) == 0 || fs.Parse(argv[1:]) != nil || slices.ContainsFunc(fs.Args(), func(a string) bool { return a != "" }) {
		return nil, false
	}
	return *got, true
}

// fuzzArgv turns the fuzzer's text into a kcm command line: "|" separates arguments, and each capital
// letter stands for a controller name of release r (the letters' index into its sorted names, canonical
// names and aliases), so that mutations reach real names. Controller names have no capitals.
func fuzzArgv(text string, r controllers.Release) []string {
	names := make([]string, 0, len(r.Canonical))
	for n := range r.Canonical {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, c := range text {
		if c >= 'A' && c <= 'Z' {
			b.WriteString(names[int(c-'A')*len(names)/26])
			continue
		}
		b.WriteRune(c)
	}
	return append([]string{"kube-controller-manager"}, strings.Split(b.String(), "|")...)
}

// fuzzManifest writes argv as the kcm container's command, one JSON-quoted (valid YAML) item a line.
func fuzzManifest(argv []string, r controllers.Release) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v%s.0\n    command:\n", r.Minor)
	for _, a := range argv {
		q, _ := json.Marshal(a)
		fmt.Fprintf(&b, "    - %s\n", q)
	}
	return []byte(b.String())
}

// FuzzCommandLine is the differential check of issue 14: for kcm command lines with repeated,
// empty and CSV-quoted --controllers flags, the state mirrorctl reports must be the state kcm's own
// flag parsing (pflag) and IsControllerEnabled (with its alias resolution, controllerstest.KCMEnabled)
// give on that release's controller table; and disable/enable must switch the mirroring controller
// and no other controller of that release. Lines kcm would not start with are out of scope here (lint
// reports them); an internal error is never acceptable.
//
// Run: go test ./manifests -run '^$' -fuzz FuzzCommandLine -fuzztime 60s
func FuzzCommandLine(f *testing.F) {
	// Seeds in literal names (endpointslicemirroring, bootstrapsigner and tokencleaner are known to
	// every release: aliases from 1.28).
	for _, s := range []string{
		"--controllers=*,bootstrapsigner,tokencleaner", "--controllers=endpointslicemirroring",
		"--controllers=*,endpointslicemirroring|--controllers=bootstrapsigner,tokencleaner",
		"--controllers=|--controllers=*", "--controllers=|--controllers=*,-endpointslicemirroring",
		`--controllers="tokencleaner",*`, `--controllers="*","-endpointslicemirroring"`,
		"--controllers|*,-endpointslicemirroring", "--controllers=-endpointslicemirroring|--controllers=*",
		"--v=2|--controllers=*|--controllers=", "--controllers=", "", "--controllers=*,,tokencleaner", `--controllers="a,b"`,
		"--controllers=endpointslicemirroring,-endpointslicemirroring,*", "--leader-elect=true|--controllers",
		"--controllers=-endpointslicemirroring,endpointslicemirroring|--controllers=*", "--controllers=*,B,T|--controllers=E",
	} {
		for r := range uint8(5) {
			f.Add(s, r, false)
			f.Add(s, r, true)
		}
	}
	rs := controllers.Releases()
	f.Fuzz(func(t *testing.T, text string, ri uint8, enable bool) {
		r := rs[int(ri)%len(rs)]
		argv := fuzzArgv(text, r)
		// Another flag in its two-token form ("--v --controllers=x": pflag takes the second token as
		// --v's value) is outside what controllers.Scan promises (it knows no other flag).
		if slices.ContainsFunc(argv, func(a string) bool {
			return strings.HasPrefix(a, "--") && a != "--" && a != controllers.Flag && !strings.Contains(a, "=")
		}) {
			return
		}
		list, parsed := kcmParse(argv)
		known := parsed && !slices.ContainsFunc(list, func(e string) bool {
			n := strings.TrimPrefix(e, "-")
			_, ok := r.Canonical[n]
			return e != "*" && !ok // kcm's Validate: an unknown controller is fatal
		})
		m, err := Parse(fuzzManifest(argv, r))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		mirroring := r.MirroringName()
		reported, err := m.Mirroring()
		if err != nil {
			return // refused: allowed for any line (mirrorctl is conservative)
		}
		if !known {
			return // kcm would not start (flags it cannot parse, arguments, unknown controllers); lint says so
		}
		if want := controllerstest.KCMEnabled(r, mirroring, list); reported != want {
			t.Fatalf("%s %q: reported enabled=%v, kcm runs it: %v (pflag list %q)", r.Minor, argv, reported, want, list)
		}
		op := controllers.Disable
		if enable {
			op = controllers.Enable
		}
		name, err := controllers.NameFor(controllers.ParseVersion(r.Minor), "")
		if err != nil {
			t.Fatal(err)
		}
		out, changed, err := m.Edit(op, name)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%s %q: %s: %v", r.Minor, argv, op, err)
			}
			return
		}
		if changed == (reported == enable) {
			t.Fatalf("%s %q: %s changed=%v with mirroring enabled=%v", r.Minor, argv, op, changed, reported)
		}
		after, err := Parse(out)
		if err != nil {
			t.Fatalf("%s %q: edited manifest does not parse: %v", r.Minor, argv, err)
		}
		newList, ok := kcmParse(after.argv)
		if !ok {
			t.Fatalf("%s %q: %s wrote %q, which kcm's pflag refuses", r.Minor, argv, op, after.argv)
		}
		if got := controllerstest.KCMEnabled(r, mirroring, newList); got != enable {
			t.Fatalf("%s %q: after %s %q kcm runs mirroring: %v", r.Minor, argv, op, after.argv, got)
		}
		for _, c := range r.Controllers() {
			if c != mirroring && controllerstest.KCMEnabled(r, c, list) != controllerstest.KCMEnabled(r, c, newList) {
				t.Fatalf("%s %q: %s %q switches controller %q from %v", r.Minor, argv, op, after.argv, c, controllerstest.KCMEnabled(r, c, list))
			}
		}
	})
}
