package capi

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
	bootstrapv1beta2 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	cpv1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	cpv1beta2 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	kubeadmtypes "sigs.k8s.io/cluster-api/bootstrap/kubeadm/types"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/types/upstream"
	"sigs.k8s.io/yaml"
)

// initFixture is kubeadm 1.37's own `kubeadm config print init-defaults` (its InitConfiguration gives
// init phase the node it needs).
const initFixture = "../../testdata/kubeadm/configs/v1beta4-init-defaults.yaml"

// kubeadmVersion is the Kubernetes version the oracle renders for: the kubeadm built for e2e
// (k8s-v1.37) generates manifests for its own minor and the one before only.
const kubeadmVersion = "v1.37.2"

// clusterConfigs returns, for every KubeadmControlPlane(Template) document of a file, its
// ClusterConfiguration in Cluster API's hub version (v1beta2), converting v1beta1 objects with Cluster
// API's own conversion, as its webhooks and controllers do.
func clusterConfigs(t *testing.T, data []byte) []bootstrapv1beta2.ClusterConfiguration {
	t.Helper()
	var out []bootstrapv1beta2.ClusterConfiguration
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil || !strings.HasPrefix(meta.APIVersion, "controlplane.cluster.x-k8s.io/") {
			continue
		}
		doc = strings.ReplaceAll(doc, "${CONTROL_PLANE_MACHINE_COUNT}", "3")
		switch meta.APIVersion + " " + meta.Kind {
		case "controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlane":
			var k cpv1beta1.KubeadmControlPlane
			strict(t, doc, &k)
			var hub cpv1beta2.KubeadmControlPlane
			if err := k.ConvertTo(&hub); err != nil {
				t.Fatalf("Cluster API's conversion to v1beta2: %v", err)
			}
			out = append(out, hub.Spec.KubeadmConfigSpec.ClusterConfiguration)
		case "controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlaneTemplate":
			var k cpv1beta1.KubeadmControlPlaneTemplate
			strict(t, doc, &k)
			var hub cpv1beta2.KubeadmControlPlaneTemplate
			if err := k.ConvertTo(&hub); err != nil {
				t.Fatalf("Cluster API's conversion to v1beta2: %v", err)
			}
			out = append(out, hub.Spec.Template.Spec.KubeadmConfigSpec.ClusterConfiguration)
		case "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane":
			var k cpv1beta2.KubeadmControlPlane
			strict(t, doc, &k)
			out = append(out, k.Spec.KubeadmConfigSpec.ClusterConfiguration)
		case "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlaneTemplate":
			var k cpv1beta2.KubeadmControlPlaneTemplate
			strict(t, doc, &k)
			out = append(out, k.Spec.Template.Spec.KubeadmConfigSpec.ClusterConfiguration)
		}
	}
	return out
}

// kcmCommand renders a ClusterConfiguration the way Cluster API's kubeadm bootstrap provider does
// (types.MarshalClusterConfigurationForVersion, as kubeadmconfig_controller.go calls it) and has real
// kubeadm generate kcm's static pod from it; it returns kcm's command.
func kcmCommand(t *testing.T, kubeadm string, cc bootstrapv1beta2.ClusterConfiguration) []string {
	t.Helper()
	v := strings.TrimPrefix(kubeadmVersion, "v")
	text, err := kubeadmtypes.MarshalClusterConfigurationForVersion(&cc, semver.MustParse(v), &upstream.AdditionalData{KubernetesVersion: ptr(kubeadmVersion), ClusterName: ptr("oracle")})
	if err != nil {
		t.Fatalf("Cluster API renders no kubeadm ClusterConfiguration: %v", err)
	}
	fixture, err := os.ReadFile(initFixture)
	if err != nil {
		t.Fatal(err)
	}
	initDoc, _, _ := strings.Cut(string(fixture), "\n---\n")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeadm.yaml")
	if err := os.WriteFile(cfg, []byte(initDoc+"\n---\n"+text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubeadm, "init", "phase", "control-plane", "controller-manager", "--config", cfg, "--dry-run")
	cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubeadm: %v\n%s\n--- config:\n%s", err, out, text)
	}
	b, err := os.ReadFile(filepath.Join(dir, "kube-controller-manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pod struct {
		Spec struct {
			Containers []struct {
				Name    string
				Command []string
			}
		}
	}
	if err := yaml.Unmarshal(b, &pod); err != nil || len(pod.Spec.Containers) != 1 {
		t.Fatalf("kubeadm's manifest: %v\n%s", err, b)
	}
	return pod.Spec.Containers[0].Command
}

func ptr(s string) *string { return &s }

// enabled is kcm's IsControllerEnabled over every --controllers flag of a command (no flag: "*").
func enabled(cmd []string, names []string, offByDefault bool) bool {
	entries := []string{"*"}
	var vals []string
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--controllers="); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) > 0 {
		entries = strings.Split(strings.Join(vals, ","), ",")
	}
	star := false
	for _, e := range entries {
		switch {
		case slices.Contains(names, e):
			return true
		case strings.HasPrefix(e, "-") && slices.Contains(names, e[1:]):
			return false
		case e == "*":
			star = true
		}
	}
	return star && !offByDefault
}

