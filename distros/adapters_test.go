package distros

import (
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
)

func TestMicroK8sGolden(t *testing.T) { kitRunGolden(t, mustGet(t, "microk8s")) }
func TestK0sGolden(t *testing.T)      { kitRunGolden(t, mustGet(t, "k0s")) }
func TestKopsGolden(t *testing.T)     { kitRunGolden(t, mustGet(t, "kops")) }
func TestTalosGolden(t *testing.T)    { kitRunGolden(t, mustGet(t, "talos")) }
func TestKindGolden(t *testing.T)     { kitRunGolden(t, mustGet(t, "kind")) }

// Auto-detection over every registered adapter, on roots laid out like real nodes.
func TestDetectNodes(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		want  string // adapter name, or "" for an error
	}{
		{"empty root", nil, ""},
		{"k3s server", []string{"/etc/rancher/k3s/config.yaml", "/var/lib/rancher/k3s/server/token"}, "k3s"},
		{"rke2 server", []string{"/etc/rancher/rke2/config.yaml", RKE2PodManifest}, "rke2"},
		{"k0s controller", []string{"/etc/k0s/k0s.yaml", "/var/lib/k0s/bin/kube-apiserver"}, "k0s"},
		{"microk8s", []string{MicroK8sArgs}, "microk8s"},
		{"talos disk image", []string{TalosStateConfig}, "talos"},
		{"kops control-plane node", []string{KopsNodeManifest}, "kops"},
		{"eks node", []string{"/etc/eks/bootstrap.sh"}, "managed"},
		{"aks node", []string{"/etc/kubernetes/azure.json"}, "managed"},
		{"k3s and rke2 both", []string{"/etc/rancher/k3s/config.yaml", "/etc/rancher/rke2/config.yaml"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := kitRoot(t, "")
			for _, f := range c.files {
				kitWrite(t, r, f, "")
			}
			a, err := Detect(r)
			switch {
			case c.want == "" && err == nil:
				t.Errorf("detected %s, want an error", a.Name())
			case c.want == "" && strings.Contains(err.Error(), "\n"):
				t.Errorf("error is not one line: %q", err)
			case c.want != "" && err != nil:
				t.Errorf("error %v, want %s", err, c.want)
			case c.want != "" && a.Name() != c.want:
				t.Errorf("detected %s, want %s", a.Name(), c.want)
			}
		})
	}
}

func TestManagedRefuses(t *testing.T) {
	a := mustGet(t, "managed")
	r := kitRoot(t, "")
	if _, err := a.Plan(Options{Root: r, Op: controllers.Disable}); err == nil || !strings.Contains(err.Error(), "skip-mirror=true") {
		t.Errorf("plan: %v, want the skip-mirror explanation", err)
	}
	if _, err := a.Status(Options{Root: r}); err == nil {
		t.Error("status: no error")
	}
}

// kitFuzzOne plans both ops on one file and checks: no panic; an accepted input gives output that
// parses again, and planning again on it changes nothing.
func kitFuzzOne(t *testing.T, a Adapter, nodePath, data string, o Options) {
	r := kitRoot(t, "")
	kitWrite(t, r, nodePath, data)
	o.Root = r
	for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
		o.Op = op
		p, err := a.Plan(o)
		if err != nil {
			continue
		}
		kitApply(t, r, p)
		again, err := a.Plan(o)
		if err != nil {
			t.Fatalf("%s: the planned output does not plan again: %v", op, err)
		}
		if again.Changed() {
			t.Fatalf("%s: planning again changes the file again", op)
		}
	}
}

func FuzzMicroK8sArgs(f *testing.F) {
	for _, s := range []string{"--controllers=*,-foo\n", "--controllers \"*\"\n# c\n", "", "--v=2"} {
		f.Add(s)
	}
	a := mustGet(f, "microk8s")
	f.Fuzz(func(t *testing.T, s string) { kitFuzzOne(t, a, MicroK8sArgs, s, Options{}) })
}

