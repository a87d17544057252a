package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/golden"
)

const kcpCase = "testdata/distros/files/capi-kcp-v1beta2-simple-cluster/input.yaml"

// filesRepo is a git repository holding a KubeadmControlPlane at clusters/prod/kcp.yaml, made the
// current directory (t.Chdir: these tests are not parallel).
func filesRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	kcp, err := os.ReadFile(filepath.Join(moduleRootDir, kcpCase))
	if err != nil {
		t.Fatal(err)
	}
	golden.WriteFile(t, filepath.Join(dir, "clusters/prod/kcp.yaml"), kcp)
	t.Chdir(dir)
	return dir
}

// TestFilesDryRunApplies: the dry run's diff names the file as given, so `git apply` from the directory
// mirrorctl ran in takes it, and applying it gives what a real run writes.
func TestFilesDryRunApplies(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := filesRepo(t)
	r := runBounded(t, 20*time.Second, "disable", "--dry-run", "-f", "clusters/prod/kcp.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "--- a/clusters/prod/kcp.yaml\n+++ b/clusters/prod/kcp.yaml\n") {
		t.Fatalf("diff headers: %.120q", r.stdout)
	}
	if !strings.Contains(r.stderr, "replace every control-plane machine") {
		t.Errorf("the dry run does not say a KubeadmControlPlane edit rolls the control plane: %s", r.stderr)
	}
	golden.WriteFile(t, filepath.Join(dir, "change.diff"), []byte(r.stdout))
	for _, args := range [][]string{{"init", "-q"}, {"apply", "change.diff"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	got := mustRead(t, filepath.Join(dir, "clusters/prod/kcp.yaml"))
	if string(got) != string(mustRead(t, filepath.Join(moduleRootDir, "testdata/distros/files/capi-kcp-v1beta2-simple-cluster/expected-disable.yaml"))) {
		t.Errorf("git apply of the dry run's diff gives other bytes than the golden edit:\n%s", got)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// moduleRootDir is the repository root, found before a test changes directory.
var moduleRootDir = func() string { d, _ := filepath.Abs("../.."); return d }()

// TestFilesJSONAndStatus: -o json names the file as given, with the new kind; status reads it.
func TestFilesJSONAndStatus(t *testing.T) {
	filesRepo(t)
	r := runBounded(t, 20*time.Second, "-o", "json", "disable", "--dry-run", "-f", "./clusters/prod/kcp.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res struct {
		Changed bool   `json:"changed"`
		Distro  string `json:"distro"`
		Files   []struct {
			Path, Kind string
			Changed    bool
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Distro != "files" || len(res.Files) != 1 || res.Files[0].Path != "clusters/prod/kcp.yaml" || res.Files[0].Kind != "capi-kubeadmcontrolplane" {
		t.Errorf("result: %+v", res)
	}
	r = runBounded(t, 20*time.Second, "-o", "json", "status", "-f", "clusters/prod/kcp.yaml")
	if r.code != 0 {
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"mirroring": "enabled"`) || !strings.Contains(r.stdout, `"path": "clusters/prod/kcp.yaml"`) {
		t.Errorf("status: %s", r.stdout)
	}
}

// TestFilesUsage: what would name a node cannot be combined with -f (exit 2, nothing read).
func TestFilesUsage(t *testing.T) {
	filesRepo(t)
	for _, args := range [][]string{
		{"--root", t.TempDir(), "disable", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "--distro", "kubeadm", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "--kops-spec", "x.yaml", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "--kubeconfig", "/etc/kubernetes/admin.conf", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "--wait", "1m", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "--dry-run", "--save-plan", "p.json", "-f", "clusters/prod/kcp.yaml"},
		{"disable", "-f", "clusters/prod/kcp.yaml", "-f", "./clusters/prod/kcp.yaml"},
		{"status", "--distro", "k3s", "-f", "clusters/prod/kcp.yaml"},
	} {
		r := runBounded(t, 20*time.Second, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

// TestFilesWriteRollback writes a -f file for real, snapshot and all, then rolls it back. A write takes
// the machine's lock (/run/mirrorctl) and journal (/var/lib/mirrorctl), so the test runs itself again
// in a private mount namespace with both folders on tmpfs: it never touches the host's.
// inPrivateMounts runs the named test again inside a private mount namespace with its own /run and
// /var/lib (the lock and state dir of a -f write are this machine's: never the host's in a test), and
// reports true when this call was the outer one (the caller returns).
func inPrivateMounts(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("MIRRORCTL_FILES_NS") != "" {
		return false
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := `mount -t tmpfs tmpfs /run && mkdir -p /var/lib && mount -t tmpfs tmpfs /var/lib && exec "$0" -test.run="^$1$" -test.v`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, self, name)
	cmd.Dir, _ = os.Getwd()
	cmd.Env = append(os.Environ(), "MIRRORCTL_FILES_NS=1")
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "Operation not permitted") {
		t.Skipf("no private mount namespace here: %s", out)
	}
	if err != nil {
		t.Fatalf("in a private mount namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("the inner run did not pass:\n%s", out)
	}
	return true
}

func TestFilesWriteRollback(t *testing.T) {
	if inPrivateMounts(t, "TestFilesWriteRollback") {
		return
	}
	dir := filesRepo(t)
	path := filepath.Join(dir, "clusters/prod/kcp.yaml")
	before := mustRead(t, path)
	r := runBounded(t, 20*time.Second, "disable", "-f", "clusters/prod/kcp.yaml")
	if r.code != 0 {
		t.Fatalf("disable: exit %d: %s", r.code, r.stderr)
	}
	after := mustRead(t, path)
	if string(after) == string(before) || !strings.Contains(string(after), "-endpointslice-mirroring-controller") {
		t.Fatalf("the file is not edited:\n%s", after)
	}
	id := regexp.MustCompile(`snapshot (\S+) \(undo`).FindStringSubmatch(r.stderr)
	if id == nil {
		t.Fatalf("no snapshot in: %s", r.stderr)
	}
	// Rollback works from any directory: the snapshot keeps the absolute path.
	t.Chdir(t.TempDir())
	r = runBounded(t, 20*time.Second, "rollback", id[1])
	if r.code != 0 {
		t.Fatalf("rollback: exit %d: %s", r.code, r.stderr)
	}
	if got := mustRead(t, path); string(got) != string(before) {
		t.Errorf("rollback does not restore the file:\n%s", got)
	}
}

// --endpoints-controller reaches -f files; switching it off there needs the override, since no
// kube-apiserver of the cluster the files configure is in reach.
func TestFilesEndpointsController(t *testing.T) {
	if inPrivateMounts(t, "TestFilesEndpointsController") {
		return
	}
	dir := filesRepo(t)
	kcp := filepath.Join(dir, "clusters/prod/kcp.yaml")
	before := string(mustRead(t, kcp))
	r := runBounded(t, 20*time.Second, "disable", "--endpoints-controller", "-f", "clusters/prod/kcp.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "--skip-apiserver-version-check") || string(mustRead(t, kcp)) != before {
		t.Fatalf("without the override: exit %d: %s", r.code, r.stderr)
	}
	m, r := runJSON(t, "-o", "json", "disable", "--endpoints-controller", "--skip-apiserver-version-check", "-f", "clusters/prod/kcp.yaml")
	if r.code != 0 || m["mirroring"] != "disabled" || m["endpoints_controller"] != "disabled" {
		t.Fatalf("disable: exit %d %v: %s", r.code, m, r.stderr)
	}
	if !strings.Contains(string(mustRead(t, kcp)), "-endpoints-controller") {
		t.Fatalf("kcp.yaml:\n%s", mustRead(t, kcp))
	}
	if r := run(t, "enable", "-f", "clusters/prod/kcp.yaml"); r.code != 0 {
		t.Fatalf("enable: exit %d: %s", r.code, r.stderr)
	}
	st, _ := runJSON(t, "-o", "json", "status", "-f", "clusters/prod/kcp.yaml")
	if st["mirroring"] != "enabled" || st["endpoints_controller"] != "disabled" {
		t.Fatalf("status after a plain enable: %v", st)
	}
	m, r = runJSON(t, "-o", "json", "enable", "--endpoints-controller", "-f", "clusters/prod/kcp.yaml")
	if r.code != 0 || m["endpoints_controller"] != "enabled" || m["changed"] != true || strings.Contains(string(mustRead(t, kcp)), "endpoints-controller") {
		t.Fatalf("enable --endpoints-controller: exit %d %v: %s", r.code, m, r.stderr)
	}
}
