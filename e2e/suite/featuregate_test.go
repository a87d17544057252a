package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// gateFixture is the manifest the lint check cites: kubeadm 1.37's kube-apiserver manifest with
// apiServer.extraArgs feature-gates=EndpointSliceMirroring=false, the advice of a popular article.
const gateFixture = "e2e/testdata/kube-apiserver-endpointslicemirroring-gate.yaml"

// TestFeatureGateIsFatal: there is no EndpointSliceMirroring feature gate. A real kube-apiserver started
// from the fixture's command exits at flag parsing, before it touches a certificate or etcd.
func TestFeatureGateIsFatal(t *testing.T) {
	apiBin := bin(t, set137, "kube-apiserver")
	dir := t.TempDir()
	cmd := hostCommand(t, podCommand(t, repoFile(gateFixture), "kube-apiserver"), apiBin, dir)
	if !slices.Contains(flagValues(cmd, "feature-gates"), "EndpointSliceMirroring=false") {
		t.Fatalf("%s: no --feature-gates=EndpointSliceMirroring=false", gateFixture)
	}
	cmd = append(cmd, "--cert-dir="+filepath.Join(dir, "certs"))
	p := startProc(t, "kube-apiserver", filepath.Join(dir, "kube-apiserver.log"), cmd[0], cmd[1:]...)
	t.Cleanup(p.stop)
	if !p.waitExit(60 * time.Second) {
		t.Fatalf("kube-apiserver kept running with the feature gate; log:\n%s", p.tail(20))
	}
	const want = "unrecognized feature gate: EndpointSliceMirroring"
	if p.exitCode() == 0 || !strings.Contains(p.log(), want) {
		t.Fatalf("kube-apiserver: exit %d, want non-zero and %q; log:\n%s", p.exitCode(), want, p.tail(20))
	}
	t.Logf("kube-apiserver %s exits %d: %s", k8sVersion(t, set137), p.exitCode(), want)
}
