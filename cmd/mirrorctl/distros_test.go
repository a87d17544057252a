package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/golden"
)

func caseFlags(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if err != nil {
		return nil
	}
	var o map[string]any
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	var flags []string
	for k, v := range o {
		if _, ok := distros.LookupInput(k); !ok && k != "controller-name" && k != "endpoints-controller" {
			t.Fatalf("%s: options.json field %s has no CLI flag", dir, k)
		}
		if k == "endpoints-controller" && v == true {
			// The guard's own tests cover the apiserver check; these cases are about the files.
			flags = append(flags, "--skip-apiserver-version-check")
		}
		f := "--" + k
		switch v := v.(type) {
		case bool:
			if v {
				flags = append(flags, f)
			}
		case string:
			flags = append(flags, f, v)
		case []any:
			for _, x := range v {
				flags = append(flags, f, x.(string))
			}
		}
	}
	return flags
}

// files is every file under root with its bytes, leaving out mirrorctl's state dir and lock.
func files(t *testing.T, root string) map[string]golden.File {
	t.Helper()
	return golden.Tree(t, root, golden.ContentsOnly(), golden.Skip("var/lib/mirrorctl", "run/mirrorctl"))
}

// TestEveryDistroThroughTheCLI runs each distribution's golden cases through the real CLI:
// disable → status → rollback, checking the files disable writes are the golden ones, status reports
// the change, and rollback gives back every original file byte for byte (created files removed).
func TestEveryDistroThroughTheCLI(t *testing.T) {
	t.Parallel()
	dirs, _ := filepath.Glob("../../testdata/distros/*/*/expected-disable")
	if len(dirs) < 20 {
		t.Fatalf("only %d distro cases with expected-disable", len(dirs))
	}
	seen := map[string]bool{}
	for _, exp := range dirs {
		c := filepath.Dir(exp)
		distro := filepath.Base(filepath.Dir(c))
		seen[distro] = true
		t.Run(distro+"/"+filepath.Base(c), func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if _, err := os.Stat(filepath.Join(c, "root")); err == nil {
				golden.CopyTree(t, filepath.Join(c, "root"), root, golden.FileMode(0o600))
			}
			orig := files(t, root)
			flags := caseFlags(t, c)
			args := append([]string{"--root", root, "-o", "json", "disable", "--distro", distro}, flags...)
			m, r := runJSON(t, args...)
			if r.code != 0 || m["changed"] != true || m["mirroring"] != "disabled" {
				t.Fatalf("disable: exit %d changed=%v mirroring=%v: %s", r.code, m["changed"], m["mirroring"], r.stderr)
			}
			endpoints := slices.Contains(flags, "--endpoints-controller")
			if e, has := m["endpoints_controller"]; endpoints && e != "disabled" || !endpoints && has {
				t.Fatalf("disable: endpoints_controller=%v with flags %q", e, flags)
			}
			// The files written are the adapter's golden outputs.
			written := files(t, root)
			for rel, want := range golden.Tree(t, exp, golden.ContentsOnly()) {
				if got, ok := written[rel]; !ok || got != want {
					t.Errorf("%s: not the golden output (written: %v)", rel, ok)
				}
			}
			// A patch file for a node without a shell says nothing about this machine's state.
			if distro != "talos" || !strings.Contains(strings.Join(flags, " "), "--talos-patch-out") {
				// status reports both controllers whatever was asked: it takes neither flag.
				statusFlags := slices.DeleteFunc(slices.Clone(flags), func(f string) bool {
					return f == "--endpoints-controller" || f == "--skip-apiserver-version-check"
				})
				st, r := runJSON(t, append([]string{"--root", root, "-o", "json", "status", "--distro", distro}, statusFlags...)...)
				// RKE2's running pod manifest changes only when rke2-server restarts: until then
				// status rightly says the config and what runs disagree.
				ok := st["mirroring"] == "disabled" || distro == "rke2" && st["mirroring"] == "mixed"
				if r.code != 0 || !ok {
					t.Errorf("status after disable: exit %d mirroring=%v: %s", r.code, st["mirroring"], r.stderr)
				}
				if e := st["endpoints_controller"]; endpoints && e != "disabled" && !(distro == "rke2" && e == "mixed") {
					t.Errorf("status after disable --endpoints-controller: endpoints_controller=%v", e)
				}
			}
			if r := run(t, "--root", root, "rollback"); r.code != 0 {
				t.Fatalf("rollback: exit %d: %s", r.code, r.stderr)
			}
			for _, d := range golden.Diff(orig, files(t, root)) {
				t.Errorf("after rollback: %s", d)
			}
		})
	}
	for _, d := range []string{"k3s", "rke2", "k0s", "microk8s", "kind", "talos", "kops"} {
		if !seen[d] {
			t.Errorf("no CLI round trip for %s", d)
		}
	}
}

func TestManagedIsRefusedWithTheAlternative(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r := run(t, "--root", root, "disable", "--distro", "managed")
	if r.code != 1 || !strings.Contains(r.stderr, "skip-mirror") {
		t.Errorf("managed: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestDetectionAmbiguousAndEmpty(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	if r := run(t, "--root", empty, "status"); r.code != 1 || !strings.Contains(r.stderr, "no Kubernetes distribution detected") {
		t.Errorf("empty root: exit %d %q", r.code, r.stderr)
	}
	both := newNode(t)
	os.MkdirAll(filepath.Join(both, "etc/rancher/k3s"), 0o755)
	os.WriteFile(filepath.Join(both, "etc/rancher/k3s/config.yaml"), []byte("write-kubeconfig-mode: \"0644\"\n"), 0o600)
	if r := run(t, "--root", both, "disable", "--dry-run"); r.code != 1 || !strings.Contains(r.stderr, "more than one") || !strings.Contains(r.stderr, "k3s") || !strings.Contains(r.stderr, "kubeadm") {
		t.Errorf("ambiguous root: exit %d %q", r.code, r.stderr)
	}
	r := run(t, "--root", both, "-o", "json", "distros")
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "k3s"`) {
		t.Errorf("distros: %d %s", r.code, r.stderr)
	}
}

// --wait would only time out and roll back a good change where kcm does not restart by itself.
func TestWaitRefusedWhereKCMDoesNotRestart(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	golden.CopyTree(t, "../../testdata/distros/k3s/cis-sample/root", root, golden.FileMode(0o600))
	before := files(t, root)
	r := run(t, "--root", root, "disable", "--distro", "k3s", "--wait", "1m")
	if r.code != 2 || !strings.Contains(r.stderr, "--restart") {
		t.Errorf("k3s --wait without --restart: exit %d %q", r.code, r.stderr)
	}
	if after := files(t, root); len(after) != len(before) {
		t.Error("refused run wrote files")
	}
	r = run(t, "--root", root, "disable", "--distro", "kops", "--kops-spec", "/x.yaml", "--wait", "1m")
	if r.code != 2 || !strings.Contains(r.stderr, "elsewhere") {
		t.Errorf("kops --wait: exit %d %q", r.code, r.stderr)
	}
}
