package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
)

// TestBadInputLeavesNodeUntouched covers the input classes of the core contract: each must exit 1 with
// one line on stderr naming the file, and leave every file under the root as it was (bytes, mode,
// owner, mtime), for disable and enable alike.
func TestBadInputLeavesNodeUntouched(t *testing.T) {
	t.Parallel()
	const cfg = "etc/kubernetes/kubeadm-config.yaml"
	replaceIn := func(rel, old, new string) func(t *testing.T, root string) {
		return func(t *testing.T, root string) {
			p := filepath.Join(root, rel)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), old) {
				t.Fatalf("%s lacks %q", rel, old)
			}
			os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o600)
		}
	}
	cases := []struct {
		name    string
		setup   func(t *testing.T, root string)
		file    string // node path the error must name
		args    []string
		message string // part of the error
	}{
		{"malformed YAML", func(t *testing.T, root string) {
			os.WriteFile(filepath.Join(root, kcmPath), []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n"), 0o600)
		}, kcmPath, nil, "malformed YAML"},
		{"no kcm container", replaceIn(kcmPath, "    name: kube-controller-manager\n", "    name: controller\n"), kcmPath, nil, "no container named"},
		{"empty file", func(t *testing.T, root string) { os.WriteFile(filepath.Join(root, kcmPath), nil, 0o600) }, kcmPath, nil, "empty"},
		{"directory instead of file", func(t *testing.T, root string) {
			p := filepath.Join(root, kcmPath)
			os.Remove(p)
			os.Mkdir(p, 0o700)
		}, kcmPath, nil, "directory"},
		{"missing file", func(t *testing.T, root string) { os.Remove(filepath.Join(root, kcmPath)) }, kcmPath, []string{"--distro", "kubeadm"}, "no such file"},
		{"unreadable file (FIFO)", func(t *testing.T, root string) {
			p := filepath.Join(root, kcmPath)
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip("mkfifo:", err)
			}
		}, kcmPath, nil, "not a regular file"},
		{"broken controllers entry", replaceIn(kcmPath, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*, -tokencleaner"), kcmPath, nil, `" -tokencleaner"`},
		{"empty controllers entry", replaceIn(kcmPath, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,,tokencleaner"), kcmPath, nil, "empty"},
		{"version below 1.19", replaceIn(kcmPath, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.18.20"), kcmPath, nil, "1.19"},
		{"unknown kubeadm apiVersion", replaceIn(cfg, "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration", "apiVersion: kubeadm.k8s.io/v1alpha9\nkind: ClusterConfiguration"), cfg, nil, "v1alpha9"},
		{"malformed kubeadm config", replaceIn(cfg, "controllerManager:\n  extraArgs:", "controllerManager:\n extraArgs: ["), cfg, nil, ""},
		{"missing --kubeadm-config file", func(t *testing.T, root string) {}, "etc/kubernetes/nope.yaml", []string{"--kubeadm-config", "/etc/kubernetes/nope.yaml"}, "no such file"},
		{"canonical name forced on 1.27", replaceIn(kcmPath, "kube-controller-manager:v1.29.0", "kube-controller-manager:v1.27.16"), kcmPath, []string{"--controller-name", "endpointslice-mirroring-controller"}, "unknown to Kubernetes 1.27"},
	}
	for _, tc := range cases {
		for _, op := range []string{"disable", "enable"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				t.Parallel()
				root := newNode(t)
				// Start enable cases from a disabled node so enable has something to do.
				if op == "enable" {
					replaceIn(kcmPath, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring")(t, root)
				}
				tc.setup(t, root)
				before := golden.Tree(t, root)
				r := run(t, append([]string{"--root", root, op}, tc.args...)...)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
				}
				line := strings.TrimSpace(r.stderr)
				if i := strings.LastIndex(line, "\n"); i >= 0 {
					// Phase logs may come first; the error is the last line and must stand alone.
					line = line[i+1:]
				}
				if !strings.HasPrefix(line, "mirrorctl: ") || !strings.Contains(line, "/"+tc.file) || !strings.Contains(line, tc.message) {
					t.Errorf("error line %q: want the file /%s and %q", line, tc.file, tc.message)
				}
				if r.stdout != "" {
					t.Errorf("stdout not empty on error: %q", r.stdout)
				}
				golden.CompareTrees(t, before, golden.Tree(t, root))
			})
		}
	}
}
