package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

const (
	plManifest = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
	plConfig   = "/etc/kubernetes/kubeadm-config.yaml"
	plMachine  = "4c4c4544004d3510804ab4c04f4e4d32"
)

// plNode lays out a kubeadm control-plane node under a temp dir: the repository's sample node, with
// the real kubeadm-generated manifest from the shared samples when present, a hostname and a
// machine id.
func plNode(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	golden.CopyTree(t, filepath.Join("..", "..", "testdata", "nodes", "kubeadm"), root)
	if b, err := os.ReadFile("/work/shared/samples/kubeadm/kube-controller-manager.yaml"); err == nil {
		plWrite(t, root, plManifest, string(b))
	}
	plWrite(t, root, "/etc/hostname", "cp-1\n")
	plWrite(t, root, "/etc/machine-id", plMachine+"\n")
	return root
}

func plWrite(t *testing.T, root, nodePath, data string) {
	t.Helper()
	golden.WriteFile(t, filepath.Join(root, filepath.FromSlash(nodePath)), []byte(data), golden.FileMode(0o600))
}

func plRead(t *testing.T, root, nodePath string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(nodePath)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// plEdit replaces old, which must occur exactly once, in a node file.
func plEdit(t *testing.T, root, nodePath, old, new string) {
	t.Helper()
	s := plRead(t, root, nodePath)
	if strings.Count(s, old) != 1 {
		t.Fatalf("%s: %q is not in it exactly once", nodePath, old)
	}
	plWrite(t, root, nodePath, strings.Replace(s, old, new, 1))
}

// plSave makes a plan on the node under root with `<op> --dry-run --save-plan FILE` and returns the
// plan file's path and the run's stderr.
func plSave(t *testing.T, root string, op controllers.Op) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(op)+".plan")
	r := run(t, "--root", root, string(op), "--dry-run", "--save-plan", path)
	if r.code != 0 {
		t.Fatalf("save plan: exit %d: %s", r.code, r.stderr)
	}
	return path, r.stderr
}

// plUntouched fails unless the tree under root is as before: nothing written, no state dir.
func plUntouched(t *testing.T, root string, before map[string]golden.File) {
	t.Helper()
	golden.CompareTrees(t, before, golden.Tree(t, root))
	if _, err := os.Stat(filepath.Join(root, "var/lib/mirrorctl")); err == nil {
		t.Error("the state dir was created")
	}
}

func plSnapshots(t *testing.T, root string) int {
	t.Helper()
	r := run(t, "--root", root, "-o", "json", "snapshots", "list")
	var list []any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("snapshots list: %v: %s %s", err, r.stdout, r.stderr)
	}
	return len(list)
}

