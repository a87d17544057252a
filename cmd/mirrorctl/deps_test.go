package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// heavyDeps are packages the binary was rebuilt to be rid of (BENCHMARKS.md): each one either links
// megabytes mirrorctl never calls or does work at process start-up that every run would pay for.
var heavyDeps = map[string]string{
	"k8s.io/client-go/kubernetes":                           "the clientset links every typed client",
	"k8s.io/client-go/kubernetes/scheme":                    "registers every API group at start-up",
	"k8s.io/kubernetes/cmd/kubeadm/app/componentconfigs":    "pulls in the clientset (kubeadm's validation package imports it)",
	"k8s.io/kubernetes/cmd/kubeadm/app/features":            "pulls in component-base metrics and Prometheus",
	"github.com/distribution/reference":                     "compiles large regexps at start-up",
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme": "builds kubeadm's scheme at start-up (patches builds it on first use)",
	"github.com/russross/blackfriday/v2":                    "urfave/cli's Markdown man page engine (build with -tags urfave_cli_no_docs)",
}

// TestBinaryStaysLean walks the shipped binary's imports, as `make build` builds it, and names the
// import chain to any heavy package that creeps back in.
func TestBinaryStaysLean(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	const self = "github.com/mirrorctl/mirrorctl/cmd/mirrorctl"
	cmd := exec.Command("go", "list", "-tags", "urfave_cli_no_docs", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, self)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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
	from := map[string]string{self: ""}
	queue := []string{self}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := from[q]; !seen {
				from[q] = p
				queue = append(queue, q)
			}
		}
	}
	for p := range from {
		why, heavy := heavyDeps[p]
		if !heavy && !strings.HasPrefix(p, "k8s.io/client-go/kubernetes/typed/") {
			continue
		}
		chain := []string{p}
		for q := from[p]; q != ""; q = from[q] {
			chain = append([]string{q}, chain...)
		}
		t.Errorf("the binary links %s (%s):\n  %s", p, why, strings.Join(chain, "\n  → "))
	}
}
