package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/mirrorctl/mirrorctl/snapshot"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// managed is one managedFields entry; subsets says whether it owns the addresses.
func managed(manager string, op metav1.ManagedFieldsOperationType, at time.Time, subsets bool) metav1.ManagedFieldsEntry {
	raw := `{"f:metadata":{"f:labels":{".":{},"f:x":{}}}}`
	if subsets {
		raw = `{"f:subsets":{}}`
	}
	mt := metav1.NewTime(at)
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: &mt, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(raw)}}
}

// The writer rules adopt relies on: only writes of the addresses count, kubectl is a person.
func TestClassifyWriterForAdopt(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		name    string
		fields  []metav1.ManagedFieldsEntry
		kind    string
		manager string
	}{
		{"kubectl create, minutes ago", []metav1.ManagedFieldsEntry{managed("kubectl-create", "Update", now.Add(-time.Minute), true)}, WriterStatic, "kubectl-create"},
		{"server-side apply by kubectl", []metav1.ManagedFieldsEntry{managed("kubectl", "Apply", now.Add(-time.Second), true)}, WriterStatic, "kubectl"},
		{"a controller, a minute ago", []metav1.ManagedFieldsEntry{managed("ext-dns-operator", "Update", now.Add(-time.Minute), true)}, WriterLive, "ext-dns-operator"},
		{"a controller, eight days ago", []metav1.ManagedFieldsEntry{managed("ext-dns-operator", "Update", now.Add(-8*24*time.Hour), true)}, WriterStatic, "ext-dns-operator"},
		{"the latest writer of the subsets wins", []metav1.ManagedFieldsEntry{
			managed("kubectl-create", "Update", now.Add(-time.Hour), true),
			managed("ext-dns-operator", "Update", now.Add(-time.Minute), true)}, WriterLive, "ext-dns-operator"},
		{"a later label edit (mirrorctl's own) is not a write of the addresses", []metav1.ManagedFieldsEntry{
			managed("kubectl-create", "Update", now.Add(-time.Hour), true),
			managed("mirrorctl", "Update", now.Add(-time.Second), false)}, WriterStatic, "kubectl-create"},
		{"no managedFields", nil, WriterUnknown, ""},
		{"only a label writer", []metav1.ManagedFieldsEntry{managed("kubectl-label", "Update", now, false)}, WriterUnknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.fields}}
			w := ClassifyWriter(e.ManagedFields, now, DefaultStaticAfter)
			if w.Kind != tc.kind || w.Manager != tc.manager {
				t.Fatalf("got %+v, want kind %s manager %q", w, tc.kind, tc.manager)
			}
		})
	}
}

func epAddr(ip, host string) corev1.EndpointAddress {
	return corev1.EndpointAddress{IP: ip, Hostname: host}
}

