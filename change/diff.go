package change

import (
	"strconv"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// UnifiedDiff renders the change as a git-style unified diff with three lines of context. Headers are
// "a/<node path>" and "b/<node path>", so `patch -p1 -d ROOT` and `git apply --directory` take it as is;
// a created file diffs against /dev/null.
func (c FileChange) UnifiedDiff() string {
	if !c.Changed() {
		return ""
	}
	rel := strings.TrimPrefix(c.Name(), "/")
	from, to := "a/"+rel, "b/"+rel
	var before string
	if c.Before != nil && c.Before.Exists {
		before = string(c.Before.Data)
	} else {
		from = "/dev/null"
	}
	a, b := splitLines(before), splitLines(string(c.After))
	if c.After == nil {
		to = "/dev/null"
	}
	// Identical lines before the first change and after the last one, beyond the three of context,
	// are left out of the comparison (difflib's matcher is costly, and an edit is one line of a
	// 100-line manifest); the hunk headers are then shifted back to the file's line numbers.
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	head, tail = max(head-diffContext, 0), max(tail-diffContext, 0)
	a, b = a[head:len(a)-tail], b[head:len(b)-tail]
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: a, B: b, FromFile: from, ToFile: to, Context: diffContext})
	if err != nil {
		return ""
	}
	if d == "" {
		// An empty file removed (or created): no line differs, but the file does. git says so with
		// the headers alone.
		return "--- " + from + "\n+++ " + to + "\n"
	}
	return fixNoNewline(shiftHunks(d, head))
}

const diffContext = 3

// shiftHunks adds n to the start lines of every "@@ -a,b +c,d @@" header.
func shiftHunks(d string, n int) string {
	if n == 0 {
		return d
	}
	lines := strings.SplitAfter(d, "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "@@ -")
		if !ok {
			continue
		}
		from, rest, _ := strings.Cut(rest, " +")
		to, rest, _ := strings.Cut(rest, " @@")
		lines[i] = "@@ -" + shiftRange(from, n) + " +" + shiftRange(to, n) + " @@" + rest
	}
	return strings.Join(lines, "")
}

func shiftRange(r string, n int) string {
	start, length, hasLen := strings.Cut(r, ",")
	v, err := strconv.Atoi(start)
	if err != nil {
		return r
	}
	if hasLen {
		return strconv.Itoa(v+n) + "," + length
	}
	return strconv.Itoa(v + n)
}

const noNewline = "\n\\ No newline at end of file\n"

// splitLines keeps line endings; a last line without one gets a marker the renderer turns into
// git's "\ No newline at end of file", which patch(1) and git apply understand.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\x00nonl\n"
	return lines
}

func fixNoNewline(d string) string {
	return strings.ReplaceAll(d, "\x00nonl\n", noNewline)
}

// DiffEntry is one file's change in the shape Ansible prints for diff mode.
type DiffEntry struct {
	BeforeHeader string `json:"before_header"`
	AfterHeader  string `json:"after_header"`
	Before       string `json:"before"`
	After        string `json:"after"`
}

// AnsibleDiff returns the change as before/after texts, headers being node paths.
func (c FileChange) AnsibleDiff() DiffEntry {
	d := DiffEntry{BeforeHeader: c.Name(), AfterHeader: c.Name(), After: string(c.After)}
	if c.Before != nil && c.Before.Exists {
		d.Before = string(c.Before.Data)
	} else {
		d.BeforeHeader = "/dev/null"
	}
	return d
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	bold  = "\x1b[1m"
	reset = "\x1b[0m"
)

// Colorize paints a unified diff the way git does.
func Colorize(d string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(d, "\n") {
		if l == "" {
			continue
		}
		body := strings.TrimRight(l, "\n")
		nl := l[len(body):]
		switch {
		case strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ "):
			b.WriteString(bold + body + reset + nl)
		case strings.HasPrefix(l, "@@"):
			b.WriteString(cyan + body + reset + nl)
		case strings.HasPrefix(l, "-"):
			b.WriteString(red + body + reset + nl)
		case strings.HasPrefix(l, "+"):
			b.WriteString(green + body + reset + nl)
		default:
			b.WriteString(l)
		}
	}
	return b.String()
}
