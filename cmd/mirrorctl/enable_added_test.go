package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
)

// TestEnableTakesBackTheEntryDisableAdded: on the sample node the kubeadm config sets no
// controllers, so disable adds the entry (and its snapshot records that); enable then removes it
// again instead of leaving `controllers: "*,bootstrapsigner,tokencleaner"` behind, so a Git-tracked
// config is byte for byte as it was. Also through a saved enable plan and apply-plan.
func TestEnableTakesBackTheEntryDisableAdded(t *testing.T) {
	t.Parallel()
	const cfg = "etc/kubernetes/kubeadm-config.yaml"
	for _, viaPlan := range []bool{false, true} {
		root := newNode(t)
		orig := files(t, root)
		if r := run(t, "--root", root, "disable"); r.code != 0 {
			t.Fatalf("disable: %d %s", r.code, r.stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(root, cfg)); files(t, root)[cfg] == orig[cfg] || !strings.Contains(string(got), "controllers:") {
			t.Fatalf("disable did not add the controllers entry:\n%s", got)
		}
		// The snapshot records which key disable added.
		snaps, _ := filepath.Glob(filepath.Join(root, "var/lib/mirrorctl/snapshots/*/meta.json"))
		if len(snaps) != 1 {
			t.Fatalf("%d snapshots", len(snaps))
		}
		var meta struct {
			Files []struct {
				Path  string   `json:"path"`
				Added []string `json:"added"`
			} `json:"files"`
		}
		data, _ := os.ReadFile(snaps[0])
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		for _, f := range meta.Files {
			want := ""
			if f.Path == "/"+cfg {
				want = "controllerManager.extraArgs.controllers"
			}
			if strings.Join(f.Added, ",") != want {
				t.Errorf("snapshot: %s added %v, want %q", f.Path, f.Added, want)
			}
		}
		if viaPlan {
			plan := filepath.Join(t.TempDir(), "enable.plan")
			if r := run(t, "--root", root, "enable", "--dry-run", "--save-plan", plan); r.code != 0 {
				t.Fatalf("enable --save-plan: %d %s", r.code, r.stderr)
			}
			if r := run(t, "--root", root, "apply-plan", plan); r.code != 0 {
				t.Fatalf("apply-plan: %d %s", r.code, r.stderr)
			}
		} else if r := run(t, "--root", root, "enable"); r.code != 0 {
			t.Fatalf("enable: %d %s", r.code, r.stderr)
		}
		for _, d := range golden.Diff(orig, files(t, root)) {
			t.Errorf("plan=%v: after disable and enable: %s", viaPlan, d)
		}
		// A second disable/enable pair does the same.
		run(t, "--root", root, "disable")
		run(t, "--root", root, "enable")
		for _, d := range golden.Diff(orig, files(t, root)) {
			t.Errorf("plan=%v: after a second pair: %s", viaPlan, d)
		}
	}
}

// TestEnableKeepsAnEntryTheOperatorOwns: an entry the operator changed after mirrorctl added it, or
// one mirrorctl never added, is edited, not removed.
func TestEnableKeepsAnEntryTheOperatorOwns(t *testing.T) {
	t.Parallel()
	const cfg = "etc/kubernetes/kubeadm-config.yaml"
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("disable: %d %s", r.code, r.stderr)
	}
	p := filepath.Join(root, cfg)
	data, _ := os.ReadFile(p)
	edited := strings.Replace(string(data), "tokencleaner,", "tokencleaner,-ttl,", 1)
	if edited == string(data) {
		t.Fatal("no entry to edit")
	}
	if err := os.WriteFile(p, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "--root", root, "enable"); r.code != 0 {
		t.Fatalf("enable: %d %s", r.code, r.stderr)
	}
	after, _ := os.ReadFile(p)
	if !strings.Contains(string(after), `controllers: "*,bootstrapsigner,tokencleaner,-ttl"`) {
		t.Errorf("the operator's entry was not kept (edited):\n%s", after)
	}
	// Without a snapshot recording it (another state dir), the entry is the operator's too.
	root = newNode(t)
	run(t, "--root", root, "disable")
	if r := run(t, "--root", root, "--state-dir", "/var/lib/other", "enable"); r.code != 0 {
		t.Fatalf("enable: %d %s", r.code, r.stderr)
	}
	after, _ = os.ReadFile(filepath.Join(root, cfg))
	if !strings.Contains(string(after), `controllers: "*,bootstrapsigner,tokencleaner"`) {
		t.Errorf("without the record the entry should stay, edited:\n%s", after)
	}
}
