package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/urfave/cli/v2"
)

const kcmPath = "etc/kubernetes/manifests/kube-controller-manager.yaml"

// newNode copies the bundled sample kubeadm node into a temp root and returns it.
func newNode(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	golden.CopyTree(t, "../../testdata/nodes/kubeadm", root, golden.FileMode(0o600))
	return root
}

type runResult struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"mirrorctl"}, args...), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func runJSON(t *testing.T, args ...string) (map[string]any, runResult) {
	t.Helper()
	r := run(t, args...)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("%v: stdout is not one JSON object: %v\n%s\nstderr: %s", args, err, r.stdout, r.stderr)
	}
	return m, r
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	before := golden.Tree(t, root)
	r := run(t, "--root", root, "disable", "--dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "+    - --controllers=*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller") {
		t.Errorf("dry-run diff lacks the new flag:\n%s", r.stdout)
	}
	if !strings.HasPrefix(r.stdout, "--- a/"+kcmPath+"\n+++ b/"+kcmPath+"\n") {
		t.Errorf("diff headers are not git-style a/ b/ node paths:\n%s", r.stdout)
	}
	golden.CompareTrees(t, before, golden.Tree(t, root))
	if _, err := os.Stat(filepath.Join(root, "var/lib/mirrorctl")); err == nil {
		t.Error("dry run created the state dir")
	}
}

func TestDisableJSONContract(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	m, r := runJSON(t, "--root", root, "-o", "json", "disable")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, k := range []string{"changed", "mirroring", "snapshot", "files", "diff", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
	}
	if m["changed"] != true || m["mirroring"] != "disabled" {
		t.Errorf("changed=%v mirroring=%v", m["changed"], m["mirroring"])
	}
	id, _ := m["snapshot"].(string)
	if id == "" {
		t.Fatalf("no snapshot id: %v", m["snapshot"])
	}
	files := m["files"].([]any)
	f0 := files[0].(map[string]any)
	if f0["path"] != "/"+kcmPath || f0["kind"] != "static-pod-manifest" || f0["changed"] != true {
		t.Errorf("files[0] = %v", f0)
	}
	d0 := m["diff"].([]any)[0].(map[string]any)
	for _, k := range []string{"before_header", "after_header", "before", "after"} {
		if _, ok := d0[k]; !ok {
			t.Errorf("diff entry lacks %q", k)
		}
	}
	if strings.Contains(r.stdout, root) {
		t.Error("JSON output contains the --root prefix; paths must be node paths")
	}
	// Idempotent: the second run changes nothing and takes no snapshot.
	m2, _ := runJSON(t, "--root", root, "-o", "json", "disable")
	if m2["changed"] != false || m2["snapshot"] != nil || m2["mirroring"] != "disabled" {
		t.Errorf("second run: changed=%v snapshot=%v mirroring=%v", m2["changed"], m2["snapshot"], m2["mirroring"])
	}
	list := run(t, "--root", root, "-o", "json", "snapshots", "list")
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(list.stdout), &snaps); err != nil || len(snaps) != 1 {
		t.Errorf("want exactly one snapshot, got %d (%v)", len(snaps), err)
	}
}

