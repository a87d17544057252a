package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/golden"
)

// Issue 18: the command line behaves the way kubectl and kubeadm users expect.

// Global flags go before or after the command, in every spelling kubectl users type; given twice,
// the one after the command wins.
func TestGlobalFlagsAnywhere(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	for _, args := range [][]string{
		{"status", "-o", "json", "--root", root},
		{"status", "-ojson", "--root=" + root},
		{"status", "--output=json", "--root", root},
		{"--root", "/nonexistent", "-o", "text", "status", "--root", root, "-o", "json"},
		{"-o", "json", "--root", root, "status"},
	} {
		m, r := runJSON(t, args...)
		if r.code != 0 || m["distro"] != "kubeadm" {
			t.Errorf("%v: exit %d distro %v: %s", args, r.code, m["distro"], r.stderr)
		}
	}
	if r := run(t, "disable", "--root", root, "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, "+++ b/"+kcmPath) {
		t.Errorf("disable --root R --dry-run: exit %d: %s", r.code, r.stderr)
	}
	// Subcommands too, and the environment sets a global flag everywhere.
	if r := run(t, "snapshots", "list", "--root", root, "-o", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("snapshots list: exit %d %q: %s", r.code, r.stdout, r.stderr)
	}
}

// Every command's --help lists the global flags, in their own section.
func TestEveryHelpListsGlobalFlags(t *testing.T) {
	t.Parallel()
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(append([]string(nil), path...), c.Name)
			r := run(t, append(p, "--help")...)
			if r.code != 0 {
				t.Errorf("%v --help: exit %d: %s", p, r.code, r.stderr)
			}
			for _, want := range []string{cliflags.Category, "--root DIR", "--output FORMAT, -o FORMAT", "-v N", "--state-dir DIR", "--color WHEN", "--show-secrets"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%v --help lacks %q", p, want)
				}
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(io.Discard, io.Discard).Commands)
	// help CMD is CMD --help.
	if a, b := run(t, "help", "status"), run(t, "status", "--help"); a.code != 0 || a.stdout != b.stdout {
		t.Errorf("help status (exit %d) differs from status --help", a.code)
	}
}

