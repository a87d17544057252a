package e2e

// Issue 16 §1, §4, §5 against the real kube-apiserver and kube-controller-manager 1.37: who writes each
// mirrored Endpoints (kubectl → static, a client-go writer → live), who reads Endpoints (from an audit
// log the real apiserver writes, and its /metrics), what the two controllers cost (checked against a
// count taken with the API), and prune-endpoints deleting and restoring the Endpoints controller's
// objects once that controller is off.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	epManagedBy    = "endpoints.kubernetes.io/managed-by"
	epController   = "endpoint-controller"
	dashboardAgent = "legacy-dashboard/2.1"
)

// auditPolicy logs every request on endpoints at Metadata level and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["endpoints"]
- level: None
`

type writerOut struct {
	Manager, Operation, Kind, Reason string
	Updated                          *time.Time
}

type ecAudit struct {
	Safe         bool `json:"safe"`
	ControlPlane []struct {
		Node                string `json:"node"`
		EndpointsController string `json:"endpoints_controller"`
	} `json:"control_plane"`
	MirroredSlices []struct {
		Namespace, Service string
		Writer             *writerOut
	} `json:"mirrored_slices"`
	WouldMirror []struct {
		Namespace, Name string
		Writer          writerOut
	} `json:"would_mirror"`
	Cost struct {
		Endpoints      struct{ Objects, Bytes int64 } `json:"endpoints"`
		MirroredSlices struct{ Objects, Bytes int64 } `json:"mirrored_slices"`
	} `json:"cost"`
	EndpointsController *struct {
		Safe    bool `json:"safe"`
		Metrics *struct {
			DeprecatedRequested bool               `json:"deprecated_requested"`
			Reads               map[string]float64 `json:"reads"`
		} `json:"metrics"`
		AuditLog *struct {
			Events         int `json:"events"`
			EndpointsReads int `json:"endpoints_reads"`
		} `json:"audit_log"`
		Readers []struct {
			User      string         `json:"user"`
			UserAgent string         `json:"user_agent"`
			Verbs     map[string]int `json:"verbs"`
			Requests  int            `json:"requests"`
			Last      time.Time      `json:"last"`
			Component string         `json:"component"`
			Blocks    bool           `json:"blocks"`
		} `json:"readers"`
		Findings []string `json:"findings"`
	} `json:"endpoints_controller"`
}

type pruneOut struct {
	Changed  bool    `json:"changed"`
	DryRun   bool    `json:"dry_run"`
	Snapshot *string `json:"snapshot"`
	Objects  []struct {
		Namespace, Name, Action string
	} `json:"objects"`
	Warnings []string `json:"warnings"`
}

func selectorSvc(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
}

// controllerCost is the figure `cost` must match, counted here with the API: the objects carrying the
// label and the protobuf size of each as listed.
func (c *cluster) controllerCost() (eps, epBytes, slices, sliceBytes int64) {
	c.t.Helper()
	el, err := c.client.CoreV1().Endpoints("").List(c.ctx(), metav1.ListOptions{LabelSelector: epManagedBy + "=" + epController}) //nolint:staticcheck
	if err != nil {
		c.t.Fatal(err)
	}
	for i := range el.Items {
		eps++
		epBytes += int64(el.Items[i].Size())
	}
	sl, err := c.client.DiscoveryV1().EndpointSlices("").List(c.ctx(), metav1.ListOptions{LabelSelector: "endpointslice.kubernetes.io/managed-by=" + mirrorManagedBy})
	if err != nil {
		c.t.Fatal(err)
	}
	for i := range sl.Items {
		slices++
		sliceBytes += int64(sl.Items[i].Size())
	}
	return
}

func TestEndpointsWritersReadersCostPrune(t *testing.T) {
	kcmBin := bin(t, set137, "kube-controller-manager")
	kubeadm := bin(t, set137, "kubeadm")
	kubectl := bin(t, set137, "kubectl")
	mirrorctlBin(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	writeFile(t, policy, []byte(auditPolicy), 0o600)
	auditLog := filepath.Join(dir, "audit.log")
	c := newCluster(t, "--audit-policy-file="+policy, "--audit-log-path="+auditLog, "--audit-log-mode=blocking")
	root := c.root
	manifest, _ := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	c.startKCM(kcmBin, manifest)
	c.createMirrorPod(manifest, "e2e-node")
	ctx := c.ctx()

	// The Endpoints controller writes labelled Endpoints for Services with a selector.
	c.ensureNamespace("shop")
	for _, n := range []string{"cart", "checkout"} {
		if _, err := c.client.CoreV1().Services("shop").Create(ctx, selectorSvc("shop", n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the Endpoints controller's shop Endpoints", startTimeout, c.procs(), func() (bool, error) {
		l, err := c.client.CoreV1().Endpoints("shop").List(ctx, metav1.ListOptions{LabelSelector: epManagedBy + "=" + epController}) //nolint:staticcheck
		return err == nil && len(l.Items) == 2, err
	})

	// Selector-less: one written with the real kubectl (static), one kept current by a client-go
	// writer with its own field manager (live).
	c.ensureNamespace("legacy")
	objs := filepath.Join(dir, "by-hand.yaml")
	writeFile(t, objs, []byte(`apiVersion: v1
