package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
)

const apiserverPath = "etc/kubernetes/manifests/kube-apiserver.yaml"

// newNodeWithAPIServer is the sample node plus kube-apiserver's manifest as real kubeadm writes it for
// version (testdata/kubeadm/<version>/kube-apiserver.yaml).
func newNodeWithAPIServer(t *testing.T, version string) string {
	t.Helper()
	root := newNode(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kubeadm", version, "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.WriteFile(t, filepath.Join(root, apiserverPath), data)
	return root
}

// disable --endpoints-controller on a node whose kube-apiserver is 1.37: both controllers off in the
// manifest and the kubeadm config, the JSON says so, status reads it back; a plain enable brings
// mirroring back and leaves the Endpoints controller off; enable --endpoints-controller brings it back.
func TestEndpointsControllerCLI(t *testing.T) {
	t.Parallel()
	root := newNodeWithAPIServer(t, "v1.37")
	m, r := runJSON(t, "--root", root, "-o", "json", "disable", "--endpoints-controller")
	if r.code != 0 || m["mirroring"] != "disabled" || m["endpoints_controller"] != "disabled" || m["changed"] != true {
		t.Fatalf("disable: exit %d %v: %s", r.code, m, r.stderr)
	}
	if !strings.Contains(r.stderr, "other control-plane nodes were not checked") {
		t.Errorf("no warning that only this node's apiserver was checked:\n%s", r.stderr)
	}
	kcm, err := os.ReadFile(filepath.Join(root, kcmPath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kcm), "--controllers=*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller,-endpoints-controller\n") {
		t.Fatalf("manifest:\n%s", kcm)
	}
	st, r := runJSON(t, "--root", root, "-o", "json", "status")
	if st["mirroring"] != "disabled" || st["endpoints_controller"] != "disabled" || st["agree"] != true {
		t.Fatalf("status after disable: %v %s", st, r.stderr)
	}
	// Again: nothing to change, and the guard still ran.
	m, r = runJSON(t, "--root", root, "-o", "json", "disable", "--endpoints-controller")
	if r.code != 0 || m["changed"] != false || !strings.Contains(r.stderr, "nothing to change") {
		t.Fatalf("disable again: exit %d %v: %s", r.code, m, r.stderr)
	}
	m, r = runJSON(t, "--root", root, "-o", "json", "enable")
	if _, has := m["endpoints_controller"]; r.code != 0 || m["mirroring"] != "enabled" || has {
		t.Fatalf("plain enable: exit %d %v: %s", r.code, m, r.stderr)
	}
	st, _ = runJSON(t, "--root", root, "-o", "json", "status")
	if st["mirroring"] != "enabled" || st["endpoints_controller"] != "disabled" {
		t.Fatalf("status after plain enable: %v", st)
	}
	m, r = runJSON(t, "--root", root, "-o", "json", "enable", "--endpoints-controller")
	if r.code != 0 || m["endpoints_controller"] != "enabled" {
		t.Fatalf("enable --endpoints-controller: exit %d %v: %s", r.code, m, r.stderr)
	}
	kcm, _ = os.ReadFile(filepath.Join(root, kcmPath))
	if !strings.Contains(string(kcm), "--controllers=*,bootstrapsigner,tokencleaner\n") {
		t.Fatalf("manifest after enable --endpoints-controller:\n%s", kcm)
	}
	txt := run(t, "--root", root, "status")
	if !strings.Contains(txt.stdout, "endpoints controller: enabled") || !strings.Contains(txt.stdout, "ENDPOINTS") {
		t.Errorf("text status:\n%s", txt.stdout)
	}
}

// The guard: an apiserver older than 1.37 refuses (exit 1, nothing written, no state dir), the
// override proceeds with a warning; enable needs no guard.
func TestEndpointsControllerGuard(t *testing.T) {
	t.Parallel()
	root := newNodeWithAPIServer(t, "v1.36")
	before := golden.Tree(t, root)
	for _, args := range [][]string{{"disable", "--endpoints-controller"}, {"disable", "--endpoints-controller", "--dry-run"}} {
		r := run(t, append([]string{"--root", root}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "mirrorctl: refusing to switch the Endpoints controller off: this node's kube-apiserver runs Kubernetes 1.36 (/etc/kubernetes/manifests/kube-apiserver.yaml image registry.k8s.io/kube-apiserver:v1.36.5)") {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		plUntouched(t, root, before)
	}
	r := run(t, "--root", root, "enable", "--endpoints-controller")
	if r.code != 0 {
		t.Fatalf("enable: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, "--root", root, "disable", "--endpoints-controller", "--skip-apiserver-version-check")
	if r.code != 0 || !strings.Contains(r.stderr, "--skip-apiserver-version-check: the kube-apiserver versions were not checked") {
		t.Fatalf("override: exit %d: %s", r.code, r.stderr)
	}
}

// A saved plan records --endpoints-controller; apply-plan runs the guard again (the apiserver may have
// been downgraded or replaced since) and then applies it.
func TestEndpointsControllerPlan(t *testing.T) {
	t.Parallel()
	root := newNodeWithAPIServer(t, "v1.37")
	path := filepath.Join(t.TempDir(), "disable.plan")
	r := run(t, "--root", root, "disable", "--endpoints-controller", "--dry-run", "--save-plan", path)
	if r.code != 0 {
		t.Fatalf("save: exit %d: %s", r.code, r.stderr)
	}
	plan, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plan), "\n  endpoints_controller: true\n") || !strings.Contains(string(plan), "\nendpoints_after: disabled\n") {
		t.Fatalf("plan does not record the Endpoints controller:\n%s", plan)
	}
	// The node's apiserver is now 1.36: apply-plan refuses, writing nothing.
	old, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kubeadm", "v1.36", "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.WriteFile(t, filepath.Join(root, apiserverPath), old)
	before := golden.Tree(t, root)
	r = run(t, "--root", root, "apply-plan", path)
	if r.code != 1 || !strings.Contains(r.stderr, "runs Kubernetes 1.36") {
		t.Fatalf("apply-plan on a 1.36 apiserver: exit %d: %s", r.code, r.stderr)
	}
	plUntouched(t, root, before)
	m, r := runJSON(t, "--root", root, "-o", "json", "apply-plan", "--skip-apiserver-version-check", path)
	if r.code != 0 || m["endpoints_controller"] != "disabled" || m["changed"] != true {
		t.Fatalf("apply-plan --skip-apiserver-version-check: exit %d %v: %s", r.code, m, r.stderr)
	}
}

// lint knows the Endpoints controller's names, and lint --fix (which removes the feature gate) leaves
// the switched-off controllers off.
func TestEndpointsControllerLint(t *testing.T) {
	t.Parallel()
	root := nodeWithGate(t)
	if r := run(t, "--root", root, "disable", "--endpoints-controller", "--skip-apiserver-version-check"); r.code != 0 {
		t.Fatalf("disable: exit %d: %s", r.code, r.stderr)
	}
	m, r := runJSON(t, "--root", root, "-o", "json", "lint")
	if f := m["findings"].([]any); r.code != 3 || len(f) != 1 || f[0].(map[string]any)["check"] != "feature-gate" {
		t.Fatalf("lint: exit %d, findings %v", r.code, m["findings"])
	}
	kcmBefore, _ := os.ReadFile(filepath.Join(root, kcmPath))
	if r := run(t, "--root", root, "lint", "--fix"); r.code != 0 {
		t.Fatalf("lint --fix: exit %d: %s", r.code, r.stderr)
	}
	kcmAfter, _ := os.ReadFile(filepath.Join(root, kcmPath))
	st, _ := runJSON(t, "--root", root, "-o", "json", "status")
	if string(kcmAfter) != string(kcmBefore) || st["mirroring"] != "disabled" || st["endpoints_controller"] != "disabled" {
		t.Fatalf("lint --fix changed the controllers: status %v", st)
	}

	// On 1.27 the canonical name is unknown (kcm would not start); lint says which name 1.27 knows.
	old := newNode(t)
	b, _ := os.ReadFile(filepath.Join(old, kcmPath))
	s := strings.Replace(string(b), "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.27.16", 1)
	s = strings.Replace(s, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpoints-controller", 1)
	golden.WriteFile(t, filepath.Join(old, kcmPath), []byte(s))
	r = run(t, "--root", old, "lint")
	if r.code != 3 || !strings.Contains(r.stdout, `no controller "endpoints-controller" in Kubernetes 1.27`) || !strings.Contains(r.stdout, `before 1.28 the Endpoints controller is called "endpoint"`) {
		t.Fatalf("lint on 1.27: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A kubeadm config that still runs the Endpoints controller while the manifest does not is a
// disagreement lint names (kubeadm upgrade would bring the controller back).
func TestEndpointsControllerLintDisagreement(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("disable: exit %d: %s", r.code, r.stderr)
	}
	cfg := filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml")
	mirroringOnly, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, "--root", root, "disable", "--endpoints-controller", "--skip-apiserver-version-check"); r.code != 0 {
		t.Fatalf("disable --endpoints-controller: exit %d: %s", r.code, r.stderr)
	}
	golden.WriteFile(t, cfg, mirroringOnly)
	r := run(t, "--root", root, "lint")
	if r.code != 3 || !strings.Contains(r.stdout, "the Endpoints controller is enabled here but disabled in /etc/kubernetes/manifests/kube-controller-manager.yaml") ||
		!strings.Contains(r.stdout, "mirrorctl disable --endpoints-controller --kubeadm-config /etc/kubernetes/kubeadm-config.yaml") {
		t.Fatalf("lint: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st, _ := runJSON(t, "--root", root, "-o", "json", "status")
	if st["endpoints_controller"] != "mixed" || st["agree"] != false {
		t.Fatalf("status: %v", st)
	}
}
