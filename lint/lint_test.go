package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

const (
	kcm       = "etc/kubernetes/manifests/kube-controller-manager.yaml"
	apiserver = "etc/kubernetes/manifests/kube-apiserver.yaml"
	cfg       = "etc/kubernetes/kubeadm-config.yaml"
	kcmNode   = "/" + kcm
	apiNode   = "/" + apiserver
	cfgNode   = "/" + cfg
)

// node copies the sample kubeadm node (kcm manifest + kubeadm-config.yaml) and a kubeadm-shaped
// kube-apiserver manifest into a temp root.
func node(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	golden.CopyTree(t, "../testdata/nodes/kubeadm", root, golden.FileMode(0o600), golden.DirMode(0o700))
	api, err := os.ReadFile("testdata/kube-apiserver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, apiserver, strings.Replace(string(api), "    - --feature-gates=EndpointSliceMirroring=false\n", "", 1))
	return root
}

func write(t *testing.T, root, rel, data string) {
	t.Helper()
	golden.WriteFile(t, filepath.Join(root, rel), []byte(data), golden.FileMode(0o600), golden.DirMode(0o700))
}

func read(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replace(t *testing.T, root, rel, old, new string) {
	t.Helper()
	s := read(t, root, rel)
	if !strings.Contains(s, old) {
		t.Fatalf("%s lacks %q", rel, old)
	}
	write(t, root, rel, strings.Replace(s, old, new, 1))
}

// lineOf returns the 1-based line of the first line containing s.
func lineOf(t *testing.T, root, rel, s string) int {
	t.Helper()
	for i, l := range strings.Split(read(t, root, rel), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s lacks %q", rel, s)
	return 0
}

func run(t *testing.T, root string, o Options) []Finding {
	t.Helper()
	r, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Run(r, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return f
}

type want struct {
	check, severity, path string
	line                  int    // 0: no line
	msg                   string // substring
}

func TestRun(t *testing.T) {
	const defaultCtl = "--controllers=*,bootstrapsigner,tokencleaner"
	cases := []struct {
		name  string
		setup func(t *testing.T, root string) []want
	}{
		{"clean sample node", func(t *testing.T, root string) []want { return nil }},
		{"feature gate on kube-apiserver", func(t *testing.T, root string) []want {
			replace(t, root, apiserver, "    - --etcd-servers", "    - --feature-gates=EndpointSliceMirroring=false\n    - --etcd-servers")
			return []want{{CheckFeatureGate, Error, apiNode, lineOf(t, root, apiserver, "EndpointSliceMirroring"), "will not start"}}
		}},
		{"feature gate among others, two-item form, on kcm", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "    - --kubeconfig", "    - --feature-gates\n    - \"Foo=true, EndpointSliceMirroring=false\"\n    - --kubeconfig")
			return []want{{CheckFeatureGate, Error, kcmNode, lineOf(t, root, kcm, "EndpointSliceMirroring"), "no EndpointSliceMirroring feature gate"}}
		}},
		{"other gates are fine", func(t *testing.T, root string) []want {
			replace(t, root, apiserver, "    - --etcd-servers", "    - --feature-gates=EndpointSliceMirroringX=true,MyGate=false\n    - --etcd-servers")
			return nil
		}},
		{"feature gate in kubeadm config", func(t *testing.T, root string) []want {
			replace(t, root, cfg, "controllerManager:\n", "apiServer:\n  extraArgs:\n    feature-gates: EndpointSliceMirroring=false\ncontrollerManager:\n")
			return []want{{CheckKubeadmFeatureGate, Error, cfgNode, lineOf(t, root, cfg, "EndpointSliceMirroring"), "next upgrade"}}
		}},
		{"feature gate in k3s and MicroK8s configs", func(t *testing.T, root string) []want {
			write(t, root, "etc/rancher/k3s/config.yaml.d/10-gates.yaml", "kube-apiserver-arg:\n  # from a blog post:\n  - feature-gates=EndpointSliceMirroring=false\n")
			write(t, root, "var/snap/microk8s/current/args/kube-apiserver", "--secure-port=16443\n--feature-gates=EndpointSliceMirroring=false\n")
			return []want{
				{CheckDistroFeatureGate, Error, "/etc/rancher/k3s/config.yaml.d/10-gates.yaml", 3, "k3s passes it"},
				{CheckDistroFeatureGate, Error, "/var/snap/microk8s/current/args/kube-apiserver", 2, "MicroK8s passes it"},
			}
		}},
		{"stray files in the static pod folder", func(t *testing.T, root string) []want {
			m := read(t, root, kcm)
			d := "etc/kubernetes/manifests/"
			write(t, root, d+"kube-controller-manager.yaml.bak", m)
			write(t, root, d+"kube-controller-manager.yaml.31337.2026-11-25@10:11:12~", m)
			write(t, root, d+"kube-apiserver.yaml.orig", "junk")
			write(t, root, d+"kube-apiserver.yaml~", "junk")
			write(t, root, d+"kube-scheduler.yaml.swp", "junk")
			write(t, root, d+"README", "notes")
			write(t, root, d+".kube-controller-manager.yaml.bak", m) // dot files are ignored by the kubelet
			write(t, root, d+"old/kube-controller-manager.yaml", m)  // so are folders
			write(t, root, d+"kcm-copy.yaml", m)                     // a second real manifest for the same pod
			return []want{
				{CheckStrayFile, Error, "/" + d + "README", 0, "is not a manifest"},
				{CheckDuplicatePod, Error, "/" + d + "kcm-copy.yaml", 0, `defines pod "kube-controller-manager" like ` + kcmNode},
				{CheckStrayFile, Error, "/" + d + "kube-apiserver.yaml.orig", 0, "looks like a backup"},
				{CheckStrayFile, Error, "/" + d + "kube-apiserver.yaml~", 0, "kubelet runs every non-dot file"},
				{CheckStrayFile, Error, "/" + d + "kube-controller-manager.yaml.31337.2026-11-25@10:11:12~", 0, `backup but sits in the static pod folder /etc/kubernetes/manifests: the kubelet runs every non-dot file there as a pod (a copy of a manifest takes the same pod slot and can win); move it out of the folder (e.g. to /etc/kubernetes/tmp); it defines pod "kube-controller-manager" like ` + kcmNode},
				{CheckStrayFile, Error, "/" + d + "kube-controller-manager.yaml.bak", 0, "defines pod"},
				{CheckStrayFile, Error, "/" + d + "kube-scheduler.yaml.swp", 0, "backup"},
			}
		}},
		{"duplicate key in a manifest", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "    image: registry", "    command:\n    - kube-controller-manager\n    image: registry")
			os.Remove(filepath.Join(root, cfg))
			return []want{{CheckDuplicateKey, Error, kcmNode, lineOf(t, root, kcm, "    image: registry") - 2, "spec.containers[0].command is set twice (first on line 12): the kubelet uses this one"}}
		}},
		{"stray file in the RKE2 static pod folder", func(t *testing.T, root string) []want {
			d := "var/lib/rancher/rke2/agent/pod-manifests/"
			write(t, root, d+"kube-controller-manager.yaml", read(t, root, kcm))
			write(t, root, d+"kube-controller-manager.yaml.bak", read(t, root, kcm))
			write(t, root, d+"etcd.yaml", "kind: Pod\nspec: [\n")
			return []want{
				{CheckUnreadableManifest, Warning, "/" + d + "etcd.yaml", 0, "the kubelet cannot run it: malformed YAML"},
				{CheckStrayFile, Error, "/" + d + "kube-controller-manager.yaml.bak", 0, `defines pod "kube-controller-manager" like /` + d + "kube-controller-manager.yaml"},
			}
		}},
		{"config disagrees on mirroring", func(t *testing.T, root string) []want {
			replace(t, root, cfg, "    allocate-node-cidrs: \"true\"\n", "    allocate-node-cidrs: \"true\"\n    controllers: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"\n")
			return []want{{CheckDisagreement, Warning, cfgNode, 0, "mirroring is disabled here but enabled in " + kcmNode}}
		}},
		{"config would drop bootstrapsigner", func(t *testing.T, root string) []want {
			replace(t, root, cfg, "    allocate-node-cidrs: \"true\"\n", "    allocate-node-cidrs: \"true\"\n    controllers: \"*\"\n")
			return []want{{CheckDisagreement, Warning, cfgNode, 0, "kubeadm would write --controllers=* but"}}
		}},
		{"entry with a space", func(t *testing.T, root string) []want {
			replace(t, root, kcm, defaultCtl, "--controllers=*, -tokencleaner")
			return []want{{CheckControllersEntry, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), `" -tokencleaner" with whitespace`}}
		}},
		{"empty entry", func(t *testing.T, root string) []want {
			replace(t, root, kcm, defaultCtl, "--controllers=*,,tokencleaner")
			return []want{{CheckControllersEntry, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), "empty entry"}}
		}},
		{"unknown controller", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, defaultCtl, defaultCtl+",-nosuchcontroller")
			return []want{{CheckUnknownController, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), `no controller "nosuchcontroller" in Kubernetes 1.29`}}
		}},
		// Issue 14 §8: kcm gets the value the kubelet expands; "$(CTRL)" itself is no controller name.
		{"$(VAR) from a literal env", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, defaultCtl, "--controllers=$(CTRL)")
			replace(t, root, kcm, "    name: kube-controller-manager\n", "    name: kube-controller-manager\n    env:\n    - name: CTRL\n      value: endpointslice-mirroring-controller,*\n")
			return nil
		}},
		{"$(VAR) naming an unknown controller", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, defaultCtl, "--controllers=$(CTRL)")
			replace(t, root, kcm, "    name: kube-controller-manager\n", "    name: kube-controller-manager\n    env:\n    - name: CTRL\n      value: '*,-nosuchcontroller'\n")
			return []want{{CheckUnknownController, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), `no controller "nosuchcontroller" in Kubernetes 1.29`}}
		}},
		{"canonical name on 1.27", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.27.16")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslice-mirroring-controller")
			return []want{{CheckUnknownController, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), `before 1.28 the mirroring controller is called "endpointslicemirroring"`}}
		}},
		{"1.27 alias names are known", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.27.16")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslicemirroring,-attachdetach,-serviceaccount-token")
			return nil
		}},
		{"1.37 canonical and alias names are known", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.37.2")
			replace(t, root, cfg, "kubernetesVersion: v1.29.0", "kubernetesVersion: v1.37.2")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-selinux-warning-controller,-csrsigning,-endpointslice-controller")
			replace(t, root, cfg, "    allocate-node-cidrs: \"true\"\n", "    allocate-node-cidrs: \"true\"\n    controllers: \"*,bootstrapsigner,tokencleaner,-selinux-warning-controller,-csrsigning,-endpointslice-controller\"\n")
			return nil
		}},
		{"unknown controller in the kubeadm config", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.27.16")
			replace(t, root, cfg, "kubernetesVersion: v1.29.0", "kubernetesVersion: v1.27.16")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslicemirroring")
			replace(t, root, cfg, "    allocate-node-cidrs: \"true\"\n", "    allocate-node-cidrs: \"true\"\n    controllers: \"*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller\"\n")
			return []want{{CheckUnknownController, Error, cfgNode, lineOf(t, root, cfg, "controllers:"), `before 1.28 the mirroring controller is called "endpointslicemirroring"`}}
		}},
		{"cloud loops gone in 1.37", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.37.2")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-service-lb-controller")
			return []want{
				{CheckUnknownController, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), `"service-lb-controller" is not in the list of known controllers`},
			}
		}},
		{"version between tables: 1.30 has no selinux-warning-controller", func(t *testing.T, root string) []want {
			os.Remove(filepath.Join(root, cfg)) // only the manifest matters here
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.30.4")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-selinux-warning-controller")
			return []want{
				{CheckUnknownController, Error, kcmNode, lineOf(t, root, kcm, "--controllers"), "checked against the 1.29 and 1.31 controller lists"},
			}
		}},
		{"mirroring off on 1.29: no note", func(t *testing.T, root string) []want {
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslice-mirroring-controller")
			return []want{{CheckDisagreement, Warning, cfgNode, 0, "mirroring is enabled here but disabled"}}
		}},
		{"mirroring off on 1.34: APIService note", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.34.2")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslice-mirroring-controller")
			os.Remove(filepath.Join(root, cfg))
			return []want{{CheckMirroringConsumers, Note, kcmNode, 0, "APIService"}}
		}},
		{"mirroring off on 1.37: APIService and services/proxy notes", func(t *testing.T, root string) []want {
			replace(t, root, kcm, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.37.2")
			replace(t, root, kcm, defaultCtl, defaultCtl+",-endpointslicemirroring")
			os.Remove(filepath.Join(root, cfg))
			return []want{{CheckMirroringConsumers, Note, kcmNode, 0, "APIService"}, {CheckMirroringConsumers, Note, kcmNode, 0, "services/proxy"}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := node(t)
			wants := c.setup(t, root)
			got := run(t, root, Options{})
			if len(got) != len(wants) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(wants), dump(got))
			}
			for i, w := range wants {
				g := got[i]
				if g.Check != w.check || g.Severity != w.severity || g.Path != w.path || g.Line != w.line || !strings.Contains(g.Message, w.msg) {
					t.Errorf("finding %d:\n got %s\nwant %s %s %s:%d %q", i, g, w.check, w.severity, w.path, w.line, w.msg)
				}
				if strings.ContainsAny(g.Message, "\n\r") {
					t.Errorf("finding %d is not one line: %q", i, g.Message)
				}
			}
		})
	}
}

