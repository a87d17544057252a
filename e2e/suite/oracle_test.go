package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestKubeadmOracle: kubeadm regenerates the kcm manifest from the ClusterConfiguration at every
// `kubeadm upgrade` and control-plane join. So whatever mirrorctl writes into the config must make real
// kubeadm generate the same kcm command as the manifest mirrorctl edited in place, or the change
// silently reverts (or changes meaning) at the next upgrade. Every config mirrorctl writes must also
// pass `kubeadm config validate`.
func TestKubeadmOracle(t *testing.T) {
	cases := []struct {
		name    string
		fixture string
		set     string // the kubeadm that reads this API version
		// optional: run only where that kubeadm was built on request (`make e2e` does not build it)
		optional bool
	}{
		{"v1beta4", v1beta4Defaults, set137, false},
		// kubeadm 1.37 rejects v1beta3; 1.31 reads it and is built anyway for its kcm, which makes it a
		// fraction of the cost of kubeadm 1.36 in a cold build (e2e/README.md, "Version sets").
		{"v1beta3", v1beta3Defaults, set131, false},
		// 1.36 is the last reader of v1beta3: `e2e/build.sh v1.36:kubeadm` adds this case.
		{"v1beta3_1.36", v1beta3Defaults, set136, true},
		{"v1beta2", v1beta2Defaults, set121, false}, // what clusters made by kubeadm <= 1.21 keep until migrated
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.optional && !built(t, tc.set, "kubeadm") {
				t.Skipf("kubeadm %s is not built (`make e2e` leaves it out): run e2e/build.sh %s:kubeadm", k8sVersion(t, tc.set), strings.TrimPrefix(tc.set, "k8s-"))
			}
			kubeadm := bin(t, tc.set, "kubeadm")
			mirrorctlBin(t)
			root := t.TempDir()
			manifest, config := kubeadmNode(t, root, kubeadm, tc.fixture, k8sVersion(t, tc.set))
			validate(t, kubeadm, config)
			orig := readFile(t, config)
			for _, step := range []struct{ op, mirroring string }{{"disable", "disabled"}, {"enable", "enabled"}} {
				expectResult(t, mirrorctl(t, root, step.op), true, step.mirroring)
				validate(t, kubeadm, config)
				compareWithKubeadm(t, kubeadm, config, manifest, step.mirroring == "enabled")
			}
			// kubeadm's defaults set no controllers: disable added the entry, and enable takes it back,
			// so the config is the one kubeadm printed, byte for byte.
			if got := readFile(t, config); got != orig {
				t.Fatalf("%s after disable and enable differs from before:\n%s", config, got)
			}
		})
	}
}

// TestKubeadmValidatesV1: kubeadm 1.37's experimental v1 API (same ClusterConfiguration shape as v1beta4).
// init phases refuse v1, so there is no manifest oracle for it, only validation.
func TestKubeadmValidatesV1(t *testing.T) {
	kubeadm := bin(t, set137, "kubeadm")
	mirrorctlBin(t)
	root := t.TempDir()
	// The node's manifest comes from the v1beta4 original; the config file is the same text as v1.
	_, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	text := readFile(t, config)
	if strings.Count(text, "apiVersion: kubeadm.k8s.io/v1beta4") != 2 {
		t.Fatalf("%s: expected InitConfiguration and ClusterConfiguration in v1beta4", config)
	}
	writeFile(t, config, []byte(strings.ReplaceAll(text, "apiVersion: kubeadm.k8s.io/v1beta4", "apiVersion: kubeadm.k8s.io/v1")), 0o600)
	validate(t, kubeadm, config, "--allow-experimental-api")
	for _, step := range []struct{ op, mirroring string }{{"disable", "disabled"}, {"enable", "enabled"}} {
		expectResult(t, mirrorctl(t, root, step.op), true, step.mirroring)
		if !strings.Contains(readFile(t, config), "apiVersion: kubeadm.k8s.io/v1\n") {
			t.Fatalf("%s: mirrorctl changed the apiVersion", config)
		}
		validate(t, kubeadm, config, "--allow-experimental-api")
	}
}

// validate has kubeadm load and validate config: `kubeadm config validate`, or on kubeadm < 1.26, which
// has no such command, `kubeadm config migrate`, which loads and validates the old config the same way
// before writing it anew.
func validate(t testing.TB, kubeadm, config string, extra ...string) {
	t.Helper()
	args := append([]string{"config", "validate", "--config", config}, extra...)
	if kubeadmMinor(t, kubeadm) < 26 {
		args = append([]string{"config", "migrate", "--old-config", config, "--new-config", filepath.Join(t.TempDir(), "migrated.yaml")}, extra...)
	}
	out, err := runErr(nil, kubeadm, args...)
	if err != nil {
		t.Fatalf("kubeadm %s %s: %v\n%s\n--- config:\n%s", strings.Join(args[:2], " "), config, err, out, readFile(t, config))
	}
}

