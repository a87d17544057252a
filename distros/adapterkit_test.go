package distros

// Test helpers for the distribution adapters: node roots copied from testdata, applying a plan the way
// the engine does (so round trips can be checked here), and the golden cases of each adapter.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// kitRoot copies a testdata tree into a temp dir and returns it as a node root.
func kitRoot(t *testing.T, src string) nodefs.Root {
	t.Helper()
	dir := t.TempDir()
	if src != "" {
		golden.CopyTree(t, src, dir, golden.FileMode(0o644))
	}
	r, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kitWrite puts a file under a root (node path), creating folders.
func kitWrite(t *testing.T, r nodefs.Root, nodePath, data string) {
	t.Helper()
	golden.WriteFile(t, r.Host(nodePath), []byte(data))
}

// kitApply writes a plan's changed files as the shared engine would (without snapshots).
func kitApply(t *testing.T, r nodefs.Root, p *change.Plan) {
	t.Helper()
	for _, f := range p.Files {
		if !f.Changed() {
			continue
		}
		h := r.Host(f.Path)
		mode := f.Mode
		if f.Before != nil && f.Before.Exists {
			mode = f.Before.Mode
		}
		if mode == 0 {
			t.Fatalf("%s: a new file without a mode", f.Path)
		}
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h, f.After, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// kitCaseOptions reads options.json of a golden case: the flags an operator would pass, by name
// without dashes ("kops-spec", "controller-name"), with their values.
func kitCaseOptions(t *testing.T, dir string, r nodefs.Root) Options {
	t.Helper()
	o := Options{Root: r}
	data, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return o
	}
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s/options.json: %v", dir, err)
	}
	o.Inputs = Values{}
	for name, v := range raw {
		var dst any
		switch in, ok := LookupInput(name); {
		case name == "controller-name":
			dst = &o.ControllerName
		case name == "endpoints-controller":
			dst = &o.EndpointsController
		case !ok:
			t.Fatalf("%s/options.json: %s is no adapter's input", dir, name)
		case in.Kind == StringInput:
			dst = new(string)
		case in.Kind == BoolInput:
			dst = new(bool)
		case in.Kind == StringsInput:
			dst = new([]string)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			t.Fatalf("%s/options.json: %s: %v", dir, name, err)
		}
		switch d := dst.(type) {
		case *string:
			if d != &o.ControllerName {
				o.Inputs[name] = *d
			}
		case *bool:
			if d != &o.EndpointsController {
				o.Inputs[name] = *d
			}
		case *[]string:
			o.Inputs[name] = *d
		}
	}
	return o
}

// kitState is the effective state a status reports, for round-trip comparisons.
func kitState(t *testing.T, a Adapter, o Options) string {
	t.Helper()
	s, err := a.Status(o)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var parts []string
	for _, f := range s.Files {
		parts = append(parts, f.Path+"="+f.Mirroring+":"+strings.ReplaceAll(kitNormalize(f.Controllers), " ", "/"))
	}
	if o.EndpointsController {
		// The Endpoints controller's state leads, as the mirroring one does: the state checks below
		// then hold for both.
		s.SummarizeEndpoints()
		if s.Endpoints != s.Mirroring {
			return "endpoints-" + s.Endpoints + "-but-mirroring-" + s.Mirroring + " " + strings.Join(parts, " ")
		}
	}
	return s.Mirroring + " " + strings.Join(parts, " ")
}

// kitRunGolden runs every case under testdata/distros/<distro>: root/ is the node; options.json the
// options; expected-<op>/<node path> the files the op changes (error-<op>.txt when it must fail). Each
// op is also checked for: no writes while planning, idempotency after applying, the state it reports,
// and for disable, that enable afterwards gives back the original effective state.
func kitRunGolden(t *testing.T, a Adapter) {
	for _, dir := range golden.Cases(t, filepath.Join("..", "testdata", "distros", a.Name()), "") {
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			t.Run(filepath.Base(dir)+"/"+string(op), func(t *testing.T) {
				t.Parallel()
				kitGoldenCase(t, a, dir, op)
			})
		}
	}
}

