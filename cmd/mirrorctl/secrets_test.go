package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretNode is the sample node with a kubeadm config that holds a bootstrap token and the
// certificate key, next to the lines disable edits.
func secretNode(t *testing.T) string {
	t.Helper()
	root := newNode(t)
	cfg := `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.29.0
controllerManager:
  extraArgs:
    allocate-node-cidrs: "true"
---
certificateKey: e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    token: ghijkl.0123456789ghijkl
    apiServerEndpoint: cp.example.internal:6443
  tlsBootstrapToken: ghijkl.0123456789ghijkl
`
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/kubeadm-config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

var secretValues = []string{"0123456789abcdef", "e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204", "0123456789ghijkl"}

// Secrets never reach the output unless asked for (issue 14 §2): text diff, JSON diff, show-plan; the
// files keep their bytes.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	root := secretNode(t)
	plan := filepath.Join(t.TempDir(), "disable.plan")
	runs := map[string][]string{
		"text diff": {"--root", root, "disable", "--dry-run"},
		"json diff": {"--root", root, "-o", "json", "disable", "--dry-run", "--save-plan", plan},
	}
	for name, args := range runs {
		r := run(t, args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", name, r.code, r.stderr)
		}
		for _, v := range secretValues {
			if strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v) {
				t.Errorf("%s prints the secret %s", name, v)
			}
		}
		if !strings.Contains(r.stdout, "<redacted>") && !strings.Contains(r.stdout, `\u003credacted\u003e`) {
			t.Errorf("%s: nothing redacted:\n%s", name, r.stdout)
		}
	}
	for _, args := range [][]string{{"show-plan", plan}, {"-o", "json", "show-plan", plan}} {
		r := run(t, args...)
		for _, v := range secretValues {
			if strings.Contains(r.stdout, v) {
				t.Errorf("%v prints the secret %s", args, v)
			}
		}
	}
	// The plan file itself must hold the real bytes to apply them.
	if b, _ := os.ReadFile(plan); !strings.Contains(string(b), secretValues[0]) {
		t.Error("the saved plan lost the file's real bytes")
	}
	r := run(t, "--root", root, "--show-secrets", "disable", "--dry-run")
	if !strings.Contains(r.stdout, secretValues[1]) || !strings.Contains(r.stderr, "[warning] --show-secrets: this output holds credentials") {
		t.Errorf("--show-secrets: stdout lacks the token or stderr the warning:\n%s\n%s", r.stdout, r.stderr)
	}
}
