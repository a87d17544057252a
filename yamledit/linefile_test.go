package yamledit

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestParseLinesPolicy(t *testing.T) {
	t.Parallel()
	var marker *MarkerContentError
	var doc *DocumentError
	for _, c := range []struct {
		name, in string
		want     error
		as       any
	}{
		{"empty", "\xef\xbb\xbf \n\n", ErrEmptyFile, nil},
		{"mixed", "a: 1\r\nb: 2\n", ErrMixedEOL, nil},
		{"lone CR", "a: 1\rb: 2\n", ErrStrayCR, nil},
		{"content on a marker", "a: 1\n--- b: 2\n", nil, &marker},
		{"malformed second document", "a: 1\n---\nb: [\n", nil, &doc},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseLines([]byte(c.in), Kubeadm)
			if err == nil && f != nil {
				for _, d := range f.Docs {
					if d.Err != nil {
						err = d.Err
						break
					}
				}
			}
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("err = %v; want %v", err, c.want)
			case c.as != nil && (err == nil || !errors.As(err, c.as)):
				t.Errorf("err = %v (%T); want %T", err, err, c.as)
			}
		})
	}
	if doc.Error() != "document 2 (line 3): malformed YAML: "+OneLine(doc.Err.Error()) {
		t.Errorf("DocumentError: %s", doc)
	}
	if marker.Line != 2 {
		t.Errorf("MarkerContentError.Line = %d; want 2", marker.Line)
	}
}

func TestParseLinesRoundTrip(t *testing.T) {
	t.Parallel()
	in := "\xef\xbb\xbf# head\r\n---\r\na: 1\r\n---\r\n# only a comment\r\nb: [x]\r\n"
	f, err := ParseLines([]byte(in), Kubeadm)
	if err != nil {
		t.Fatal(err)
	}
	if !f.BOM || !f.CRLF || len(f.Docs) != 3 {
		t.Fatalf("BOM %v CRLF %v docs %d", f.BOM, f.CRLF, len(f.Docs))
	}
	if f.Docs[0].Root != nil || f.Docs[1].Root == nil || f.Docs[2].FileLine(1) != 5 {
		t.Errorf("documents: %+v %+v %+v", f.Docs[0], f.Docs[1], f.Docs[2])
	}
	if got := string(f.Bytes(f.Lines)); got != in {
		t.Errorf("Bytes = %q; want %q", got, in)
	}
}

// TestBlock maps a ConfigMap's block scalar onto the file and edits through it.
func TestBlock(t *testing.T) {
	t.Parallel()
	const cm = "kind: ConfigMap\ndata:\n  Config: "
	for _, c := range []struct {
		name, in string
		want     error
		as       any
	}{
		{"clip", cm + "|\n    a: 1\n    b: x\n", nil, nil},
		{"strip", cm + "|-\n    a: 1\n    b: x\nnext: 1\n", nil, nil},
		{"keep, comment", cm + "|+ # kept\n    a: 1\n    b: x\n\n", nil, nil},
		{"folded", cm + ">\n    a: 1\n", ErrNotLiteral, nil},
		{"indentation indicator", cm + "|2\n    a: 1\n", nil, new(*BlockHeaderError)},
		{"empty", cm + "|\nnext: 1\n", ErrBlockEmpty, nil},
		{"no final newline", cm + "|\n    a: 1\n    b: x", ErrBlockUnmapped, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseLines([]byte(c.in), Kubeadm)
			if err != nil {
				t.Fatal(err)
			}
			d := f.Docs[0]
			k, v := Get(Field(d.Root, "data"), "Config")
			inner, err := d.Block(k, v)
			switch {
			case c.want != nil || c.as != nil:
				if c.want != nil && !errors.Is(err, c.want) || c.as != nil && !errors.As(err, c.as) {
					t.Errorf("err = %v; want %v %T", err, c.want, c.as)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			// The lines end at the last content line: a kept (|+) trailing blank line is not the document's.
			if strings.TrimRight(inner.Text(), "\n") != strings.TrimRight(v.Value, "\n") || inner.Shift != 4 || inner.FileLine(1) != 4 {
				t.Fatalf("inner %q shift %d line %d; value %q", inner.Text(), inner.Shift, inner.FileLine(1), v.Value)
			}
			rn, err := yaml.Parse(v.Value)
			if err != nil {
				t.Fatal(err)
			}
			inner.Root = rn.YNode()
			sp, err := inner.Span(Field(inner.Root, "b"), false)
			if err != nil {
				t.Fatal(err)
			}
			if f.Docs[0].SpanLine(sp) != 2 || inner.SpanLine(sp) != 5 {
				t.Errorf("span %+v: lines %d, %d", sp, f.Docs[0].SpanLine(sp), inner.SpanLine(sp))
			}
			edits := []LineEdit{sp.Replace("y"), inner.InsertAfter(Field(inner.Root, "a"), []string{"c: 2"})}
			got := string(f.Bytes(ApplyLines(f.Lines, inner.ToFile(edits))))
			want := strings.Replace(strings.Replace(c.in, "b: x", "b: y", 1), "a: 1\n", "a: 1\n    c: 2\n", 1)
			if got != want {
				t.Errorf("edited:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestClearEmpty(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string // want: the key's line after the edit; "" for no edit
		ok       bool
		err      error
	}{
		{"k:\n", "", true, nil},
		{"k: # none\n", "", true, nil},
		{"k: ~\n", "k:", true, nil},
		{"k: NULL # c\n", "k: # c", true, nil},
		{"k: { }\n", "k:", true, nil},
		{"k: []\n", "k:", true, nil},
		{"k: 1\n", "", false, nil},
		{"k: {a: 1}\n", "", false, nil},
		{"k: !!null ''\n", "", false, ErrEmptyUnlocated},
	} {
		f, err := ParseLines([]byte(c.in), Kubeadm)
		if err != nil {
			t.Fatal(err)
		}
		d := f.Docs[0]
		k, v := Get(d.Root, "k")
		sp, err := d.Span(k, false)
		if err != nil {
			t.Fatal(err)
		}
		clear, ok, err := d.ClearEmpty(sp, v)
		if ok != c.ok || !errors.Is(err, c.err) {
			t.Errorf("%q: ok %v err %v; want %v %v", c.in, ok, err, c.ok, c.err)
			continue
		}
		got := ""
		if clear != nil {
			got = strings.TrimSuffix(ApplyLines(d.Lines, []LineEdit{*clear})[0], "\n")
		}
		if got != c.want {
			t.Errorf("%q: line %q; want %q", c.in, got, c.want)
		}
	}
}

func TestDetectIndent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Indentation{
		"a:\n    b: 1\nl:\n  - x\n": {4, 2},
		"a:\n  b:\n  - x\n":         {2, 0},
		"a: 1\n":                    {2, 0},
	} {
		f, err := ParseLines([]byte(in), Kubeadm)
		if err != nil {
			t.Fatal(err)
		}
		if got := DetectIndent(f.Docs[0].Root); got != want {
			t.Errorf("%q: %+v; want %+v", in, got, want)
		}
	}
}
