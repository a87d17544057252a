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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mirrorctl/mirrorctl/snapshot"
)

func eps(ns, name string, lbl map[string]string) *corev1.Endpoints {
	return &corev1.Endpoints{ObjectMeta: objMeta(ns, name, lbl)}
}

func label(t *testing.T, cs *fake.Clientset, ns, name string) *string {
	t.Helper()
	e, err := cs.CoreV1().Endpoints(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Labels[LabelSkipMirror]; ok {
		return &v
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return "<absent>"
	}
	return *p
}

func skipFake(t *testing.T) *fake.Clientset {
	return pagedFake(t,
		eps("default", "kubernetes", map[string]string{LabelSkipMirror: "true"}),
		eps("default", "ext-a", map[string]string{"team": "x"}),
		eps("default", "ext-b", map[string]string{"team": "x", LabelSkipMirror: "false"}),
		eps("default", "ext-c", map[string]string{"team": "y", LabelSkipMirror: "true"}),
		eps("other", "ext-a", nil),
	)
}

func TestPlanSkipSelection(t *testing.T) {
	c := New(fakeAPI(skipFake(t)))
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		o       SkipOptions
		want    string // name:before>after,…
		err     string
		warning string
	}{
		{name: "selector", o: SkipOptions{Namespace: "default", Selector: "team=x"}, want: "ext-a:<absent>>true,ext-b:false>true"},
		{name: "names", o: SkipOptions{Namespace: "default", Names: []string{"ext-c", "ext-a"}}, want: "ext-a:<absent>>true,ext-c:true>true"},
		{name: "all leaves kubernetes out", o: SkipOptions{Namespace: "default", All: true}, want: "ext-a:<absent>>true,ext-b:false>true,ext-c:true>true", warning: "default/kubernetes"},
		{name: "undo", o: SkipOptions{Namespace: "default", Selector: "team", Undo: true}, want: "ext-a:<absent>><absent>,ext-b:false><absent>,ext-c:true><absent>"},
		{name: "namespace scoped", o: SkipOptions{Namespace: "other", All: true}, want: "ext-a:<absent>>true"},
		{name: "kubernetes by name", o: SkipOptions{Namespace: "default", Names: []string{"kubernetes"}}, err: "managed by the API server"},
		{name: "typo", o: SkipOptions{Namespace: "default", Names: []string{"ext-a", "ext-zz"}}, err: "ext-zz in namespace default: not found"},
		{name: "two selections", o: SkipOptions{Namespace: "default", All: true, Selector: "a"}, err: "exactly one"},
		{name: "bad selector", o: SkipOptions{Namespace: "default", Selector: "a in ("}, err: "--selector"},
		{name: "empty", o: SkipOptions{Namespace: "default", Selector: "team=none"}, want: "", warning: "no Endpoints selected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings, err := c.PlanSkip(ctx, tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, ch := range got {
				parts = append(parts, ch.Name+":"+str(ch.Before)+">"+str(ch.After))
			}
			if s := strings.Join(parts, ","); s != tc.want {
				t.Errorf("plan %s, want %s", s, tc.want)
			}
			if w := strings.Join(warnings, "\n"); !strings.Contains(w, tc.warning) || (tc.warning == "" && w != "") {
				t.Errorf("warnings %q, want %q", warnings, tc.warning)
			}
		})
	}
}

