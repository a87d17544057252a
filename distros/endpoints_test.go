package distros

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
)

// The Endpoints controller is switched only when asked: on every adapter's --endpoints-controller
// case, disable --endpoints-controller, then a plain enable (mirroring back on, the Endpoints
// controller still off: the rewrite keeps its entry), a plain disable, and enable --endpoints-controller
// (both back on). Each step's status is read back from the files.
func TestEndpointsControllerSwitchedOnlyWhenAsked(t *testing.T) {
	for _, a := range All() {
		cases := filepath.Join("..", "testdata", "distros", a.Name())
		if _, err := os.Stat(cases); err != nil {
			continue // managed: nothing to edit
		}
		for _, dir := range golden.Cases(t, cases, "") {
			if !strings.HasSuffix(dir, "-endpoints-controller") {
				continue
			}
			t.Run(a.Name()+"/"+filepath.Base(dir), func(t *testing.T) {
				rootDir := filepath.Join(dir, "root")
				if _, err := os.Stat(rootDir); err != nil {
					rootDir = ""
				}
				r := kitRoot(t, rootDir)
				o := kitCaseOptions(t, dir, r)
				if a.Name() == "talos" && o.String(talosConfigInput) == "" {
					t.Skip("a patch without a machine config has no state to read back")
				}
				if st := endpointsState(t, a, o); st != change.Enabled {
					t.Fatalf("the case starts with the Endpoints controller %s; want enabled", st)
				}
				for _, step := range []struct {
					op                  controllers.Op
					endpoints           bool
					mirroring, endpoint string
				}{
					{controllers.Disable, true, change.Disabled, change.Disabled},
					{controllers.Enable, false, change.Enabled, change.Disabled},
					{controllers.Disable, false, change.Disabled, change.Disabled},
					{controllers.Enable, true, change.Enabled, change.Enabled},
				} {
					o.Op, o.EndpointsController = step.op, step.endpoints
					p, err := a.Plan(o)
					if err != nil {
						t.Fatalf("%s (endpoints %v): %v", step.op, step.endpoints, err)
					}
					kitApply(t, r, p)
					s, err := a.Status(o)
					if err != nil {
						t.Fatal(err)
					}
					s.Summarize()
					for _, f := range s.Files {
						if f.Kind == "rke2-pod-manifest" {
							continue // what runs until rke2 restarts
						}
						if f.Mirroring != step.mirroring || f.Endpoints != step.endpoint {
							t.Fatalf("after %s (endpoints %v): %s: mirroring %s, Endpoints controller %s; want %s, %s", step.op, step.endpoints, f.Path, f.Mirroring, f.Endpoints, step.mirroring, step.endpoint)
						}
					}
				}
			})
		}
	}
}

func endpointsState(t *testing.T, a Adapter, o Options) string {
	t.Helper()
	s, err := a.Status(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Summarize()
	return s.Endpoints
}
