package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mirrorctl/mirrorctl/snapshot"
)

func controllerEndpoints(ns, name, ip string) *corev1.Endpoints {
	return &corev1.Endpoints{ObjectMeta: objMeta(ns, name, map[string]string{LabelEndpointsManagedBy: EndpointsController, "app": name}),
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: ip}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}
}

func selectorService(ns, name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: objMeta(ns, name, nil), Spec: corev1.ServiceSpec{Selector: sel}}
}

func TestPlanPruneSelectsAndRefuses(t *testing.T) {
	objs := []runtime.Object{
		selectorService("a", "web", map[string]string{"app": "web"}), controllerEndpoints("a", "web", "192.0.2.1"),
		selectorService("b", "api", map[string]string{"app": "api"}), controllerEndpoints("b", "api", "192.0.2.2"),
		controllerEndpoints("a", "orphan", "192.0.2.3"), // Service gone
		selectorService("a", "now-manual", nil), controllerEndpoints("a", "now-manual", "192.0.2.4"),
		// hand-written: no label
		selectorService("a", "ext", nil), &corev1.Endpoints{ObjectMeta: objMeta("a", "ext", nil)},
	}
	for _, tc := range []struct {
		name    string
		kcmArgs []string // nil: no kcm pod
		force   bool
		dryRun  bool
		err     string
		warn    string
	}{
		{name: "off everywhere", kcmArgs: []string{"--controllers=*,-endpoints-controller"}},
		{name: "off by alias", kcmArgs: []string{"--controllers=-endpoint,*"}},
		{name: "on by default", kcmArgs: []string{"--controllers=*,bootstrapsigner"}, err: "runs on cp-1"},
		{name: "first mention wins", kcmArgs: []string{"--controllers=endpoint,-endpoints-controller,*"}, err: "runs on cp-1"},
		{name: "not visible", err: "no kube-controller-manager mirror pods"},
		{name: "forced", kcmArgs: []string{"--controllers=*"}, force: true, warn: "runs on cp-1"},
		{name: "dry run warns", kcmArgs: []string{"--controllers=*"}, dryRun: true, warn: "runs on cp-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := append([]runtime.Object{}, objs...)
			if tc.kcmArgs != nil {
				all = append(all, kcm("cp-1", tc.kcmArgs...))
			}
			c := New(fakeAPI(pagedFake(t, all...)))
			plan, warnings, err := c.PlanPrune(context.Background(), PruneOptions{Force: tc.force}, tc.dryRun)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range plan {
				names = append(names, p.Namespace+"/"+p.Name)
			}
			if strings.Join(names, " ") != "a/web b/api" {
				t.Errorf("plan %v, want a/web b/api", names)
			}
			w := strings.Join(warnings, "\n")
			if !strings.Contains(w, "1 Endpoints") || !strings.Contains(w, "Service is gone") || !strings.Contains(w, "has no selector") ||
				strings.Contains(w, "runs on") != (tc.warn != "") {
				t.Errorf("warnings %q", warnings)
			}
		})
	}
}

// Deleted objects come back with their labels and subsets; one the controller wrote again needs
// nothing; one someone else wrote is drift.
func TestPruneDeleteAndRestore(t *testing.T) {
	cs := pagedFake(t, selectorService("a", "web", map[string]string{"app": "web"}), controllerEndpoints("a", "web", "192.0.2.1"),
		selectorService("a", "db", map[string]string{"app": "db"}), controllerEndpoints("a", "db", "192.0.2.2"),
		kcm("cp-1", "--controllers=*,-endpoints-controller"))
	c := New(fakeAPI(cs))
	ctx := context.Background()
	plan, _, err := c.PlanPrune(ctx, PruneOptions{}, false)
	if err != nil || len(plan) != 2 {
		t.Fatalf("plan %v %v", plan, err)
	}
	var recs []DeletedRecord
	for _, p := range plan {
		if fc := p.FileChange(); !fc.Changed() || fc.After != nil || !strings.Contains(string(fc.Before.Data), "192.0.2.") {
			t.Errorf("%s: file change %+v", p.Name, fc)
		}
		r, err := p.Record()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if n, err := c.DeleteEndpoints(ctx, plan); err != nil || n != 2 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := cs.CoreV1().Endpoints("a").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a/web still there: %v", err)
	}
	// Someone creates db by hand meanwhile: drift.
	if _, err := cs.CoreV1().Endpoints("a").Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PlanRestore(ctx, recs, false); !errors.Is(err, snapshot.ErrDrift) || !strings.Contains(err.Error(), "a/db") {
		t.Fatalf("restore over drift: %v", err)
	}
	back, err := c.PlanRestore(ctx, recs, true)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.CreateEndpoints(ctx, back); err != nil || n != 2 {
		t.Fatalf("create: %d %v", n, err)
	}
	e, err := cs.CoreV1().Endpoints("a").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || e.Labels[LabelEndpointsManagedBy] != EndpointsController || e.Subsets[0].Addresses[0].IP != "192.0.2.1" {
		t.Fatalf("a/web restored as %+v (%v)", e, err)
	}
	if e, _ := cs.CoreV1().Endpoints("a").Get(ctx, "db", metav1.GetOptions{}); len(e.Subsets) != 0 {
		t.Errorf("--force replaced the other writer's a/db: %+v", e)
	}
	// Written again by the controller: nothing to do.
	back, err = c.PlanRestore(ctx, recs[1:], false) // a/web
	if err != nil || !back[0].Skip {
		t.Fatalf("restore of an existing controller object: %+v %v", back, err)
	}
}