func dump(f []Finding) string {
	var b strings.Builder
	for _, x := range f {
		b.WriteString("  " + x.String() + "\n")
	}
	return b.String()
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, root string)
		msg   string
	}{
		{"kcm manifest malformed", func(t *testing.T, root string) { write(t, root, kcm, "kind: Pod\nspec: [\n") }, kcmNode + ": malformed YAML"},
		{"kcm manifest is a directory", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, kcm))
			os.Mkdir(filepath.Join(root, kcm), 0o700)
		}, kcmNode + ": is a directory"},
		{"static pod folder is a file", func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, "etc/kubernetes/manifests"))
			write(t, root, "etc/kubernetes/manifests", "x")
		}, "/etc/kubernetes/manifests: not a directory"},
		{"kubeadm config missing", func(t *testing.T, root string) {}, "/etc/kubernetes/nope.yaml: no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := node(t)
			c.setup(t, root)
			r, _ := nodefs.New(root)
			o := Options{}
			if strings.Contains(c.msg, "nope") {
				o.KubeadmConfigs = []string{"/etc/kubernetes/nope.yaml"}
			}
			_, err := Run(r, o)
			if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, c.msg)
			}
		})
	}
}

func TestNoManifestsFolder(t *testing.T) {
	if f := run(t, t.TempDir(), Options{}); len(f) != 0 {
		t.Fatalf("findings on an empty root:\n%s", dump(f))
	}
}

