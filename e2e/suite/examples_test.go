package e2e

// The project rule: every example in the README and in each command's help text is executed by a
// test. cmd/mirrorctl/examples_test.go runs all of them but those that need an API server (the
// `audit` and `skip` help examples, and README lines with --kubeconfig, audit or skip); this file runs
// exactly those, with the real binary, against the harness's real kube-apiserver and kcm. The
// examples are read at run time from `mirrorctl <cmd> --help` and README.md, so a changed or added
// example is tested without touching this file.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterExampleCommands need an API server; must match clusterCommands in cmd/mirrorctl/examples_test.go.
var clusterExampleCommands = map[string]bool{"audit": true, "skip": true, "adopt": true, "prune-endpoints": true}

var exampleCmdLine = regexp.MustCompile(`^\s*(?:\$ )?(mirrorctl(?:\s.*)?)$`)

// helpClusterExamples returns the example lines of `mirrorctl <cmd> --help` for each cluster command:
// the lines after "Examples:" that start with mirrorctl, up to the first blank line.
func helpClusterExamples(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"audit", "skip", "adopt", "prune-endpoints"} {
		help := run(t, nil, mirrorctlBin(t), name, "--help")
		i := strings.Index(help, "Examples:")
		if i < 0 {
			t.Fatalf("mirrorctl %s --help has no Examples: section:\n%s", name, help)
		}
		n := 0
		for _, l := range strings.Split(help[i:], "\n")[1:] {
			if strings.TrimSpace(l) == "" {
				break
			}
			if m := exampleCmdLine.FindStringSubmatch(l); m != nil {
				out = append(out, m[1])
				n++
			}
		}
		if n == 0 {
			t.Fatalf("mirrorctl %s --help: no example under Examples:", name)
		}
	}
	return out
}

// readmeClusterExamples returns the mirrorctl lines of README.md's fenced blocks that the unit test
// leaves out: those with --kubeconfig or whose command is audit or skip. Trailing # comments go.
func readmeClusterExamples(t *testing.T) []string {
	t.Helper()
	text := readFile(t, repoFile("README.md"))
	var out []string
	fenced := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			continue
		}
		if k := strings.Index(l, " #"); k >= 0 {
			l = l[:k]
		}
		m := exampleCmdLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		args := splitExampleArgs(m[1])
		if hasFlag(args, "--kubeconfig") || len(args) > 1 && clusterExampleCommands[exampleCommand(args[1:])] {
			out = append(out, m[1])
		}
	}
	return out
}

// hasFlag reports whether args hold flag v, as "v" or "v=value".
func hasFlag(s []string, v string) bool {
	for _, x := range s {
		if x == v || strings.HasPrefix(x, v+"=") {
			return true
		}
	}
	return false
}

// exampleCommand skips global flags (and the values of those that take one) and returns the command.
func exampleCommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o" || a == "--output" || a == "--root" || a == "--state-dir" || a == "--color":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// splitExampleArgs splits an example on blanks, honouring quotes; a pipe or redirection ends it (what
// follows is for the shell). The same rules as the unit test's splitArgs.
func splitExampleArgs(line string) []string {
	var args []string
	var cur strings.Builder
	quote, have := rune(0), false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, have = r, true
		case r == ' ' || r == '\t':
			if have || cur.Len() > 0 {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		case r == '|' || r == '>' || r == '<':
			if cur.Len() > 0 {
				args = append(args, cur.String())
			}
			return args
		default:
			cur.WriteRune(r)
		}
	}
	if have || cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}

// exampleEnv is the test's environment without anything that would point mirrorctl elsewhere
// ($KUBECONFIG, any MIRRORCTL_* flag variable), plus MIRRORCTL_ROOT: the examples show no --root.
func exampleEnv(root string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "MIRRORCTL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "MIRRORCTL_ROOT="+root)
}

// adminKubeconfig writes /etc/kubernetes/admin.conf under the node root with real kubeadm and creates
// the ClusterRoleBinding `kubeadm init` creates for its group (kubeadm:cluster-admins → cluster-admin;
// kubeadm does it in init's client bootstrap, which only runs against the host's /etc/kubernetes).
// Examples without --kubeconfig find this file under --root, as on a control-plane node.
func (c *cluster) adminKubeconfig(kubeadm string) {
	c.t.Helper()
	kcDir := filepath.Join(c.root, "etc/kubernetes")
	run(c.t, nil, kubeadm, "init", "phase", "kubeconfig", "admin", "--config", filepath.Join(c.dir, "kubeadm-certs.yaml"), "--kubeconfig-dir", kcDir)
	p := filepath.Join(kcDir, "admin.conf")
	s := readFile(c.t, p)
	from := fmt.Sprintf("https://%s:%d", advertiseAddress, c.apiPort)
	if !strings.Contains(s, from) {
		c.t.Fatalf("%s: no server %s", p, from)
	}
	writeFile(c.t, p, []byte(strings.ReplaceAll(s, from, fmt.Sprintf("https://127.0.0.1:%d", c.apiPort))), 0o600)
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:cluster-admins"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "kubeadm:cluster-admins"}},
	}
	if _, err := c.client.RbacV1().ClusterRoleBindings().Create(c.ctx(), crb, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create ClusterRoleBinding kubeadm:cluster-admins: %v", err)
	}
}

