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

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// A ClusterConfiguration as `kubeadm init` uploads it (v1beta4, no controllerManager extraArgs).
const liveCC = `apiServer: {}
apiVersion: kubeadm.k8s.io/v1beta4
caCertificatePath: /etc/kubernetes/pki/ca.crt
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  dnsDomain: cluster.local
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
`

func kubeadmCM(cc string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubeadm-config", UID: "cm-uid", ResourceVersion: "10"},
		Data: map[string]string{"ClusterConfiguration": cc}}
}

func editor(op controllers.Op) Editor {
	return func(b []byte) ([]byte, bool, error) {
		out, _, changed, err := patches.EditKubeadmConfig(b, op, "")
		return out, changed, err
	}
}

func getCC(t *testing.T, cs *fake.Clientset) string {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["ClusterConfiguration"]
}

var cmGR = schema.GroupResource{Resource: "configmaps"}

// The fake tracker does not check resourceVersion; conflicts injects the 409 a real server answers
// when someone else wrote in between, after making that other write (so the re-read sees it).
func conflicts(cs *fake.Clientset, n int, interfere func()) *int {
	updates := 0
	cs.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		if updates <= n {
			interfere()
			return true, nil, apierrors.NewConflict(cmGR, "kubeadm-config", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	return &updates
}

func TestApplyKubeadmConfigRetriesOnConflictAndKeepsTheOtherWrite(t *testing.T) {
	cs := fake.NewClientset(kubeadmCM(liveCC))
	c := New(fakeAPI(cs))
	interfered := 0
	updates := conflicts(cs, 2, func() {
		interfered++
		cm, _ := cs.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "kube-system", "kubeadm-config")
		n := cm.(*corev1.ConfigMap).DeepCopy()
		n.Data["ClusterConfiguration"] = strings.Replace(n.Data["ClusterConfiguration"], "clusterName: kubernetes", "clusterName: other-writer", 1)
		_ = cs.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, n, "kube-system")
	})
	var saved []ConfigMapRecord
	l, err := c.ApplyKubeadmConfig(context.Background(), editor(controllers.Disable), func(l *LiveChange) error {
		saved = append(saved, l.RecordOf())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.Attempts != 3 || *updates != 3 || len(saved) != 3 {
		t.Fatalf("attempts %d, updates %d, saves %d; want 3 each", l.Attempts, *updates, len(saved))
	}
	got := getCC(t, cs)
	if !strings.Contains(got, "clusterName: other-writer") || !strings.Contains(got, "-endpointslice-mirroring-controller") {
		t.Fatalf("final ClusterConfiguration lost a write:\n%s", got)
	}
	// The record saved before the successful write holds the other writer's version as "before".
	if last := saved[2]; !strings.Contains(last.DataBefore["ClusterConfiguration"], "other-writer") || last.SHA256After != shaOf(got) {
		t.Errorf("last record does not describe the write that landed: %+v", last)
	}
	// Idempotent: nothing left to do, no update.
	l, err = c.ApplyKubeadmConfig(context.Background(), editor(controllers.Disable), nil)
	if err != nil || l.Changed() || *updates != 3 {
		t.Errorf("second disable: changed=%v err=%v updates=%d", l.Changed(), err, *updates)
	}
}

func TestApplyKubeadmConfigGivesUpAfterBoundedRetries(t *testing.T) {
	cs := fake.NewClientset(kubeadmCM(liveCC))
	updates := conflicts(cs, 1000, func() {})
	_, err := New(fakeAPI(cs)).ApplyKubeadmConfig(context.Background(), editor(controllers.Disable), nil)
	if err == nil || !strings.Contains(err.Error(), "configmap:kube-system/kubeadm-config") {
		t.Fatalf("err = %v, want a conflict error naming the ConfigMap", err)
	}
	if *updates != MaxConflictRetries+1 {
		t.Errorf("%d updates, want %d", *updates, MaxConflictRetries+1)
	}
	if getCC(t, cs) != liveCC {
		t.Error("ConfigMap changed")
	}
}

func TestPlanKubeadmConfigErrors(t *testing.T) {
	for name, cm := range map[string]*corev1.ConfigMap{
		"no key":   {ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubeadm-config"}, Data: map[string]string{"other": "x"}},
		"bad yaml": kubeadmCM("kind: ClusterConfiguration\napiVersion: kubeadm.k8s.io/v1beta4\n  bad: [\n"),
	} {
		_, err := New(fakeAPI(fake.NewClientset(cm))).PlanKubeadmConfig(context.Background(), editor(controllers.Disable))
		if err == nil || !strings.HasPrefix(err.Error(), LivePath) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line starting with %s", name, err, LivePath)
		}
	}
	_, err := New(fakeAPI(fake.NewClientset())).PlanKubeadmConfig(context.Background(), editor(controllers.Disable))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing ConfigMap: %v", err)
	}
}

func TestConfigMapRollback(t *testing.T) {
	cs := fake.NewClientset(kubeadmCM(liveCC))
	c := New(fakeAPI(cs))
	ctx := context.Background()
	var rec ConfigMapRecord
	if _, err := c.ApplyKubeadmConfig(ctx, editor(controllers.Disable), func(l *LiveChange) error { rec = l.RecordOf(); return nil }); err != nil {
		t.Fatal(err)
	}
	disabled := getCC(t, cs)

	// Someone edits it after us: refused, nothing written.
	cm := kubeadmCM(disabled + "# operator note\n")
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RollbackConfigMap(ctx, rec, false, nil); !errors.Is(err, snapshot.ErrDrift) {
		t.Fatalf("rollback over a foreign edit: %v, want ErrDrift", err)
	}
	if getCC(t, cs) != disabled+"# operator note\n" {
		t.Fatal("a refused rollback wrote")
	}
	// Back to what we wrote: restored byte for byte; again: no change.
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Update(ctx, kubeadmCM(disabled), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := c.RollbackConfigMap(ctx, rec, false, nil)
	if err != nil || !l.Changed() || getCC(t, cs) != liveCC {
		t.Fatalf("rollback: %v changed=%v\n%s", err, l.Changed(), getCC(t, cs))
	}
	l, err = c.RollbackConfigMap(ctx, rec, false, nil)
	if err != nil || l.Changed() {
		t.Fatalf("second rollback: %v changed=%v", err, l.Changed())
	}
	// --force overwrites a foreign edit.
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Update(ctx, kubeadmCM("foreign"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RollbackConfigMap(ctx, rec, true, nil); err != nil || getCC(t, cs) != liveCC {
		t.Fatalf("forced rollback: %v", err)
	}
}

func TestLiveFileChangeDiff(t *testing.T) {
	l, err := New(fakeAPI(fake.NewClientset(kubeadmCM(liveCC)))).PlanKubeadmConfig(context.Background(), editor(controllers.Disable))
	if err != nil {
		t.Fatal(err)
	}
	f := l.FileChange()
	d := f.UnifiedDiff()
	if f.Path != LivePath || f.Kind != KindLive || !f.Changed() {
		t.Fatalf("file change %+v", f)
	}
	for _, want := range []string{"--- a/configmap:kube-system/kubeadm-config", "-controllerManager: {}", `+    value: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"`} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}