// TestKubeadmRendersWhatMirrorctlWrites: each KubeadmControlPlane(Template) `mirrorctl disable -f`
// edits, rendered by Cluster API into a kubeadm config and by real kubeadm into kcm's command, runs kcm
// with mirroring off and every other controller as the unedited object does.
func TestKubeadmRendersWhatMirrorctlWrites(t *testing.T) {
	bin := os.Getenv("MIRRORCTL_BIN")
	cache := os.Getenv("MIRRORCTL_E2E_BIN")
	if bin == "" || cache == "" {
		t.Skip("MIRRORCTL_BIN and MIRRORCTL_E2E_BIN not set (e2e/run.sh sets them)")
	}
	kubeadm := filepath.Join(cache, kubeadmVersion, "kubeadm")
	if _, err := os.Stat(kubeadm); err != nil {
		t.Fatalf("%v: run e2e/build.sh v1.37", err)
	}
	mirroring := []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}
	others := []struct {
		names []string
		off   bool
	}{
		{[]string{"bootstrapsigner", "bootstrap-signer-controller"}, true},
		{[]string{"tokencleaner", "token-cleaner-controller"}, true},
		{[]string{"nodeipam", "node-ipam-controller"}, false},
		{[]string{"endpoint", "endpoints-controller"}, false},
		{[]string{"endpointslice", "endpointslice-controller"}, false},
		{[]string{"garbagecollector", "garbage-collector-controller"}, false},
	}
	dirs, _ := filepath.Glob(filepath.Join(cases, "capi-kcp*"))
	for _, dir := range dirs {
		if strings.Contains(dir, "topology") || strings.Contains(dir, "v1alpha4") {
			continue // refused by design
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			edited, err := disableDryRun(t, bin, in)
			if err != nil {
				t.Fatalf("mirrorctl: %v", err)
			}
			before, after := clusterConfigs(t, in), clusterConfigs(t, edited)
			if len(before) == 0 || len(before) != len(after) {
				t.Fatalf("%d objects before, %d after", len(before), len(after))
			}
			for i := range after {
				b, a := kcmCommand(t, kubeadm, before[i]), kcmCommand(t, kubeadm, after[i])
				if !enabled(b, mirroring, false) {
					t.Fatalf("object %d: mirroring is off before the edit", i)
				}
				if enabled(a, mirroring, false) {
					t.Errorf("object %d: kubeadm runs kcm with mirroring on after the edit: %q", i, a)
				}
				for _, o := range others {
					if x, y := enabled(b, o.names, o.off), enabled(a, o.names, o.off); x != y {
						t.Errorf("object %d: %s enabled %v before, %v after", i, o.names[0], x, y)
					}
				}
				rest := func(cmd []string) []string {
					return slices.DeleteFunc(slices.Clone(cmd), func(s string) bool { return strings.HasPrefix(s, "--controllers=") })
				}
				if x, y := rest(b), rest(a); !slices.Equal(slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))) {
					t.Errorf("object %d: flags other than --controllers differ:\nbefore %q\nafter  %q", i, x, y)
				}
				for _, f := range a {
					if strings.HasPrefix(f, "--controllers=") {
						t.Logf("object %d: Cluster API and kubeadm %s give %s", i, kubeadmVersion, f)
					}
				}
			}
		})
	}
}