// plWithout drops the keys that legitimately differ between two results.
func plWithout(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// TestSavePlan: the file is 0600, holds the node's identity, and the sha256 on stderr is the file's.
func TestSavePlan(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	before := golden.Tree(t, root)
	path, stderr := plSave(t, root, controllers.Disable)
	plUntouched(t, root, before)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	want := fmt.Sprintf("[plan] saved %s sha256 %s\n", path, hex.EncodeToString(sum[:]))
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	for _, s := range []string{"operation: disable\n", "hostname: cp-1\n", "machine_id: " + plMachine + "\n", "diff: |\n  --- a/etc/kubernetes/manifests/kube-controller-manager.yaml\n"} {
		if !strings.Contains(string(data), s) {
			t.Errorf("plan lacks %q", s)
		}
	}
	// Saving again overwrites atomically and keeps 0600 even over a looser file.
	os.Chmod(path, 0o644)
	var out, errb bytes.Buffer
	nr, _ := nodefs.New(root)
	a, _ := distros.Get("kubeadm")
	p, err := a.Plan(distros.Options{Root: nr, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := savePlan(&globals{root: root, stdout: &out, stderr: &errb}, p, string(controllers.Disable), planfile.Inputs{}, path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("re-saved plan mode %v, want 0600", fi.Mode().Perm())
	}
}

// plLink returns a symlink in a temp dir that points at target.
func plLink(t *testing.T, target string) string {
	t.Helper()
	l := filepath.Join(t.TempDir(), "link.plan")
	if err := os.Symlink(target, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSavePlanRefusesBadPlaces(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	nr, _ := nodefs.New(root)
	a, _ := distros.Get("kubeadm")
	p, err := a.Plan(distros.Options{Root: nr, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path, want string }{
		{"static pod folder under the root", filepath.Join(root, "etc/kubernetes/manifests/disable.plan"), "whose files the kubelet runs"},
		{"a directory", t.TempDir(), "is a directory"},
		{"a target file", filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"), "is /etc/kubernetes/kubeadm-config.yaml, a file the plan changes"},
		{"a target through a link", plLink(t, filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml")), "a file the plan changes"},
		{"missing folder", filepath.Join(t.TempDir(), "no/such/dir/x.plan"), "no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			_, err := savePlan(&globals{root: root, stdout: &out, stderr: &errb}, p, string(controllers.Disable), planfile.Inputs{}, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "etc/kubernetes/manifests/disable.plan")); err == nil {
		t.Error("a plan was written into the static pod folder")
	}
	if !strings.HasPrefix(plRead(t, root, plConfig), "# kubeadm configuration") {
		t.Error("the kubeadm config was overwritten")
	}
}

// TestApplyPlanEqualsDisable: a plan applied on one node gives the bytes, modes and JSON result a
// direct `disable` gives on an identical node.
func TestApplyPlanEqualsDisable(t *testing.T) {
	t.Parallel()
	for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
		t.Run(string(op), func(t *testing.T) {
			planned, direct := plNode(t), plNode(t)
			if op == controllers.Enable {
				for _, root := range []string{planned, direct} {
					plEdit(t, root, plManifest, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring")
				}
			}
			path, _ := plSave(t, planned, op)
			got, r := runJSON(t, "--root", planned, "-o", "json", "apply-plan", path)
			if r.code != 0 {
				t.Fatalf("apply-plan: exit %d: %s", r.code, r.stderr)
			}
			want, r2 := runJSON(t, "--root", direct, "-o", "json", string(op))
			if r2.code != 0 {
				t.Fatalf("%s: exit %d: %s", op, r2.code, r2.stderr)
			}
			for _, p := range []string{plManifest, plConfig} {
				if plRead(t, planned, p) != plRead(t, direct, p) {
					t.Errorf("%s: apply-plan wrote other bytes than %s", p, op)
				}
				a, _ := os.Stat(filepath.Join(planned, p))
				b, _ := os.Stat(filepath.Join(direct, p))
				if a.Mode() != b.Mode() {
					t.Errorf("%s: mode %v, %s gives %v", p, a.Mode(), op, b.Mode())
				}
			}
			if plRead(t, planned, plManifest) == plRead(t, plNode(t), plManifest) && op == controllers.Disable {
				t.Error("apply-plan changed nothing")
			}
			if got["changed"] != true || got["snapshot"] == nil || got["dry_run"] != false {
				t.Errorf("apply-plan result: changed=%v snapshot=%v dry_run=%v", got["changed"], got["snapshot"], got["dry_run"])
			}
			if !reflect.DeepEqual(plWithout(got, "snapshot", "plan"), plWithout(want, "snapshot")) {
				t.Errorf("apply-plan JSON differs from %s's:\n%s\nvs\n%s", op, r.stdout, r2.stdout)
			}
			plan, _ := got["plan"].(map[string]any)
			data, _ := os.ReadFile(path)
			sum := sha256.Sum256(data)
			if plan["sha256"] != hex.EncodeToString(sum[:]) || plan["operation"] != string(op) || plan["file"] != path {
				t.Errorf("plan key = %v", plan)
			}
			if n := plSnapshots(t, planned); n != 1 {
				t.Errorf("%d snapshots, want 1", n)
			}
			// The snapshot restores the node as it was before the plan.
			if r := run(t, "--root", planned, "rollback"); r.code != 0 {
				t.Fatalf("rollback: exit %d: %s", r.code, r.stderr)
			}
			orig := plNode(t)
			if op == controllers.Enable {
				plEdit(t, orig, plManifest, "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring")
			}
			if plRead(t, planned, plManifest) != plRead(t, orig, plManifest) || plRead(t, planned, plConfig) != plRead(t, orig, plConfig) {
				t.Error("rollback after apply-plan did not restore the original bytes")
			}
		})
	}
}

// TestApplyPlanRefusesDrift: one byte changed in any target between plan and apply → exit 1, one line
// naming the file, nothing written, no snapshot, no state dir.
func TestApplyPlanRefusesDrift(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		file   string
		old    string
		new    string
		dryRun bool
	}{
		{"manifest", plManifest, "--bind-address=127.0.0.1", "--bind-address=127.0.0.2", false},
		{"kubeadm config", plConfig, "podSubnet: 192.168.0.0/16", "podSubnet: 192.168.0.0/17", false},
		{"manifest, dry run", plManifest, "--leader-elect=true", "--leader-elect=True", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := plNode(t)
			path, _ := plSave(t, root, controllers.Disable)
			plEdit(t, root, tc.file, tc.old, tc.new)
			before := golden.Tree(t, root)
			args := []string{"--root", root, "apply-plan", path}
			if tc.dryRun {
				args = []string{"--root", root, "apply-plan", "--dry-run", path}
			}
			r := run(t, args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
			}
			last := plLastLine(r.stderr)
			if !strings.Contains(last, tc.file+" (sha256 ") || !strings.Contains(last, "changed since the plan was made") || !strings.Contains(last, "nothing written") {
				t.Errorf("error does not name %s and the drift: %q", tc.file, last)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			plUntouched(t, root, before)
		})
	}
}

func plLastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestApplyPlanOtherNode: a plan made on one root and applied to a copy with another machine-id (or
// hostname) is refused, naming what differs; --force applies it, still checking every file.
func TestApplyPlanOtherNode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, data, want string
	}{
		{"machine-id", "/etc/machine-id", "0123456789abcdef0123456789abcdef\n", "/etc/machine-id is 0123456789abcdef0123456789abcdef here, " + plMachine + " in the plan"},
		{"hostname", "/etc/hostname", "cp-2\n", "/etc/hostname is cp-2 here, cp-1 in the plan"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := plNode(t)
			path, _ := plSave(t, a, controllers.Disable)
			b := t.TempDir()
			golden.CopyTree(t, a, b)
			plWrite(t, b, tc.file, tc.data)
			before := golden.Tree(t, b)
			r := run(t, "--root", b, "apply-plan", path)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
			}
			if last := plLastLine(r.stderr); !strings.Contains(last, "another node") || !strings.Contains(last, tc.want) || !strings.Contains(last, "--force") {
				t.Errorf("error = %q, want it to say %q", last, tc.want)
			}
			plUntouched(t, b, before)

			m, r := runJSON(t, "--root", b, "-o", "json", "apply-plan", "--force", path)
			if r.code != 0 || m["changed"] != true {
				t.Fatalf("--force: exit %d changed %v: %s", r.code, m["changed"], r.stderr)
			}
			if !strings.Contains(fmt.Sprint(m["warnings"]), "--force: the plan was made on another node") {
				t.Errorf("warnings do not record the forced identity: %v", m["warnings"])
			}
			if plRead(t, b, plManifest) == plRead(t, a, plManifest) {
				t.Error("--force wrote nothing")
			}
		})
	}
	t.Run("force does not skip the files", func(t *testing.T) {
		a := plNode(t)
		path, _ := plSave(t, a, controllers.Disable)
		plWrite(t, a, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
		plEdit(t, a, plConfig, "clusterName: kubernetes", "clusterName: kubernetez")
		before := golden.Tree(t, a)
		r := run(t, "--root", a, "apply-plan", "--force", path)
		if r.code != 1 || !strings.Contains(r.stderr, plConfig+" (sha256") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		plUntouched(t, a, before)
	})
}

// TestApplyPlanRefusesBadPlanFiles: tampered, truncated, other format, not a plan, missing → exit 1,
// one line naming the plan file, nothing written.
func TestApplyPlanRefusesBadPlanFiles(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	good, _ := os.ReadFile(path)
	// One byte of the new manifest bytes: what a hand edit of the reviewed change looks like.
	i := bytes.Index(good, []byte("      - --controllers=*,bootstrapsigner,tokencleaner,-endpointslice"))
	if i < 0 {
		t.Fatalf("plan lacks the new manifest line:\n%s", good)
	}
	tampered := bytes.Clone(good)
	tampered[i+len("      - --controllers=*,")] = 'B'
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"tampered", tampered, "edited after mirrorctl wrote it"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"last byte cut", good[:len(good)-1], "truncated"},
		{"other format", bytes.Replace(good, []byte("format: mirrorctl-plan/v1"), []byte("format: mirrorctl-plan/v9"), 1), `unsupported plan format "mirrorctl-plan/v9"`},
		{"not a plan", []byte(plRead(t, root, plManifest)), "not a mirrorctl plan file"},
		{"empty", nil, "not a mirrorctl plan file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.plan")
			os.WriteFile(p, tc.data, 0o600)
			before := golden.Tree(t, root)
			for _, cmd := range [][]string{{"apply-plan", p}, {"apply-plan", "--force", p}, {"show-plan", p}} {
				r := run(t, append([]string{"--root", root}, cmd...)...)
				if r.code != 1 {
					t.Fatalf("%v: exit %d, want 1: %s", cmd, r.code, r.stderr)
				}
				if want := "mirrorctl: " + p + ": "; !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%v: stderr = %q, want one line starting %q saying %q", cmd, r.stderr, want, tc.want)
				}
			}
			plUntouched(t, root, before)
		})
	}
	t.Run("missing", func(t *testing.T) {
		r := run(t, "--root", root, "apply-plan", filepath.Join(t.TempDir(), "none.plan"))
		if r.code != 1 || !strings.Contains(r.stderr, "none.plan: no such file or directory") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
}

// TestApplyPlanTwice: the second run changes nothing and takes no snapshot; after someone edits a
// file, the same plan is refused.
func TestApplyPlanTwice(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	if r := run(t, "--root", root, "apply-plan", path); r.code != 0 {
		t.Fatalf("first: exit %d: %s", r.code, r.stderr)
	}
	applied := golden.Tree(t, root)
	m, r := runJSON(t, "--root", root, "-o", "json", "apply-plan", path)
	if r.code != 0 || m["changed"] != false || m["snapshot"] != nil || m["mirroring"] != "disabled" || len(m["diff"].([]any)) != 0 {
		t.Fatalf("second: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "already hold the planned bytes") {
		t.Errorf("stderr does not say why nothing changed: %s", r.stderr)
	}
	if d := golden.Diff(applied, golden.Tree(t, root)); len(d) > 0 {
		t.Errorf("the second apply touched the node: %q", d)
	}
	if n := plSnapshots(t, root); n != 1 {
		t.Errorf("%d snapshots, want 1", n)
	}
	// Rolled back, the files hold the plan's old bytes again: the plan applies again.
	if r := run(t, "--root", root, "rollback"); r.code != 0 {
		t.Fatalf("rollback: %s", r.stderr)
	}
	if m, r := runJSON(t, "--root", root, "-o", "json", "apply-plan", path); r.code != 0 || m["changed"] != true {
		t.Fatalf("after rollback: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if !reflect.DeepEqual(fileBytes(t, applied), fileBytes(t, golden.Tree(t, root))) {
		t.Error("re-applying after rollback gave other bytes")
	}
	// Someone edits the file after the plan was applied: neither old nor planned bytes, refused.
	plEdit(t, root, plManifest, "--leader-elect=true", "--leader-elect=false")
	edited := golden.Tree(t, root)
	if r := run(t, "--root", root, "apply-plan", path); r.code != 1 || !strings.Contains(r.stderr, plManifest+" (sha256") {
		t.Errorf("after an edit: exit %d: %s", r.code, r.stderr)
	}
	if d := golden.Diff(edited, golden.Tree(t, root)); len(d) > 0 {
		t.Errorf("a refused apply touched the node: %q", d)
	}
}

// fileBytes keeps only the digests of the node's config files from a tree snapshot.
func fileBytes(t *testing.T, tree map[string]golden.File) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, f := range tree {
		if strings.HasPrefix(k, "etc/") && !f.Mode.IsDir() {
			out[k] = f.SHA256
		}
	}
	return out
}

// TestShowPlanEqualsDryRun: show-plan prints the dry-run's diff on stdout and, with -o json, the
// dry-run's JSON object plus a "plan" key; it needs no node.
func TestShowPlanEqualsDryRun(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	dry := run(t, "--root", root, "disable", "--dry-run")
	if dry.code != 0 {
		t.Fatalf("dry run: %s", dry.stderr)
	}
	// --root points nowhere useful: show-plan reads only the plan.
	show := run(t, "--root", t.TempDir(), "show-plan", path)
	if show.code != 0 {
		t.Fatalf("show-plan: exit %d: %s", show.code, show.stderr)
	}
	if show.stdout != dry.stdout || show.stdout == "" {
		t.Errorf("show-plan diff differs from the dry run's:\n%s\nvs\n%s", show.stdout, dry.stdout)
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	for _, s := range []string{hex.EncodeToString(sum[:]), "disable on kubeadm node cp-1 machine-id " + plMachine, "2 file(s) would change"} {
		if !strings.Contains(show.stderr, s) {
			t.Errorf("show-plan summary lacks %q:\n%s", s, show.stderr)
		}
	}

	dj, _ := runJSON(t, "--root", root, "-o", "json", "disable", "--dry-run")
	sj, _ := runJSON(t, "-o", "json", "show-plan", path)
	if !reflect.DeepEqual(plWithout(sj, "plan"), dj) {
		t.Errorf("show-plan JSON differs from the dry run's")
	}
	if sj["snapshot"] != nil || sj["dry_run"] != true || sj["changed"] != true || sj["mirroring"] != "disabled" {
		t.Errorf("show-plan JSON: %v", sj)
	}
	plan := sj["plan"].(map[string]any)
	node := plan["node"].(map[string]any)
	if node["hostname"] != "cp-1" || node["machine_id"] != plMachine || plan["mirrorctl_version"] != version {
		t.Errorf("plan key: %v", plan)
	}
	if _, err := time.Parse(time.RFC3339, plan["created"].(string)); err != nil {
		t.Errorf("created: %v", err)
	}
	// The text diff applies with patch -p1 like the dry run's: it is the same text, checked above.
}

func TestApplyPlanDryRun(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	before := golden.Tree(t, root)
	m, r := runJSON(t, "--root", root, "-o", "json", "apply-plan", "--dry-run", path)
	if r.code != 0 || m["changed"] != true || m["dry_run"] != true || m["snapshot"] != nil {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	plUntouched(t, root, before)
	show, _ := runJSON(t, "-o", "json", "show-plan", path)
	if !reflect.DeepEqual(m, show) {
		t.Errorf("apply-plan --dry-run on an unchanged node differs from show-plan:\n%s", r.stdout)
	}
}

func TestApplyPlanExpectSHA256(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	before := golden.Tree(t, root)
	r := run(t, "--root", root, "apply-plan", "--expect-sha256", strings.Repeat("0", 64), path)
	if r.code != 1 || !strings.Contains(r.stderr, "sha256 "+hexSum+", not "+strings.Repeat("0", 64)) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	plUntouched(t, root, before)
	if r := run(t, "--root", root, "apply-plan", "--expect-sha256", strings.ToUpper(hexSum), path); r.code != 0 {
		t.Fatalf("matching digest: exit %d: %s", r.code, r.stderr)
	}
}

func TestPlanCommandsUsage(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	plan := filepath.Join(t.TempDir(), "x.plan")
	for _, args := range [][]string{{"apply-plan"}, {"show-plan"}, {"apply-plan", "a", "b"}, {"apply-plan", "--no-such-flag", "a"},
		{"--root", root, "disable", "--save-plan", plan}, {"--root", root, "enable", "--save-plan", plan}} {
		if r := run(t, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(plan); err == nil {
		t.Error("--save-plan without --dry-run wrote a plan")
	}
}

// TestPlanFileIsReadable: the saved plan shows the diff and the new manifest as plain text, the way a
// reviewer reads it in a ticket.
func TestPlanFileIsReadable(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	data, _ := os.ReadFile(path)
	re := regexp.MustCompile(`(?m)^  \+    - --controllers=\*,bootstrapsigner,tokencleaner,-endpointslice\S*$`)
	if !re.Match(data) {
		t.Errorf("the diff is not readable text in the plan:\n%s", data)
	}
	if !strings.Contains(string(data), "\n      apiVersion: v1\n      kind: Pod\n") {
		t.Errorf("the new manifest is not a readable block in the plan")
	}
	if st, _ := os.Stat(path); st.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Error("plan not owned by the user running mirrorctl")
	}
}

// TestApplyPlanNothingToChange: a plan made where mirroring is already off changes nothing and
// creates no state dir when applied.
func TestApplyPlanNothingToChange(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("disable: %s", r.stderr)
	}
	os.RemoveAll(filepath.Join(root, "var"))
	path, _ := plSave(t, root, controllers.Disable)
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "\nchanged: false\n") || !strings.Contains(string(data), "\ndiff: \"\"\n") {
		t.Errorf("a plan with nothing to do does not say so:\n%s", data)
	}
	before := golden.Tree(t, root)
	m, r := runJSON(t, "--root", root, "-o", "json", "apply-plan", path)
	if r.code != 0 || m["changed"] != false || m["snapshot"] != nil {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	plUntouched(t, root, before)
}

// TestApplyPlanWaitsForTheLock: apply-plan takes the state dir's lock like disable, and writes
// nothing when it cannot get it.
func TestApplyPlanWaitsForTheLock(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	nr, _ := nodefs.New(root)
	unlock, err := snapshot.Open(nr, "/var/lib/mirrorctl").Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	manifest := plRead(t, root, plManifest)
	r := run(t, "--root", root, "apply-plan", "--lock-timeout", "100ms", path)
	if r.code != 1 || !strings.Contains(r.stderr, "another mirrorctl run holds the lock") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if plRead(t, root, plManifest) != manifest {
		t.Error("apply-plan wrote without the lock")
	}
	unlock()
	if r := run(t, "--root", root, "apply-plan", path); r.code != 0 {
		t.Fatalf("after unlock: exit %d: %s", r.code, r.stderr)
	}
}

// TestPlanFromOtherVersion: a plan another mirrorctl wrote that this one reads differently is refused
// with both versions named, so the operator does not suspect tampering.
func TestPlanFromOtherVersion(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	path, _ := plSave(t, root, controllers.Disable)
	data, _ := os.ReadFile(path)
	// As if an older mirrorctl had rendered the diff with other context: consistent checksum,
	// a diff this version does not produce.
	body := string(data[:bytes.LastIndex(data[:len(data)-1], []byte("\n"))+1])
	body = strings.Replace(body, "mirrorctl_version: "+version+"\n", "mirrorctl_version: v0.0.1\n", 1)
	body = strings.Replace(body, "diff: |\n  --- a/", "diff: |\n  diff --git\n  --- a/", 1)
	sum := sha256.Sum256([]byte(body))
	other := filepath.Join(t.TempDir(), "old.plan")
	os.WriteFile(other, []byte(body+"checksum: sha256:"+hex.EncodeToString(sum[:])+"\n"), 0o600)
	r := run(t, "--root", root, "apply-plan", other)
	if r.code != 1 || !strings.Contains(r.stderr, "malformed plan") || !strings.Contains(r.stderr, "made by mirrorctl v0.0.1, this is "+version) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

// TestSavePlanWarnsAboutCredentials: a kubeadm config with a bootstrap token ends up whole in the plan;
// saving it says so.
func TestSavePlanWarnsAboutCredentials(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	plEdit(t, root, plConfig, "kind: InitConfiguration\n", "kind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 24h0m0s\n")
	path, stderr := plSave(t, root, controllers.Disable)
	if !strings.Contains(stderr, "[warning] "+path+" holds the complete contents of "+plConfig+", which has a token:") {
		t.Errorf("no credential warning:\n%s", stderr)
	}
	clean := plNode(t)
	if _, stderr := plSave(t, clean, controllers.Disable); strings.Contains(stderr, "complete contents") {
		t.Errorf("credential warning without credentials:\n%s", stderr)
	}
}

// TestApplyPlanWait: apply-plan has disable's health gate: kept when kcm comes back healthy in the
// planned state, rolled back automatically when it does not.
func TestApplyPlanWait(t *testing.T) {
	t.Parallel()
	t.Run("healthy", func(t *testing.T) {
		root := plNode(t)
		path, _ := plSave(t, root, controllers.Disable)
		kl := newFakeKubelet(t, root, func([]byte) bool { return false })
		r := run(t, "--root", root, "apply-plan", "--wait", "10s", "--wait-url", kl.url(), path)
		if r.code != 0 || !strings.Contains(r.stderr, "[wait] kube-controller-manager is healthy, mirroring controller not running") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("rolled back", func(t *testing.T) {
		root := plNode(t)
		path, _ := plSave(t, root, controllers.Disable)
		orig := golden.Tree(t, root)
		origKCM := []byte(plRead(t, root, plManifest))
		kl := newFakeKubelet(t, root, func(m []byte) bool { return !bytes.Equal(m, origKCM) })
		r := run(t, "--root", root, "apply-plan", "--wait", "1500ms", "--wait-url", kl.url(), path)
		if r.code != 1 || !strings.Contains(r.stderr, "automatically") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !reflect.DeepEqual(fileBytes(t, orig), fileBytes(t, golden.Tree(t, root))) {
			t.Error("files not restored after the failed health gate")
		}
		// Restored to the plan's old bytes: the same plan applies again.
		if r := run(t, "--root", root, "apply-plan", "--dry-run", path); r.code != 0 {
			t.Errorf("plan no longer applies after the automatic rollback: %s", r.stderr)
		}
	})
}

// With no /etc/machine-id or /etc/hostname on either side the node cannot be told apart: the plan
// applies (the sha256 checks hold) and says so; with them, nothing is said.
func TestApplyPlanUnknownIdentityWarns(t *testing.T) {
	t.Parallel()
	const warn = "which node the plan was made on cannot be checked"
	a := plNode(t)
	for _, f := range []string{"/etc/hostname", "/etc/machine-id"} {
		if err := os.Remove(filepath.Join(a, filepath.FromSlash(f))); err != nil {
			t.Fatal(err)
		}
	}
	path, _ := plSave(t, a, controllers.Disable)
	m, r := runJSON(t, "--root", a, "-o", "json", "apply-plan", path)
	if r.code != 0 || m["changed"] != true {
		t.Fatalf("exit %d changed %v: %s", r.code, m["changed"], r.stderr)
	}
	if !strings.Contains(fmt.Sprint(m["warnings"]), warn) {
		t.Errorf("no warning about the unknown identity: %v", m["warnings"])
	}
	b := plNode(t)
	path, _ = plSave(t, b, controllers.Disable)
	m, r = runJSON(t, "--root", b, "-o", "json", "apply-plan", path)
	if r.code != 0 || strings.Contains(fmt.Sprint(m["warnings"]), warn) {
		t.Errorf("a node with an identity: exit %d, warnings %v", r.code, m["warnings"])
	}
}

// TestSavePlanReplacesPlantedLink: a link planted where root saves a plan (a world-writable /tmp) is
// replaced by the plan, and the file it names keeps its bytes and mode (issue 14 §1: the attack made
// root overwrite /etc/shadow this way, and a link into the static pod folder landed a plan there).
func TestSavePlanReplacesPlantedLink(t *testing.T) {
	t.Parallel()
	root := plNode(t)
	victims := map[string]string{
		"shadow":          filepath.Join(t.TempDir(), "shadow"),
		"static pod file": filepath.Join(root, "etc/kubernetes/manifests/planted.yaml"),
	}
	for name, victim := range victims {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte("secret\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			sticky := t.TempDir()
			path := filepath.Join(sticky, "disable.plan")
			if err := os.Symlink(victim, path); err != nil {
				t.Fatal(err)
			}
			r := run(t, "--root", root, "disable", "--dry-run", "--save-plan", path)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if b, _ := os.ReadFile(victim); string(b) != "secret\n" {
				t.Errorf("%s was overwritten through the link: %q", victim, b)
			}
			if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o640 {
				t.Errorf("%s mode %v, want 0640", victim, fi.Mode().Perm())
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s is not the plan (0600 regular file): %v %v", path, fi, err)
			}
			if _, _, err := readPlan(path); err != nil {
				t.Errorf("the saved plan does not read back: %v", err)
			}
		})
	}
}
