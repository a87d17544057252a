package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

func TestKCMLease(t *testing.T) {
	holder, dur := "cp-2_5a1e", int32(15)
	renew := metav1.NewMicroTime(time.Now().Add(-4 * time.Second).Truncate(time.Microsecond))
	cs := fake.NewSimpleClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-controller-manager"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &renew},
	})
	l, err := New(fakeAPI(cs)).KCMLease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Holder != holder || l.Duration != 15*time.Second || !l.Renewed.Equal(renew.Time) {
		t.Errorf("lease = %+v", l)
	}
	if _, err := New(fakeAPI(fake.NewSimpleClientset())).KCMLease(context.Background()); !errors.Is(err, ErrNoLease) {
		t.Errorf("no lease: err = %v, want ErrNoLease", err)
	}
}

// An API server nobody listens on is "unreachable"; an answer from one (here: not found) is not.
func TestIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	writeCert(t, dir, "etc/kubernetes/pki")
	kc := kubeconfig("https://"+addr, "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/client.crt", "/etc/kubernetes/pki/client.key")
	if err := os.WriteFile(filepath.Join(dir, "etc/kubernetes/controller-manager.conf"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(root, "/etc/kubernetes/controller-manager.conf")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.KCMLease(ctx)
	if err == nil || !IsUnreachable(err) {
		t.Errorf("closed port: err = %v, IsUnreachable = %v", err, IsUnreachable(err))
	}
	_, err = New(fakeAPI(fake.NewSimpleClientset())).Kube.GetLease(ctx, "kube-system", "nope", metav1.GetOptions{})
	if err == nil || IsUnreachable(err) {
		t.Errorf("not found from the server counted as unreachable: %v", err)
	}
}
