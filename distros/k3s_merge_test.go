package distros

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
)

// k3sGetArgs is k3s's GetArgs (k3s-io/k3s pkg/util/args.go at commit
// 0aa32d5656f84887848522c45df9d6869d8eaec9), transcribed for one initial argument and kept
// independent of rancherControllers, so the two check each other. It returns the --controllers values.
func k3sGetArgs(initial string, extra []string) []string {
	initialArgs := map[string]string{"controllers": initial}
	multi := map[string][]string{}
	for _, unsplit := range extra {
		split := strings.SplitN(strings.TrimPrefix(unsplit, "--"), "=", 2)
		arg, value := split[0], "true"
		if len(split) > 1 {
			value = split[1]
		}
		cleaned := strings.TrimRight(arg, "-+")
		iv, ivOK := initialArgs[cleaned]
		ev, evOK := multi[cleaned]
		var nv []string
		switch {
		case strings.HasSuffix(arg, "+"):
			if ivOK {
				nv = append(nv, iv)
			}
			if evOK {
				nv = append(nv, ev...)
			}
			nv = append(nv, value)
		case strings.HasSuffix(arg, "-"):
			nv = append(nv, value)
			if ivOK {
				nv = append(nv, iv)
			}
			if evOK {
				nv = append(nv, ev...)
			}
		default:
			if evOK {
				nv = append(nv, ev...)
			}
			nv = append(nv, value)
		}
		delete(initialArgs, cleaned)
		multi[cleaned] = nv
	}
	if v, ok := initialArgs["controllers"]; ok {
		multi["controllers"] = []string{v}
	}
	return multi["controllers"]
}

// k3sKCMArgs merges kube-controller-manager-arg as k3s's configfilearg does (config.yaml, then the
// drop-ins in name order; "key+" appends, "key" replaces), then appends ExecStart's values.
func k3sKCMArgs(t *testing.T, files []string, cli []string) []string {
	var vals []string
	set := false
	for _, f := range files {
		var m yaml.Node
		if err := yaml.Unmarshal([]byte(f), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Content) == 0 {
			continue
		}
		doc := m.Content[0]
		for i := 0; i+1 < len(doc.Content); i += 2 {
			k, v := doc.Content[i].Value, doc.Content[i+1]
			if strings.TrimSuffix(k, "+") != "kube-controller-manager-arg" {
				continue
			}
			var items []string
			for _, it := range v.Content {
				items = append(items, it.Value)
			}
			if v.Kind == yaml.ScalarNode {
				items = []string{v.Value}
			}
			if set && strings.HasSuffix(k, "+") {
				vals = append(vals, items...)
			} else {
				vals = items
			}
			set = true
		}
	}
	return append(vals, cli...)
}

// k3sControllerNames are the controllers checked for every setup: k3s's default names, a few that
// runs leave to "*", and the default-off ones.
var k3sControllerNames = []string{"tokencleaner", "bootstrapsigner", "service", "route", "cloud-node-lifecycle",
	"garbagecollector", "namespace", "endpointslice", "nodeipam", "csrsigning", "deployment"}