func FuzzK0sConfig(f *testing.F) {
	for _, s := range []string{"spec:\n  controllerManager:\n    extraArgs:\n      controllers: \"*\"\n", "spec: {}\n", "", "spec:\n  controllerManager:\n    extraArgs: {}\n",
		"apiVersion: k0s.k0sproject.io/v1beta1\nkind: Cluster\nspec:\n  api:\n    address: 192.0.2.1\n"} {
		f.Add(s)
	}
	a := mustGet(f, "k0s")
	f.Fuzz(func(t *testing.T, s string) { kitFuzzOne(t, a, K0sConfig, s, Options{}) })
}

func FuzzKopsSpec(f *testing.F) {
	for _, s := range []string{"kind: Cluster\nspec:\n  kubeControllerManager:\n    controllers:\n    - '*'\n", "spec:\n  x: 1\n", "kind: Cluster\nspec:\n  kubeControllerManager: {controllers: [a]}\n"} {
		f.Add(s)
	}
	a := mustGet(f, "kops")
	f.Fuzz(func(t *testing.T, s string) {
		kitFuzzOne(t, a, "/spec.yaml", s, Options{Inputs: Values{"kops-spec": "/spec.yaml"}})
	})
}

func FuzzTalosConfig(f *testing.F) {
	for _, s := range []string{"version: v1alpha1\ncluster:\n  controllerManager:\n    extraArgs:\n      controllers: -foo\n", "cluster: {}\n", "apiVersion: v1alpha1\nkind: KubeControllerManagerConfig\n"} {
		f.Add(s)
	}
	a := mustGet(f, "talos")
	f.Fuzz(func(t *testing.T, s string) {
		kitFuzzOne(t, a, "/mc.yaml", s, Options{Inputs: Values{"talos-config": "/mc.yaml"}})
	})
}

func FuzzKindConfig(f *testing.F) {
	for _, s := range []string{
		"kind: Cluster\nkubeadmConfigPatches:\n- |\n  kind: ClusterConfiguration\n  controllerManager:\n    extraArgs:\n      v: \"2\"\n",
		"kind: Cluster\n",
		"kind: Cluster\nkubeadmConfigPatches:\n- |\n  kind: ClusterConfiguration\n  controllerManager:\n    extraArgs:\n    - name: v\n      value: \"2\"\n",
		// kind's documented layout: a column-0 list followed by another key; a node's own patch.
		"kind: Cluster\nkubeadmConfigPatches:\n- |\n  kind: InitConfiguration\nnodes:\n- role: control-plane\n  kubeadmConfigPatches:\n  - |\n    kind: ClusterConfiguration\n    controllerManager:\n      extraArgs:\n        controllers: \"*,-nodeipam\"\n- role: worker\n",
	} {
		f.Add(s, "")
		f.Add(s, "1.30")
	}
	a := mustGet(f, "kind")
	f.Fuzz(func(t *testing.T, s, v string) {
		kitFuzzOne(t, a, "/kind.yaml", s, Options{Inputs: Values{"kind-config": "/kind.yaml", "kind-node-version": v}})
	})
}