func kitGoldenCase(t *testing.T, a Adapter, dir string, op controllers.Op) {
	rootDir := filepath.Join(dir, "root")
	if _, err := os.Stat(rootDir); err != nil {
		rootDir = ""
	}
	r := kitRoot(t, rootDir)
	o := kitCaseOptions(t, dir, r)
	o.Op = op
	errFile := filepath.Join(dir, "error-"+string(op)+".txt")
	before := golden.Tree(t, r.Dir, golden.DirTimes())
	p, err := a.Plan(o)
	golden.CompareTrees(t, before, golden.Tree(t, r.Dir, golden.DirTimes()))
	if _, statErr := os.Stat(errFile); statErr == nil || (err != nil && golden.Updating()) {
		if err == nil {
			t.Fatalf("want an error (%s), got none", errFile)
		}
		msg := strings.ReplaceAll(err.Error(), r.Dir, "<root>")
		if strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
		golden.Check(t, errFile, []byte(msg+"\n"))
		return
	}
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	origState := ""
	if op == controllers.Disable {
		origState = kitState(t, a, o)
	}
	expDir := filepath.Join(dir, "expected-"+string(op))
	changed := map[string]bool{}
	for _, f := range p.Files {
		if f.Changed() {
			changed[f.Path] = true
			golden.Check(t, filepath.Join(expDir, filepath.FromSlash(strings.TrimPrefix(f.Path, "/"))), f.After)
		}
	}
	// Every golden file must be one the plan changes.
	for rel := range golden.Tree(t, expDir, golden.ContentsOnly()) {
		if np := "/" + rel; !changed[np] {
			t.Errorf("%s: golden file for a file the plan leaves alone", np)
		}
	}
	if want := change.StateOf(op == controllers.Enable); p.Mirroring != want {
		t.Errorf("plan says mirroring %s after %s", p.Mirroring, op)
	}
	switch want := change.StateOf(op == controllers.Enable); {
	case o.EndpointsController && p.Endpoints != want:
		t.Errorf("plan says the Endpoints controller is %q after %s --endpoints-controller", p.Endpoints, op)
	case !o.EndpointsController && p.Endpoints != "":
		t.Errorf("plan reports the Endpoints controller (%s) without --endpoints-controller", p.Endpoints)
	}
	kitApply(t, r, p)
	again, err := a.Plan(o)
	if err != nil {
		t.Fatalf("plan after apply: %v", err)
	}
	if again.Changed() {
		for _, f := range again.Files {
			if f.Changed() {
				t.Errorf("not idempotent: %s changes again:\n%s", f.Path, f.After)
			}
		}
	}
	if s := kitState(t, a, o); !strings.HasPrefix(s, change.StateOf(op == controllers.Enable)) && !strings.HasPrefix(s, change.Mixed) {
		t.Errorf("status after %s: %s", op, s)
	}
	if op == controllers.Disable && strings.HasPrefix(origState, change.Enabled) {
		o.Op = controllers.Enable
		back, err := a.Plan(o)
		if err != nil {
			t.Fatalf("enable after disable: %v", err)
		}
		kitApply(t, r, back)
		// Compare the files that said something before (a patch file written by the run did not exist).
		now := kitState(t, a, o)
		for _, row := range strings.Fields(origState)[1:] {
			if strings.Contains(row, "="+change.Unknown+":") {
				continue
			}
			if !strings.Contains(" "+now+" ", " "+row+" ") {
				t.Errorf("enable after disable does not restore the original state:\nwas %s\nnow %s", origState, now)
			}
		}
	}
}

// kitNormalize reduces a controllers list to what it decides: "*" or not, and the first decision for each
// named controller (the mirroring controller's two names counted as one, the Endpoints controller's too). A positive mirroring entry
// next to "*" decides nothing (the controller is on by default), so it is dropped.
func kitNormalize(list string) string {
	if list == "" {
		list = "*"
	}
	star := false
	dec := map[string]bool{}
	for _, e := range strings.Split(list, ",") {
		on := !strings.HasPrefix(e, "-")
		n := strings.TrimPrefix(e, "-")
		if n == "*" {
			star = true
			continue
		}
		if controllers.IsMirroringName(n) {
			n = "mirroring"
		}
		if controllers.IsEndpointsName(n) {
			n = "endpoints"
		}
		if _, ok := dec[n]; !ok {
			dec[n] = on
		}
	}
	for _, n := range []string{"mirroring", "endpoints"} {
		if star && dec[n] {
			delete(dec, n)
		}
	}
	var out []string
	for n, on := range dec {
		out = append(out, fmt.Sprintf("%s=%v", n, on))
	}
	sort.Strings(out)
	return fmt.Sprintf("star=%v %s", star, strings.Join(out, ","))
}
