package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// identityLease is a kube-apiserver identity lease as 1.37 writes it (labelAPIServerHeartbeatFunc).
func identityLease(id, host string, renewed time.Time) *coordinationv1.Lease {
	d := int32(3600)
	rt := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: id,
			Labels: map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver", "kubernetes.io/hostname": host}},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &d, RenewTime: &rt},
	}
}

func apiserverMirrorPod(node, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-apiserver-" + node,
			Labels: map[string]string{"component": "kube-apiserver", "tier": "control-plane"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "kube-apiserver", Image: image}}},
	}
}

func TestAPIServers(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name     string
		objs     []runtime.Object
		answered string
		complete bool
		why      string
		versions []string // of the servers found, in order
	}{
		{"one apiserver, no mirror pod (the e2e harness)", []runtime.Object{identityLease("apiserver-a", "cp-1", now)}, "v1.37.2", true, "", []string{"1.37"}},
		{"no identity lease", nil, "v1.37.2", false, "no kube-apiserver identity leases", []string{"1.37"}},
		{"a stale lease does not count", []runtime.Object{identityLease("apiserver-a", "cp-1", now), identityLease("apiserver-old", "cp-9", now.Add(-2*time.Hour))}, "v1.37.2", true, "", []string{"1.37"}},
		{"two apiservers, pods for both", []runtime.Object{
			identityLease("apiserver-a", "cp-1", now), identityLease("apiserver-b", "cp-2.example.internal", now),
			apiserverMirrorPod("cp-1", "registry.k8s.io/kube-apiserver:v1.37.2"), apiserverMirrorPod("cp-2", "registry.k8s.io/kube-apiserver:v1.36.5"),
		}, "v1.37.2", true, "", []string{"1.37", "1.36", "1.37"}},
		{"two apiservers, one pod", []runtime.Object{
			identityLease("apiserver-a", "cp-1", now), identityLease("apiserver-b", "cp-2", now),
			apiserverMirrorPod("cp-1", "registry.k8s.io/kube-apiserver:v1.37.2"),
		}, "v1.37.2", false, `apiserver-b (host "cp-2")`, []string{"1.37", "1.37"}},
		{"two apiservers, a digest-only pod", []runtime.Object{
			identityLease("apiserver-a", "cp-1", now), identityLease("apiserver-b", "cp-2", now),
			apiserverMirrorPod("cp-1", "registry.k8s.io/kube-apiserver:v1.37.2"), apiserverMirrorPod("cp-2", "registry.k8s.io/kube-apiserver@sha256:00"),
		}, "v1.37.2", false, "apiserver-b", []string{"1.37", "unknown", "1.37"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset(c.objs...)
			cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: c.answered}
			got, err := New(fakeAPI(cs)).APIServers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var vs []string
			for _, s := range got.Servers {
				vs = append(vs, s.Version.String())
			}
			if got.Complete != c.complete || !strings.Contains(got.Why, c.why) || strings.Join(vs, " ") != strings.Join(c.versions, " ") {
				t.Fatalf("complete %v why %q versions %q; want %v, %q, %q", got.Complete, got.Why, vs, c.complete, c.why, c.versions)
			}
		})
	}
}