// -v N is verbosity (kubectl's), --version the version.
func TestVerbosityAndVersion(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	quiet := run(t, "--root", root, "status")
	if quiet.code != 0 || strings.Contains(quiet.stderr, "[distro]") {
		t.Errorf("status at -v 0: exit %d, stderr %q", quiet.code, quiet.stderr)
	}
	for _, args := range [][]string{{"-v", "1", "status"}, {"status", "--v", "1"}, {"status", "-v1"}, {"status", "--v=2"}} {
		r := run(t, append([]string{"--root", root}, args...)...)
		if r.code != 0 || !strings.Contains(r.stderr, "[distro] kubeadm: detected (/etc/kubernetes/manifests/kube-controller-manager.yaml)") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := run(t, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "mirrorctl version ") {
		t.Errorf("--version: exit %d %q", r.code, r.stdout)
	}
	if r := run(t, "-v", "status"); r.code != exitUsage || strings.Contains(r.stdout, "version") {
		t.Errorf("-v is verbosity and wants a number: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// fakeKubeconfig writes a kubeconfig whose contexts point at addresses nothing listens on, so a run
// shows which one it chose (-v 1) and then fails fast.
func fakeKubeconfig(t *testing.T, path, current string, ports ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for _, p := range ports {
		b.WriteString("- name: c" + p + "\n  cluster:\n    server: https://127.0.0.1:" + p + "\n    insecure-skip-tls-verify: true\n")
	}
	b.WriteString("users:\n- name: u\n  user:\n    token: not-a-secret\ncontexts:\n")
	for _, p := range ports {
		b.WriteString("- name: ctx" + p + "\n  context: {cluster: c" + p + ", user: u}\n")
	}
	b.WriteString("current-context: " + current + "\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The kubeconfig is found as kubectl finds it: --kubeconfig (relative to the working directory),
// $KUBECONFIG merged, ~/.kube/config, --context; admin.conf under --root last.
func TestKubeconfigLikeKubectl(t *testing.T) {
	root := newNode(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Chdir(home)
	audit := func(args ...string) runResult {
		return run(t, append([]string{"--root", root, "-v", "1", "audit", "--timeout", "2s"}, args...)...)
	}
	server := regexp.MustCompile(`\[kubeconfig\] (\S+) context (\S+) server (\S+)`)
	check := func(name string, r runResult, source, context, host string) {
		t.Helper()
		m := server.FindStringSubmatch(r.stderr)
		if m == nil || m[1] != source || m[2] != context || m[3] != host || r.code != 1 {
			t.Errorf("%s: exit %d, want %s %s %s: %s", name, r.code, source, context, host, r.stderr)
		}
	}
	// Nothing anywhere: the node's admin.conf is the last fallback, and it is missing.
	if r := audit(); r.code != 1 || !strings.Contains(r.stderr, "/etc/kubernetes/admin.conf") || !strings.Contains(r.stderr, ".kube/config") {
		t.Errorf("no kubeconfig: exit %d: %s", r.code, r.stderr)
	}
	fakeKubeconfig(t, filepath.Join(root, "etc/kubernetes/admin.conf"), "ctx1", "1")
	check("admin.conf", audit(), "/etc/kubernetes/admin.conf", "(current-context)", "https://127.0.0.1:1")
	// -v 2 shows each API request; -v 1 does not.
	if r := audit("-v", "2"); !strings.Contains(r.stderr, "[api] GET https://127.0.0.1:1/version: ") {
		t.Errorf("-v 2: no API request logged: %s", r.stderr)
	}
	if r := audit(); strings.Contains(r.stderr, "[api]") {
		t.Errorf("-v 1 logs API requests: %s", r.stderr)
	}
	fakeKubeconfig(t, filepath.Join(home, ".kube/config"), "ctx2", "2", "3")
	check("~/.kube/config", audit(), filepath.Join(home, ".kube/config"), "(current-context)", "https://127.0.0.1:2")
	check("--context", audit("--context", "ctx3"), filepath.Join(home, ".kube/config"), "ctx3", "https://127.0.0.1:3")
	fakeKubeconfig(t, filepath.Join(home, "a"), "ctx4", "4")
	fakeKubeconfig(t, filepath.Join(home, "b"), "ctx5", "5")
	t.Setenv("KUBECONFIG", filepath.Join(home, "a")+":"+filepath.Join(home, "b"))
	check("$KUBECONFIG", audit(), filepath.Join(home, "a")+":"+filepath.Join(home, "b"), "(current-context)", "https://127.0.0.1:4")
	check("$KUBECONFIG merged, --context", audit("--context", "ctx5"), filepath.Join(home, "a")+":"+filepath.Join(home, "b"), "ctx5", "https://127.0.0.1:5")
	// --kubeconfig relative: where the operator is; absolute with --root: under it, and said so.
	check("--kubeconfig relative", audit("--kubeconfig", "b"), filepath.Join(home, "b"), "(current-context)", "https://127.0.0.1:5")
	r := audit("--kubeconfig", "/etc/kubernetes/admin.conf")
	check("--kubeconfig absolute", r, "/etc/kubernetes/admin.conf", "(current-context)", "https://127.0.0.1:1")
	if !strings.Contains(r.stderr, "[path] --kubeconfig /etc/kubernetes/admin.conf: using "+filepath.Join(root, "etc/kubernetes/admin.conf")+" (an absolute path is taken under --root") {
		t.Errorf("absolute --kubeconfig with --root: which file was used is not said: %s", r.stderr)
	}
	if r := audit("--context", "nope"); r.code != 1 || !strings.Contains(r.stderr, `"nope"`) {
		t.Errorf("unknown context: exit %d: %s", r.code, r.stderr)
	}
	// disable reaches for the cluster only when asked: --kubeconfig or --context.
	if r := run(t, "--root", root, "disable", "--dry-run"); r.code != 0 || strings.Contains(r.stderr, "kubeadm-config") && strings.Contains(r.stderr, "127.0.0.1") {
		t.Errorf("node-only dry run: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "--root", root, "disable", "--dry-run", "--context", "ctx4", "--timeout", "2s"); r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:4") {
		t.Errorf("--context alone includes the live ClusterConfiguration: exit %d: %s", r.code, r.stderr)
	}
}

// Files named on the command line are where the operator is; an absolute one under --root when
// --root is given (and the output says which file); the distribution's own flags name it.
func TestPathRule(t *testing.T) {
	dir := t.TempDir()
	kind, err := os.ReadFile("../../testdata/distros/kind/minimal-image-tag/root/home/op/kind.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kind.yaml"), kind, 0o600); err != nil {
		t.Fatal(err)
	}
	root := newNode(t)
	t.Chdir(dir)
	// No --root, no --distro: the kind file in the working directory, named by --kind-config.
	r := run(t, "disable", "--dry-run", "--kind-config", "kind.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "+++ b"+filepath.Join(dir, "kind.yaml")) {
		t.Fatalf("kind file in the working directory: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Under --root: a relative path must still be the working directory's, so outside the root it
	// is refused rather than read from somewhere else.
	if r := run(t, "--root", root, "disable", "--dry-run", "--kind-config", "kind.yaml"); r.code != exitUsage || !strings.Contains(r.stderr, "outside --root") {
		t.Errorf("relative path outside --root: exit %d: %s", r.code, r.stderr)
	}
	if err := os.MkdirAll(filepath.Join(root, "home/op"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "home/op/kind.yaml"), kind, 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "--root", root, "disable", "--dry-run", "--kind-config", "/home/op/kind.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "+++ b/home/op/kind.yaml") || !strings.Contains(r.stderr, "[path] --kind-config /home/op/kind.yaml: using "+filepath.Join(root, "home/op/kind.yaml")) {
		t.Errorf("absolute path under --root: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Chdir(root)
	if r := run(t, "--root", root, "disable", "--dry-run", "--kind-config", "home/op/kind.yaml"); r.code != 0 || !strings.Contains(r.stdout, "+++ b/home/op/kind.yaml") {
		t.Errorf("relative path inside --root: exit %d: %s", r.code, r.stderr)
	}
	// Two distributions' flags at once are a usage error.
	if r := run(t, "disable", "--dry-run", "--kind-config", "kind.yaml", "--kops-spec", "x.yaml"); r.code != exitUsage || !strings.Contains(r.stderr, "--kind-config is kind's and --kops-spec is kops's") {
		t.Errorf("kind and kops flags: exit %d: %s", r.code, r.stderr)
	}
}

// --exit-code: 3 when a dry run would change something, 0 when not; status: 3 when mixed.
func TestExitCode(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	if r := run(t, "--root", root, "disable", "--dry-run", "--exit-code"); r.code != exitFindings {
		t.Errorf("would change: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "--root", root, "disable", "--exit-code"); r.code != exitUsage || !strings.Contains(r.stderr, "--exit-code goes with --dry-run") {
		t.Errorf("--exit-code without --dry-run: exit %d: %s", r.code, r.stderr)
	}
	plan := filepath.Join(t.TempDir(), "p.plan")
	if r := run(t, "--root", root, "disable", "--dry-run", "--save-plan", plan); r.code != 0 {
		t.Fatalf("save-plan: %d %s", r.code, r.stderr)
	}
	if r := run(t, "--root", root, "apply-plan", "--dry-run", "--exit-code", plan); r.code != exitFindings {
		t.Errorf("apply-plan would change: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "--root", root, "status", "--exit-code"); r.code != 0 {
		t.Errorf("status, files agree: exit %d: %s", r.code, r.stderr)
	}
	orig, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatalf("disable: %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"disable", "--dry-run", "--exit-code"}, {"-o", "json", "disable", "--dry-run", "--exit-code"}, {"apply-plan", "--dry-run", "--exit-code", plan}, {"status", "--exit-code"}} {
		if r := run(t, append([]string{"--root", root}, args...)...); r.code != 0 {
			t.Errorf("%v, nothing to change: exit %d: %s", args, r.code, r.stderr)
		}
	}
	// The ClusterConfiguration back as it was: the files disagree.
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"), orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "--root", root, "status", "--exit-code"); r.code != exitFindings || !strings.Contains(r.stdout, "mirroring: mixed") {
		t.Errorf("status --exit-code on mixed files: exit %d\n%s", r.code, r.stdout)
	}
}

// lint on a machine with nothing to check fails, naming where it looked: no false green.
func TestLintNothingToCheck(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	r := run(t, "--root", empty, "lint")
	if r.code != exitError || !strings.Contains(r.stderr, "nothing to check") || !strings.Contains(r.stderr, "/etc/kubernetes/manifests") || !strings.Contains(r.stderr, "/etc/kubernetes/kubeadm-config.yaml") {
		t.Errorf("lint on an empty root: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "--root", newNode(t), "lint"); r.code != 0 {
		t.Errorf("lint on the sample node: exit %d: %s", r.code, r.stderr)
	}
}

// Usage errors: the nearest command or flag, flags spelled as typed, durations without a unit, and
// with -o json the error as a JSON object on stdout too.
func TestUsageErrorsHelp(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, `unknown command "stauts" (did you mean "status"?)`},
		{[]string{"snapshots", "lsit"}, `snapshots: unknown command "lsit" (did you mean "list"?)`},
		{[]string{"disable", "--dryrun"}, "disable: unknown flag --dryrun (did you mean --dry-run?)"},
		{[]string{"--rot", "x", "status"}, "unknown flag --rot (did you mean --root?)"},
		{[]string{"disable", "--wait", "3"}, `disable: --wait "3": missing unit (e.g. 3m or 3s)`},
		{[]string{"disable", "--lock-timeout"}, "disable: --lock-timeout needs a value"},
		{[]string{"status", "-o", "yaml"}, `--output "yaml": want text or json`},
	} {
		r := run(t, append([]string{"--root", root}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
		if strings.Contains(r.stderr, " -dryrun") || strings.Contains(r.stderr, " -wait") {
			t.Errorf("%v: a flag with one dash: %s", tc.args, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"-o", "json", "disable", "--wait", "3"},
		{"disable", "--wait", "3", "-ojson"},
		{"-o", "json", "stauts"},
		{"-o", "json", "--root", "/nonexistent", "status"},
	} {
		var m map[string]any
		r := run(t, args...)
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m["error"] == nil || r.code == 0 || float64(r.code) != m["exit_code"] {
			t.Errorf("%v: stdout is not the error as JSON (%v): exit %d %q", args, err, r.code, r.stdout)
		}
	}
}

// The undo hint repeats the --root and --state-dir the run used, and works as printed.
func TestUndoHintCarriesFlags(t *testing.T) {
	t.Parallel()
	root := newNode(t)
	r := run(t, "--root", root, "disable", "--state-dir", "/var/lib/other")
	m := regexp.MustCompile(`undo: (mirrorctl rollback [^)]*)\)`).FindStringSubmatch(r.stderr)
	if r.code != 0 || m == nil || !strings.Contains(m[1], "--root "+root+" --state-dir /var/lib/other ") {
		t.Fatalf("disable: exit %d, hint %v: %s", r.code, m, r.stderr)
	}
	before := golden.Tree(t, filepath.Join(root, "etc"))
	if r := run(t, strings.Fields(m[1])[1:]...); r.code != 0 {
		t.Fatalf("the hint as printed: exit %d: %s", r.code, r.stderr)
	}
	if after := golden.Tree(t, filepath.Join(root, "etc")); after["kubernetes/manifests/kube-controller-manager.yaml"].SHA256 == before["kubernetes/manifests/kube-controller-manager.yaml"].SHA256 {
		t.Error("the undo hint restored nothing")
	}
}

// Help shows a value name, never a piece of prose, for every flag; status offers no flag only a
// change reads.
func TestHelpPlaceholders(t *testing.T) {
	t.Parallel()
	placeholder := regexp.MustCompile("`([^`]*)`")
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				d, ok := f.(cli.DocGenerationFlag)
				if !ok {
					continue
				}
				for _, m := range placeholder.FindAllStringSubmatch(d.GetUsage(), -1) {
					if !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(m[1]) {
						t.Errorf("%s --%s: %q in backticks becomes the value's name in help", c.Name, f.Names()[0], m[1])
					}
				}
			}
			walk(c.Subcommands)
		}
	}
	app := newApp(io.Discard, io.Discard)
	walk(app.Commands)
	help := run(t, "status", "--help").stdout
	for _, f := range []string{"--dry-run", "--talos-document", "--i-understand-k0s-ha-needs-mirroring", "--save-plan", "--restart"} {
		if strings.Contains(help, f) {
			t.Errorf("status --help offers %s, which only a change reads", f)
		}
	}
	if h := run(t, "disable", "--help").stdout; !strings.Contains(h, "--talos-patch-out FILE ") || !strings.Contains(h, "--i-understand-k0s-ha-needs-mirroring  ") {
		t.Errorf("disable --help placeholders:\n%s", h)
	}
	// Still accepted on status: a script passing the same distribution flags to both keeps working.
	if r := run(t, "--root", newNode(t), "status", "--i-understand-k0s-ha-needs-mirroring"); r.code != 0 {
		t.Errorf("status with a write-only flag: exit %d: %s", r.code, r.stderr)
	}
}

// TestArgvHelper is not a test: it runs Main with the arguments after "--", as the binary would
// (the completion scripts call it through a wrapper named mirrorctl).
func TestArgvHelper(t *testing.T) {
	if os.Getenv("MIRRORCTL_TEST_ARGV") == "" {
		t.Skip("child process of the completion and non-root tests")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Exit(Main(append([]string{"mirrorctl"}, os.Args[i+1:]...), os.Stdout, os.Stderr))
		}
	}
	os.Exit(99)
}

// binary puts an executable "mirrorctl" (this test binary, running Main) in a folder anyone may
// run it from, and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mirrorctl.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "mirrorctl")
	script := "#!/bin/sh\nMIRRORCTL_TEST_ARGV=1 exec " + bin + " -test.run='^TestArgvHelper$' -- \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// Completion, through the real bash script: flag values, snapshot ids, shells.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	bin := binary(t)
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	list := run(t, "--root", root, "-o", "json", "snapshots", "list").stdout
	complete := func(words ...string) string {
		t.Helper()
		script, err := exec.Command(bin, "completion", "bash").Output()
		if err != nil {
			t.Fatal(err)
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := string(script) + "\nCOMP_WORDS=(" + bin + " " + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)) + "\n_mirrorctl_complete\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", prog).Output()
		if err != nil {
			t.Fatalf("%v: %v", words, err)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"status", "-o", ""}, "text json"},
		{[]string{"-o", "j"}, "json"},
		{[]string{"disable", "--distro", "ku"}, "kubeadm"},
		{[]string{"disable", "--controller-name", ""}, "endpointslicemirroring endpointslice-mirroring-controller"},
		{[]string{"completion", ""}, "bash zsh fish"},
		{[]string{"snap"}, "snapshots"},
		{[]string{"snapshots", "l"}, "list"},
		{[]string{"disable", "--dry"}, "--dry-run"},
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.words, got, tc.want)
		}
	}
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(list), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots: %v %s", err, list)
	}
	want := snaps[0]["id"].(string)
	for _, words := range [][]string{{"--root", root, "rollback", ""}, {"snapshots", "show", "--root", root, ""}} {
		if got := complete(words...); got != want {
			t.Errorf("%v: %q, want the snapshot id %q", words, got, want)
		}
	}
}

// fish: the flag values inline, file completion for file flags, snapshot ids asked of the binary.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	r := run(t, "completion", "fish")
	for _, want := range []string{
		"-l output -s o -r -d 'result FORMAT: text or json (-ojson, --output=json)' -a 'text json'",
		"-l controller-name -r",
		"'__fish_seen_subcommand_from rollback' -f -a '(__mirrorctl_args)'",
		"'__fish_seen_subcommand_from completion' -f -a '(__mirrorctl_args)'",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fish script lacks %q", want)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, " -l kind-config ") && strings.Contains(line, " -f ") {
			t.Errorf("--kind-config takes a file, but fish is told not to complete files: %s", line)
		}
		if strings.Contains(line, "`") {
			t.Errorf("a backtick in the fish script: %s", line)
		}
	}
	if _, err := exec.LookPath("fish"); err == nil {
		if out, err := exec.Command("fish", "-n", "-c", r.stdout).CombinedOutput(); err != nil {
			t.Errorf("fish rejects the script: %v %s", err, out)
		}
	}
}

// make install: the binary, the man page in section 8 (its header says 8), bash, zsh and fish
// completions, each where its shell looks.
func TestInstallLayout(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	cmd := exec.Command("make", "-s", "install", "BIN="+filepath.Join(tmp, "mirrorctl"), "DESTDIR="+dest, "PREFIX=/usr")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for file, want := range map[string]string{
		"usr/bin/mirrorctl":                                  "",
		"usr/share/man/man8/mirrorctl.8":                     ".TH MIRRORCTL 8 ",
		"usr/share/bash-completion/completions/mirrorctl":    "# bash completion for mirrorctl",
		"usr/share/zsh/site-functions/_mirrorctl":            "#compdef mirrorctl",
		"usr/share/fish/vendor_completions.d/mirrorctl.fish": "# mirrorctl fish shell completion",
	} {
		b, err := os.ReadFile(filepath.Join(dest, file))
		if err != nil {
			t.Errorf("make install: %v", err)
			continue
		}
		if !strings.HasPrefix(string(b), want) {
			t.Errorf("%s starts %q, want %q", file, strings.SplitN(string(b), "\n", 2)[0], want)
		}
	}
	if man, err := os.ReadFile("../../docs/mirrorctl.1"); err != nil || !strings.HasPrefix(string(man), ".TH MIRRORCTL 8 ") {
		t.Errorf("docs/mirrorctl.1 header is not section 8 (%v)", err)
	}
}

// A user's run: on a node (the state dir is root's) it says it needs root; on a workstation, a
// user's own kind file needs no root (lock, journal and snapshots in $XDG_STATE_HOME/mirrorctl).
func TestNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run mirrorctl as another user")
	}
	bin := binary(t)
	asNobody := func(dir string, env []string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(cleanEnv(), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	open := func(p string) {
		for d := p; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755)
		}
	}
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	open(filepath.Join(root, "var/lib"))
	code, out := asNobody("/", nil, "--root", root, "snapshots", "list")
	if code != exitError || !strings.Contains(out, "needs root") || strings.Contains(out, "unsafe") {
		t.Errorf("a user's snapshots list on a node: exit %d: %s", code, out)
	}
	if _, err := os.Lstat("/var/lib/mirrorctl"); err == nil {
		t.Skip("this machine has a node state dir (/var/lib/mirrorctl): a user's run here is a run on a node")
	}
	home := t.TempDir()
	open(home)
	kind, err := os.ReadFile("../../testdata/distros/kind/minimal-image-tag/root/home/op/kind.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "kind.yaml"), kind, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(home, "kind.yaml"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state")}
	code, out = asNobody(home, env, "disable", "--kind-config", "kind.yaml")
	if code != 0 || !strings.Contains(out, "[state] ") {
		t.Fatalf("a user's disable of their kind file: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(home, "state/mirrorctl/var/lib/mirrorctl/snapshots")); err != nil {
		t.Errorf("no snapshot in the user's state folder: %v", err)
	}
	if code, out := asNobody(home, env, "rollback"); code != 0 {
		t.Errorf("a user's rollback: exit %d: %s", code, out)
	}
	if now, _ := os.ReadFile(filepath.Join(home, "kind.yaml")); string(now) != string(kind) {
		t.Error("rollback did not restore the kind file")
	}
}

