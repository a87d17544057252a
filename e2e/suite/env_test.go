package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const skipHint = "run `make e2e` (it builds the Kubernetes binaries and mirrorctl and sets MIRRORCTL_E2E_BIN and MIRRORCTL_BIN)"

// Version sets, by the e2e module that builds them. Their exact versions come from those modules'
// go.mod files, so build.sh and the tests can never disagree about which patch release is in use.
//
// What the suite runs from each set is what e2e/build.sh builds by default (its suite_bins): keep the
// two in step. k8s-v1.29 only prints fixtures (testdata/kubeadm/generate.sh); set136 is an optional
// oracle, run only where its kubeadm was built on request.
const (
	set137 = "k8s-v1.37" // etcd, kube-apiserver, kube-controller-manager, kubeadm, kubectl
	set136 = "k8s-v1.36" // kubeadm: the last that reads v1beta3 (optional: not built by `make e2e`)
	set131 = "k8s-v1.31" // kube-controller-manager (after the rename), kubeadm (the v1beta3 oracle)
	set127 = "k8s-v1.27" // kube-controller-manager (alias-only name)
	set121 = "k8s-v1.21" // kubeadm: the last that prints v1beta2 (and validates it)
)

var versionCache sync.Map

// k8sVersion reads the k8s.io/kubernetes version pinned by an e2e module (e.g. "v1.37.2").
func k8sVersion(t testing.TB, set string) string {
	t.Helper()
	if v, ok := versionCache.Load(set); ok {
		return v.(string)
	}
	path := filepath.Join("..", set, "go.mod")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "require" && fields[1] == "k8s.io/kubernetes" {
			versionCache.Store(set, fields[2])
			return fields[2]
		}
	}
	t.Fatalf("%s: no `require k8s.io/kubernetes vX.Y.Z` line", path)
	return ""
}

// bin returns the path of a binary built by e2e/build.sh for a version set, skipping the test when the
// cache is not configured and failing it when the cache is configured but the binary is missing.
func bin(t testing.TB, set, name string) string {
	t.Helper()
	dir := os.Getenv("MIRRORCTL_E2E_BIN")
	if dir == "" {
		t.Skipf("MIRRORCTL_E2E_BIN is not set: %s", skipHint)
	}
	p := filepath.Join(dir, k8sVersion(t, set), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("%s: missing: run e2e/build.sh %s", p, strings.TrimPrefix(set, "k8s-"))
	}
	return p
}

// built reports whether e2e/build.sh put a binary of a set in the cache (for the optional cases that
// `make e2e` does not build); false, not a skip, when the cache is not configured: bin() skips then.
func built(t testing.TB, set, name string) bool {
	t.Helper()
	dir := os.Getenv("MIRRORCTL_E2E_BIN")
	if dir == "" {
		return true // let bin() skip with the usual hint
	}
	st, err := os.Stat(filepath.Join(dir, k8sVersion(t, set), name))
	return err == nil && !st.IsDir()
}

// mirrorctlBin returns the mirrorctl under test, skipping when it is not configured.
func mirrorctlBin(t testing.TB) string {
	t.Helper()
	p := os.Getenv("MIRRORCTL_BIN")
	if p == "" {
		t.Skipf("MIRRORCTL_BIN is not set: %s", skipHint)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("MIRRORCTL_BIN: %v", err)
	}
	return p
}

// repoFile resolves a path relative to the repository root (the suite runs in e2e/suite).
func repoFile(rel string) string { return filepath.Join("..", "..", filepath.FromSlash(rel)) }
