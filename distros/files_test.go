package distros

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

const filesCases = "../testdata/distros/files"

// filesRun plans op on data saved as a -f file named name in a fresh folder; it returns the plan (or
// error) and the file's absolute path.
func filesRun(t *testing.T, name string, data []byte, op controllers.Op, inputs Values) (*change.Plan, string, error) {
	t.Helper()
	dir := t.TempDir()
	golden.WriteFile(t, filepath.Join(dir, name), data)
	fs, err := NewFiles(dir, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	root, err := nodefs.New("/")
	if err != nil {
		t.Fatal(err)
	}
	p, err := fs.Plan(Options{Root: root, Op: op, Inputs: inputs})
	return p, filepath.Join(dir, name), err
}

// summary is what a plan says besides the bytes: the golden result-<op>.txt.
func summary(p *change.Plan, err error) []byte {
	var b bytes.Buffer
	if err != nil {
		fmt.Fprintf(&b, "error: %s\n", err)
		return b.Bytes()
	}
	fmt.Fprintf(&b, "changed: %v\nmirroring: %s\nkind: %s\n", p.Changed(), p.Mirroring, p.Files[0].Kind)
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.Bytes()
}

// TestFilesGolden runs disable and enable on every case under testdata/distros/files: input.yaml
// (real public files, see SOURCES.md, and a few hand-made edge cases), options.json (inputs, e.g. the
// k0s HA override), result-<op>.txt (the outcome or the error), expected-<op>.yaml (the edited bytes,
// only when the file changes). Each edit is then planned again: it must be a fixed point, and status
// must read the wanted state from it.
func TestFilesGolden(t *testing.T) {
	for _, dir := range golden.Cases(t, filesCases, "input.yaml") {
		in, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		inputs := Values{}
		if o, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
			if err := json.Unmarshal(o, &inputs); err != nil {
				t.Fatal(err)
			}
		}
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			t.Run(filepath.Base(dir)+"/"+string(op), func(t *testing.T) {
				p, _, err := filesRun(t, "input.yaml", in, op, inputs)
				golden.Check(t, filepath.Join(dir, "result-"+string(op)+".txt"), summary(p, err))
				exp := filepath.Join(dir, "expected-"+string(op)+".yaml")
				if err != nil || !p.Changed() {
					if _, serr := os.Stat(exp); !errors.Is(serr, fs.ErrNotExist) && !golden.Updating() {
						t.Errorf("%s exists but the file does not change", exp)
					} else if golden.Updating() {
						os.Remove(exp)
					}
					if err == nil && !bytes.Equal(p.Files[0].After, in) {
						t.Error("unchanged plan with other bytes")
					}
					if err != nil && strings.Contains(err.Error(), "\n") {
						t.Errorf("error is not one line: %q", err)
					}
					return
				}
				after := p.Files[0].After
				golden.Check(t, exp, after)
				again, path, err := filesRun(t, "input.yaml", after, op, inputs)
				if err != nil {
					t.Fatalf("planning the edit again: %v", err)
				}
				if again.Changed() {
					t.Errorf("the edit is not a fixed point: a second %s changes it again", op)
				}
				fs, _ := NewFiles(filepath.Dir(path), []string{"input.yaml"})
				st, err := fs.Status(Options{Root: nodefs.Root{Dir: "/"}, Inputs: inputs})
				if err != nil {
					t.Fatalf("status of the edit: %v", err)
				}
				if want := change.StateOf(op == controllers.Enable); st.Mirroring != want {
					t.Errorf("status of the edit: mirroring %s, want %s", st.Mirroring, want)
				}
			})
		}
	}
}

// TestFilesEditsAsTheAdapters: a file an adapter reads by flag, given with -f, is recognised by its
// content and edited to exactly the bytes the adapter's own golden case expects.
func TestFilesEditsAsTheAdapters(t *testing.T) {
	cases := []struct{ dir, file string }{
		{"kind/kyverno-map-patch", "/home/op/kind.yaml"},
		{"kind/ci-template-v1beta3", "/home/op/kind.yaml"},
		{"k0s/dualstack-doc", "/etc/k0s/k0s.yaml"},
		{"k0s/extraargs-rawargs", "/etc/k0s/k0s.yaml"},
		{"kops/doc-sample", "/home/op/cluster.yaml"},
		{"kops/controllers-list", "/home/op/cluster.yaml"},
		{"talos/hcloud-controlplane", "/home/op/controlplane.yaml"},
		{"talos/kcm-document", "/home/op/controlplane.yaml"},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			base := filepath.Join("../testdata/distros", c.dir)
			in, err := os.ReadFile(filepath.Join(base, "root", c.file))
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("case layout changed: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(base, "expected-disable", c.file))
			if errors.Is(err, fs.ErrNotExist) {
				want = in // the adapter leaves it as it is
			} else if err != nil {
				t.Fatal(err)
			}
			inputs := Values{}
			if o, err := os.ReadFile(filepath.Join(base, "options.json")); err == nil {
				_ = json.Unmarshal(o, &inputs)
			}
			if _, ok := inputs[talosDocumentInput.Name]; ok {
				t.Skip("the adapter's case depends on a flag -f has no counterpart for")
			}
			honoured := Values{}
			for _, fi := range (*Files)(nil).Inputs() {
				if v, ok := inputs[fi.Name]; ok {
					honoured[fi.Name] = v
				}
			}
			p, _, err := filesRun(t, filepath.Base(c.file), in, controllers.Disable, honoured)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Files[0].After, want) {
				t.Errorf("-f edits differently from the adapter:\n%s", p.Files[0].After)
			}
		})
	}
}