kind: Service
metadata: {name: by-hand, namespace: legacy}
spec:
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: by-hand, namespace: legacy}
subsets:
- addresses: [{ip: 192.0.2.40}]
  ports: [{port: 8443}]
`), 0o600)
	run(t, nil, kubectl, "--kubeconfig", filepath.Join(root, adminConf), "create", "-f", objs)
	if err := userEndpoints(ctx, c.client, "legacy", "synced", "192.0.2.41", nil, nil); err != nil {
		t.Fatal(err)
	}
	ep, err := c.client.CoreV1().Endpoints("legacy").Get(ctx, "synced", metav1.GetOptions{}) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	ep.Subsets[0].Addresses[0].IP = "192.0.2.42"
	if _, err := c.client.CoreV1().Endpoints("legacy").Update(ctx, ep, metav1.UpdateOptions{FieldManager: "ip-syncer"}); err != nil { //nolint:staticcheck
		t.Fatal(err)
	}
	c.waitSlices("legacy", "by-hand", true)
	c.waitSlices("legacy", "synced", true)

	// A client that still lists Endpoints, with its own user agent.
	cfg := rest.CopyConfig(c.admin)
	cfg.UserAgent = dashboardAgent
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Endpoints("").List(ctx, metav1.ListOptions{}); err != nil { //nolint:staticcheck
		t.Fatal(err)
	}

	// §1 and §5: writers and cost.
	out, errOut, code := mirrorctlExit(t, root, "audit", "--kubeconfig", adminConf, "--endpoints-controller", "--audit-log", auditLog)
	if code != exitFindings {
		t.Fatalf("audit --endpoints-controller: exit %d, want 3\n%s", code, errOut)
	}
	a := decode[ecAudit](t, "audit", out)
	writers := map[string]writerOut{}
	for _, w := range a.WouldMirror {
		writers[w.Namespace+"/"+w.Name] = w.Writer
	}
	if w := writers["legacy/by-hand"]; w.Kind != "static" || w.Manager != "kubectl-create" || w.Operation != "Update" || w.Updated == nil {
		t.Errorf("writer of the kubectl-made Endpoints: %+v, want static by kubectl-create", w)
	}
	if w := writers["legacy/synced"]; w.Kind != "live" || w.Manager != "ip-syncer" || w.Updated == nil || time.Since(*w.Updated) > 5*time.Minute {
		t.Errorf("writer of the client-go-updated Endpoints: %+v, want live by ip-syncer, just now", w)
	}
	for _, m := range a.MirroredSlices {
		if m.Writer == nil || m.Writer.Kind != writers[m.Namespace+"/"+m.Service].Kind {
			t.Errorf("mirrored_slices %s/%s writer %+v", m.Namespace, m.Service, m.Writer)
		}
	}
	if len(a.ControlPlane) != 1 || a.ControlPlane[0].EndpointsController != "enabled" {
		t.Errorf("control_plane %+v, want the Endpoints controller enabled", a.ControlPlane)
	}
	eps, epBytes, sl, slBytes := c.controllerCost()
	if a.Cost.Endpoints.Objects != eps || a.Cost.Endpoints.Bytes != epBytes || a.Cost.MirroredSlices.Objects != sl || a.Cost.MirroredSlices.Bytes != slBytes || eps < 2 || sl < 2 {
		t.Errorf("cost %+v, the API counts Endpoints %d (%d bytes), mirrored slices %d (%d bytes)", a.Cost, eps, epBytes, sl, slBytes)
	}
	t.Logf("cost: %d Endpoints (%d bytes), %d mirrored slices (%d bytes)", eps, epBytes, sl, slBytes)

	// §4: the readers. The dashboard blocks; kube-controller-manager's informers do not.
	ec := a.EndpointsController
	if ec == nil || ec.Safe || ec.Metrics == nil || !ec.Metrics.DeprecatedRequested || ec.Metrics.Reads["LIST"] < 1 || ec.AuditLog == nil || ec.AuditLog.EndpointsReads < 2 {
		t.Fatalf("endpoints_controller: %+v", ec)
	}
	var dashboard, kcm bool
	for _, r := range ec.Readers {
		t.Logf("reader %s %q: %d requests %v, last %s, component %q, blocks %v", r.User, r.UserAgent, r.Requests, r.Verbs, r.Last, r.Component, r.Blocks)
		switch {
		case r.UserAgent == dashboardAgent:
			dashboard = r.Blocks && r.User == "kubernetes-super-admin" && r.Verbs["list"] >= 1 && time.Since(r.Last) < 5*time.Minute
		case r.User == "system:kube-controller-manager":
			kcm = !r.Blocks && r.Component == "kube-controller-manager" && r.Verbs["watch"]+r.Verbs["list"] >= 1
		}
	}
	if !dashboard || !kcm {
		t.Errorf("readers: dashboard blocking %v, kcm non-blocking %v: %+v", dashboard, kcm, ec.Readers)
	}
	if !strings.Contains(strings.Join(ec.Findings, "\n"), dashboardAgent) {
		t.Errorf("findings %q do not name the dashboard", ec.Findings)
	}
	// The same log cut to the control plane's and mirrorctl's lines: nothing blocks, exit 0.
	var keep []string
	for _, l := range strings.Split(readFile(t, auditLog), "\n") {
		if strings.Contains(l, `"username":"system:kube-controller-manager"`) || strings.Contains(l, `"userAgent":"mirrorctl"`) {
			keep = append(keep, l)
		}
	}
	cpLog := filepath.Join(dir, "control-plane.log")
	writeFile(t, cpLog, []byte(strings.Join(keep, "\n")+"\n"), 0o600)
	if _, errOut, code := mirrorctlExit(t, root, "audit", "--kubeconfig", adminConf, "--endpoints-controller", "--audit-log", cpLog); code != 0 {
		t.Errorf("audit of a log with only control-plane readers: exit %d, want 0\n%s", code, errOut)
	}
	// The text says it too.
	cmd := exec.Command(mirrorctlBin(t), "--root", root, "audit", "--kubeconfig", adminConf, "--endpoints-controller", "--audit-log", auditLog)
	text, _ := cmd.Output()
	t.Logf("mirrorctl audit --endpoints-controller (text):\n%s", text)
	for _, s := range []string{"static: kubectl-create Update", "live: ip-syncer Update", dashboardAgent, "NOT SAFE to stop the Endpoints controller", "COST"} {
		if !strings.Contains(string(text), s) {
			t.Errorf("text audit lacks %q", s)
		}
	}
	// A bad line: one-line error naming the file and the line, exit 1.
	bad := filepath.Join(dir, "bad.log")
	lines := strings.SplitN(readFile(t, auditLog), "\n", 3)
	writeFile(t, bad, []byte(lines[0]+"\n"+lines[1]+"\n{\"kind\": \"Event\", truncated\n"), 0o600)
	if _, errOut, code := mirrorctlExit(t, root, "audit", "--kubeconfig", adminConf, "--endpoints-controller", "--audit-log", bad); code != 1 || !strings.Contains(errOut, bad+":3:") {
		t.Errorf("bad audit log: exit %d, stderr %q", code, errOut)
	}
	if os.Getenv("MIRRORCTL_E2E_KEEP_AUDIT") != "" { // to refresh cluster/testdata's real examples
		copyFile(t, auditLog, os.Getenv("MIRRORCTL_E2E_KEEP_AUDIT")+"/audit.log")
		raw, err := c.client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, os.Getenv("MIRRORCTL_E2E_KEEP_AUDIT")+"/metrics.txt", raw, 0o600)
	}

	// §5 prune-endpoints: refused while the Endpoints controller runs, nothing deleted.
	before, err := c.client.CoreV1().Endpoints("shop").List(ctx, metav1.ListOptions{}) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := mirrorctlExit(t, root, "prune-endpoints", "--kubeconfig", adminConf, "-n", "shop"); code != 1 || !strings.Contains(errOut, "runs on e2e-node") {
		t.Fatalf("prune-endpoints with the controller on: exit %d %s", code, errOut)
	}
	c.shopEndpoints(2)

	// The controller off (the kcm manifest and its mirror pod say so): prune deletes, and they stay gone.
	c.stopKCM()
	off := filepath.Join(dir, "kcm-no-endpoints.yaml")
	m := readFile(t, manifest)
	if !strings.Contains(m, "--controllers=*,bootstrapsigner,tokencleaner") {
		t.Fatalf("%s: no kubeadm --controllers", manifest)
	}
	writeFile(t, off, []byte(strings.Replace(m, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpoints-controller", 1)), 0o600)
	c.startKCM(kcmBin, off)
	// No kubelet confirms the termination: delete the mirror pod at once.
	if err := c.client.CoreV1().Pods("kube-system").Delete(ctx, "kube-controller-manager-e2e-node", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	c.createMirrorPod(off, "e2e-node")

	p := decode[pruneOut](t, "prune-endpoints", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf, "--dry-run"))
	if !p.Changed || !p.DryRun || p.Snapshot != nil || len(p.Objects) != 2 || p.Objects[0].Name != "cart" || p.Objects[0].Action != "delete" {
		t.Fatalf("prune-endpoints --dry-run: %+v", p)
	}
	c.shopEndpoints(2)
	p = decode[pruneOut](t, "prune-endpoints", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf, "-n", "shop"))
	if !p.Changed || p.Snapshot == nil || len(p.Objects) != 2 {
		t.Fatalf("prune-endpoints: %+v", p)
	}
	c.shopEndpoints(0)
	c.holdsFor("pruned Endpoints stay gone with the controller off", 3*time.Second, func() (bool, string) {
		l, err := c.client.CoreV1().Endpoints("shop").List(ctx, metav1.ListOptions{}) //nolint:staticcheck
		return err == nil && len(l.Items) == 0, "re-created"
	})
	if p := decode[pruneOut](t, "prune-endpoints", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf)); p.Changed {
		t.Errorf("second prune changed something: %+v", p)
	}
	out, errOut, code = mirrorctlExit(t, root, "audit", "--kubeconfig", adminConf)
	if code != exitFindings {
		t.Fatalf("audit after the prune: exit %d\n%s", code, errOut)
	}
	a = decode[ecAudit](t, "audit", out)
	if len(a.ControlPlane) != 1 || a.ControlPlane[0].EndpointsController != "disabled" || a.Cost.Endpoints.Objects != 0 || a.EndpointsController != nil {
		t.Errorf("audit after the prune: control_plane %+v, cost %+v, endpoints_controller %+v", a.ControlPlane, a.Cost, a.EndpointsController)
	}

	// The restore brings them back as they were (labels, annotations, subsets).
	p = decode[pruneOut](t, "prune-endpoints --rollback", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf, "--rollback"))
	if !p.Changed || len(p.Objects) != 2 || p.Objects[0].Action != "create" {
		t.Fatalf("prune-endpoints --rollback: %+v", p)
	}
	same := func(after []corev1.Endpoints) { //nolint:staticcheck
		for i := range before.Items {
			b, a := before.Items[i], after[i]
			if b.Name != a.Name || !reflect.DeepEqual(b.Labels, a.Labels) || !reflect.DeepEqual(b.Annotations, a.Annotations) || !reflect.DeepEqual(b.Subsets, a.Subsets) {
				t.Errorf("restored %s differs:\nbefore %+v\nafter  %+v", b.Name, b.ObjectMeta, a.ObjectMeta)
			}
		}
	}
	same(c.shopEndpoints(2))
	if p := decode[pruneOut](t, "prune-endpoints --rollback", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf, "--rollback")); p.Changed {
		t.Errorf("second restore changed something: %+v", p)
	}

	// The general `rollback ID --kubeconfig` restores a prune as well.
	p = decode[pruneOut](t, "prune-endpoints", runOK(t, root, "prune-endpoints", "--kubeconfig", adminConf, "-n", "shop"))
	c.shopEndpoints(0)
	runOK(t, root, "rollback", "--kubeconfig", adminConf, *p.Snapshot)
	same(c.shopEndpoints(2))
}

func runOK(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, errOut, code := mirrorctlExit(t, root, args...)
	if code != 0 {
		t.Fatalf("mirrorctl %q: exit %d\n%s", args, code, errOut)
	}
	return out
}

// shopEndpoints checks that namespace shop holds n Endpoints and returns them, sorted by name.
func (c *cluster) shopEndpoints(n int) []corev1.Endpoints { //nolint:staticcheck
	c.t.Helper()
	l, err := c.client.CoreV1().Endpoints("shop").List(context.Background(), metav1.ListOptions{}) //nolint:staticcheck
	if err != nil && !apierrors.IsNotFound(err) {
		c.t.Fatal(err)
	}
	if len(l.Items) != n {
		c.t.Fatalf("shop holds %d Endpoints, want %d", len(l.Items), n)
	}
	return l.Items
}
