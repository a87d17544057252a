package yamledit

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// item returns the i-th item of the sequence under key in the first document.
func item(t *testing.T, f *File, key string, i int) *yaml.Node {
	t.Helper()
	seq := Field(f.Docs[0], key)
	if seq == nil || seq.Kind != yaml.SequenceNode || i >= len(seq.Content) {
		t.Fatalf("no %s[%d]", key, i)
	}
	return seq.Content[i]
}

func mustParse(t *testing.T, in string, o Options) *File {
	t.Helper()
	f, err := Parse([]byte(in), o)
	if err != nil {
		t.Fatalf("Parse(%q): %v", in, err)
	}
	return f
}

func apply(t *testing.T, f *File, edits ...Splice) string {
	t.Helper()
	out, err := Apply(f.Data, edits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out, Options{}); err != nil {
		t.Fatalf("edit does not parse: %v\n%s", err, out)
	}
	return string(out)
}

func TestSetScalar(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in, want string
	}{
		{"plain, comment kept", "a:\n- --x=1   # why\n", "a:\n- --x=new   # why\n"},
		{"tab before comment", "a:\n- --x=1\t# why\n", "a:\n- --x=new\t# why\n"},
		{"single quoted", "a:\n- '--x=1' # c\n", "a:\n- '--x=new' # c\n"},
		{"double quoted", "a:\n- \"--x=1\"\n", "a:\n- \"--x=new\"\n"},
		{"crlf", "a:\r\n- --x=1\r\nb: 2\r\n", "a:\r\n- --x=new\r\nb: 2\r\n"},
		{"bom", "\xef\xbb\xbfa: [--x=1]\n", "\xef\xbb\xbfa: [--x=new]\n"},
		{"flow list", "a: [--x=1, b]\n", "a: [--x=new, b]\n"},
		{"no trailing newline", "a:\n- --x=1", "a:\n- --x=new"},
		{"multibyte before", "a:\n- \"ü\"\n- --x=1\n", "a:\n- \"ü\"\n- --x=new\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.in, ConfigFile)
			n := item(t, f, "a", len(Field(f.Docs[0], "a").Content)-1)
			if strings.Contains(c.in, "--x=1, b") {
				n = item(t, f, "a", 0)
			}
			s, err := f.SetScalar(n, "--x=new", Field(f.Docs[0], "a").Style&yaml.FlowStyle != 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := apply(t, f, s); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// A value that would not read back in its old style is written in double quotes.
func TestSetScalarQuotesWhatPlainCannotHold(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, value, want string }{
		{"a: x\n", "*,-y", "a: \"*,-y\"\n"},                // an alias in plain YAML
		{"a: x\n", "b #c", "a: \"b #c\"\n"},                // a comment
		{"a: 'x'\n", "it's", "a: 'it''s'\n"},               // single quotes double
		{"a: [x, y]\n", "p,q", "a: [\"p,q\", y]\n"},        // "," ends a plain scalar in flow
		{"a: 1\n", "2", "a: \"2\"\n"},                      // a number becomes a string
		{"a: \"x\"\n", "tab\there", "a: \"tab\\there\"\n"}, // escapes, not raw control characters
	} {
		f := mustParse(t, c.in, ConfigFile)
		n := Field(f.Docs[0], "a")
		flow := n.Kind == yaml.SequenceNode
		if flow {
			n = n.Content[0]
		}
		s, err := f.SetScalar(n, c.value, flow)
		if err != nil {
			t.Fatal(err)
		}
		if got := apply(t, f, s); got != c.want {
			t.Errorf("%q := %q: got %q, want %q", c.in, c.value, got, c.want)
		}
	}
}

func TestScalarSpanRefusesMultiLine(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a: |\n  x\n", "a: \"x\n  y\"\n", "a: x\n  y\n"} {
		f := mustParse(t, in, ConfigFile)
		if _, _, err := f.ScalarSpan(Field(f.Docs[0], "a"), false); err == nil {
			t.Errorf("%q: span accepted", in)
		}
	}
}

func TestDeleteItem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{"middle, comment goes with it", "a:\n- x\n- y # gone\n- z\n", "a:\n- x\n- z\n"},
		{"crlf", "a:\r\n  - x\r\n  - y\r\n", "a:\r\n  - x\r\n"},
		{"last line without newline", "a:\n- x\n- y", "a:\n- x\n"},
		{"quoted", "a:\n- x\n- 'y'\n", "a:\n- x\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.in, ConfigFile)
			s, err := f.DeleteItem(item(t, f, "a", 1))
			if err != nil {
				t.Fatal(err)
			}
			if got := apply(t, f, s); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	f := mustParse(t, "a:\n- - y\n", ConfigFile)
	if _, err := f.DeleteItem(item(t, f, "a", 0).Content[0]); !errors.Is(err, ErrNotAlone) {
		t.Errorf("nested item: %v, want ErrNotAlone", err)
	}
	f = mustParse(t, "a: [x, y]\n", ConfigFile)
	if _, err := f.DeleteItem(item(t, f, "a", 1)); err == nil {
		t.Error("flow item deleted")
	}
}

func TestInsertItem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		at       int
		before   bool
		o        Options
		want     string
	}{
		{"before, indentation copied", "a:\n    - x # c\n    - z\n", 1, true, ConfigFile, "a:\n    - x # c\n    - y\n    - z\n"},
		{"after the last", "a:\n- x\n", 0, false, ConfigFile, "a:\n- x\n- y\n"},
		{"after the last, no newline", "a:\n- x", 0, false, ConfigFile, "a:\n- x\n- y"},
		{"crlf", "a:\r\n- x\r\n", 0, false, ConfigFile, "a:\r\n- x\r\n- y\r\n"},
		{"static pod: first line's ending", "a:\n- x\r\n", 0, true, StaticPod, "a:\n- y\n- x\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.in, c.o)
			s, err := f.InsertItem(item(t, f, "a", c.at), c.before, "y")
			if err != nil {
				t.Fatal(err)
			}
			if got := apply(t, f, s); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	f := mustParse(t, "a: [x]\n", ConfigFile)
	if _, err := f.InsertItem(item(t, f, "a", 0), true, "y"); !errors.Is(err, ErrNotItemLine) {
		t.Errorf("flow list: %v, want ErrNotItemLine", err)
	}
}

func TestSetStringList(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		items    []string
		want     string
	}{
		{"flow rewritten in flow", "c: [a, 'b']\n", []string{"a", "b", "x,y"}, "c: [a, 'b', 'x,y']\n"},
		{"block append keeps comment", "c:\n  - a # keep\n", []string{"a", "b"}, "c:\n  - a # keep\n  - b\n"},
		{"block rewrite", "c:\n- \"a\"\n- b\n", []string{"b"}, "c:\n- b\n"},
		{"crlf", "c:\r\n- a\r\n", []string{"a", "b"}, "c:\r\n- a\r\n- b\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.in, ConfigFile)
			edits, err := f.SetStringList("c", Field(f.Docs[0], "c"), c.items)
			if err != nil {
				t.Fatal(err)
			}
			if got := apply(t, f, edits...); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	var (
		syn   *SyntaxError
		count *CountError
		dup   *DuplicateKeyError
		cr    *LoneCRError
	)
	for _, c := range []struct {
		name, in string
		o        Options
		want     func(error) bool
	}{
		{"alias", "a: &x 1\nb: *x\n", ConfigFile, func(e error) bool { return errors.Is(e, ErrAlias) }},
		{"too deep", strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", StaticPod, func(e error) bool { return errors.Is(e, ErrAlias) }},
		{"deep is fine for configs", strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", ConfigFile, nil},
		{"invalid utf-8", "a: \xff\n", ConfigFile, func(e error) bool { return errors.Is(e, ErrInvalidUTF8) }},
		{"lone CR", "a: 1\rb: 2\n", StaticPod, func(e error) bool { return errors.As(e, &cr) && cr.Line == 1 }},
		{"lone CR not refused as such in configs", "a: 1\rb: 2\n", ConfigFile, func(e error) bool { return !errors.As(e, &cr) }},
		{"duplicate key", "a: 1\nb:\n  c: 1\n  c: 2\n", StaticPod, func(e error) bool { return errors.As(e, &dup) && dup.Line == 4 && dup.First == 3 }},
		{"two documents", "a: 1\n---\nb: 2\n", StaticPod, func(e error) bool { return errors.As(e, &count) && count.N == 2 }},
		{"comment only", "# x\n", StaticPod, func(e error) bool { return errors.As(e, &count) && count.N == 0 }},
		{"malformed second document", "a: 1\n---\nb: [\n", ConfigFile, func(e error) bool { return errors.As(e, &syn) }},
		{"malformed before alias, static pod", "a: &x 1\n---\nb: [\n", StaticPod, func(e error) bool { return errors.As(e, &syn) }},
		{"alias before malformed, config", "a: &x 1\n---\nb: [\n", ConfigFile, func(e error) bool { return errors.Is(e, ErrAlias) }},
		{"explicit key", "? a\n: 1\n", ConfigFile, func(e error) bool { return e != nil }},
		{"bom and crlf", "\xef\xbb\xbfa: 1\r\n", StaticPod, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), c.o)
			if c.want == nil && err != nil || c.want != nil && !c.want(err) {
				t.Errorf("Parse(%q) = %v", c.in, err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a: 1\nb: 2\n":       "",
		"a: 1\na: 2\n":       `line 2: duplicate key "a"`,
		"<<: {x: 1}\na: 1\n": "line 1: merge keys (<<) are not supported",
		"x: &v 1\na: *v\n":   "line 2: a: YAML anchors and aliases are not supported here",
		"'<<': 1\na: 1\n":    "",
		"b: 1\n":             "",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(in), &n); err != nil {
			t.Fatal(err)
		}
		_, _, err := Lookup(n.Content[0], "a")
		if got := ""; err != nil && err.Error() != want || err == nil && want != got {
			t.Errorf("Lookup(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestApplyRefusesOverlaps(t *testing.T) {
	t.Parallel()
	out, err := Apply([]byte("abcdef"), []Splice{{4, 5, "E"}, {0, 1, "A"}, {2, 2, "+"}})
	if err != nil || string(out) != "Ab+cdEf" {
		t.Errorf("Apply = %q, %v", out, err)
	}
	if _, err := Apply([]byte("abcdef"), []Splice{{0, 3, ""}, {2, 4, ""}}); err == nil {
		t.Error("overlapping splices applied")
	}
	if _, err := Apply([]byte("abc"), []Splice{{2, 9, ""}}); err == nil {
		t.Error("splice past the end applied")
	}
}

func TestApplyLines(t *testing.T) {
	t.Parallel()
	lines := []string{"a: 1 # c\n", "b: {}\n", "c: x"}
	got := strings.Join(ApplyLines(lines, []LineEdit{
		{Line: 0, Start: 3, End: 4, Repl: "22"},
		{Line: 1, Start: 2, End: 5, Repl: ""},
		{Line: 1, Insert: []string{"  d: 1"}},
		{Line: 2, Insert: []string{"e: 2"}},
	}), "")
	if want := "a: 22 # c\nb:\n  d: 1\nc: x\ne: 2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReplaceBlockLines(t *testing.T) {
	t.Parallel()
	in := "p:\r\n- |\r\n  kind: X\r\n  a: 1\r\nq: 1\r\n"
	f := mustParse(t, in, ConfigFile)
	n := item(t, f, "p", 0)
	s, err := f.ReplaceBlockLines(n, n.Value, strings.Replace(n.Value, "a: 1", "a: 2\nb: 3", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := apply(t, f, s), "p:\r\n- |\r\n  kind: X\r\n  a: 2\r\n  b: 3\r\nq: 1\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	g := mustParse(t, "p:\n- \"x\"\n", ConfigFile)
	if _, err := g.ReplaceBlockLines(item(t, g, "p", 0), "x", "y"); !errors.Is(err, ErrNotLiteral) {
		t.Errorf("quoted scalar: %v, want ErrNotLiteral", err)
	}
}

// The new item lands after the sequence's last item, never inside the key that follows it: kind's
// documented layout puts "kubeadmConfigPatches:" items in column 0, followed by "nodes:".
func TestAppendToSeq(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{"column 0, another key after", "a:\n- |\n  x: 1\n# about b\nb:\n- role: c\n", "a:\n- |\n  x: 1\n- y\n# about b\nb:\n- role: c\n"},
		{"indented below its key", "a:\n  - p: 1\n    q: 2\nb: 3\n", "a:\n  - p: 1\n    q: 2\n  - y\nb: 3\n"},
		{"nested, column of the parent key", "m:\n  a:\n  - x\n  b: 1\n", "m:\n  a:\n  - x\n  - y\n  b: 1\n"},
		{"last in file, no newline", "a:\n- x", "a:\n- x\n- y"},
		{"crlf", "a:\r\n- x\r\nb: 1\r\n", "a:\r\n- x\r\n- y\r\nb: 1\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, c.in, ConfigFile)
			seq := Field(f.Docs[0], "a")
			if seq == nil {
				_, m := Get(f.Docs[0], "m")
				seq = Field(m, "a")
			}
			s, err := f.AppendToSeq(seq, []string{"- y"})
			if err != nil {
				t.Fatal(err)
			}
			if got := apply(t, f, s); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	f := mustParse(t, "a: [x]\n", ConfigFile)
	if _, err := f.AppendToSeq(Field(f.Docs[0], "a"), []string{"- y"}); err == nil {
		t.Error("flow sequence: no error")
	}
}
