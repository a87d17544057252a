package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// writeCert writes a self-signed certificate and key (PEM) under root: client-go opens and parses
// both when it builds the transport, so a path that does not resolve under the root fails Load.
func writeCert(t *testing.T, root, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, b []byte) {
		p := filepath.Join(root, dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put("ca.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	put("client.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	put("client.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func kubeconfig(server, ca, cert, key string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ` + server + `
    certificate-authority: ` + ca + `
users:
- name: u
  user:
    client-certificate: ` + cert + `
    client-key: ` + key + `
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "etc/kubernetes/pki")
	write := func(p, s string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Absolute node paths (as kubelet.conf has them) and paths relative to the kubeconfig's folder.
	write("etc/kubernetes/admin.conf", kubeconfig("https://10.0.0.1:6443", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/client.crt", "/etc/kubernetes/pki/client.key"))
	write("home/op/.kube/config", kubeconfig("https://10.0.0.2:6443", "../../../etc/kubernetes/pki/ca.crt", "../../../etc/kubernetes/pki/client.crt", "../../../etc/kubernetes/pki/client.key"))
	write("home/op/second", strings.Replace(kubeconfig("https://10.0.0.3:6443", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/client.crt", "/etc/kubernetes/pki/client.key"), "current-context: ctx", "current-context: other", 1))
	write("etc/kubernetes/outside.conf", kubeconfig("https://10.0.0.4:6443", "/etc/kubernetes/pki/ca.crt", "/no/such/client.crt", "/etc/kubernetes/pki/client.key"))
	write("etc/kubernetes/broken.conf", "clusters: [\n")
	root, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag, env, host, err string
	}{
		{name: "default admin.conf", host: "https://10.0.0.1:6443"},
		{name: "flag, relative paths", flag: "/home/op/.kube/config", host: "https://10.0.0.2:6443"},
		{name: "KUBECONFIG list: first file wins", env: "/home/op/.kube/config:/home/op/second", host: "https://10.0.0.2:6443"},
		{name: "flag beats KUBECONFIG", flag: "/etc/kubernetes/admin.conf", env: "/home/op/.kube/config", host: "https://10.0.0.1:6443"},
		{name: "cert outside the root", flag: "/etc/kubernetes/outside.conf", err: "/no/such/client.crt"},
		{name: "missing", flag: "/etc/kubernetes/none.conf", err: "kubeconfig /etc/kubernetes/none.conf: no such file or directory"},
		{name: "broken", flag: "/etc/kubernetes/broken.conf", err: "kubeconfig /etc/kubernetes/broken.conf:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			c, err := Load(root, tc.flag)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Host != tc.host {
				t.Errorf("host %s, want %s", c.Host, tc.host)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	root, err := nodefs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := snapshot.Open(root, "/var/lib/mirrorctl")
	r := OpenRecords(store)
	if l, err := r.List(); err != nil || l != nil {
		t.Fatalf("empty List = %v, %v", l, err)
	}
	if _, err := r.Latest(nil); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("Latest on nothing: %v", err)
	}
	unlock, err := store.Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	old := &Record{ID: NewID(t0), Time: t0, Op: "skip", Labels: []LabelRecord{{Namespace: "a", Name: "b", Label: LabelSkipMirror, After: &trueValue}}}
	newer := &Record{ID: NewID(t0.Add(time.Minute)), Time: t0.Add(time.Minute), Op: "disable", ConfigMaps: []ConfigMapRecord{{Namespace: "kube-system", Name: "kubeadm-config", Key: "ClusterConfiguration", DataBefore: map[string]string{"ClusterConfiguration": "x"}}}}
	for _, rec := range []*Record{old, newer} {
		if err := r.Save(rec); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(root.Host(r.Dir() + "/" + old.ID + ".json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", fi, err)
	}
	if di, _ := os.Stat(root.Host(r.Dir())); di.Mode().Perm() != 0o700 {
		t.Errorf("records dir mode %o", di.Mode().Perm())
	}
	got, err := r.Get(old.ID)
	if err != nil || str(got.Labels[0].After) != "true" || got.Labels[0].Before != nil {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if l, _ := r.Latest(nil); l.ID != newer.ID {
		t.Errorf("Latest = %s, want %s", l.ID, newer.ID)
	}
	if l, _ := r.Latest(func(x *Record) bool { return len(x.Labels) > 0 }); l.ID != old.ID {
		t.Errorf("Latest skip = %s, want %s", l.ID, old.ID)
	}
	if _, err := r.Get("../../etc/passwd"); err == nil {
		t.Error("Get took a path for an id")
	}
	if err := r.Remove(old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(old.ID); !errors.Is(err, ErrNoRecord) {
		t.Errorf("Get after Remove: %v", err)
	}
}
