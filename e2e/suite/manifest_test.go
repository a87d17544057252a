package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// podCommand returns command+args of the named container of a static pod manifest.
func podCommand(t testing.TB, path, container string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(b, &pod); err != nil {
		t.Fatalf("%s: not a pod manifest: %v", path, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			return append(slices.Clone(c.Command), c.Args...)
		}
	}
	t.Fatalf("%s: no container %q", path, container)
	return nil
}

// hostCommand turns a manifest's container command into one that runs on this machine: the binary
// comes from the cache, and every host path under /etc/kubernetes moves under root (the node root the
// test built, which has the kubeadm-generated pki and kubeconfigs). Any other absolute path is a
// surprise the test must not paper over.
func hostCommand(t testing.TB, cmd []string, binPath, root string) []string {
	t.Helper()
	if len(cmd) == 0 {
		t.Fatal("empty container command")
	}
	out := []string{binPath}
	for _, a := range cmd[1:] {
		name, val, ok := strings.Cut(a, "=")
		if ok && strings.HasPrefix(val, "/") {
			if !strings.HasPrefix(val, "/etc/kubernetes/") {
				t.Fatalf("flag %s: host path %s is outside /etc/kubernetes: teach hostCommand about it", name, val)
			}
			a = name + "=" + filepath.Join(root, val)
		}
		out = append(out, a)
	}
	return out
}

// flagValues returns the values of every occurrence of a --name=value flag, in order.
func flagValues(cmd []string, name string) []string {
	var vs []string
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// controllerEnabled evaluates kcm's --controllers the way k8s.io/controller-manager does: the flag is a
// string slice (later occurrences append), first explicit match wins, `*` enables the on-by-default
// set, and without any flag the value is `*`. names are the spellings of one controller (alias and
// canonical); offByDefault says whether `*` covers it.
func controllerEnabled(cmd []string, names []string, offByDefault bool) bool {
	vals := flagValues(cmd, "controllers")
	entries := []string{"*"}
	if len(vals) > 0 {
		entries = nil
		for _, v := range vals {
			entries = append(entries, strings.Split(v, ",")...)
		}
	}
	star := false
	for _, e := range entries {
		if slices.Contains(names, e) {
			return true
		}
		if strings.HasPrefix(e, "-") && slices.Contains(names, e[1:]) {
			return false
		}
		if e == "*" {
			star = true
		}
	}
	return star && !offByDefault
}

// controllerState summarises the controllers this project cares about, for comparisons whose failure
// message should say what differs in operational terms.
func controllerState(cmd []string) string {
	return fmt.Sprintf("mirroring=%t bootstrapsigner=%t tokencleaner=%t deployment=%t",
		controllerEnabled(cmd, []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}, false),
		controllerEnabled(cmd, []string{"bootstrapsigner", "bootstrap-signer-controller"}, true),
		controllerEnabled(cmd, []string{"tokencleaner", "token-cleaner-controller"}, true),
		controllerEnabled(cmd, []string{"deployment", "deployment-controller"}, false))
}

// sortedFlags is the command without the binary, sorted: kubeadm appends extraArgs in its own order,
// so only the multiset of flags is comparable.
func sortedFlags(cmd []string) []string {
	s := slices.Clone(cmd[1:])
	slices.Sort(s)
	return s
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	writeFile(t, dst, b, 0o600)
}

func writeFile(t testing.TB, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatalf("%s: %v", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}