// The drop-in mirrorctl plans, merged with everything else exactly as k3s merges it, changes the
// mirroring controller as asked and no other controller; or the plan is refused. Checked against an
// independent transcription of k3s's merge over a table of setups, with the real adapter's plan.
func TestK3sMergeDifferential(t *testing.T) {
	unit := func(args ...string) string {
		var b strings.Builder
		b.WriteString("[Service]\nExecStart=/usr/local/bin/k3s \\\n    server")
		for _, a := range args {
			fmt.Fprintf(&b, " \\\n\t'--kube-controller-manager-arg' '%s'", a)
		}
		return b.String() + "\n"
	}
	for _, tc := range []struct {
		name    string
		files   map[string]string // node path → content
		cli     []string
		refused controllers.Op // no placement keeps the other controllers: the plan of this op must refuse
	}{
		{"no config", nil, nil, ""},
		{"plain in config.yaml", map[string]string{"/etc/rancher/k3s/config.yaml": "kube-controller-manager-arg:\n  - controllers=*,bootstrapsigner\n"}, nil, ""},
		{"plain in a later drop-in", map[string]string{"/etc/rancher/k3s/config.yaml.d/99-zz.yaml": "kube-controller-manager-arg+:\n  - controllers=*,bootstrapsigner\n"}, nil, ""},
		{"plain in ExecStart", nil, []string{"controllers=*,tokencleaner,-endpointslicemirroring"}, ""},
		{"plain in ExecStart, disable", nil, []string{"controllers=*,tokencleaner"}, ""},
		{"append in ExecStart", nil, []string{"controllers+=-tokencleaner"}, ""},
		{"prepend in earlier drop-in", map[string]string{"/etc/rancher/k3s/config.yaml.d/10-a.yaml": "kube-controller-manager-arg:\n  - controllers-=-service\n"}, []string{"controllers=garbagecollector"}, ""},
		{"no cloud controller, plain later", map[string]string{"/etc/rancher/k3s/config.yaml": "disable-cloud-controller: true\n", "/etc/rancher/k3s/config.yaml.d/zz.yaml": "kube-controller-manager-arg+:\n  - controllers=-namespace,*\n"}, nil, ""},
		{"later drop-in replaces the list", map[string]string{"/etc/rancher/k3s/config.yaml.d/zz.yaml": "kube-controller-manager-arg:\n  - controllers=*\n"}, nil, controllers.Disable},
	} {
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			t.Run(tc.name+"/"+string(op), func(t *testing.T) {
				r := kitRoot(t, "")
				for p, c := range tc.files {
					kitWrite(t, r, p, c)
				}
				if tc.cli != nil {
					kitWrite(t, r, "/etc/systemd/system/k3s.service", unit(tc.cli...))
				}
				a := mustGet(t, "k3s")
				files := func() []string {
					paths, err := rancher{name: "k3s", configDir: "/etc/rancher/k3s"}.listFiles(r)
					if err != nil {
						t.Fatal(err)
					}
					var out []string
					for _, p := range paths {
						f, _ := r.ReadFile(p, false)
						out = append(out, string(f.Data))
					}
					return out
				}
				noCCM := strings.Contains(tc.files["/etc/rancher/k3s/config.yaml"], "disable-cloud-controller: true")
				def := rancherDefaultControllersCloud
				if noCCM {
					def = rancherDefaultControllers
				}
				eval := func() []string {
					var all []string
					for _, v := range k3sGetArgs(def, k3sKCMArgs(t, files(), tc.cli)) {
						all = append(all, strings.Split(v, ",")...)
					}
					return all
				}
				before := eval()
				p, err := a.Plan(Options{Root: r, Op: op})
				if tc.refused == op {
					if err == nil || !strings.Contains(err.Error(), "would also switch") && !strings.Contains(err.Error(), "overrides") {
						t.Fatalf("plan: %v, want a refusal", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
				for _, f := range p.Files {
					if f.Changed() {
						kitWrite(t, r, f.Path, string(f.After))
					}
				}
				after := eval()
				if got := controllerstest.ControllerEnabled("endpointslicemirroring", after); got != (op == controllers.Enable) {
					t.Errorf("mirroring %v after %s; kcm gets %q", got, op, after)
				}
				var changed []string
				for _, n := range k3sControllerNames {
					b, a := controllerstest.ControllerEnabled(n, before), controllerstest.ControllerEnabled(n, after)
					if n == "tokencleaner" || n == "bootstrapsigner" { // off unless named
						b, a = enabledNamed(n, before), enabledNamed(n, after)
					}
					if a != b {
						changed = append(changed, fmt.Sprintf("%s %v→%v", n, b, a))
					}
				}
				sort.Strings(changed)
				if len(changed) > 0 {
					t.Errorf("%s also switched %s: kcm got %q, gets %q", op, strings.Join(changed, ", "), before, after)
				}
			})
		}
	}
}

// enabledNamed is IsControllerEnabled for a controller that is off by default: "*" does not start it.
func enabledNamed(name string, entries []string) bool {
	for _, e := range entries {
		if e == name {
			return true
		}
		if e == "-"+name {
			return false
		}
	}
	return false
}
