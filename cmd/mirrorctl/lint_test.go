package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const apiserverRel = "etc/kubernetes/manifests/kube-apiserver.yaml"

// nodeWithGate is the sample node plus a kube-apiserver manifest carrying the feature gate a popular
// article recommends (there is no such gate: the apiserver would not start).
func nodeWithGate(t *testing.T) string {
	t.Helper()
	root := newNode(t)
	api, err := os.ReadFile("../../lint/testdata/kube-apiserver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(api), "    - --feature-gates=EndpointSliceMirroring=false\n") {
		t.Fatal("fixture lacks the gate")
	}
	if err := os.WriteFile(filepath.Join(root, apiserverRel), api, 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestLintClean(t *testing.T) {
	root := newNode(t)
	r := run(t, "--root", root, "lint")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "no findings") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestLintFindingsExit3(t *testing.T) {
	root := nodeWithGate(t)
	os.WriteFile(filepath.Join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml.bak"), []byte("x"), 0o600)
	r := run(t, "--root", root, "lint")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "/etc/kubernetes/manifests/kube-apiserver.yaml:26: error: ") ||
		!strings.HasPrefix(lines[1], "/etc/kubernetes/manifests/kube-controller-manager.yaml.bak: error: ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	m, r2 := runJSON(t, "--root", root, "-o", "json", "lint")
	if r2.code != 3 {
		t.Fatalf("json: exit %d", r2.code)
	}
	f := m["findings"].([]any)
	first := f[0].(map[string]any)
	if len(f) != 2 || first["check"] != "feature-gate" || first["line"] != float64(26) || first["fixable"] != true || m["changed"] != false {
		t.Errorf("json: %v", m)
	}
}

func TestLintFixDryRunWritesNothing(t *testing.T) {
	root := nodeWithGate(t)
	before := hashTree(t, root)
	r := run(t, "--root", root, "lint", "--fix", "--dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "--- a/etc/kubernetes/manifests/kube-apiserver.yaml") || !strings.Contains(r.stdout, "\n-    - --feature-gates=EndpointSliceMirroring=false\n") {
		t.Errorf("diff:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "would repair 1 finding") {
		t.Errorf("stderr %q", r.stderr)
	}
	diffTrees(t, before, hashTree(t, root))
	if _, err := os.Stat(filepath.Join(root, stateRel)); err == nil {
		t.Error("--dry-run created the state dir")
	}
}

func TestLintFixSnapshotAndRollback(t *testing.T) {
	root := nodeWithGate(t)
	orig := readRel(t, root, apiserverRel)
	m, r := runJSON(t, "--root", root, "-o", "json", "lint", "--fix")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	snap, _ := m["snapshot"].(string)
	if m["changed"] != true || snap == "" || len(m["fixed"].([]any)) != 1 || len(m["findings"].([]any)) != 0 || len(m["diff"].([]any)) != 1 {
		t.Fatalf("json: %v", m)
	}
	fixed := string(readRel(t, root, apiserverRel))
	if want := strings.Replace(string(orig), "    - --feature-gates=EndpointSliceMirroring=false\n", "", 1); fixed != want {
		t.Errorf("fixed file differs from the original minus the gate line")
	}
	fi, _ := os.Stat(filepath.Join(root, apiserverRel))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if r := run(t, "--root", root, "lint"); r.code != 0 {
		t.Errorf("lint after fix: exit %d: %s", r.code, r.stdout)
	}
	// A second fix has nothing to do and takes no snapshot.
	m2, _ := runJSON(t, "--root", root, "-o", "json", "lint", "--fix")
	if m2["changed"] != false || m2["snapshot"] != nil {
		t.Errorf("second fix: %v", m2)
	}
	if r := run(t, "--root", root, "rollback", snap); r.code != 0 {
		t.Fatalf("rollback: %s", r.stderr)
	}
	if string(readRel(t, root, apiserverRel)) != string(orig) {
		t.Error("rollback did not restore the original")
	}
}

func TestLintErrorsAndUsage(t *testing.T) {
	root := newNode(t)
	if r := run(t, "--root", root, "lint", "--dry-run"); r.code != 2 {
		t.Errorf("--dry-run without --fix: exit %d", r.code)
	}
	if r := run(t, "--root", root, "lint", "extra"); r.code != 2 {
		t.Errorf("argument: exit %d", r.code)
	}
	os.WriteFile(filepath.Join(root, kcmPath), []byte("kind: Pod\nspec: [\n"), 0o600)
	r := run(t, "--root", root, "lint")
	if r.code != 1 || !strings.Contains(r.stderr, "mirrorctl: /etc/kubernetes/manifests/kube-controller-manager.yaml: malformed YAML") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

func TestDisableShowsLintWarnings(t *testing.T) {
	root := newNode(t)
	os.WriteFile(filepath.Join(root, "etc/kubernetes/manifests/kube-controller-manager.yaml.orig"), []byte("x"), 0o600)
	m, r := runJSON(t, "--root", root, "-o", "json", "disable", "--dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, _ := json.Marshal(m["warnings"])
	if !strings.Contains(string(b), "lint: /etc/kubernetes/manifests/kube-controller-manager.yaml.orig: error: looks like a backup") {
		t.Errorf("warnings: %s", b)
	}
}

// lint --fix --dry-run --save-plan makes a plan that apply-plan applies like lint --fix.
func TestLintFixSavePlan(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	kcm := filepath.Join(root, kcmPath)
	b, _ := os.ReadFile(kcm)
	gated := strings.Replace(string(b), "    - --kubeconfig=", "    - --feature-gates=EndpointSliceMirroring=false\n    - --kubeconfig=", 1)
	os.WriteFile(kcm, []byte(gated), 0o600)
	plan := filepath.Join(t.TempDir(), "fix.plan")
	if r := run(t, "--root", root, "lint", "--fix", "--dry-run", "--save-plan", plan); r.code != 3 && r.code != 0 {
		t.Fatalf("lint --fix --dry-run --save-plan: exit %d %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(kcm); string(got) != gated {
		t.Fatal("dry run wrote")
	}
	if r := run(t, "--root", root, "apply-plan", plan); r.code != 0 {
		t.Fatalf("apply-plan: exit %d %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(kcm); string(got) != string(b) {
		t.Errorf("apply-plan of the lint fix did not remove the gate line:\n%s", got)
	}
}
