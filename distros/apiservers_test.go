package distros

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// The node's own kube-apiserver manifest, as real kubeadm writes it (testdata/kubeadm/generate.sh),
// decides: 1.36 still reads Endpoints and is refused, 1.37 passes with the warning that other
// control-plane nodes were not checked.
func TestNodeAPIServersGuard(t *testing.T) {
	for _, c := range []struct {
		version string
		refuse  string // "" passes
	}{
		{"v1.29", "runs Kubernetes 1.29"},
		{"v1.31", "runs Kubernetes 1.31"},
		{"v1.36", "runs Kubernetes 1.36"},
		{"v1.37", ""},
	} {
		t.Run(c.version, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", "kubeadm", c.version, "kube-apiserver.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			r := kitRoot(t, "")
			kitWrite(t, r, APIServerManifest(mustGet(t, "kubeadm")), string(data))
			found, err := NodeAPIServers(mustGet(t, "kubeadm"), Options{Root: r})
			if err != nil {
				t.Fatal(err)
			}
			w, err := CheckEndpointsController(found)
			switch {
			case c.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.refuse == "" && (len(w) != 1 || !strings.Contains(w[0], "other control-plane nodes were not checked")):
				t.Fatalf("warnings %q: want the one saying other nodes were not checked", w)
			case c.refuse != "" && (err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), SkipAPIServerCheckFlag) ||
				!strings.Contains(err.Error(), "/etc/kubernetes/manifests/kube-apiserver.yaml")):
				t.Fatalf("err %v: want a refusal naming the manifest, %q and the override", err, c.refuse)
			}
		})
	}
}

func TestNodeAPIServersWithoutAManifest(t *testing.T) {
	for _, name := range []string{"kubeadm", "rke2", "k3s", "k0s", "microk8s"} {
		found, err := NodeAPIServers(mustGet(t, name), Options{Root: kitRoot(t, "")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckEndpointsController(found); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
			t.Errorf("%s: %v; want a refusal pointing at --kubeconfig", name, err)
		}
	}
}

// kind and kops files configure the whole cluster: the version they name is every apiserver's.
func TestClusterFileAPIServers(t *testing.T) {
	r := kitRoot(t, filepath.Join("..", "testdata", "distros", "kops", "doc-sample", "root"))
	o := Options{Root: r, Inputs: Values{"kops-spec": "/home/op/cluster.yaml"}}
	found, err := NodeAPIServers(mustGet(t, "kops"), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Servers) != 1 || found.Caveat != "" {
		t.Fatalf("%+v", found)
	}
	_, err = CheckEndpointsController(found)
	if v := found.Servers[0].Version; v.AtLeast(1, 37) != (err == nil) {
		t.Fatalf("kops spec version %s: guard error %v", v, err)
	}

	r = kitRoot(t, filepath.Join("..", "testdata", "distros", "kind", "minimal-image-tag", "root"))
	for _, c := range []struct {
		version string
		ok      bool
	}{{"1.37.2", true}, {"1.36.5", false}} {
		o = Options{Root: r, Inputs: Values{"kind-config": "/home/op/kind.yaml", "kind-node-version": c.version}}
		found, err = NodeAPIServers(mustGet(t, "kind"), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckEndpointsController(found); (err == nil) != c.ok {
			t.Errorf("kind node version %s: %v", c.version, err)
		}
	}
}

func TestCheckEndpointsControllerIncomplete(t *testing.T) {
	v137 := controllers.ParseVersion("v1.37.2")
	_, err := CheckEndpointsController(&APIServerVersions{
		Servers: []APIServer{{Name: "a", Version: v137, From: "x"}},
		Why:     "2 kube-apiservers hold identity leases", How: "look"})
	if err == nil || !strings.Contains(err.Error(), "2 kube-apiservers") || !strings.Contains(err.Error(), "look") {
		t.Fatalf("err %v", err)
	}
	w, err := CheckEndpointsController(&APIServerVersions{Servers: []APIServer{{Name: "a", Version: v137}}, Complete: true})
	if err != nil || len(w) != 0 {
		t.Fatalf("complete and new enough: %q %v", w, err)
	}
}