func TestRollbackRestoresBytesModeOwner(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	kcm := filepath.Join(root, kcmPath)
	if err := os.Chmod(kcm, 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(kcm, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	before := golden.Tree(t, filepath.Join(root, "etc"))
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("disable: %d %s", r.code, r.stderr)
	}
	mid := golden.Tree(t, filepath.Join(root, "etc"))
	if mid["kubernetes/manifests/kube-controller-manager.yaml"].Mode != before["kubernetes/manifests/kube-controller-manager.yaml"].Mode ||
		mid["kubernetes/manifests/kube-controller-manager.yaml"].UID != before["kubernetes/manifests/kube-controller-manager.yaml"].UID {
		t.Error("disable did not keep the manifest's mode and owner")
	}
	r := run(t, "--root", root, "rollback")
	if r.code != 0 {
		t.Fatalf("rollback: %d %s", r.code, r.stderr)
	}
	golden.CompareTrees(t, before, golden.Tree(t, filepath.Join(root, "etc")))
	// A second rollback restores the same state again: nothing changes.
	if r := run(t, "--root", root, "rollback"); r.code != 0 {
		t.Fatalf("second rollback: %d %s", r.code, r.stderr)
	}
	golden.CompareTrees(t, before, golden.Tree(t, filepath.Join(root, "etc")))
}

func TestRollbackRefusesDriftUnlessForced(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	kcm := filepath.Join(root, kcmPath)
	data, _ := os.ReadFile(kcm)
	edited := strings.Replace(string(data), "--leader-elect=true", "--leader-elect=false", 1)
	os.WriteFile(kcm, []byte(edited), 0o600)
	r := run(t, "--root", root, "rollback")
	if r.code != 1 || !strings.Contains(r.stderr, "/"+kcmPath) {
		t.Fatalf("rollback after drift: exit %d, stderr %q", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(kcm); string(got) != edited {
		t.Error("refused rollback changed the file")
	}
	if r := run(t, "--root", root, "rollback", "--force"); r.code != 0 {
		t.Fatalf("rollback --force: %d %s", r.code, r.stderr)
	}
	orig, _ := os.ReadFile("../../testdata/nodes/kubeadm/" + kcmPath)
	if got, _ := os.ReadFile(kcm); string(got) != string(orig) {
		t.Error("rollback --force did not restore the original")
	}
}

func TestDisableThenEnableRestoresEffectiveState(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	orig, _ := os.ReadFile(filepath.Join(root, kcmPath))
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	m, r := runJSON(t, "--root", root, "-o", "json", "enable")
	if r.code != 0 || m["changed"] != true || m["mirroring"] != "enabled" {
		t.Fatalf("enable: %d %v %s", r.code, m, r.stderr)
	}
	// For the kubeadm default list, enable after disable gives back the original bytes.
	if got, _ := os.ReadFile(filepath.Join(root, kcmPath)); string(got) != string(orig) {
		t.Errorf("enable after disable did not restore the original manifest")
	}
	st, _ := runJSON(t, "--root", root, "-o", "json", "status")
	if st["mirroring"] != "enabled" {
		t.Errorf("status after enable: %v", st["mirroring"])
	}
}

func TestDiffAppliesWithPatchAndGitApply(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"patch", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not installed; skipping it", tool)
			continue
		}
		root := newNode(t)
		want := newNode(t)
		r := run(t, "--root", root, "disable", "--dry-run")
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		if r := run(t, "--root", want, "disable"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		var cmd *exec.Cmd
		if tool == "patch" {
			cmd = exec.Command("patch", "-p1", "-d", root)
		} else {
			cmd = exec.Command("git", "apply", "-p1")
			cmd.Dir = root
		}
		cmd.Stdin = strings.NewReader(r.stdout)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s rejected the diff: %v\n%s", tool, err, out)
		}
		got, _ := os.ReadFile(filepath.Join(root, kcmPath))
		exp, _ := os.ReadFile(filepath.Join(want, kcmPath))
		if string(got) != string(exp) {
			t.Errorf("%s: applying the dry-run diff differs from disable", tool)
		}
	}
}

func TestEnvironmentVariables(t *testing.T) {
	root := newNode(t)
	t.Setenv("MIRRORCTL_ROOT", root)
	t.Setenv("MIRRORCTL_OUTPUT", "json")
	t.Setenv("MIRRORCTL_DRY_RUN", "true")
	m, r := runJSON(t, "disable")
	if r.code != 0 || m["changed"] != true || m["dry_run"] != true {
		t.Fatalf("env-configured run: %d %v %s", r.code, m, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "var")); err == nil {
		t.Error("MIRRORCTL_DRY_RUN=true still wrote")
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	for _, args := range [][]string{
		{"bogus"},
		{"--root", root, "disable", "--bogus"},
		{"--root", root, "-o", "yaml", "status"},
		{"--root", root, "disable", "extra-arg"},
		{"--root", root, "--color", "sometimes", "status"},
		{"--root", root, "disable", "--distro", "nosuch"},
		{"completion", "tcsh"},
	} {
		r := run(t, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 && !strings.Contains(r.stderr, "Usage") {
			t.Errorf("%v: error is %d lines: %q", args, n+1, r.stderr)
		}
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	r := run(t, "--root", root, "status")
	if r.code != 0 || !strings.Contains(r.stdout, "mirroring: enabled") || !strings.Contains(r.stdout, "/"+kcmPath) {
		t.Errorf("status: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestCompletionAndMan(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := run(t, "completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "mirrorctl") {
			t.Errorf("completion %s: %d %q", sh, r.code, r.stderr)
		}
	}
	r := run(t, "man")
	if r.code != 0 || !strings.Contains(r.stdout, ".TH") && !strings.Contains(r.stdout, ".SH") {
		t.Errorf("man: %d %q", r.code, r.stdout[:min(len(r.stdout), 200)])
	}
}

// TestManPageIsCurrent keeps docs/mirrorctl.1 (installed by `make install`) generated from the
// command definitions: regenerate with `make man`.
func TestManPageIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../docs/mirrorctl.1")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "man")
	if r.code != 0 || r.stdout != string(want) {
		t.Errorf("docs/mirrorctl.1 is stale: run `make man` (exit %d)", r.code)
	}
}

// TestManPageRenders: groff reads the page without a warning, and every visible flag of every
// visible command and every MIRRORCTL_* variable is on it.
func TestManPageRenders(t *testing.T) {
	t.Parallel()
	r := run(t, "man")
	if r.code != 0 {
		t.Fatalf("man: %d %s", r.code, r.stderr)
	}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			if !strings.Contains(r.stdout, ".SS "+roff(c.Name)) && !strings.Contains(r.stdout, " "+roff(c.Name)+"\n") {
				t.Errorf("command %s is not on the man page", c.Name)
			}
			for _, f := range c.Flags {
				if v, ok := f.(cli.VisibleFlag); ok && v.IsVisible() && !strings.Contains(r.stdout, "\\fB\\-\\-"+roff(f.Names()[0])+"\\fR") {
					t.Errorf("%s --%s is not on the man page", c.Name, f.Names()[0])
				}
				if d, ok := f.(cli.DocGenerationFlag); ok {
					for _, e := range d.GetEnvVars() {
						if !strings.Contains(r.stdout, ".B "+roff(e)+"\n") {
							t.Errorf("%s is not on the man page", e)
						}
					}
				}
			}
			walk(c.Subcommands)
		}
	}
	walk(newApp(io.Discard, io.Discard).Commands)
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff not installed: the page was not rendered")
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}

func TestColor(t *testing.T) {
	root := newNode(t)
	r := run(t, "--root", root, "--color", "always", "disable", "--dry-run")
	if !strings.Contains(r.stdout, "\x1b[32m+    - --controllers=") || !strings.Contains(r.stdout, "\x1b[31m-    - --controllers=") {
		t.Errorf("--color always: no colored +/- lines:\n%q", r.stdout)
	}
	// auto: stdout here is a buffer, not a terminal, so no color; never: none either.
	for _, mode := range []string{"auto", "never"} {
		if r := run(t, "--root", root, "--color", mode, "disable", "--dry-run"); strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("--color %s wrote escape codes", mode)
		}
	}
	t.Setenv("MIRRORCTL_COLOR", "always")
	if r := run(t, "--root", root, "disable", "--dry-run"); !strings.Contains(r.stdout, "\x1b[") {
		t.Error("MIRRORCTL_COLOR=always ignored")
	}
}
