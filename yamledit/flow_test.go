package yamledit

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestFlowAppend: an entry goes inside the one-line flow collection, before its closing bracket and
// after the last element; the rest of the line (quotes holding brackets, a comment) stays as written.
func TestFlowAppend(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, entry, want string }{
		{"map", "a: {x: 1}\n", "y: 2", "a: {x: 1, y: 2}\n"},
		{"spaces inside", "a: { x: 1 }  # c\n", "y: 2", "a: { x: 1, y: 2 }  # c\n"},
		{"list", "a: [{name: x, value: y}]\n", "{name: c, value: d}", "a: [{name: x, value: y}, {name: c, value: d}]\n"},
		{"brackets in quotes", "a: {x: \"}]\", 'y': '{''}'}\n", "z: 1", "a: {x: \"}]\", 'y': '{''}', z: 1}\n"},
		{"nested", "a: {b: {x: 1}, c: [1, 2]}\n", "d: 3", "a: {b: {x: 1}, c: [1, 2], d: 3}\n"},
		{"empty", "a: {}\n", "x: 1", "a: {x: 1}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseLines([]byte(c.in), Kubeadm)
			if err != nil {
				t.Fatal(err)
			}
			d := f.Docs[0]
			_, v := Get(d.Root, "a")
			e, err := d.FlowAppend(v, c.entry)
			if err != nil {
				t.Fatal(err)
			}
			got := string(f.Bytes(ApplyLines(f.Lines, d.ToFile([]LineEdit{e}))))
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if _, err := yaml.Parse(got); err != nil {
				t.Errorf("the edit does not parse: %v", err)
			}
		})
	}
	for _, c := range []struct {
		name, in string
		want     error
	}{
		{"over two lines", "a: {x: 1,\n  y: 2}\n", ErrFlowMultiLine},
		{"block map", "a:\n  x: 1\n", ErrUnlocated},
		{"comment before the close", "a: [1, # c\n  2]\n", ErrFlowMultiLine},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseLines([]byte(c.in), Kubeadm)
			if err != nil {
				t.Fatal(err)
			}
			_, v := Get(f.Docs[0].Root, "a")
			if _, err := f.Docs[0].FlowAppend(v, "z: 1"); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestInsertIntoFlowMapping: one line added to a one-line flow mapping goes inside its braces; several
// lines, or a mapping over several lines, are refused as before.
func TestInsertIntoFlowMapping(t *testing.T) {
	t.Parallel()
	f := mustParse(t, "vars: {a: 1}  # keep\nother: x\n", ConfigFile)
	k, v := Get(f.Docs[0], "vars")
	edits, err := f.InsertInto("vars", k, v, []string{"controllers: \"*\""})
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, f, edits...); got != "vars: {a: 1, controllers: \"*\"}  # keep\nother: x\n" {
		t.Errorf("got %q", got)
	}
	if _, err := f.InsertInto("vars", k, v, []string{"x:", "  y: 1"}); err == nil || !strings.Contains(err.Error(), "flow mapping") {
		t.Errorf("several lines into a flow mapping: err = %v", err)
	}
	f = mustParse(t, "vars: {a: 1,\n  b: 2}\n", ConfigFile)
	k, v = Get(f.Docs[0], "vars")
	if _, err := f.InsertInto("vars", k, v, []string{"c: 3"}); err == nil || !strings.Contains(err.Error(), "several lines") {
		t.Errorf("a flow mapping over two lines: err = %v", err)
	}
}