// expectedExampleExit is the exit status each example must have on the seeded cluster: audit exits 3
// (something depends on mirroring: legacy/external-search is mirrored and no example labels it, so
// the finding stays whatever the skip examples did); every other example exits 0.
//
// prune-endpoints: the harness's kcm runs the Endpoints controller (kubeadm's --controllers), so a
// real prune is refused (exit 1: the guard), and --rollback finds no prune to undo (exit 1); the dry
// run lists and warns (exit 0).
func expectedExampleExit(args []string) int {
	switch exampleCommand(args) {
	case "audit":
		return exitFindings
	case "prune-endpoints":
		if hasFlag(args, "--dry-run") {
			return 0
		}
		return 1
	}
	return 0
}

// TestClusterExamples runs every cluster-side example of the help texts and the README, in order,
// with the real mirrorctl against a real kube-apiserver and kube-controller-manager. The node root is
// a kubeadm 1.37 node (config and kcm manifest by real kubeadm), admin.conf is where kubeadm puts it,
// kube-system/kubeadm-config is uploaded by real kubeadm, and namespace legacy holds the selector-less
// Services the examples name, mirrored by the real kcm. Placeholders: /mnt/node is the node root, ID
// the newest snapshot (as in the unit test), NS the namespace legacy and … the Endpoints external-db.
func TestClusterExamples(t *testing.T) {
	kcmBin := bin(t, set137, "kube-controller-manager")
	kubeadm := bin(t, set137, "kubeadm")
	kubectl := bin(t, set137, "kubectl")
	mbin := mirrorctlBin(t)
	examples := append(helpClusterExamples(t), readmeClusterExamples(t)...)
	if len(examples) < 5 {
		t.Fatalf("found only %d cluster examples: %q", len(examples), examples)
	}

	c := newCluster(t)
	root := c.root
	// The testdata/nodes/kubeadm node is v1beta3 for v1.29.0, which kubeadm 1.37 refuses to upload
	// (v1beta3 removed; control plane < 1.35): a node whose config real kubeadm 1.37 accepts instead.
	manifest, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	c.adminKubeconfig(kubeadm)
	run(t, nil, kubeadm, "init", "phase", "upload-config", "kubeadm", "--config", config, "--kubeconfig", filepath.Join(root, adminConf))
	c.startKCM(kcmBin, manifest)
	c.createMirrorPod(manifest, "e2e-node")

	c.ensureNamespace("legacy")
	storage := map[string]string{"team": "storage"}
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{
		{"external-db", storage}, {"external-cache", storage},
		{"external-search", nil}, // never labelled by an example: audit keeps a finding
	} {
		// Hand-written with real kubectl: what the adopt examples move off mirroring (static).
		c.handWrittenEndpoints(kubectl, "legacy", s.name, "192.0.2.30", s.labels)
		c.waitSlices("legacy", s.name, true)
	}

	// shop: a Service with a selector, whose Endpoints the real Endpoints controller writes (and
	// prune-endpoints would delete once that controller is off).
	c.ensureNamespace("shop")
	if _, err := c.client.CoreV1().Services("shop").Create(c.ctx(), selectorSvc("shop", "cart"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	disabledLive := false // a `disable --kubeconfig` example ran: the live ConfigMap must show it
	env := exampleEnv(root)
	cwd := t.TempDir() // an example that writes a file writes it here
	// `audit --audit-log audit.log` reads a real kube-apiserver audit log from the working directory.
	copyFile(t, repoFile("cluster/testdata/kube-apiserver-v1.37.2-audit.log"), filepath.Join(cwd, "audit.log"))
	for i, l := range examples {
		args := splitExampleArgs(l)
		for j, a := range args {
			switch a {
			case "/mnt/node":
				args[j] = root
			// The README's Usage synopsis "skip --namespace NS …": a namespace and Endpoints names.
			case "NS":
				args[j] = "legacy"
			case "…":
				args[j] = "external-db"
			case "ID":
				out := run(t, nil, mbin, "--root", root, "-o", "json", "snapshots", "list")
				if m := regexp.MustCompile(`"id": "([^"]+)"`).FindStringSubmatch(out); m != nil {
					args[j] = m[1]
				}
			}
		}
		want := expectedExampleExit(args[1:])
		disabledLive = disabledLive || exampleCommand(args[1:]) == "disable" && hasFlag(args, "--kubeconfig")
		cmd := exec.Command(mbin, args[1:]...)
		cmd.Env, cmd.Dir = env, cwd
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if cmd.ProcessState == nil {
			t.Fatalf("example %d %q: %v", i+1, l, err)
		}
		code := cmd.ProcessState.ExitCode()
		t.Logf("example %d %q: exit %d (want %d)\n%s", i+1, l, code, want, stdout.String())
		if code != want {
			t.Errorf("example %q: exit %d, want %d\nstderr: %s\nstdout: %s", l, code, want, stderr.String(), stdout.String())
		}
	}
	t.Logf("%d cluster examples ran", len(examples))
	// Exit 0 is not enough for the --kubeconfig example: it must have reached the cluster as admin.conf.
	if cc, _ := c.configMapCC(); disabledLive && !strings.Contains(cc, "-endpointslice-mirroring-controller") {
		t.Errorf("after the examples, kube-system/kubeadm-config was not edited by disable --kubeconfig:\n%s", cc)
	}
}