func TestDesiredSlices(t *testing.T) {
	node := "n1"
	ref := &corev1.ObjectReference{Kind: "Pod", Namespace: "a", Name: "p", UID: "u1"}
	svc := &corev1.Service{ObjectMeta: objMeta("a", "db", nil)}
	e := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db", Labels: map[string]string{"team": "x"},
			Annotations: map[string]string{"keep": "1", corev1.EndpointsLastChangeTriggerTime: "t", corev1.LastAppliedConfigAnnotation: "{}"}},
		Subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.2", NodeName: &node, TargetRef: ref}, epAddr("2001:db8::1", "v6"), epAddr("not-an-ip", "")},
				NotReadyAddresses: []corev1.EndpointAddress{epAddr("192.0.2.010", "sloppy")},
				Ports:             []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
			// Same port as above: repacked into one subset with the addresses above.
			{Addresses: []corev1.EndpointAddress{epAddr("192.0.2.1", "h1")}, Ports: []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
		},
	}
	got, warnings := DesiredSlices(e, svc)
	want := []string{
		`IPv4 ["http"/TCP/80/-] 192.0.2.1 ready=true serving=- terminating=- host="h1" node=- zone=- ref=`,
		`IPv4 ["http"/TCP/80/-] 192.0.2.10 ready=false serving=- terminating=- host="sloppy" node=- zone=- ref=`,
		`IPv4 ["http"/TCP/80/-] 192.0.2.2 ready=true serving=- terminating=- host=- node="n1" zone=- ref=Pod/a/p/u1`,
		`IPv6 ["http"/TCP/80/-] 2001:db8::1 ready=true serving=- terminating=- host="v6" node=- zone=- ref=`,
	}
	if c := SliceContent(got); !reflect.DeepEqual(c, want) {
		t.Fatalf("content:\n%s\nwant:\n%s", strings.Join(c, "\n"), strings.Join(want, "\n"))
	}
	if len(got) != 2 || got[0].Name != "db-adopted-1" || got[1].Name != "db-adopted-2" {
		t.Fatalf("slices %d, names %s %s", len(got), got[0].Name, got[1].Name)
	}
	s := got[0]
	if s.Labels[LabelManagedBy] != AdoptController || s.Labels[LabelServiceName] != "db" || s.Labels["team"] != "x" ||
		!reflect.DeepEqual(s.Annotations, map[string]string{"keep": "1"}) {
		t.Errorf("labels %v annotations %v", s.Labels, s.Annotations)
	}
	if o := s.OwnerReferences; len(o) != 1 || o[0].Kind != "Service" || o[0].UID != svc.UID || o[0].Controller == nil || !*o[0].Controller {
		t.Errorf("owners %+v", o)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "1 address(es) are not valid IPs") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestDesiredSlicesBeyondTheLimit(t *testing.T) {
	var addrs []corev1.EndpointAddress
	for i := range MaxEndpointsPerSlice + 5 {
		addrs = append(addrs, corev1.EndpointAddress{IP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)})
	}
	e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "big"},
		Subsets: []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}}
	got, warnings := DesiredSlices(e, &corev1.Service{})
	if len(got) != 2 || len(got[0].Endpoints) != MaxEndpointsPerSlice || len(got[1].Endpoints) != 5 {
		t.Fatalf("%d slices", len(got))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "mirroring keeps the first 1000") {
		t.Errorf("warnings %q", warnings)
	}
}

func adoptFake(t *testing.T, now time.Time) (*Client, *fake.Clientset) {
	sel := func(ns, name string, selector map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: objMeta(ns, name, nil), Spec: corev1.ServiceSpec{Selector: selector}}
	}
	ep := func(ns, name, manager string, lbl map[string]string, ann map[string]string) *corev1.Endpoints {
		e := &corev1.Endpoints{ObjectMeta: objMeta(ns, name, lbl),
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}, Ports: []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}}
		e.Annotations = ann
		e.ManagedFields = []metav1.ManagedFieldsEntry{managed(manager, "Update", now.Add(-time.Minute), true)}
		return e
	}
	objs := []runtime.Object{
		sel("a", "db", nil), ep("a", "db", "kubectl-create", nil, nil),
		sel("a", "cache", nil), ep("a", "cache", "kubectl-client-side-apply", nil, nil),
		sel("a", "feed", nil), ep("a", "feed", "feed-operator", nil, nil),
		sel("a", "web", map[string]string{"app": "web"}), ep("a", "web", "kube-controller-manager", nil, nil),
		ep("a", "orphan", "kubectl-create", nil, nil),
		sel("a", "lock", nil), ep("a", "lock", "kubectl-create", nil, map[string]string{leaderAnnotation: "{}"}),
		sel("a", "skipped", nil), ep("a", "skipped", "kubectl-create", map[string]string{LabelSkipMirror: "true"}, nil),
		sel("default", "kubernetes", nil), ep("default", "kubernetes", "kube-apiserver", nil, nil),
	}
	cs := pagedFake(t, objs...)
	return New(fakeAPI(cs)), cs
}

func names(as []Adoption) string {
	var s []string
	for _, a := range as {
		s = append(s, fmt.Sprintf("%s:%d/%v", a.Name, len(a.Create), a.Label.Changed()))
	}
	return strings.Join(s, ",")
}

