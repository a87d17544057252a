package distros

import (
	"path"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

// Every adapter says how its change takes effect: --wait and --restart act on nothing else, so an
// adapter without a valid activation would let --wait time out and roll back a good change.
func TestEveryAdapterDeclaresActivationAndLayout(t *testing.T) {
	t.Parallel()
	for _, a := range All() {
		act, l := a.Activation(), a.Layout()
		if !act.Valid() {
			t.Errorf("%s: activation %+v is not valid", a.Name(), act)
		}
		if act.Kind == Elsewhere && !reflect.DeepEqual(l, Layout{}) {
			t.Errorf("%s: takes effect elsewhere but names node files %+v", a.Name(), l)
		}
		if act.Kind == ByKubelet && l.KCMManifest == "" {
			t.Errorf("%s: the kubelet applies the change, but no kcm manifest is named", a.Name())
		}
		if l.KCMManifest != "" && !slices.Contains(l.StaticPodDirs, path.Dir(l.KCMManifest)) {
			t.Errorf("%s: kcm manifest %s is not in a static pod folder %q", a.Name(), l.KCMManifest, l.StaticPodDirs)
		}
		for _, p := range append([]string{l.KCMManifest, l.KCMKubeconfig}, l.StaticPodDirs...) {
			if p != "" && (!path.IsAbs(p) || path.Clean(p) != p) {
				t.Errorf("%s: %q is not a clean node path", a.Name(), p)
			}
		}
	}
}

func TestInputsAreWellFormedAndSharedOnce(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	declared := map[string]Input{}
	for _, a := range All() {
		for _, in := range a.Inputs() {
			if !name.MatchString(in.Name) || in.Usage == "" || in.Kind < StringInput || in.Kind > StringsInput {
				t.Errorf("%s: input %+v: want a lowercase dashed name, a usage and a kind", a.Name(), in)
			}
			if in.Name == "distro" || in.Name == "controller-name" {
				t.Errorf("%s: input %s is a common option", a.Name(), in.Name)
			}
			if prev, ok := declared[in.Name]; ok && prev != in {
				t.Errorf("%s: input %s declared differently by another adapter: %+v and %+v", a.Name(), in.Name, prev, in)
			}
			declared[in.Name] = in
		}
	}
	all := Inputs()
	if len(all) != len(declared) {
		t.Errorf("Inputs() has %d inputs, the adapters declare %d", len(all), len(declared))
	}
	for _, in := range all {
		if got, ok := LookupInput(in.Name); !ok || got != in {
			t.Errorf("LookupInput(%s) = %+v, %v", in.Name, got, ok)
		}
		if len(ReadBy(in.Name)) == 0 {
			t.Errorf("%s: read by no adapter", in.Name)
		}
	}
	if got := ReadBy(KubeadmConfigInput.Name); !slices.Contains(got, "kubeadm") {
		t.Errorf("kubeadm-config read by %q", got)
	}
}

func TestStaticPodDirs(t *testing.T) {
	t.Parallel()
	want := []string{"/etc/kubernetes/manifests", "/var/lib/rancher/k3s/agent/pod-manifests", "/var/lib/rancher/rke2/agent/pod-manifests"}
	if got := StaticPodDirs(); !reflect.DeepEqual(got, want) {
		t.Errorf("StaticPodDirs() = %q, want %q", got, want)
	}
}

// A value of the wrong type is a caller's mistake that would otherwise read as "not given".
func TestOptionsValueOfTheWrongTypePanics(t *testing.T) {
	t.Parallel()
	o := Options{Inputs: Values{"kops-spec": true, "kubeadm-config": []string{"/a"}}}
	if got := o.Strings(KubeadmConfigInput); !reflect.DeepEqual(got, []string{"/a"}) {
		t.Errorf("Strings = %q", got)
	}
	if got := (Options{}).String(kopsSpecInput); got != "" {
		t.Errorf("unset String = %q", got)
	}
	for name, read := range map[string]func(){
		"wrong value type": func() { o.String(kopsSpecInput) },
		"wrong accessor":   func() { o.Bool(kopsSpecInput) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			read()
		}()
	}
}
