package yamledit

import (
	"slices"
	"testing"
)

func TestDocsOfKind(t *testing.T) {
	f, err := Parse([]byte("kind: A\nn: 1\n---\nn: 2\n---\n- x\n---\nkind: B\n---\nkind: A\nn: 3\n---\nkind:\nn: 4\n"), ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	ns := func(kind string) (out []string) {
		for _, d := range f.DocsOfKind(kind) {
			out = append(out, ScalarField(d, "n"))
		}
		return out
	}
	for _, tt := range []struct {
		kind string
		want []string
	}{
		{"A", []string{"1", "3"}},
		{"B", []string{""}},
		{"", []string{"2"}}, // no kind field; a list document and an empty kind are neither
		{"C", nil},
	} {
		if got := ns(tt.kind); !slices.Equal(got, tt.want) {
			t.Errorf("DocsOfKind(%q): documents n=%q, want %q", tt.kind, got, tt.want)
		}
	}
}