func TestApplyLabelsAndRollback(t *testing.T) {
	cs := skipFake(t)
	c := New(fakeAPI(cs))
	ctx := context.Background()
	plan, _, err := c.PlanSkip(ctx, SkipOptions{Namespace: "default", Selector: "team"})
	if err != nil {
		t.Fatal(err)
	}
	var patches int
	cs.PrependReactor("patch", "endpoints", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patches++
		p := string(a.(k8stesting.PatchActionImpl).GetPatch())
		if !strings.Contains(p, `"resourceVersion":"1"`) || !strings.Contains(p, `"uid":"uid-default-`) {
			t.Errorf("patch %s is not conditional on resourceVersion and uid", p)
		}
		return false, nil, nil
	})
	if n, err := c.ApplyLabels(ctx, plan); err != nil || n != len(plan) {
		t.Fatal(n, err)
	}
	if patches != 2 { // ext-c already had it
		t.Errorf("%d patches, want 2", patches)
	}
	for _, n := range []string{"ext-a", "ext-b", "ext-c"} {
		if v := str(label(t, cs, "default", n)); v != "true" {
			t.Errorf("%s: label %s", n, v)
		}
	}
	var recs []LabelRecord
	for _, ch := range plan {
		if ch.Changed() {
			recs = append(recs, ch.Record())
		}
	}
	// Someone set ext-b's label to something else: refused unless forced.
	e, _ := cs.CoreV1().Endpoints("default").Get(ctx, "ext-b", metav1.GetOptions{})
	e.Labels[LabelSkipMirror] = "maybe"
	if _, err := cs.CoreV1().Endpoints("default").Update(ctx, e, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PlanLabelRollback(ctx, recs, false); !errors.Is(err, snapshot.ErrDrift) || !strings.Contains(err.Error(), "default/ext-b") {
		t.Fatalf("rollback over drift: %v", err)
	}
	back, err := c.PlanLabelRollback(ctx, recs, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyLabels(ctx, back); err != nil {
		t.Fatal(err)
	}
	if a, b := label(t, cs, "default", "ext-a"), label(t, cs, "default", "ext-b"); a != nil || str(b) != "false" {
		t.Errorf("after rollback: ext-a %s (want absent), ext-b %s (want false)", str(a), str(b))
	}
	// A second rollback finds everything restored.
	back, err = c.PlanLabelRollback(ctx, recs, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range back {
		if ch.Changed() {
			t.Errorf("second rollback would change %s", ch.Name)
		}
	}
}

func TestApplyLabelsReReadsOnConflict(t *testing.T) {
	cs := skipFake(t)
	c := New(fakeAPI(cs))
	ctx := context.Background()
	plan, _, err := c.PlanSkip(ctx, SkipOptions{Namespace: "default", Names: []string{"ext-a"}})
	if err != nil {
		t.Fatal(err)
	}
	first := true
	cs.PrependReactor("patch", "endpoints", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if first {
			first = false
			// Someone labels it "false" in between: our record must say we replaced "false".
			gvr := schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}
			o, _ := cs.Tracker().Get(gvr, "default", "ext-a")
			n := o.(*corev1.Endpoints).DeepCopy()
			n.Labels = map[string]string{LabelSkipMirror: "false"}
			n.ResourceVersion = "2"
			_ = cs.Tracker().Update(gvr, n, "default")
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "endpoints"}, "ext-a", errors.New("modified"))
		}
		if p := string(a.(k8stesting.PatchActionImpl).GetPatch()); !strings.Contains(p, `"resourceVersion":"2"`) {
			t.Errorf("retry patch %s is not on the re-read version", p)
		}
		return false, nil, nil
	})
	if _, err := c.ApplyLabels(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if str(plan[0].Before) != "false" || str(label(t, cs, "default", "ext-a")) != "true" {
		t.Errorf("before %s, now %s", str(plan[0].Before), str(label(t, cs, "default", "ext-a")))
	}
}

func TestLabelFileChange(t *testing.T) {
	ch := LabelChange{Namespace: "ns", Name: "db", Labels: map[string]string{"app": "db"}, After: &trueValue}
	d := ch.FileChange().UnifiedDiff()
	want := "--- a/endpoints:ns/db\n+++ b/endpoints:ns/db\n@@ -1,3 +1,4 @@\n metadata:\n   labels:\n     app: \"db\"\n+    endpointslice.kubernetes.io/skip-mirror: \"true\"\n"
	if d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
}
