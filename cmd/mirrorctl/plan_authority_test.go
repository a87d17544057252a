package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
)

// plForge writes a plan that passes every integrity check (format, checksum, canonical form, digests,
// diff): what anyone who can write a plan file can make with the planfile package. edit, when given,
// changes the marshalled text before the checksum is recomputed.
func plForge(t *testing.T, root string, f *planfile.File, edit func(string) string) string {
	t.Helper()
	b, err := planfile.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		s := edit(string(b))
		body := s[:strings.LastIndex(s, "checksum: sha256:")]
		sum := sha256.Sum256([]byte(body))
		b = []byte(body + "checksum: sha256:" + hex.EncodeToString(sum[:]) + "\n")
	}
	path := filepath.Join(t.TempDir(), "forged.plan")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// plBuild builds a plan file from changes, as Save would, with the node's identity.
func plBuild(t *testing.T, root, distro string, in *planfile.Inputs, changes ...change.FileChange) *planfile.File {
	t.Helper()
	nr, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range changes {
		if c.Before == nil {
			f, err := nr.ReadFile(c.Path, true)
			if err != nil {
				t.Fatal(err)
			}
			changes[i].Before = f
		}
	}
	f, err := planfile.Build(&change.Plan{Distro: distro, Op: controllers.Disable, Files: changes, Mirroring: change.Disabled}, "disable", planfile.ReadIdentity(nr), "v", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.Inputs = in
	return f
}

// A plan's checksum proves it is intact, not that mirrorctl made it: apply-plan recomputes the files
// the plan's operation may change from the adapter and the plan's recorded inputs, and refuses any
// other, writing nothing.
func TestApplyPlanRefusesForgedTargets(t *testing.T) {
	t.Parallel()
	const cron = "/etc/cron.d/mirrorctl"
	evil := []byte("* * * * * root /tmp/x\n")
	noInputs := &planfile.Inputs{Values: map[string]any{}}
	for _, tc := range []struct {
		name string
		// forge returns the plan file's path; it may lay out extra files on the node first.
		forge func(t *testing.T, root string) string
		want  string // in the one-line error
	}{
		{"target outside the set", func(t *testing.T, root string) string {
			return plForge(t, root, plBuild(t, root, "kubeadm", noInputs, change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, cron + ": not a file this plan's operation may change"},
		{"target outside the set, next to a real one", func(t *testing.T, root string) string {
			path, _ := plSave(t, root, controllers.Disable)
			real, _, err := planfile.Read(path, version)
			if err != nil {
				t.Fatal(err)
			}
			forged := append(real.Changes(), change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644})
			return plForge(t, root, plBuild(t, root, "kubeadm", real.Inputs, forged...), nil)
		}, cron + ": not a file this plan's operation may change"},
		{"path with ..", func(t *testing.T, root string) string {
			f := plBuild(t, root, "kubeadm", noInputs, change.FileChange{Path: "/etc/kubernetes/manifests/x.yaml", Kind: "static-pod", After: evil, Mode: 0o644})
			return plForge(t, root, f, func(s string) string {
				return strings.ReplaceAll(s, "/etc/kubernetes/manifests/x.yaml", "/etc/kubernetes/manifests/../../cron.d/mirrorctl")
			})
		}, "want an absolute, clean node path"},
		{"symlinked target", func(t *testing.T, root string) string {
			// A link to the real manifest is not the manifest: the plan must name the target itself.
			link := "/etc/kubernetes/kcm.yaml"
			if err := os.Symlink("manifests/kube-controller-manager.yaml", filepath.Join(root, link)); err != nil {
				t.Fatal(err)
			}
			after := strings.Replace(plRead(t, root, plManifest), "--controllers=", "--controllers=-endpointslicemirroring,", 1)
			return plForge(t, root, plBuild(t, root, "kubeadm", noInputs, change.FileChange{Path: link, Kind: "static-pod", After: []byte(after)}), nil)
		}, "/etc/kubernetes/kcm.yaml: not a file this plan's operation may change"},
		{"symlink out of the set", func(t *testing.T, root string) string {
			link := "/etc/kubernetes/extra.yaml"
			if err := os.Symlink("/etc/cron.d/mirrorctl", filepath.Join(root, link)); err != nil {
				t.Fatal(err)
			}
			return plForge(t, root, plBuild(t, root, "kubeadm", noInputs, change.FileChange{Path: link, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, "/etc/kubernetes/extra.yaml: not a file this plan's operation may change"},
		{"changed distro", func(t *testing.T, root string) string {
			path, _ := plSave(t, root, controllers.Disable)
			real, _, err := planfile.Read(path, version)
			if err != nil {
				t.Fatal(err)
			}
			real.Distro = "k3s"
			return plForge(t, root, real, nil)
		}, plManifest + ", " + plConfig + ": not a file this plan's operation may change (k3s disable"},
		{"unknown distro", func(t *testing.T, root string) string {
			f := plBuild(t, root, "nosuch", noInputs, change.FileChange{Path: cron, Kind: "x", After: evil, Mode: 0o644})
			return plForge(t, root, f, nil)
		}, `unknown distro "nosuch"`},
		{"input the adapter does not read", func(t *testing.T, root string) string {
			in := &planfile.Inputs{Values: map[string]any{"kind-config": cron}}
			return plForge(t, root, plBuild(t, root, "kubeadm", in, change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, "records input kind-config=" + cron + ", which is not an input of the kubeadm adapter"},
		{"input of the wrong kind", func(t *testing.T, root string) string {
			in := &planfile.Inputs{Values: map[string]any{"kubeadm-config": cron}}
			return plForge(t, root, plBuild(t, root, "kubeadm", in, change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, "which is not an input of the kubeadm adapter of that kind"},
		{"another operation", func(t *testing.T, root string) string {
			f := plBuild(t, root, "kubeadm", noInputs, change.FileChange{Path: cron, Kind: "x", After: evil, Mode: 0o644})
			f.Operation = "rollback"
			return plForge(t, root, f, nil)
		}, `operation "rollback": apply-plan applies disable, enable and lint-fix plans`},
		{"lint-fix outside the manifests folder", func(t *testing.T, root string) string {
			f := plBuild(t, root, "kubeadm", &planfile.Inputs{Values: map[string]any{"manifests-dir": "/etc/kubernetes/manifests"}}, change.FileChange{Path: cron, Kind: "static-pod", After: evil, Mode: 0o644})
			f.Operation = "lint-fix"
			return plForge(t, root, f, nil)
		}, cron + ": not a file this plan's operation may change"},
		{"inputs naming the file to forge", func(t *testing.T, root string) string {
			// The recorded inputs make /etc/cron.d/mirrorctl a "kubeadm config" target, and the plan's
			// bytes for it are a cron job: mirrorctl's disable makes no such bytes of that file.
			plWrite(t, root, cron, "# cron\n")
			in := &planfile.Inputs{Values: map[string]any{"kubeadm-config": []string{cron}}}
			return plForge(t, root, plBuild(t, root, "kubeadm", in, change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, "mirrorctl disable cannot make this plan from the node's files"},
		{"real targets, forged bytes", func(t *testing.T, root string) string {
			path, _ := plSave(t, root, controllers.Disable)
			real, _, err := planfile.Read(path, version)
			if err != nil {
				t.Fatal(err)
			}
			forged := real.Changes()
			for i := range forged {
				if forged[i].Path == plConfig {
					forged[i].After = append(append([]byte{}, forged[i].After...), "# and more\n"...)
				}
			}
			return plForge(t, root, plBuild(t, root, "kubeadm", real.Inputs, forged...), nil)
		}, plConfig + ": the plan's new bytes are not what mirrorctl disable makes of this file now"},
		{"plan without inputs", func(t *testing.T, root string) string {
			return plForge(t, root, plBuild(t, root, "kubeadm", nil, change.FileChange{Path: cron, Kind: "kubeadm-config", After: evil, Mode: 0o644}), nil)
		}, "the plan records no inputs (made by an older mirrorctl): make a new plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := plNode(t)
			path := tc.forge(t, root)
			before := golden.Tree(t, root)
			for _, args := range [][]string{{"apply-plan", "--dry-run", path}, {"apply-plan", path}, {"apply-plan", "--force", path}} {
				r := run(t, append([]string{"--root", root}, args...)...)
				if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 2 {
					t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stderr, tc.want)
				}
			}
			plUntouched(t, root, before)
			if b, err := os.ReadFile(filepath.Join(root, cron)); err == nil && string(b) == string(evil) {
				t.Errorf("%s was written", cron)
			}
		})
	}
}

// A plan records the inputs it was made with, and apply-plan allows exactly the files they give:
// a kubeadm config named by --kubeadm-config at another path is a target of that plan.
func TestApplyPlanRecordedInputs(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	const moved = "/etc/kubernetes/other/kubeadm.yaml"
	plWrite(t, root, moved, plRead(t, root, plConfig))
	path := filepath.Join(t.TempDir(), "disable.plan")
	if r := run(t, "--root", root, "disable", "--dry-run", "--kubeadm-config", moved, "--save-plan", path); r.code != 0 {
		t.Fatalf("save: exit %d: %s", r.code, r.stderr)
	}
	f, _, err := planfile.Read(path, version)
	if err != nil {
		t.Fatal(err)
	}
	if f.Inputs == nil || strings.Join(f.Inputs.Values["kubeadm-config"].([]string), ",") != moved {
		t.Fatalf("plan records inputs %+v, want kubeadm-config %s", f.Inputs, moved)
	}
	if r := run(t, "--root", root, "apply-plan", path); r.code != 0 {
		t.Fatalf("apply-plan: exit %d: %s", r.code, r.stderr)
	}
	if plRead(t, root, moved) == plRead(t, root, plConfig) {
		t.Errorf("%s unchanged", moved)
	}
}
