package change

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  token: abcdef.0123456789abcdef\n", "  token: <redacted>\n"},
		{"- token: abcdef.0123456789abcdef\n", "- token: <redacted>\n"},
		{"  - token: \"abcdef.0123456789abcdef\" # the default\n", "  - token: <redacted> # the default\n"},
		{"certificateKey: e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204\r\n", "certificateKey: <redacted>\r\n"},
		{"    tlsBootstrapToken: abcdef.0123456789abcdef\n", "    tlsBootstrapToken: <redacted>\n"},
		{"    client-key-data: LS0tLS1CRUdJTi\n", "    client-key-data: <redacted>\n"},
		{"  password: 's3cr3t'\n", "  password: <redacted>\n"},
		// Not credentials: group names, other keys, empty values.
		{"  - system:bootstrappers:kubeadm:default-node-token\n", "  - system:bootstrappers:kubeadm:default-node-token\n"},
		{"  tokenTTL: 24h\n", "  tokenTTL: 24h\n"},
		{"  token:\n", "  token:\n"},
		{"  # token: abcdef.0123456789abcdef\n", "  # token: abcdef.0123456789abcdef\n"},
	}
	for _, c := range cases {
		got, _ := Redact(c.in)
		if got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactDiff(t *testing.T) {
	before := "bootstrapTokens:\n- token: abcdef.0123456789abcdef\nkind: InitConfiguration\ncontrollerManager: {}\n"
	after := strings.Replace(before, "controllerManager: {}", "controllerManager:\n  extraArgs:\n  - name: controllers\n    value: '*,-endpointslice-mirroring-controller'", 1)
	c := change(before, after)
	d := c.UnifiedDiff()
	if !strings.Contains(d, "abcdef.0123456789abcdef") {
		t.Fatalf("the test needs the token in the diff's context:\n%s", d)
	}
	r, ok := RedactDiff(d)
	if !ok || strings.Contains(r, "0123456789abcdef") || !strings.Contains(r, " - token: <redacted>\n") {
		t.Errorf("redacted diff:\n%s", r)
	}
	e := c.AnsibleDiff()
	if !e.Redact() || strings.Contains(e.Before+e.After, "0123456789abcdef") {
		t.Errorf("redacted entry: %+v", e)
	}
}
