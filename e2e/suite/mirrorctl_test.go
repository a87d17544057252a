package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// result is mirrorctl's `-o json` output (contract in issue 2).
type result struct {
	Changed   bool    `json:"changed"`
	Mirroring string  `json:"mirroring"`
	Snapshot  *string `json:"snapshot"`
	Files     []struct {
		Path    string `json:"path"`
		Kind    string `json:"kind"`
		Changed bool   `json:"changed"`
	} `json:"files"`
	Diff     []json.RawMessage `json:"diff"`
	Warnings []string          `json:"warnings"`
}

// mirrorctl runs the binary under test against a node root and decodes its JSON, failing on a
// non-zero exit or output that is not the contract's JSON object.
func mirrorctl(t testing.TB, root string, args ...string) result {
	t.Helper()
	full := append([]string{"--root", root, "-o", "json"}, args...)
	cmd := exec.Command(mirrorctlBin(t), full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mirrorctl %s: %v\nstderr: %s\nstdout: %s", strings.Join(full, " "), err, stderr.String(), out)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("mirrorctl %s: stdout is not JSON: %v\n%s", strings.Join(full, " "), err, out)
	}
	t.Logf("mirrorctl %s: changed=%t mirroring=%s snapshot=%v files=%d warnings=%q",
		strings.Join(args, " "), r.Changed, r.Mirroring, deref(r.Snapshot), len(r.Files), r.Warnings)
	return r
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// expectResult checks the parts of the contract every state-changing call must honour.
func expectResult(t testing.TB, r result, changed bool, mirroring string) {
	t.Helper()
	if r.Changed != changed || r.Mirroring != mirroring {
		t.Fatalf("mirrorctl: changed=%t mirroring=%q, want changed=%t mirroring=%q", r.Changed, r.Mirroring, changed, mirroring)
	}
	if changed && (r.Snapshot == nil || *r.Snapshot == "") {
		t.Fatalf("mirrorctl: a change without a snapshot id")
	}
}

// privateStateCommand runs mirrorctl on files of this machine (-f) in a private mount namespace with
// its own empty /run and /var/lib: a real write takes the machine's lock (/run/mirrorctl) and keeps a
// snapshot in its state dir (/var/lib/mirrorctl), and a test must not leave either on the host.
func privateStateCommand(t testing.TB, bin string, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace (for -f writes that leave no state on the host) needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare: -f writes need a private mount namespace here")
	}
	script := `mount -t tmpfs tmpfs /run && mkdir -p /var/lib && mount -t tmpfs tmpfs /var/lib && exec "$0" "$@"`
	return exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, bin}, args...)...)
}