func TestFix(t *testing.T) {
	cases := []struct {
		name       string
		rel        string
		old, new   string // the setup replaces old by new in the clean file
		wantRemove string // after the fix the file is the clean file with new replaced by this
	}{
		{"only gate: whole flag goes", apiserver, "    - --etcd-servers", "    - --feature-gates=EndpointSliceMirroring=false\n    - --etcd-servers", "    - --etcd-servers"},
		{"first of two", apiserver, "    - --etcd-servers", "    - --feature-gates=EndpointSliceMirroring=false,Foo=true\n    - --etcd-servers", "    - --feature-gates=Foo=true\n    - --etcd-servers"},
		{"last of three, spaces kept", apiserver, "    - --etcd-servers", "    - --feature-gates=A=true, B=false, EndpointSliceMirroring=true\n    - --etcd-servers", "    - --feature-gates=A=true, B=false\n    - --etcd-servers"},
		{"quoted with comment", apiserver, "    - --etcd-servers", "    - \"--feature-gates=Foo=true,EndpointSliceMirroring=false\"  # from a blog post\n    - --etcd-servers", "    - \"--feature-gates=Foo=true\"  # from a blog post\n    - --etcd-servers"},
		{"two-item form, only gate", kcm, "    - --kubeconfig", "    - --feature-gates\n    - EndpointSliceMirroring=false\n    - --kubeconfig", "    - --kubeconfig"},
		{"two-item form, with another gate", kcm, "    - --kubeconfig", "    - --feature-gates\n    - 'Foo=true,EndpointSliceMirroring=false'\n    - --kubeconfig", "    - --feature-gates\n    - 'Foo=true'\n    - --kubeconfig"},
		{"in args", kcm, "    image: ", "    args:\n    - --feature-gates=EndpointSliceMirroring=false\n    image: ", "    args:\n    image: "},
		{"CRLF file", apiserver, "", "", ""}, // filled below
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := node(t)
			if c.name == "CRLF file" {
				api := read(t, root, apiserver)
				api = strings.Replace(api, "    - --etcd-servers", "    - --feature-gates=EndpointSliceMirroring=false,X=true\n    - --etcd-servers", 1)
				write(t, root, apiserver, strings.ReplaceAll(api, "\n", "\r\n"))
				c.new = read(t, root, apiserver)
				c.wantRemove = strings.Replace(c.new, "EndpointSliceMirroring=false,", "", 1)
				c.old = ""
			}
			clean := read(t, root, c.rel)
			if c.old != "" {
				replace(t, root, c.rel, c.old, c.new)
			}
			broken := read(t, root, c.rel)
			r, _ := nodefs.New(root)
			changes, err := Fix(r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 1 || changes[0].Path != "/"+c.rel || !changes[0].Changed() {
				t.Fatalf("changes %+v", changes)
			}
			if string(changes[0].Before.Data) != broken {
				t.Error("Before is not the file as read")
			}
			var want string
			if c.old != "" {
				want = strings.Replace(clean, c.old, c.wantRemove, 1)
			} else {
				want = c.wantRemove
			}
			if got := string(changes[0].After); got != want {
				t.Errorf("fixed file:\n%s\nwant:\n%s", got, want)
			}
			// Fix writes nothing.
			if read(t, root, c.rel) != broken {
				t.Error("Fix wrote to the node")
			}
			// After writing the fix, lint finds no gate and Fix has nothing to do.
			write(t, root, c.rel, string(changes[0].After))
			for _, f := range run(t, root, Options{}) {
				if f.Check == CheckFeatureGate {
					t.Errorf("still: %s", f)
				}
			}
			if again, err := Fix(r, Options{}); err != nil || len(again) != 0 {
				t.Errorf("second Fix: %v %+v", err, again)
			}
		})
	}
}