// TestFilesNodeFormats: a kubeadm config and a kcm static pod manifest given with -f are edited as the
// kubeadm adapter edits them on a node.
func TestFilesNodeFormats(t *testing.T) {
	for _, c := range []struct{ file, kind string }{
		{"../testdata/nodes/kubeadm/etc/kubernetes/kubeadm-config.yaml", KindKubeadmConfig},
		{"../testdata/nodes/kubeadm/etc/kubernetes/manifests/kube-controller-manager.yaml", KindStaticPod},
	} {
		t.Run(c.kind, func(t *testing.T) {
			in, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := filesRun(t, filepath.Base(c.file), in, controllers.Disable, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Files[0].Kind != c.kind || !p.Changed() || p.Mirroring != change.Disabled {
				t.Fatalf("kind %s, changed %v, mirroring %s", p.Files[0].Kind, p.Changed(), p.Mirroring)
			}
			r := kitRoot(t, "../testdata/nodes/kubeadm")
			ap, err := kubeadm{}.Plan(Options{Root: r, Op: controllers.Disable, Inputs: Values{KubeadmConfigInput.Name: []string{KubeadmDefaultConfig}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range ap.Files {
				if f.Kind == c.kind && !bytes.Equal(f.After, p.Files[0].After) {
					t.Errorf("-f edits %s differently from the kubeadm adapter", c.kind)
				}
			}
		})
	}
}

// TestFilesOneChange: several -f files are one change; a bad one refuses them all, and the plan names
// each file as given.
func TestFilesOneChange(t *testing.T) {
	dir := t.TempDir()
	kcp, err := os.ReadFile(filepath.Join(filesCases, "capi-kcp-v1beta2-simple-cluster", "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.WriteFile(t, filepath.Join(dir, "clusters/prod/kcp.yaml"), kcp)
	golden.WriteFile(t, filepath.Join(dir, "values.yaml"), []byte("replicaCount: 3\n"))
	root, _ := nodefs.New("/")
	fs, err := NewFiles(dir, []string{"clusters/prod/kcp.yaml", "./values.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs.Plan(Options{Root: root, Op: controllers.Disable})
	if err == nil || !strings.HasPrefix(err.Error(), "values.yaml: no document mirrorctl recognises") {
		t.Fatalf("err = %v; want the unrecognised file named as given", err)
	}
	fs, _ = NewFiles(dir, []string{"clusters/prod/kcp.yaml"})
	p, err := fs.Plan(Options{Root: root, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Files[0]; f.Name() != "clusters/prod/kcp.yaml" || f.Path != filepath.Join(dir, "clusters/prod/kcp.yaml") {
		t.Errorf("shown %q, path %q", f.Name(), f.Path)
	}
	if d := p.Files[0].UnifiedDiff(); !strings.HasPrefix(d, "--- a/clusters/prod/kcp.yaml\n+++ b/clusters/prod/kcp.yaml\n") {
		t.Errorf("diff headers: %.80q", d)
	}
	if _, err := NewFiles(dir, []string{"values.yaml", "./values.yaml"}); err == nil {
		t.Error("the same file named twice is accepted")
	}
}

// FuzzFiles plans both operations on any file given with -f: no panic; an error is one line naming the
// file; an accepted edit reads back in the wanted state, and planning again changes nothing.
func FuzzFiles(f *testing.F) {
	cases, _ := filepath.Glob(filepath.Join(filesCases, "*", "input.yaml"))
	for _, c := range cases {
		if b, err := os.ReadFile(c); err == nil && len(b) < 8<<10 {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: KubeadmControlPlane\nspec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      controllerManager:\n        extraArgs: [{name: a, value: b}]\n",
		"apiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlaneTemplate\nspec:\n  template:\n    spec:\n      kubeadmConfigSpec: {}\n",
		"kube_version: v1.30.0\nkube_kubeadm_controller_extra_args:\n",
		"apiVersion: k0sctl.k0sproject.io/v1beta1\nkind: cluster\nspec:\n  k0s:\n    config:\n      spec: {controllerManager: {extraArgs: {controllers: '*'}}}\n",
	} {
		f.Add(s)
	}
	root, err := nodefs.New("/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir := t.TempDir()
		golden.WriteFile(t, filepath.Join(dir, "in.yaml"), []byte(s))
		fs, _ := NewFiles(dir, []string{"in.yaml"})
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			o := Options{Root: root, Op: op}
			p, err := fs.Plan(o)
			if err != nil {
				if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "in.yaml: ") {
					t.Fatalf("%s: error %q is not one line naming the file", op, err)
				}
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("%s: %v", op, err)
				}
				continue
			}
			golden.WriteFile(t, filepath.Join(dir, "in.yaml"), p.Files[0].After)
			again, err := fs.Plan(o)
			if err != nil {
				t.Fatalf("%s: the edit does not plan again: %v", op, err)
			}
			if again.Changed() {
				t.Fatalf("%s: planning again changes the file again:\n%s", op, again.Files[0].After)
			}
			if want := change.StateOf(op == controllers.Enable); again.Mirroring != want {
				t.Fatalf("%s: the edit reads back as %s", op, again.Mirroring)
			}
		}
	})
}
