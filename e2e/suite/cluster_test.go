package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// cluster is a control plane on loopback: etcd and kube-apiserver of the 1.37 set, certificates and
// kubeconfigs made by real kubeadm, and kube-controller-manager processes started from static pod
// manifests. root is laid out like a node (root/etc/kubernetes/{pki,*.conf}) so that the host paths in
// a kubeadm manifest map onto it one to one.
type cluster struct {
	t        testing.TB
	dir      string // scratch: logs, data dirs, cert dirs
	root     string // the node root: etc/kubernetes/pki, controller-manager.conf, super-admin.conf
	apiPort  int
	etcd     *proc
	api      *proc
	kcm      *proc
	kcmPort  int
	kcmCount int
	client   kubernetes.Interface
	admin    *rest.Config
}

const (
	// kubeadm refuses a loopback advertise address; a documentation address (RFC 5737) passes its
	// checks, and the kubeconfigs are pointed at 127.0.0.1 afterwards.
	advertiseAddress = "192.0.2.10"
	startTimeout     = 90 * time.Second
)

// apiArgs are appended to kube-apiserver's flags (an audit policy, say).
func newCluster(t *testing.T, apiArgs ...string) *cluster {
	t.Helper()
	kubeadm := bin(t, set137, "kubeadm")
	etcdBin := bin(t, set137, "etcd")
	apiBin := bin(t, set137, "kube-apiserver")

	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, root: filepath.Join(dir, "node")}
	for _, d := range []string{"logs", "node/etc/kubernetes/pki"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Stop in reverse start order, also when the test fails: an apiserver whose etcd is gone hangs for
	// minutes on shutdown, and a kcm whose apiserver is gone retries forever.
	t.Cleanup(func() {
		c.kcm.stop()
		c.api.stop()
		c.etcd.stop()
		if t.Failed() {
			for _, p := range []*proc{c.kcm, c.api, c.etcd} {
				if p != nil {
					t.Logf("--- %s log tail (%s):\n%s", p.name, p.logPath, p.tail(20))
				}
			}
		}
	})

	ports := freePorts(t, 3)
	etcdClient, etcdPeer := ports[0], ports[1]
	c.apiPort = ports[2]
	pki := filepath.Join(c.root, "etc/kubernetes/pki")

	cfg := filepath.Join(dir, "kubeadm-certs.yaml")
	writeFile(t, cfg, fmt.Appendf(nil, `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: %s
  bindPort: %d
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  name: e2e-node
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: %s
certificatesDir: %s
apiServer:
  certSANs: ["127.0.0.1", "localhost"]
`, advertiseAddress, c.apiPort, k8sVersion(t, set137), pki), 0o600)
	t0 := time.Now()
	run(t, nil, kubeadm, "init", "phase", "certs", "all", "--config", cfg)
	kcDir := filepath.Join(c.root, "etc/kubernetes")
	// super-admin.conf: admin.conf's group has no RBAC binding until `kubeadm init` creates one.
	for _, kc := range []string{"super-admin", "controller-manager"} {
		run(t, nil, kubeadm, "init", "phase", "kubeconfig", kc, "--config", cfg, "--kubeconfig-dir", kcDir)
		p := filepath.Join(kcDir, kc+".conf")
		s := readFile(t, p)
		from := fmt.Sprintf("https://%s:%d", advertiseAddress, c.apiPort)
		if !strings.Contains(s, from) {
			t.Fatalf("%s: no server %s", p, from)
		}
		writeFile(t, p, []byte(strings.ReplaceAll(s, from, fmt.Sprintf("https://127.0.0.1:%d", c.apiPort))), 0o600)
	}
	t.Logf("kubeadm certs and kubeconfigs: %s", time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	c.etcd = startProc(t, "etcd", filepath.Join(dir, "logs/etcd.log"), etcdBin,
		"--name=e2e",
		"--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdClient),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdClient),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-cluster=e2e=http://127.0.0.1:%d", etcdPeer),
		// Throwaway data: durability costs seconds on a shared disk and proves nothing here.
		"--unsafe-no-fsync",
	)
	waitFor(t, "etcd /health", startTimeout, []*proc{c.etcd}, func() (bool, error) {
		return httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", etcdClient))
	})

	startAPI := func(args ...string) *proc {
		return startProc(t, "kube-apiserver", filepath.Join(dir, "logs/kube-apiserver.log"), apiBin, append(args, apiArgs...)...)
	}
	c.api = startAPI(
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", c.apiPort),
		// The default reconciler writes the advertise address into the kubernetes Endpoints, and
		// loopback addresses are not allowed there.
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+filepath.Join(pki, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(pki, "apiserver.key"),
		"--client-ca-file="+filepath.Join(pki, "ca.crt"),
		"--requestheader-client-ca-file="+filepath.Join(pki, "front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file="+filepath.Join(pki, "front-proxy-client.crt"),
		"--proxy-client-key-file="+filepath.Join(pki, "front-proxy-client.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/12",
		"--authorization-mode=Node,RBAC",
		"--enable-bootstrap-token-auth=true",
	)
	admin, err := clientcmd.BuildConfigFromFlags("", filepath.Join(kcDir, "super-admin.conf"))
	if err != nil {
		t.Fatalf("super-admin.conf: %v", err)
	}
	// v1 Endpoints is deprecated: every call would print a warning.
	admin.WarningHandler = rest.NoWarnings{}
	c.admin = admin
	c.client = kubernetes.NewForConfigOrDie(admin)
	waitFor(t, "kube-apiserver /readyz", startTimeout, []*proc{c.etcd, c.api}, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, err
	})
	t.Logf("etcd and kube-apiserver ready: %s", time.Since(t0).Round(time.Millisecond))
	return c
}

// startKCM starts kube-controller-manager from the command of a static pod manifest, as the kubelet
// would: host paths are remapped onto the cluster's node root, and only what this machine needs is
// appended (a free port, a writable cert dir, no leader election so a restart does not wait for the
// previous lease to expire). --controllers is never touched: it is what is under test. It waits until
// kcm serves /healthz.
func (c *cluster) startKCM(kcmBin, manifest string) *proc {
	c.t.Helper()
	if c.kcm != nil && !c.kcm.exited() {
		c.t.Fatal("startKCM: a kube-controller-manager is still running")
	}
	p := c.launchKCM(kcmBin, manifest)
	c.kcm = p
	waitFor(c.t, "kube-controller-manager /healthz", startTimeout, []*proc{c.etcd, c.api, p}, func() (bool, error) {
		return httpOK(insecureClient(nil), c.kcmURL("/healthz"))
	})
	return p
}

// launchKCM starts kube-controller-manager from a manifest without waiting for it to become healthy.
func (c *cluster) launchKCM(kcmBin, manifest string) *proc {
	c.t.Helper()
	c.kcmCount++
	c.kcmPort = freePorts(c.t, 1)[0]
	cmd := hostCommand(c.t, podCommand(c.t, manifest, "kube-controller-manager"), kcmBin, c.root)
	cmd = append(cmd,
		fmt.Sprintf("--secure-port=%d", c.kcmPort),
		"--cert-dir="+filepath.Join(c.dir, fmt.Sprintf("kcm-certs-%d", c.kcmCount)),
		"--leader-elect=false",
	)
	// The full command goes next to the log; the test log shows what is under test.
	logPath := filepath.Join(c.dir, "logs", fmt.Sprintf("kcm-%d.log", c.kcmCount))
	writeFile(c.t, strings.TrimSuffix(logPath, ".log")+".cmd", []byte(strings.Join(cmd, "\n")+"\n"), 0o600)
	c.t.Logf("kube-controller-manager #%d (%s) from %s: --controllers=%q", c.kcmCount, filepath.Base(filepath.Dir(kcmBin)), manifest, flagValues(cmd, "controllers"))
	return startProc(c.t, "kube-controller-manager", logPath, cmd[0], cmd[1:]...)
}

func (c *cluster) stopKCM() {
	c.kcm.stop()
}

func (c *cluster) kcmURL(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", c.kcmPort, path)
}

// kcmGet reads a kcm endpoint as the cluster admin (kcm delegates authn/authz to the apiserver;
// /metrics needs both, /healthz is open).
func (c *cluster) kcmGet(path string) string {
	c.t.Helper()
	cert, err := tls.X509KeyPair(c.admin.CertData, c.admin.KeyData)
	if err != nil {
		c.t.Fatalf("super-admin client certificate: %v", err)
	}
	resp, err := insecureClient(&cert).Get(c.kcmURL(path))
	if err != nil {
		c.t.Fatalf("GET kcm %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET kcm %s: %s\n%s", path, resp.Status, b)
	}
	return string(b)
}

// insecureClient talks to kcm's self-signed loopback serving certificate.
func insecureClient(cert *tls.Certificate) *http.Client {
	tc := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

func httpOK(c *http.Client, url string) (bool, error) {
	resp, err := c.Get(url)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return true, nil
}

func (c *cluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}