func TestFixRefusesFlowList(t *testing.T) {
	root := node(t)
	write(t, root, apiserver, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --feature-gates=EndpointSliceMirroring=false]\n")
	r, _ := nodefs.New(root)
	_, err := Fix(r, Options{})
	if err == nil || !strings.Contains(err.Error(), apiNode) || !strings.Contains(err.Error(), "by hand") {
		t.Fatalf("err = %v", err)
	}
}

func TestKnownFor(t *testing.T) {
	for _, c := range []struct {
		v        string
		name     string
		known    bool
		noteWant string
	}{
		{"1.27", "endpointslicemirroring", true, ""},
		{"1.27", "endpointslice-mirroring-controller", false, ""},
		{"1.29", "endpointslice-mirroring-controller", true, ""},
		{"1.29", "endpointslicemirroring", true, ""},
		{"1.29", "service", true, ""}, // cloud loop alias
		{"1.37", "service", false, ""},
		{"1.37", "selinux-warning-controller", true, ""},
		// 1.28 is generated (its names package's KCMControllerAliases): no interpolation note.
		{"1.28", "endpointslice-mirroring-controller", true, ""},
		{"1.28", "endpoints-controller", true, ""},
		{"1.28", "endpoint", true, ""},
		{"1.27", "endpoint", true, ""},
		{"1.27", "endpoints-controller", false, ""},
		{"1.30", "endpointslice-mirroring-controller", true, "1.29 and 1.31"},
		{"1.33", "podcertificaterequest-cleaner-controller", true, "1.31 and 1.36"},
		{"1.22", "endpointslicemirroring", true, "1.27"},
		{"1.40", "selinux-warning-controller", true, "1.37"},
		{"", "selinux-warning-controller", true, "unknown"},
		{"", "nonsense", false, "unknown"},
	} {
		known, note := knownFor(controllers.ParseVersion(c.v))
		if known[c.name] != c.known || !strings.Contains(note, c.noteWant) {
			t.Errorf("%s %s: known %v note %q; want %v, note with %q", c.v, c.name, known[c.name], note, c.known, c.noteWant)
		}
	}
}

// TestGeneratedTableIsCurrent checks that lint sees the tables generated in controllers (whose own
// TestGeneratedReleasesAreCurrent re-runs the generator).
func TestGeneratedTableIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if len(knownControllers) < 5 || len(knownControllers["1.37"]) < 50 {
		t.Fatalf("controller table too small: %d versions", len(knownControllers))
	}
}