// Bad input in each format: the plan fails with one line naming the file, and nothing is written.
func TestBadInputNamesTheFile(t *testing.T) {
	type bad struct{ name, content string }
	yamlBad := []bad{
		{"malformed YAML", "a: [\n  b: c\n"},
		{"tab indentation", "spec:\n\tx: 1\n"},
		{"anchors", "spec: &a\n  x: 1\nother: *a\n"},
		{"invalid UTF-8", "spec: \xff\xfe\n"},
		{"directory", ""},
	}
	for _, c := range []struct {
		distro, path string
		o            Options
		extra        []bad
	}{
		{"k3s", "/etc/rancher/k3s/config.yaml", Options{}, []bad{{"broken controllers", "kube-controller-manager-arg: ['controllers=*,']\n"}}},
		{"rke2", "/etc/rancher/rke2/config.yaml", Options{}, []bad{{"list of maps", "kube-controller-manager-arg:\n- a: b\n"}}},
		{"k0s", K0sConfig, Options{}, []bad{{"extraArgs list", "spec:\n  controllerManager:\n    extraArgs: [a]\n"}}},
		{"kops", "/spec.yaml", Options{Inputs: Values{"kops-spec": "/spec.yaml"}}, []bad{{"empty", ""}, {"controllers string", "kind: Cluster\nspec:\n  kubeControllerManager:\n    controllers: '*'\n"}}},
		{"talos", "/mc.yaml", Options{Inputs: Values{"talos-config": "/mc.yaml"}}, []bad{{"empty", ""}, {"space entry", "cluster:\n  controllerManager:\n    extraArgs:\n      controllers: '*, -foo'\n"}}},
		{"kind", "/kind.yaml", Options{Inputs: Values{"kind-config": "/kind.yaml"}}, []bad{{"empty", ""}, {"patch not a string", "kind: Cluster\nkubeadmConfigPatches:\n- kind: ClusterConfiguration\n"}, {"patch invalid", "kind: Cluster\nkubeadmConfigPatches:\n- \"a: [\"\n"}}},
		{"microk8s", MicroK8sArgs, Options{}, []bad{{"directory", ""}, {"space entry", "--controllers=*, -foo\n"}, {"no value", "--controllers\n"}}},
	} {
		cases := c.extra
		if c.distro != "microk8s" {
			cases = append(append([]bad(nil), yamlBad...), c.extra...)
		}
		for _, b := range cases {
			t.Run(c.distro+"/"+b.name, func(t *testing.T) {
				r := kitRoot(t, "")
				if b.name == "directory" {
					kitWrite(t, r, c.path+"/x", "")
				} else {
					kitWrite(t, r, c.path, b.content)
				}
				before := golden.Tree(t, r.Dir, golden.DirTimes())
				o := c.o
				o.Root = r
				for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
					o.Op = op
					_, err := mustGet(t, c.distro).Plan(o)
					if err == nil {
						t.Fatalf("%s: no error", op)
					}
					msg := err.Error()
					if !strings.HasPrefix(msg, c.path+": ") || strings.Contains(msg, "\n") {
						t.Errorf("%s: error %q does not start with %q or is not one line", op, msg, c.path)
					}
				}
				golden.CompareTrees(t, before, golden.Tree(t, r.Dir, golden.DirTimes()))
			})
		}
	}
}

// Targets lists the files each adapter reads and may write, with the options it needs.
func TestTargets(t *testing.T) {
	r := kitRoot(t, "")
	kitWrite(t, r, "/etc/rancher/k3s/config.yaml.d/10-a.yaml", "")
	for _, c := range []struct {
		distro string
		o      Options
		want   []string
	}{
		{"k3s", Options{}, []string{"/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/config.yaml.d/10-a.yaml", "/etc/rancher/k3s/config.yaml.d/99-mirrorctl.yaml"}},
		{"rke2", Options{}, []string{"/etc/rancher/rke2/config.yaml", "/etc/rancher/rke2/config.yaml.d/99-mirrorctl.yaml", RKE2PodManifest}},
		{"k0s", Options{Inputs: Values{"k0s-config": "etc/k0s/other.yaml"}}, []string{"/etc/k0s/other.yaml"}},
		{"microk8s", Options{}, []string{MicroK8sArgs}},
		{"kind", Options{Inputs: Values{"kind-config": "/k.yaml"}}, []string{"/k.yaml"}},
		{"talos", Options{Inputs: Values{"talos-config": "/mc.yaml", "talos-patch-out": "/p.yaml"}}, []string{"/mc.yaml", "/p.yaml"}},
		{"kops", Options{Inputs: Values{"kops-spec": "/s.yaml"}}, []string{"/s.yaml"}},
		{"managed", Options{}, nil},
	} {
		c.o.Root = r
		ts, err := mustGet(t, c.distro).Targets(c.o)
		if err != nil {
			t.Errorf("%s: %v", c.distro, err)
			continue
		}
		var got []string
		for _, tg := range ts {
			got = append(got, tg.Path)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: targets %q, want %q", c.distro, got, c.want)
		}
	}
	for _, d := range []string{"kind", "kops"} {
		if _, err := mustGet(t, d).Targets(Options{Root: r}); err == nil {
			t.Errorf("%s: no error without its file flag", d)
		}
	}
}

// The kubeadm adapter's cases: nodes that Cluster API or kubespray manage (refused, or edited with
// --i-understand-node-is-managed), including a rebooted Cluster API node whose /run is empty.
func TestKubeadmGolden(t *testing.T) { kitRunGolden(t, mustGet(t, "kubeadm")) }