func TestPlanAdopt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    AdoptOptions
		want string
		warn string
		err  string
	}{
		{name: "named static", o: AdoptOptions{Names: []string{"db", "cache"}}, want: "cache:1/true,db:1/true"},
		{name: "all refuses the live one", o: AdoptOptions{All: true}, err: "endpoints a/feed is written by a controller (feed-operator, last Update at"},
		{name: "all with force", o: AdoptOptions{All: true, Force: true}, want: "cache:1/true,db:1/true,feed:1/true",
			warn: "left out 1 Endpoints of Services with a selector"},
		{name: "a short threshold makes the controller's static", o: AdoptOptions{Names: []string{"feed"}, StaleAfter: time.Second}, want: "feed:1/true"},
		{name: "named with a selector Service", o: AdoptOptions{Names: []string{"web"}}, err: "belongs to a Service with a selector"},
		{name: "named without a Service", o: AdoptOptions{Names: []string{"orphan"}}, err: "has no Service"},
		{name: "named leader lock", o: AdoptOptions{Names: []string{"lock"}}, err: "leader-election lock"},
		{name: "named, labelled already", o: AdoptOptions{Names: []string{"skipped"}}, warn: "left out endpoints a/skipped: labelled endpointslice.kubernetes.io/skip-mirror=true by someone else"},
		{name: "missing", o: AdoptOptions{Names: []string{"db", "nope"}}, err: "endpoints nope in namespace a: not found"},
		{name: "two selections", o: AdoptOptions{Names: []string{"db"}, All: true}, err: "exactly one of"},
		{name: "kubernetes", o: AdoptOptions{Namespace: "default", Names: []string{"kubernetes"}}, err: "managed by the API server"},
		{name: "kubernetes left out of all", o: AdoptOptions{Namespace: "default", All: true}, warn: "left out endpoints default/kubernetes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := adoptFake(t, t0)
			if tc.o.Namespace == "" {
				tc.o.Namespace = "a"
			}
			tc.o.Now = t0
			got, warnings, err := c.PlanAdopt(ctx, tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := names(got); n != tc.want {
				t.Errorf("plan %q, want %q", n, tc.want)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q, want %q", warnings, tc.warn)
			}
		})
	}
}

// TestAdoptIdempotentAndDrift: once the slices exist and the label is set, a plan changes nothing; an
// interrupted run (slices, no label) is finished by labelling only; Endpoints changed after adoption
// are refused; a rollback plan deletes only the recorded slices still carrying their UID.
func TestAdoptIdempotentAndDrift(t *testing.T) {
	ctx := context.Background()
	c, cs := adoptFake(t, t0)
	o := AdoptOptions{Namespace: "a", Names: []string{"db"}, Now: t0}
	plan, _, err := c.PlanAdopt(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var recs []SliceRecord
	if err := c.CreateSlices(ctx, &plan[0], func(s *discoveryv1.EndpointSlice) error {
		recs = append(recs, SliceRecord{Namespace: s.Namespace, Name: s.Name, Service: "db", UID: string(s.UID)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Interrupted before the label: the next plan creates nothing and labels.
	again, _, err := c.PlanAdopt(ctx, o)
	if err != nil || names(again) != "db:0/true" || !reflect.DeepEqual(again[0].Adopted, []string{"db-adopted-1"}) {
		t.Fatalf("plan after the slices: %s %v", names(again), err)
	}
	if _, err := c.ApplyLabels(ctx, []LabelChange{again[0].Label}); err != nil {
		t.Fatal(err)
	}
	again, _, err = c.PlanAdopt(ctx, o)
	if err != nil || names(again) != "db:0/false" || again[0].Changed() {
		t.Fatalf("plan after adoption: %s %v", names(again), err)
	}

	// The rollback plan: the label back to absent, the one slice deleted.
	rec := &Record{ID: "r", Labels: []LabelRecord{plan[0].Label.Record()}, Slices: recs}
	back, err := c.PlanAdoptRollback(ctx, rec, false)
	if err != nil || len(back.Labels) != 1 || back.Labels[0].After != nil || len(back.Slices) != 1 || len(back.FileChanges()) != 2 {
		t.Fatalf("rollback plan %+v %v", back, err)
	}
	// Someone re-created the slice under that name: not mirrorctl's to delete.
	rec.Slices[0].UID = "another"
	if _, err := c.PlanAdoptRollback(ctx, rec, false); !errors.Is(err, snapshot.ErrDrift) {
		t.Fatalf("rollback over a re-created slice: %v", err)
	}

	// The Endpoints changes after adoption: refused, nothing planned.
	e, _ := cs.CoreV1().Endpoints("a").Get(ctx, "db", metav1.GetOptions{})
	e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: "192.0.2.9"})
	if _, err := cs.CoreV1().Endpoints("a").Update(ctx, e, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PlanAdopt(ctx, o); err == nil || !strings.Contains(err.Error(), "changed since it was adopted") {
		t.Fatalf("plan after the Endpoints changed: %v", err)
	}
}
