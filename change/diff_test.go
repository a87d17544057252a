package change

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

// applyUnified applies a unified diff to before, checking every context and removed line, the way
// patch(1) would without fuzz. It is the oracle for UnifiedDiff: whatever hunks it chose, they must
// turn before into after exactly.
func applyUnified(t *testing.T, before, diff string) string {
	t.Helper()
	src := splitLines(before)
	var out []string
	pos := 0 // next unread line of src
	lines := strings.SplitAfter(strings.ReplaceAll(diff, noNewline, "\x00nonl\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "@@ -") {
			continue
		}
		r := strings.TrimPrefix(l, "@@ -")
		r, _, _ = strings.Cut(r, " ")
		s, _, _ := strings.Cut(r, ",")
		fromStart, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("bad hunk header %q", l)
		}
		if !strings.Contains(r, ",0") {
			fromStart-- // 1-based first line; an empty range names the line before it
		}
		for pos < fromStart {
			out = append(out, src[pos])
			pos++
		}
		for i+1 < len(lines) && lines[i+1] != "" && strings.ContainsRune(" -+", rune(lines[i+1][0])) {
			i++
			h := lines[i]
			body := h[1:] // a last line without a newline reads "text\x00nonl\n" here, as splitLines has it
			switch h[0] {
			case ' ', '-':
				if pos >= len(src) || src[pos] != body {
					t.Fatalf("hunk line %q does not match line %d of the original %q", h, pos+1, at(src, pos))
				}
				if h[0] == ' ' {
					out = append(out, src[pos])
				}
				pos++
			case '+':
				out = append(out, body)
			}
		}
	}
	out = append(out, src[pos:]...)
	return strings.ReplaceAll(strings.Join(out, ""), "\x00nonl\n", "")
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<end of file>"
}

func change(before, after string) FileChange {
	return FileChange{Path: "/etc/x.yaml", Before: &nodefs.File{Path: "/etc/x.yaml", Exists: true, Data: []byte(before)}, After: []byte(after)}
}

// plainDiff is UnifiedDiff without the trimming of identical head and tail lines.
func plainDiff(before, after string) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: splitLines(before), B: splitLines(after),
		FromFile: "a/etc/x.yaml", ToFile: "b/etc/x.yaml", Context: diffContext})
	return fixNoNewline(d)
}

// TestUnifiedDiffTrimmed: on every manifest in testdata, for edits at the start, middle and end (one
// line, several, near each other, and without a final newline), the trimmed diff is byte for byte the
// diff of the whole files, and applies.
func TestUnifiedDiffTrimmed(t *testing.T) {
	files, _ := filepath.Glob("../testdata/manifests/*/input.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d manifests found", len(files))
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		before := string(b)
		lines := strings.SplitAfter(before, "\n")
		for _, edit := range []struct {
			name string
			at   []int
		}{{"first", []int{0}}, {"middle", []int{len(lines) / 2}}, {"last", []int{len(lines) - 1}},
			{"two close", []int{len(lines) / 2, len(lines)/2 + 4}}, {"two far", []int{1, len(lines) - 2}}} {
			after := mutate(lines, edit.at)
			for _, pair := range [][2]string{{before, after}, {after, before}, {strings.TrimSuffix(before, "\n"), strings.TrimSuffix(after, "\n")}} {
				got := change(pair[0], pair[1]).UnifiedDiff()
				if want := plainDiff(pair[0], pair[1]); got != want {
					t.Errorf("%s, %s edit: trimmed diff differs\n--- trimmed\n%s--- whole\n%s", f, edit.name, got, want)
					continue
				}
				if applied := applyUnified(t, pair[0], got); applied != pair[1] {
					t.Errorf("%s, %s edit: the diff does not apply to the result", f, edit.name)
				}
				n++
			}
		}
	}
	t.Logf("%d diffs", n)
}

func mutate(lines []string, at []int) string {
	out := append([]string(nil), lines...)
	for _, i := range at {
		if i >= 0 && i < len(out) {
			out[i] = "# changed " + strings.TrimSuffix(out[i], "\n") + "\n"
		}
	}
	return strings.Join(out, "")
}

// FuzzUnifiedDiff: whatever the two texts, the diff turns the first into the second.
func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nX\ne\nf\ng\nh\n", int64(1))
	f.Add("x", "y", int64(2))
	f.Add("", "new\n", int64(3))
	f.Fuzz(func(t *testing.T, before, after string, seed int64) {
		// Fuzzed texts are short; splice them into a longer file so the trimming has work to do.
		rng := rand.New(rand.NewSource(seed))
		var pad []string
		for i := 0; i < rng.Intn(40); i++ {
			pad = append(pad, fmt.Sprintf("line %d\n", rng.Intn(5)))
		}
		head := strings.Join(pad[:len(pad)/2], "")
		tail := strings.Join(pad[len(pad)/2:], "")
		a, b := head+before+"\n"+tail, head+after+"\n"+tail
		d := change(a, b).UnifiedDiff()
		if a == b {
			if d != "" {
				t.Fatalf("diff of identical texts: %q", d)
			}
			return
		}
		if got := applyUnified(t, a, d); got != b {
			t.Fatalf("diff does not apply:\n%s\ngot %q\nwant %q", d, got, b)
		}
	})
}

// Removing an empty file is a change (a rollback of a file a run created and someone emptied since), and
// the diff says so.
func TestEmptyFileRemoval(t *testing.T) {
	c := FileChange{Path: "/etc/rancher/k3s/config.yaml.d/99-mirrorctl.yaml", Before: &nodefs.File{Exists: true, Data: []byte{}}}
	if !c.Changed() {
		t.Fatal("removing an empty file: Changed() = false")
	}
	want := "--- a/etc/rancher/k3s/config.yaml.d/99-mirrorctl.yaml\n+++ /dev/null\n"
	if got := c.UnifiedDiff(); got != want {
		t.Errorf("diff = %q, want %q", got, want)
	}
	// Unchanged empty file: no diff.
	c.After = []byte{}
	if c.Changed() || c.UnifiedDiff() != "" {
		t.Errorf("an empty file kept empty: Changed() = %v, diff %q", c.Changed(), c.UnifiedDiff())
	}
}
