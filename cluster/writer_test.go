package cluster

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func mf(manager string, op metav1.ManagedFieldsOperationType, at time.Time, fields string) metav1.ManagedFieldsEntry {
	t := metav1.NewTime(at)
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: &t, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

const (
	subsets     = `{"f:subsets":{}}`
	skipLabel   = `{"f:metadata":{"f:labels":{".":{},"f:endpointslice.kubernetes.io/skip-mirror":{}}}}`
	lastApplied = `{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}},"f:subsets":{}}`
)

func TestClassifyWriter(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	hour := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name    string
		fields  []metav1.ManagedFieldsEntry
		kind    string
		manager string
	}{
		{"kubectl create", []metav1.ManagedFieldsEntry{mf("kubectl-create", metav1.ManagedFieldsOperationUpdate, hour(1), subsets)}, WriterStatic, "kubectl-create"},
		{"kubectl apply", []metav1.ManagedFieldsEntry{mf("kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate, hour(0), lastApplied)}, WriterStatic, "kubectl-client-side-apply"},
		{"server-side apply", []metav1.ManagedFieldsEntry{mf("kubectl", metav1.ManagedFieldsOperationApply, hour(0), subsets)}, WriterStatic, "kubectl"},
		{"controller recently", []metav1.ManagedFieldsEntry{
			mf("kubectl-create", metav1.ManagedFieldsOperationUpdate, hour(500), subsets),
			mf("external-ip-operator", metav1.ManagedFieldsOperationUpdate, hour(2), subsets)}, WriterLive, "external-ip-operator"},
		{"controller long ago", []metav1.ManagedFieldsEntry{mf("external-ip-operator", metav1.ManagedFieldsOperationUpdate, hour(24*8), subsets)}, WriterStatic, "external-ip-operator"},
		// mirrorctl's skip label (and kubectl label) is not a write of the content.
		{"label after controller", []metav1.ManagedFieldsEntry{
			mf("external-ip-operator", metav1.ManagedFieldsOperationUpdate, hour(3), subsets),
			mf("mirrorctl", metav1.ManagedFieldsOperationUpdate, hour(0), skipLabel),
			mf("kubectl-label", metav1.ManagedFieldsOperationUpdate, hour(0), skipLabel)}, WriterLive, "external-ip-operator"},
		{"label after kubectl", []metav1.ManagedFieldsEntry{
			mf("kubectl-edit", metav1.ManagedFieldsOperationUpdate, hour(3), subsets),
			mf("some-controller", metav1.ManagedFieldsOperationUpdate, hour(0), skipLabel)}, WriterStatic, "kubectl-edit"},
		// Same second: the controller wins (calling a live object static is the costly mistake).
		{"tie", []metav1.ManagedFieldsEntry{
			mf("kubectl-patch", metav1.ManagedFieldsOperationUpdate, hour(1), subsets),
			mf("syncer", metav1.ManagedFieldsOperationUpdate, hour(1), subsets)}, WriterLive, "syncer"},
		{"nothing", nil, WriterUnknown, ""},
		{"labels only", []metav1.ManagedFieldsEntry{mf("mirrorctl", metav1.ManagedFieldsOperationUpdate, hour(0), skipLabel)}, WriterUnknown, ""},
		// Unreadable fields count as a write.
		{"garbage fields", []metav1.ManagedFieldsEntry{mf("x", metav1.ManagedFieldsOperationUpdate, hour(0), `[`)}, WriterLive, "x"},
	} {
		w := ClassifyWriter(tc.fields, now, 0)
		if w.Kind != tc.kind || w.Manager != tc.manager || w.Reason == "" {
			t.Errorf("%s: %+v, want %s by %q", tc.name, w, tc.kind, tc.manager)
		}
		if w.Manager != "" && (w.Updated == nil || w.Operation == "") {
			t.Errorf("%s: %+v: no time or operation", tc.name, w)
		}
	}
	// The threshold is the caller's.
	f := []metav1.ManagedFieldsEntry{mf("syncer", metav1.ManagedFieldsOperationUpdate, hour(2), subsets)}
	if w := ClassifyWriter(f, now, time.Hour); w.Kind != WriterStatic {
		t.Errorf("2h old with a 1h threshold: %+v", w)
	}
	if w := ClassifyWriter(f, now, 3*time.Hour); w.Kind != WriterLive {
		t.Errorf("2h old with a 3h threshold: %+v", w)
	}
}