// kubeadmMinor is the minor version the kubeadm binary reports.
func kubeadmMinor(t testing.TB, kubeadm string) int {
	t.Helper()
	out := strings.TrimSpace(run(t, nil, kubeadm, "version", "-o", "short"))
	var major, minor int
	if _, err := fmt.Sscanf(out, "v%d.%d", &major, &minor); err != nil || major != 1 {
		t.Fatalf("%s version -o short: %q", kubeadm, out)
	}
	return minor
}

// compareWithKubeadm regenerates the kcm manifest from the config and compares its command with the
// manifest on the node: same flags (order aside: kubeadm puts extraArgs last) and so the same
// effective controllers.
func compareWithKubeadm(t testing.TB, kubeadm, config, manifest string, mirroring bool) {
	t.Helper()
	regen := podCommand(t, kubeadmManifest(t, kubeadm, config, "controller-manager"), "kube-controller-manager")
	edited := podCommand(t, manifest, "kube-controller-manager")
	if a, b := controllerState(regen), controllerState(edited); a != b {
		t.Fatalf("kubeadm would generate %s, the edited manifest has %s\nkubeadm: %q\nmanifest: %q",
			a, b, flagValues(regen, "controllers"), flagValues(edited, "controllers"))
	}
	if controllerEnabled(edited, []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}, false) != mirroring {
		t.Fatalf("edited manifest: %s, want mirroring=%t", controllerState(edited), mirroring)
	}
	t.Logf("kubeadm regenerates --controllers=%q from %s: %s, same as the edited manifest", flagValues(regen, "controllers"), filepath.Base(config), controllerState(regen))
	if a, b := sortedFlags(regen), sortedFlags(edited); !slices.Equal(a, b) {
		t.Fatalf("kubeadm's regenerated command differs from the edited manifest (%s):\nkubeadm:  %q\nmanifest: %q",
			filepath.Base(manifest), a, b)
	}
}

// TestKubeadmOracleConfigMap: the same oracle for the live form of the config, the kube-system/kubeadm-config
// ConfigMap exported to a file (data.ClusterConfiguration is a YAML document inside a string), which is
// what `kubeadm upgrade` actually reads. The ConfigMap is made by real kubectl from kubeadm's own
// ClusterConfiguration document.
func TestKubeadmOracleConfigMap(t *testing.T) {
	kubeadm := bin(t, set137, "kubeadm")
	kubectl := bin(t, set137, "kubectl")
	mirrorctlBin(t)
	root := t.TempDir()
	manifest, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	initDoc, clusterDoc := kubeadmDocs(t, readFile(t, config))
	// Only the ConfigMap is the config on this node.
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}
	clusterFile := filepath.Join(t.TempDir(), "ClusterConfiguration")
	writeFile(t, clusterFile, []byte(clusterDoc), 0o600)
	cm := run(t, nil, kubectl, "create", "configmap", "kubeadm-config", "--namespace=kube-system",
		"--from-file=ClusterConfiguration="+clusterFile, "--dry-run=client", "-o", "yaml")
	const cmPath = "/root/kubeadm-config-configmap.yaml"
	writeFile(t, filepath.Join(root, cmPath), []byte(cm), 0o600)

	for _, step := range []struct{ op, mirroring string }{{"disable", "disabled"}, {"enable", "enabled"}} {
		r := mirrorctl(t, root, step.op, "--kubeadm-config", cmPath)
		expectResult(t, r, true, step.mirroring)
		expectFilesChanged(t, r, cmPath, "/"+nodeManifest)
		if st := mirrorctl(t, root, "status", "--kubeadm-config", cmPath); st.Mirroring != step.mirroring {
			t.Fatalf("status after %s: mirroring=%q", step.op, st.Mirroring)
		}
		var got corev1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(readFile(t, filepath.Join(root, cmPath))), &got); err != nil {
			t.Fatalf("%s after %s: %v", cmPath, step.op, err)
		}
		cc, ok := got.Data["ClusterConfiguration"]
		if !ok {
			t.Fatalf("%s after %s: no data.ClusterConfiguration", cmPath, step.op)
		}
		// kubeadm reads the ConfigMap's ClusterConfiguration together with the node's InitConfiguration.
		joined := filepath.Join(t.TempDir(), "kubeadm.yaml")
		writeFile(t, joined, []byte(initDoc+"\n---\n"+cc), 0o600)
		validate(t, kubeadm, joined)
		compareWithKubeadm(t, kubeadm, joined, manifest, step.mirroring == "enabled")
	}
}

// kubeadmDocs returns the InitConfiguration and ClusterConfiguration documents of a multi-document file.
func kubeadmDocs(t testing.TB, text string) (initDoc, clusterDoc string) {
	t.Helper()
	for _, d := range strings.Split(text, "\n---\n") {
		switch {
		case strings.Contains(d, "\nkind: InitConfiguration\n"):
			initDoc = d
		case strings.Contains(d, "\nkind: ClusterConfiguration\n"):
			clusterDoc = d
		}
	}
	if initDoc == "" || clusterDoc == "" {
		t.Fatalf("no InitConfiguration and ClusterConfiguration documents in:\n%s", text)
	}
	return initDoc, clusterDoc
}
