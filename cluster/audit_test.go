package cluster

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
)

func kcm(node string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-controller-manager-" + node,
			Labels: map[string]string{"component": "kube-controller-manager", "tier": "control-plane"}, Annotations: map[string]string{mirrorPodAnno: "x"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
			{Name: "sidecar", Command: []string{"--controllers=-*"}},
			{Name: "kube-controller-manager", Image: "registry.k8s.io/kube-controller-manager:v1.37.2", Command: append([]string{"kube-controller-manager"}, args...)},
		}},
	}
}

// The audit classifies exactly like the controller decides, pages through every list, and makes no
// per-object calls.
func TestAuditClassifiesAndPaginates(t *testing.T) {
	const n = 1234
	var objs []runtime.Object
	var wantWould []ObjectRef
	for i := 0; i < n; i++ {
		ns := []string{"a", "b"}[i%2]
		svc := &corev1.Service{ObjectMeta: objMeta(ns, fmt.Sprintf("svc-%04d", i), nil)}
		ep := &corev1.Endpoints{ObjectMeta: objMeta(ns, svc.Name, nil)}
		switch i % 7 {
		case 0: // selector Service: its Endpoints belong to the endpoints controller
			svc.Spec.Selector = map[string]string{"app": "x"}
		case 1: // empty but non-nil selector: still a selector for the controller
			svc.Spec.Selector = map[string]string{}
		case 2:
			ep.Labels = map[string]string{LabelSkipMirror: "true"}
		case 3: // only the exact value "true" skips
			ep.Labels = map[string]string{LabelSkipMirror: "True"}
			wantWould = append(wantWould, ref(ns, i))
		case 4:
			ep.Annotations = map[string]string{leaderAnnotation: "{}"}
		case 5: // no Endpoints object at all
			ep = nil
		default:
			wantWould = append(wantWould, ref(ns, i))
		}
		objs = append(objs, svc)
		if ep != nil {
			objs = append(objs, ep)
		}
	}
	// Endpoints without a Service are not mirrored.
	objs = append(objs, &corev1.Endpoints{ObjectMeta: objMeta("a", "orphan", nil)})
	mirrored := func(ns, svc, name string, addrs int) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: objMeta(ns, name, map[string]string{LabelManagedBy: MirroringController, LabelServiceName: svc})}
		for j := 0; j < addrs; j++ {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("192.0.2.%d", j+1)}})
		}
		return s
	}
	objs = append(objs,
		mirrored("a", "svc-0006", "svc-0006-x1", 2), mirrored("a", "svc-0006", "svc-0006-x2", 1), mirrored("b", "svc-0013", "svc-0013-y", 1),
		// a regular controller's slice is not counted
		&discoveryv1.EndpointSlice{ObjectMeta: objMeta("a", "reg", map[string]string{LabelManagedBy: "endpointslice-controller.k8s.io", LabelServiceName: "svc-0000"})},
		kcm("cp-1", "--controllers=*,bootstrapsigner,tokencleaner"),
		kcm("cp-2", "--controllers", "*,bootstrapsigner", "--controllers=tokencleaner,-endpointslicemirroring"),
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-controller-manager"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("cp-2_6f1c")}},
	)
	sort.Slice(wantWould, func(i, j int) bool { return wantWould[i].String() < wantWould[j].String() })
	cs := pagedFake(t, objs...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2"}

	a, err := New(fakeAPI(cs)).RunAudit(context.Background(), AuditOptions{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(a.WouldMirror); !reflect.DeepEqual(got, wantWould) {
		t.Errorf("would_mirror: got %d %v…, want %d %v…", len(got), head(got), len(wantWould), head(wantWould))
	}
	wantSlices := []MirroredService{
		{Namespace: "a", Service: "svc-0006", Slices: []string{"svc-0006-x1", "svc-0006-x2"}, Endpoints: 3},
		{Namespace: "b", Service: "svc-0013", Slices: []string{"svc-0013-y"}, Endpoints: 1},
	}
	for _, m := range a.MirroredSlices { // no managedFields in the fake: nothing to judge by
		if m.Writer == nil || m.Writer.Kind != WriterUnknown {
			t.Errorf("mirrored_slices %s/%s writer %+v, want unknown", m.Namespace, m.Service, m.Writer)
		}
	}
	if !reflect.DeepEqual(withoutWriters(a.MirroredSlices), wantSlices) {
		t.Errorf("mirrored_slices = %+v, want %+v", a.MirroredSlices, wantSlices)
	}
	wantCP := []KCMPod{
		{Node: "cp-1", Pod: "kube-controller-manager-cp-1", Version: "v1.37", Controllers: "*,bootstrapsigner,tokencleaner", Mirroring: "enabled", EndpointsController: "enabled"},
		{Node: "cp-2", Pod: "kube-controller-manager-cp-2", Version: "v1.37", Controllers: "*,bootstrapsigner,tokencleaner,-endpointslicemirroring", Mirroring: "disabled", EndpointsController: "enabled", Leader: true},
	}
	for i := range wantCP {
		wantCP[i].Version = a.ControlPlane[i].Version // the version's rendering is patches' business
	}
	if !reflect.DeepEqual(a.ControlPlane, wantCP) {
		t.Errorf("control_plane = %+v, want %+v", a.ControlPlane, wantCP)
	}
	if !strings.HasPrefix(a.ControlPlane[0].Version, "1.37") && !strings.HasPrefix(a.ControlPlane[0].Version, "v1.37") {
		t.Errorf("version %q, want 1.37", a.ControlPlane[0].Version)
	}
	if a.Safe || a.Mirroring != "mixed" || len(a.Findings) != 2 || !strings.Contains(strings.Join(a.Warnings, "\n"), "disagree") {
		t.Errorf("safe=%v mirroring=%s findings=%q warnings=%q", a.Safe, a.Mirroring, a.Findings, a.Warnings)
	}
	// Pages: ceil(n/100) services, ceil(endpoints/100) endpoints, 1 slices, 1 pods, + version + lease.
	eps := a.Counts.Endpoints
	want := (n+99)/100 + (eps+99)/100 + 1 + 1 + 2
	if a.Counts.Services != n || a.Counts.Requests != want {
		t.Errorf("counts %+v, want %d services in %d requests", a.Counts, n, want)
	}
	for _, act := range cs.Actions() {
		if v := act.GetVerb(); v != "list" && !(v == "get" && (act.GetResource().Resource == "leases" || act.GetResource().Resource == "version")) && act.GetResource().Resource != "" {
			t.Errorf("per-object call: %s %s", v, act.GetResource().Resource)
		}
	}
}

func TestAuditCleanClusterIsSafe(t *testing.T) {
	cs := pagedFake(t,
		&corev1.Service{ObjectMeta: objMeta("default", "kubernetes", nil)},
		// the apiserver's reconciler labels its own Endpoints skip-mirror
		&corev1.Endpoints{ObjectMeta: objMeta("default", "kubernetes", map[string]string{LabelSkipMirror: "true"})},
		&corev1.Service{ObjectMeta: objMeta("a", "web", nil), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		&corev1.Endpoints{ObjectMeta: objMeta("a", "web", map[string]string{LabelSkipMirror: "true"})},
		kcm("cp-1", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring"),
	)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2"}
	a, err := New(fakeAPI(cs)).RunAudit(context.Background(), AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Safe || len(a.Findings) != 0 || a.Mirroring != "disabled" {
		t.Errorf("safe=%v mirroring=%s findings=%q", a.Safe, a.Mirroring, a.Findings)
	}
}

func TestConcludeAPIServicesByVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		finding bool
	}{{"v1.33.4", false}, {"v1.34.0", true}, {"v1.37.2", true}} {
		a := &Audit{APIServices: []APIServiceDepend{{Name: "v1beta1.metrics.k8s.io", Service: ObjectRef{"kube-system", "metrics"}}}}
		a.conclude(controllers.ParseVersion(tc.version))
		if got := len(a.Findings) == 1; got != tc.finding || a.Safe == tc.finding {
			t.Errorf("%s: findings %q safe %v, want finding=%v", tc.version, a.Findings, a.Safe, tc.finding)
		}
	}
}

func TestEffectiveControllers(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
		err  bool
	}{
		{[]string{"kcm"}, "*", false},
		{[]string{"kcm", "--controllers=*,bootstrapsigner"}, "*,bootstrapsigner", false},
		{[]string{"kcm", "--controllers", "a,b", "--v=2", "--controllers=c"}, "a,b,c", false},
		{[]string{"kcm", "--controllers=*, -foo"}, "", true},
		{[]string{"kcm", "--controllers"}, "*", false}, // a dangling flag is no value
	} {
		got, err := EffectiveControllers(tc.argv)
		if (err != nil) != tc.err || (!tc.err && strings.Join(got, ",") != tc.want) {
			t.Errorf("%q: %q, %v; want %q (error %v)", tc.argv, got, err, tc.want, tc.err)
		}
	}
}

func refsOf(m []MirroredEndpoints) []ObjectRef {
	var out []ObjectRef
	for _, e := range m {
		out = append(out, ObjectRef{e.Namespace, e.Name})
	}
	return out
}

func withoutWriters(m []MirroredService) []MirroredService {
	out := append([]MirroredService{}, m...)
	for i := range out {
		out[i].Writer = nil
	}
	return out
}

func head(r []ObjectRef) []ObjectRef {
	if len(r) > 3 {
		return r[:3]
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// With every kcm already off, mirrored slices are not a risk to come but a fact: stale now.
func TestConcludeStaleWhenMirroringIsOff(t *testing.T) {
	a := &Audit{ControlPlane: []KCMPod{{Node: "cp-1", Mirroring: "disabled"}, {Node: "cp-2", Mirroring: "disabled"}},
		MirroredSlices: []MirroredService{{Namespace: "a", Service: "db", Slices: []string{"db-1"}}}, Counts: Counts{MirroredSlices: 1}}
	a.conclude(controllers.ParseVersion("v1.37.2"))
	if a.Safe || a.Mirroring != "disabled" || len(a.Findings) != 1 || !strings.Contains(a.Findings[0], "already stale") {
		t.Errorf("safe=%v mirroring=%s findings=%q", a.Safe, a.Mirroring, a.Findings)
	}
	if len(a.Warnings) != 0 {
		t.Errorf("warnings %q, want none (the nodes agree)", a.Warnings)
	}
}