// A flag on the command line wins over its environment variable, before the command or after it.
func TestGlobalFlagsOverEnvironment(t *testing.T) {
	root := newNode(t)
	t.Setenv("MIRRORCTL_ROOT", "/nonexistent")
	t.Setenv("MIRRORCTL_OUTPUT", "text")
	for _, args := range [][]string{
		{"--root", root, "-o", "json", "status"},
		{"status", "--root", root, "-ojson"},
		{"--root", "/also-not-there", "status", "--root", root, "-o", "json"},
	} {
		if m, r := runJSON(t, args...); r.code != 0 || m["distro"] != "kubeadm" {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	t.Setenv("MIRRORCTL_ROOT", root)
	t.Setenv("MIRRORCTL_V", "1")
	if r := run(t, "status", "-v", "0"); r.code != 0 || strings.Contains(r.stderr, "[distro]") {
		t.Errorf("-v 0 after MIRRORCTL_V=1: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "status"); r.code != 0 || !strings.Contains(r.stderr, "[distro]") {
		t.Errorf("MIRRORCTL_V=1: exit %d: %s", r.code, r.stderr)
	}
}

// The zsh and fish scripts, run by the shells themselves: flag values, snapshot ids, file names.
func TestZshAndFishCompletion(t *testing.T) {
	bin := binary(t)
	root := newNode(t)
	if r := run(t, "--root", root, "disable"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(run(t, "--root", root, "-o", "json", "snapshots", "list").stdout), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots: %v", err)
	}
	id := snaps[0]["id"].(string)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kindfile.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	shell := func(name, script string) string {
		t.Helper()
		cmd := exec.Command(name, "-c", script)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	t.Run("zsh", func(t *testing.T) {
		if _, err := exec.LookPath("zsh"); err != nil {
			t.Skip("no zsh")
		}
		script := run(t, "completion", "zsh").stdout
		// compinit's functions, stubbed to print what the script offers.
		stubs := `compdef(){}; _describe(){ print -l -- "${(@P)2}" }; _files(){ print FILES }` + "\n" + script + "\n"
		for _, tc := range []struct{ words, want string }{
			{`mirrorctl status -o ""`, "text\njson"},
			{`mirrorctl --root ` + root + ` rollback ""`, id},
			{`mirrorctl completion ""`, "bash\nzsh\nfish"},
			{`mirrorctl status --kubeconfig ""`, "FILES"},
		} {
			n := len(strings.Fields(tc.words))
			if got := shell("zsh", stubs+"words=("+tc.words+"); CURRENT="+strconv.Itoa(n)+"; _mirrorctl"); got != tc.want {
				t.Errorf("zsh %s: %q, want %q", tc.words, got, tc.want)
			}
		}
	})
	t.Run("fish", func(t *testing.T) {
		if _, err := exec.LookPath("fish"); err != nil {
			t.Skip("no fish")
		}
		script := filepath.Join(t.TempDir(), "mirrorctl.fish")
		if err := os.WriteFile(script, []byte(run(t, "completion", "fish").stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ line, want string }{
			{"mirrorctl status -o j", "json"},
			{"mirrorctl --root " + root + " rollback ", id},
			{"mirrorctl snapshots show --root " + root + " ", id},
			{"mirrorctl completion z", "zsh"},
			{"mirrorctl disable --kind-config kindf", "kindfile.yaml"},
		} {
			got := shell("fish", "source "+script+"; complete -C '"+tc.line+"'")
			if first, _, _ := strings.Cut(strings.SplitN(got, "\n", 2)[0], "\t"); first != tc.want {
				t.Errorf("fish %q: %q, want %q", tc.line, got, tc.want)
			}
		}
	})
}
