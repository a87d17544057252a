package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	endpointsDisabledLog = `"Warning: controller is disabled" controller="endpoints-controller"`
	endpointsHealthz     = "[+]endpoints-controller ok"
	apiserverManifest    = "etc/kubernetes/manifests/kube-apiserver.yaml"
)

// endpointsOf says whether the Endpoints object of a Service exists (the Endpoints controller writes one
// for every Service with a selector, even with no pods).
func (c *cluster) endpointsOf(name string) (bool, error) {
	_, err := c.client.CoreV1().Endpoints(ns).Get(c.ctx(), name, metav1.GetOptions{}) //nolint:staticcheck // v1 Endpoints is what is tested
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (c *cluster) waitEndpoints(name string) time.Duration {
	c.t.Helper()
	return waitFor(c.t, "Endpoints of selector service "+name, startTimeout, c.procs(), func() (bool, error) { return c.endpointsOf(name) })
}

type endpointsResult struct {
	Changed             bool
	Mirroring           string
	EndpointsController string `json:"endpoints_controller"`
	Warnings            []string
}

// TestEndpointsController (issue 16 §3) on the real kube-apiserver and kube-controller-manager 1.37.2:
// `disable --endpoints-controller --kubeconfig` passes the guard from what the cluster shows (one
// identity lease, /version 1.37.2), and after kcm restarts from the edited manifest a new selector
// Service gets its EndpointSlice and no Endpoints; `enable --endpoints-controller` brings Endpoints
// back. Then the guard refuses, files untouched: a second kube-apiserver whose mirror pod is real
// kubeadm 1.31's manifest (with its identity lease), and, without --kubeconfig, a node whose own
// apiserver manifest is kubeadm 1.31's.
func TestEndpointsController(t *testing.T) {
	kcmBin := bin(t, set137, "kube-controller-manager")
	kubeadm := bin(t, set137, "kubeadm")
	mirrorctlBin(t)
	c := newCluster(t)
	root := c.root
	manifest, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	run(t, nil, kubeadm, "init", "phase", "upload-config", "kubeadm", "--config", config, "--kubeconfig", filepath.Join(root, adminConf))

	// 1. kubeadm's manifest: the Endpoints controller writes Endpoints for a selector Service.
	c.startKCM(kcmBin, manifest)
	c.probeControllers("ep-probe-1")
	took := c.waitEndpoints("ep-probe-1")
	if !slices.Contains(c.healthzLines(), endpointsHealthz) {
		t.Fatalf("kcm health lacks %s: %q", endpointsHealthz, c.healthzLines())
	}

	// 2. The guard reads the cluster: one kube-apiserver identity lease, /version v1.37.2.
	out, errOut, code := mirrorctlExit(t, root, "disable", "--endpoints-controller", "--kubeconfig", adminConf)
	if code != 0 {
		t.Fatalf("disable --endpoints-controller --kubeconfig: exit %d\n%s", code, errOut)
	}
	r := decode[endpointsResult](t, "disable", out)
	if !r.Changed || r.Mirroring != "disabled" || r.EndpointsController != "disabled" {
		t.Fatalf("disable: %+v", r)
	}
	if !strings.Contains(errOut, "the kube-apiserver answering /version: Kubernetes 1.37") {
		t.Errorf("the guard did not say which apiserver it checked:\n%s", errOut)
	}
	cmd := podCommand(t, manifest, "kube-controller-manager")
	if got := flagValues(cmd, "controllers"); !slices.Equal(got, []string{"*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller,-endpoints-controller"}) {
		t.Fatalf("--controllers after disable: %q", got)
	}
	validate(t, kubeadm, config)
	compareWithKubeadm(t, kubeadm, config, manifest, false)
	if cc, _ := c.configMapCC(); !strings.Contains(cc, "-endpoints-controller") {
		t.Errorf("the live kubeadm-config was not edited:\n%s", cc)
	}

	// 3. kcm restarted from the edited manifest: slices, no Endpoints.
	c.stopKCM()
	kcm := c.startKCM(kcmBin, manifest)
	c.probeControllers("ep-probe-2")
	window := max(10*time.Second, 2*took)
	c.holdsFor("no Endpoints for ep-probe-2", window, func() (bool, string) {
		if ok, err := c.endpointsOf("ep-probe-2"); err != nil || ok {
			return false, "Endpoints ep-probe-2 exists (or: " + errString(err) + ")"
		}
		return true, ""
	})
	t.Logf("Endpoints controller off: ep-probe-2 has its EndpointSlice and no Endpoints for %s", window)
	if !strings.Contains(kcm.log(), endpointsDisabledLog) {
		t.Fatalf("kcm log (%s) lacks %s", kcm.logPath, endpointsDisabledLog)
	}
	if h := c.healthzLines(); slices.Contains(h, endpointsHealthz) || !slices.Contains(h, signerHealthz) || !slices.Contains(h, cleanerHealthz) {
		t.Fatalf("kcm health: %q", h)
	}
	st := decode[struct {
		Mirroring           string
		EndpointsController string `json:"endpoints_controller"`
		Agree               bool
	}](t, "status", mustOK(t, root, "status", "--kubeconfig", adminConf))
	if st.Mirroring != "disabled" || st.EndpointsController != "disabled" || !st.Agree {
		t.Fatalf("status: %+v", st)
	}

	// 4. enable --endpoints-controller: kubeadm's flags again, and Endpoints come back.
	r = decode[endpointsResult](t, "enable", mustOK(t, root, "enable", "--endpoints-controller", "--kubeconfig", adminConf))
	if !r.Changed || r.Mirroring != "enabled" || r.EndpointsController != "enabled" {
		t.Fatalf("enable: %+v", r)
	}
	if got := flagValues(podCommand(t, manifest, "kube-controller-manager"), "controllers"); !slices.Equal(got, []string{"*,bootstrapsigner,tokencleaner"}) {
		t.Fatalf("--controllers after enable: %q", got)
	}
	c.stopKCM()
	c.startKCM(kcmBin, manifest)
	c.waitEndpoints("ep-probe-2")
	c.probeControllers("ep-probe-3")
	c.waitEndpoints("ep-probe-3")

	// 5. A second kube-apiserver at 1.31 (its identity lease and its mirror pod, made from real kubeadm
	// 1.31's manifest) next to this one (its mirror pod from kubeadm 1.37's): refused, nothing written.
	leases, err := c.client.CoordinationV1().Leases("kube-system").List(c.ctx(), metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity=kube-apiserver"})
	if err != nil || len(leases.Items) != 1 {
		t.Fatalf("identity leases of the harness's one kube-apiserver: %v, %v", leases, err)
	}
	host := leases.Items[0].Labels["kubernetes.io/hostname"]
	second := leases.Items[0].DeepCopy()
	second.ObjectMeta = metav1.ObjectMeta{Name: "apiserver-e2e-cp-2", Namespace: "kube-system",
		Labels: map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver", "kubernetes.io/hostname": "cp-2"}}
	now := metav1.NewMicroTime(time.Now())
	second.Spec.RenewTime = &now
	if _, err := c.client.CoordinationV1().Leases("kube-system").Create(c.ctx(), second, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.createMirrorPod(repoFile("testdata/kubeadm/v1.37/kube-apiserver.yaml"), host)
	c.createMirrorPod(repoFile("testdata/kubeadm/v1.31/kube-apiserver.yaml"), "cp-2")
	before := []string{readFile(t, manifest), readFile(t, config)}
	_, errOut, code = mirrorctlExit(t, root, "disable", "--endpoints-controller", "--kubeconfig", adminConf)
	if code != 1 || !strings.Contains(lastLine(errOut), "pod kube-system/kube-apiserver-cp-2 on cp-2 runs Kubernetes 1.31 (image registry.k8s.io/kube-apiserver:v1.31.0)") {
		t.Fatalf("mixed 1.37/1.31 apiservers: exit %d\n%s", code, errOut)
	}
	if readFile(t, manifest) != before[0] || readFile(t, config) != before[1] {
		t.Fatal("a refused disable changed a file")
	}
	if cc, _ := c.configMapCC(); strings.Contains(cc, "-endpoints-controller") {
		t.Fatal("a refused disable changed the live kubeadm-config")
	}

	// 6. Without --kubeconfig: this node's own apiserver manifest (kubeadm 1.31's) decides.
	copyFile(t, repoFile("testdata/kubeadm/v1.31/kube-apiserver.yaml"), filepath.Join(root, apiserverManifest))
	_, errOut, code = mirrorctlExit(t, root, "disable", "--endpoints-controller")
	if code != 1 || !strings.Contains(lastLine(errOut), "this node's kube-apiserver runs Kubernetes 1.31") {
		t.Fatalf("node guard on a 1.31 apiserver manifest: exit %d\n%s", code, errOut)
	}
	if readFile(t, manifest) != before[0] || readFile(t, config) != before[1] {
		t.Fatal("a refused disable changed a file")
	}
}

func mustOK(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, errOut, code := mirrorctlExit(t, root, args...)
	if code != 0 {
		t.Fatalf("mirrorctl %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
