package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	mirroringMetric = "endpoint_slice_mirroring_controller_"
	// kcm 1.28+ logs and health-checks controllers by their canonical names.
	mirroringHealthz = "[+]endpointslice-mirroring-controller ok"
	signerHealthz    = "[+]bootstrap-signer-controller ok"
	cleanerHealthz   = "[+]token-cleaner-controller ok"
	disabledLog      = `"Warning: controller is disabled" controller="endpointslice-mirroring-controller"`
)

// TestMirroringLifecycle is the whole story on one kubeadm node of the 1.37 set: mirroring works with
// kubeadm's manifest; after `mirrorctl disable` and a kcm restart from the edited manifest it is off
// (and nothing else is); existing mirrored slices go stale; `rollback` and, separately, `enable` bring
// it back.
func TestMirroringLifecycle(t *testing.T) {
	kcmBin := bin(t, set137, "kube-controller-manager")
	kubeadm := bin(t, set137, "kubeadm")
	start := time.Now()
	c := newCluster(t)
	root := c.root // the node root of the control plane is also mirrorctl's --root
	manifest, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	origManifest, origConfig := readFile(t, manifest), readFile(t, config)
	origState := controllerState(podCommand(t, manifest, "kube-controller-manager"))

	// 1. kubeadm's manifest: mirroring on.
	c.startKCM(kcmBin, manifest)
	c.probeControllers("probe-1")
	c.createUserEndpoints("user-1", "192.0.2.1")
	latency := c.waitMirrored("user-1", "192.0.2.1")
	t.Logf("mirroring on: slice for user-1 after %s", latency.Round(time.Millisecond))
	expectMetrics(t, c, true)
	expectHealthz(t, c, true)
	mirrorctlBin(t) // without mirrorctl, the harness has proven what it can

	// 2. disable: a dry run first (writes nothing), then the change, then kcm restarts as the kubelet
	// would restart it.
	r := mirrorctl(t, root, "disable", "--dry-run")
	if !r.Changed || r.Snapshot != nil {
		t.Fatalf("disable --dry-run: changed=%t snapshot=%v, want a would-change without snapshot", r.Changed, deref(r.Snapshot))
	}
	if readFile(t, manifest) != origManifest || readFile(t, config) != origConfig {
		t.Fatal("disable --dry-run changed a file")
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/mirrorctl")); err == nil {
		t.Fatal("disable --dry-run created the state dir")
	}
	r = mirrorctl(t, root, "disable")
	expectResult(t, r, true, "disabled")
	expectFilesChanged(t, r, "/"+nodeManifest, "/"+nodeConfig)
	disabled := podCommand(t, manifest, "kube-controller-manager")
	if got, want := controllerState(disabled), strings.Replace(origState, "mirroring=true", "mirroring=false", 1); got != want {
		t.Fatalf("after disable: %s, want %s (flags %q)", got, want, flagValues(disabled, "controllers"))
	}
	expectResult(t, mirrorctl(t, root, "disable"), false, "disabled")
	validate(t, kubeadm, config)
	compareWithKubeadm(t, kubeadm, config, manifest, false)

	c.stopKCM()
	kcm := c.startKCM(kcmBin, manifest)
	c.probeControllers("probe-2")
	c.createUserEndpoints("user-2", "192.0.2.2")
	// The stale-slice effect: only the mirroring controller maintains mirrored slices, so the slice of
	// user-1 keeps the old address after its Endpoints change.
	c.setEndpointsIP("user-1", "192.0.2.11")
	window := max(20*time.Second, 2*latency)
	c.holdsFor("mirroring off", window, func() (bool, string) {
		if ips, err := c.mirroredIPs("user-2"); err != nil || len(ips) != 0 {
			return false, "user-2 got a mirrored slice " + strings.Join(ips, ",")
		}
		if ips, err := c.mirroredIPs("user-1"); err != nil || !slices.Equal(ips, []string{"192.0.2.1"}) {
			return false, "user-1's mirrored slice is not the stale 192.0.2.1: " + strings.Join(ips, ",")
		}
		return true, ""
	})
	t.Logf("mirroring off: no slice for user-2 and user-1's slice stale for %s", window)
	if !strings.Contains(kcm.log(), disabledLog) {
		t.Fatalf("kcm log (%s) lacks %s", kcm.logPath, disabledLog)
	}
	expectMetrics(t, c, false)
	expectHealthz(t, c, false)
	c.bootstrapControllersWork("d1")

	// 3. rollback restores the files byte for byte; after the restart the controller mirrors the new
	// Service and repairs the stale slice.
	r = mirrorctl(t, root, "rollback")
	if readFile(t, manifest) != origManifest || readFile(t, config) != origConfig {
		t.Fatal("rollback did not restore the manifest and the kubeadm config byte for byte")
	}
	c.stopKCM()
	c.startKCM(kcmBin, manifest)
	c.probeControllers("probe-3")
	c.createUserEndpoints("user-3", "192.0.2.3")
	c.waitMirrored("user-3", "192.0.2.3")
	c.waitMirrored("user-2", "192.0.2.2")
	c.waitMirrored("user-1", "192.0.2.11")
	expectMetrics(t, c, true)
	expectHealthz(t, c, true)

	// 4. disable, then enable (no rollback): the same effective controllers as kubeadm's original.
	expectResult(t, mirrorctl(t, root, "disable"), true, "disabled")
	expectResult(t, mirrorctl(t, root, "enable"), true, "enabled")
	enabled := podCommand(t, manifest, "kube-controller-manager")
	if got := controllerState(enabled); got != origState {
		t.Fatalf("after disable+enable: %s, want kubeadm's %s (flags %q)", got, origState, flagValues(enabled, "controllers"))
	}
	expectResult(t, mirrorctl(t, root, "enable"), false, "enabled")
	validate(t, kubeadm, config)
	compareWithKubeadm(t, kubeadm, config, manifest, true)
	c.stopKCM()
	c.startKCM(kcmBin, manifest)
	c.probeControllers("probe-4")
	c.createUserEndpoints("user-4", "192.0.2.4")
	c.waitMirrored("user-4", "192.0.2.4")
	expectMetrics(t, c, true)
	c.bootstrapControllersWork("e1")
	t.Logf("scenario: %s", time.Since(start).Round(time.Millisecond))
}

func expectMetrics(t testing.TB, c *cluster, present bool) {
	t.Helper()
	m := c.kcmGet("/metrics")
	if strings.Contains(m, mirroringMetric) != present {
		t.Fatalf("kcm /metrics: %s* present=%t, want %t", mirroringMetric, !present, present)
	}
}

func expectHealthz(t testing.TB, c *cluster, mirroring bool) {
	t.Helper()
	lines := c.healthzLines()
	if slices.Contains(lines, mirroringHealthz) != mirroring {
		t.Fatalf("kcm /healthz?verbose: %q present=%t, want %t:\n%s", mirroringHealthz, !mirroring, mirroring, strings.Join(lines, "\n"))
	}
	for _, want := range []string{signerHealthz, cleanerHealthz} {
		if !slices.Contains(lines, want) {
			t.Fatalf("kcm /healthz?verbose lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

func expectFilesChanged(t testing.TB, r result, paths ...string) {
	t.Helper()
	for _, p := range paths {
		found := false
		for _, f := range r.Files {
			if f.Path == p {
				found = true
				if !f.Changed {
					t.Errorf("mirrorctl reports %s unchanged", p)
				}
			}
		}
		if !found {
			t.Errorf("mirrorctl output does not list %s (files: %+v)", p, r.Files)
		}
	}
}
