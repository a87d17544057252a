package change

import (
	"regexp"
	"strings"
	"sync"
)

// Redacted stands in for a credential's value in what mirrorctl prints.
const Redacted = "<redacted>"

// secretRE finds YAML lines whose value is a credential: kubeadm's bootstrap token secrets
// (bootstrapTokens[].token, discovery.bootstrapToken.token, tlsBootstrapToken), the certificate key
// that decrypts the uploaded control-plane certificates, and a kubeconfig's client key, token or
// password. Group 1 is the key and what precedes the value, group 2 the value.
var secretRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([ \t]*(?:-[ \t]+)?(?:token|certificateKey|tlsBootstrapToken|client-key-data|password)[ \t]*:[ \t]+)("[^"]*"|'[^']*'|[^ \t#][^#]*?)([ \t]+#.*)?$`)
})

// redactLine returns line with a credential's value replaced, and whether it had one.
func redactLine(line string) (string, bool) {
	body := strings.TrimRight(line, "\r")
	m := secretRE().FindStringSubmatchIndex(body)
	if m == nil {
		return line, false
	}
	return body[:m[3]] + Redacted + body[m[5]:] + line[len(body):], true
}

// Redact replaces the credentials' values in a YAML text (see secretRE); the files on disk keep them.
// It reports whether it replaced any.
func Redact(text string) (string, bool) {
	lines := strings.SplitAfter(text, "\n")
	any := false
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		if r, ok := redactLine(body); ok {
			lines[i] = r + l[len(body):]
			any = true
		}
	}
	return strings.Join(lines, ""), any
}

// RedactDiff is Redact for a unified diff: the lines of its hunks, not its headers.
func RedactDiff(diff string) (string, bool) {
	lines := strings.SplitAfter(diff, "\n")
	any := false
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") || !strings.ContainsAny(l[:1], " +-") {
			continue
		}
		body := strings.TrimSuffix(l, "\n")
		if r, ok := redactLine(body[1:]); ok {
			lines[i] = body[:1] + r + l[len(body):]
			any = true
		}
	}
	return strings.Join(lines, ""), any
}

// Redact replaces the credentials' values in the entry's texts.
func (d *DiffEntry) Redact() bool {
	var b, a bool
	d.Before, b = Redact(d.Before)
	d.After, a = Redact(d.After)
	return b || a
}

// Redaction hides credentials in what a command prints (diff entries, text diffs), unless Show
// (--show-secrets); then Warn is called once, the first time there are credentials to show.
type Redaction struct {
	Show   bool
	Warn   func()
	warned bool
}

// Entries replaces the credentials' values in diff entries, unless Show.
func (r *Redaction) Entries(diffs []DiffEntry) {
	found := false
	for i := range diffs {
		e := diffs[i]
		if e.Redact() {
			found = true
			if !r.Show {
				diffs[i] = e
			}
		}
	}
	r.found(found)
}

// Diff is Entries for a text diff.
func (r *Redaction) Diff(d string) string {
	red, found := RedactDiff(d)
	r.found(found)
	if r.Show {
		return d
	}
	return red
}

func (r *Redaction) found(found bool) {
	if found && r.Show && !r.warned {
		r.warned = true
		if r.Warn != nil {
			r.Warn()
		}
	}
}
