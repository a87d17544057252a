package cluster

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDep is what the package was rebuilt to be rid of: the clientset links every typed client
// and its scheme registers every API group at start-up, for the few calls API makes.
func forbiddenDep(p string) bool {
	return p == "k8s.io/client-go/kubernetes" || p == "k8s.io/client-go/kubernetes/scheme" ||
		strings.HasPrefix(p, "k8s.io/client-go/kubernetes/typed/")
}

// patchesPkg still reaches the clientset through kubeadm's validation package; that is being removed
// in patches itself, and the whole binary is checked separately. Here only what cluster brings is.
const patchesPkg = "github.com/mirrorctl/mirrorctl/patches"

func TestClusterDoesNotLinkTheClientset(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	const self = "github.com/mirrorctl/mirrorctl/cluster"
	cmd := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, self)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the binary is built
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	if _, ok := imports[self]; !ok {
		t.Fatalf("go list did not list %s:\n%s", self, out)
	}
	// Breadth-first from cluster, around patches, remembering how each package was reached so a
	// failure names the import chain to cut.
	from := map[string]string{self: ""}
	queue := []string{self}
	viaPatches := false
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if q == patchesPkg {
				viaPatches = true
				continue
			}
			if _, seen := from[q]; seen {
				continue
			}
			from[q] = p
			queue = append(queue, q)
		}
	}
	for p := range from {
		if !forbiddenDep(p) {
			continue
		}
		chain := []string{p}
		for q := from[p]; q != ""; q = from[q] {
			chain = append([]string{q}, chain...)
		}
		t.Errorf("%s links %s:\n  %s", self, p, strings.Join(chain, "\n  → "))
	}
	if !viaPatches {
		return
	}
	// Say, without failing, whether patches still brings the clientset in.
	n := 0
	for p := range imports {
		if forbiddenDep(p) {
			n++
		}
	}
	if n > 0 {
		t.Logf("%d clientset package(s) still reached through %s (not checked here)", n, patchesPkg)
	}
}
