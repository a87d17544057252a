package e2e

import (
	"path/filepath"
	"testing"
)

// TestStatusLive: `status --kubeconfig` reports the live kubeadm-config next to the node's files, and
// says "mixed" when a node-only change left the ConfigMap behind (the next `kubeadm upgrade` would
// regenerate the manifest from it and bring mirroring back).
func TestStatusLive(t *testing.T) {
	kubeadm := bin(t, set137, "kubeadm")
	mirrorctlBin(t)
	c := newCluster(t)
	root := c.root
	_, config := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	run(t, nil, kubeadm, "init", "phase", "upload-config", "kubeadm", "--config", config, "--kubeconfig", filepath.Join(root, adminConf))

	type fileStatus struct {
		Path, Kind, Mirroring, Controllers string
	}
	type status struct {
		Mirroring string
		Agree     bool
		Files     []fileStatus
		Warnings  []string
	}
	check := func(want string, agree bool) status {
		t.Helper()
		out, errOut, code := mirrorctlExit(t, root, "status", "--kubeconfig", adminConf)
		if code != 0 {
			t.Fatalf("status: exit %d\n%s", code, errOut)
		}
		s := decode[status](t, "status", out)
		var live *fileStatus
		for i := range s.Files {
			if s.Files[i].Path == liveCMPath {
				live = &s.Files[i]
			}
		}
		if live == nil || live.Kind != "kubeadm-config-live" {
			t.Fatalf("status lists no live ConfigMap: %+v", s.Files)
		}
		if s.Mirroring != want || s.Agree != agree {
			t.Errorf("status mirroring=%s agree=%v, want %s %v: %+v", s.Mirroring, s.Agree, want, agree, s.Files)
		}
		return s
	}
	check("enabled", true)

	// A node-only change: the live ConfigMap still enables mirroring.
	if _, errOut, code := mirrorctlExit(t, root, "disable"); code != 0 {
		t.Fatalf("disable: exit %d\n%s", code, errOut)
	}
	if s := check("mixed", false); len(s.Warnings) == 0 {
		t.Error("mixed status without a warning")
	}
	// With --kubeconfig the ConfigMap follows: everything agrees again.
	if _, errOut, code := mirrorctlExit(t, root, "disable", "--kubeconfig", adminConf); code != 0 {
		t.Fatalf("disable --kubeconfig: exit %d\n%s", code, errOut)
	}
	check("disabled", true)
}
