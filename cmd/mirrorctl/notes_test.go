package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
)

// TestConsumerNotesAreNotesWhereTheyApply: what reads EndpointSlices once mirroring is off (1.34+
// APIServices, 1.37+ services/proxy) is said only for the versions it is about, for every adapter
// alike, as a note (JSON "notes", text "[note]"), never as a warning: scripts and Ansible treat
// warnings as something to act on.
func TestConsumerNotesAreNotesWhereTheyApply(t *testing.T) {
	t.Parallel()
	const apiservice, proxy = "from 1.34 APIService", "from 1.37 the services/proxy"
	for _, tc := range []struct {
		name, distro, dir string // dir: a case under testdata/distros, or a node root
		want              []string
	}{
		{"kubeadm 1.29", "kubeadm", "../../testdata/nodes/kubeadm", nil},
		{"kind 1.27 (image tag)", "kind", "kind/minimal-image-tag", nil},
		{"kind 1.36", "kind", "kind/ci-template-both-apis", []string{apiservice}},
		{"kind 1.37", "kind", "kind/controllers-set", []string{apiservice, proxy}},
		{"microk8s 1.29 (snap.yaml)", "microk8s", "microk8s/default-args", nil},
		{"kops 1.27", "kops", "kops/controllers-list", nil},
		{"kops 1.31", "kops", "kops/empty-kcm", nil},
		// No version in k3s's files: the notes say from which version they hold.
		{"k3s, version unknown", "k3s", "k3s/cis-sample", []string{apiservice, proxy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			var flags []string
			if tc.distro == "kubeadm" {
				golden.CopyTree(t, tc.dir, root)
			} else {
				c := filepath.Join("../../testdata/distros", tc.dir)
				if _, err := os.Stat(filepath.Join(c, "root")); err == nil {
					golden.CopyTree(t, filepath.Join(c, "root"), root, golden.FileMode(0o600))
				}
				flags = caseFlags(t, c)
			}
			args := append([]string{"--root", root, "-o", "json", "disable", "--dry-run", "--distro", tc.distro}, flags...)
			m, r := runJSON(t, args...)
			if r.code != 0 || m["mirroring"] != "disabled" {
				t.Fatalf("exit %d mirroring=%v: %s", r.code, m["mirroring"], r.stderr)
			}
			for _, w := range m["warnings"].([]any) {
				if strings.Contains(w.(string), "mirroring-consumers") || strings.Contains(w.(string), "reads EndpointSlices") {
					t.Errorf("a consumer note among the warnings: %s", w)
				}
			}
			var got []string
			for _, n := range m["notes"].([]any) {
				for _, w := range []string{apiservice, proxy} {
					if strings.Contains(n.(string), w) {
						got = append(got, w)
					}
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("consumer notes %q, want %q (notes: %v)", got, tc.want, m["notes"])
			}
			// Text output: labelled [note], never [warning].
			text := run(t, append([]string{"--root", root, "disable", "--dry-run", "--distro", tc.distro}, flags...)...)
			for _, l := range strings.Split(text.stderr, "\n") {
				if strings.Contains(l, "mirroring is off: from 1.3") && !strings.HasPrefix(l, "[note] ") {
					t.Errorf("text: consumer note not labelled [note]: %q", l)
				}
			}
			if n := strings.Count(text.stderr, "[note] "); n != len(tc.want) {
				t.Errorf("text: %d [note] lines, want %d:\n%s", n, len(tc.want), text.stderr)
			}
		})
	}
}

// TestPendingRestart: JSON "pending_restart" is the restart a change still needs (k3s, RKE2, k0s,
// MicroK8s without --restart), for Ansible's handler; null where the kubelet applies it and when
// nothing changed.
func TestPendingRestart(t *testing.T) {
	t.Parallel()
	k3s := t.TempDir()
	golden.CopyTree(t, "../../testdata/distros/k3s/cis-sample/root", k3s, golden.FileMode(0o600))
	want := []any{"systemctl", "restart", "k3s"}
	for _, args := range [][]string{{"disable", "--dry-run"}, {"disable"}} {
		m, r := runJSON(t, append([]string{"--root", k3s, "-o", "json"}, args...)...)
		if got, _ := m["pending_restart"].([]any); r.code != 0 || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("k3s %v: exit %d pending_restart %v", args, r.code, m["pending_restart"])
		}
	}
	m, _ := runJSON(t, "--root", k3s, "-o", "json", "disable")
	if m["changed"] != false || m["pending_restart"] != nil {
		t.Errorf("k3s, nothing to change: changed %v pending_restart %v", m["changed"], m["pending_restart"])
	}
	m, _ = runJSON(t, "--root", newNode(t), "-o", "json", "disable")
	if v, ok := m["pending_restart"]; !ok || v != nil {
		t.Errorf("kubeadm: pending_restart %v (present %v), want null", v, ok)
	}
}

// TestPendingRestartAfterRollback: a rollback of k3s files needs the same restart as the change did.
func TestPendingRestartAfterRollback(t *testing.T) {
	t.Parallel()
	k3s := t.TempDir()
	golden.CopyTree(t, "../../testdata/distros/k3s/cis-sample/root", k3s, golden.FileMode(0o600))
	if r := run(t, "--root", k3s, "disable"); r.code != 0 {
		t.Fatalf("disable: %d %s", r.code, r.stderr)
	}
	m, r := runJSON(t, "--root", k3s, "-o", "json", "rollback")
	if got, _ := m["pending_restart"].([]any); r.code != 0 || m["changed"] != true || len(got) != 3 || got[2] != "k3s" {
		t.Errorf("rollback: exit %d changed %v pending_restart %v", r.code, m["changed"], m["pending_restart"])
	}
}
