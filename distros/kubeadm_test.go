package distros

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

func kubeadmNode(t *testing.T, manifest, config string) nodefs.Root {
	t.Helper()
	dir := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o700)
		if err := os.WriteFile(full, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(KubeadmManifest, manifest)
	if config != "" {
		write(KubeadmDefaultConfig, config)
	}
	r, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sampleManifest(t *testing.T, image string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/manifests/kubeadm-v1.29-sample/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "registry.k8s.io/kube-controller-manager:v1.29.0", image, 1)
}

const configMapV1beta4 = `apiVersion: v1
kind: ConfigMap
metadata:
  name: kubeadm-config
  namespace: kube-system
data:
  ClusterConfiguration: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    kubernetesVersion: %s
    controllerManager: {}
`

func TestKubeadmPlanEditsManifestAndConfigMapAlike(t *testing.T) {
	t.Parallel()
	r := kubeadmNode(t, sampleManifest(t, "registry.k8s.io/kube-controller-manager:v1.31.4"), strings.Replace(configMapV1beta4, "%s", "v1.31.4", 1))
	p, err := kubeadm{}.Plan(Options{Root: r, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 2 || !p.Files[0].Changed() || !p.Files[1].Changed() {
		t.Fatalf("want both files changed: %+v", p.Files)
	}
	if p.Files[1].Kind != KindKubeadmConfigMap {
		t.Errorf("exported ConfigMap kind = %q", p.Files[1].Kind)
	}
	after := string(p.Files[1].After)
	if !strings.Contains(after, "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller") {
		t.Errorf("ConfigMap does not carry the whole list:\n%s", after)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "would be") {
			t.Errorf("unexpected disagreement warning: %s", w)
		}
	}
	if p.Mirroring != change.Disabled {
		t.Errorf("mirroring after = %s", p.Mirroring)
	}
}

func TestKubeadmDigestOnlyImageTakesVersionFromConfig(t *testing.T) {
	t.Parallel()
	r := kubeadmNode(t, sampleManifest(t, "registry.k8s.io/kube-controller-manager@sha256:0f4d7a9a3b1c4e6d2f8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6"),
		strings.Replace(strings.Replace(configMapV1beta4, "%s", "v1.27.16", 1), "v1beta4", "v1beta3", 1))
	p, err := kubeadm{}.Plan(Options{Root: r, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Files {
		if strings.Contains(string(f.After), "endpointslice-mirroring-controller") || !strings.Contains(string(f.After), "-endpointslicemirroring") {
			t.Errorf("%s: 1.27 from kubernetesVersion must get the alias:\n%s", f.Path, f.After)
		}
	}
}

func TestKubeadmStatusReportsDisagreement(t *testing.T) {
	t.Parallel()
	m := strings.Replace(sampleManifest(t, "registry.k8s.io/kube-controller-manager:v1.31.4"), "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller", 1)
	r := kubeadmNode(t, m, strings.Replace(configMapV1beta4, "%s", "v1.31.4", 1))
	st, err := kubeadm{}.Status(Options{Root: r})
	if err != nil {
		t.Fatal(err)
	}
	if st.Mirroring != change.Mixed || len(st.Warnings) == 0 {
		t.Errorf("status = %s, warnings %v; want mixed with a warning", st.Mirroring, st.Warnings)
	}
	if st.Files[1].Note == "" || st.Files[1].Controllers != "*,bootstrapsigner,tokencleaner" {
		t.Errorf("config status should show kubeadm's default and say so: %+v", st.Files[1])
	}
}

func TestKubeadmConfigWithoutClusterConfiguration(t *testing.T) {
	t.Parallel()
	initOnly := "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: cp-1\n"
	r := kubeadmNode(t, sampleManifest(t, "registry.k8s.io/kube-controller-manager:v1.31.4"), initOnly)
	// Found by convention: left alone with a warning.
	p, err := kubeadm{}.Plan(Options{Root: r, Op: controllers.Disable})
	if err != nil {
		t.Fatalf("auto-discovered config without ClusterConfiguration must not fail: %v", err)
	}
	if len(p.Files) != 1 || !strings.Contains(strings.Join(p.Warnings, "\n"), "no ClusterConfiguration") {
		t.Errorf("files %d, warnings %v", len(p.Files), p.Warnings)
	}
	// Asked for explicitly: an error naming the file.
	_, err = kubeadm{}.Plan(Options{Root: r, Op: controllers.Disable, Inputs: Values{"kubeadm-config": []string{KubeadmDefaultConfig}}})
	if err == nil || !strings.HasPrefix(err.Error(), KubeadmDefaultConfig+": ") {
		t.Errorf("explicit config without ClusterConfiguration: %v", err)
	}
}
