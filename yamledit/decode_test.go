package yamledit

import (
	"bytes"
	"fmt"
	"testing"
)

func TestDocuments(t *testing.T) {
	for _, c := range []struct {
		in      string
		docs    int
		wantErr bool
	}{
		{"", 0, false},
		{"# only a comment\n", 0, false},
		{"a: 1\n", 1, false},
		{"a: 1\n---\nb: 2\n", 2, false},
		{"a: 1\n---\nb: [\n", 1, true}, // the first document survives an error in the second
		{"a: [\n---\nb: 2\n", 0, true},
	} {
		docs, err := Documents([]byte(c.in))
		if len(docs) != c.docs || (err != nil) != c.wantErr {
			t.Errorf("%q: %d document(s), err %v; want %d, error %v", c.in, len(docs), err, c.docs, c.wantErr)
		}
	}
}

// One Decoded serves every reader of a file: the editor's policy over it gives what Parse gives for
// the bytes, over the very nodes a lenient reader of the same Decoded sees.
func TestDecodedParse(t *testing.T) {
	for _, in := range []string{
		"kind: Pod\nspec: {}\n",
		"a: &x 1\nb: *x\n",
		"a: 1\n---\nb: 2\n",
		"a: [\n",
		"a: 1\rb: 2\n",
		"a: 1\na: 2\n",
		"\xff: 1\n",
		"",
	} {
		for _, o := range []Options{StaticPod, ConfigFile} {
			d := Decode([]byte(in))
			got, gerr := d.Parse(o)
			want, werr := Parse([]byte(in), o)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || (got == nil) != (want == nil) {
				t.Errorf("%q %+v: Decoded.Parse %v, %v; Parse %v, %v", in, o, got, gerr, want, werr)
				continue
			}
			if got == nil {
				continue
			}
			if len(got.Docs) != len(want.Docs) || got.EOL != want.EOL || !bytes.Equal(got.Data, want.Data) {
				t.Errorf("%q %+v: Decoded.Parse %+v; Parse %+v", in, o, got, want)
			}
			for i, n := range got.Docs {
				if n != nil && n != d.Docs[i].Content[0] {
					t.Errorf("%q: document %d is not the Decoded's node", in, i)
				}
			}
		}
	}
}
