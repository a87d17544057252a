package yamledit

import (
	"bytes"
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

// The same content decodes once and is shared; a caller reusing its buffer afterwards changes nothing.
func TestDocumentsKeepsItsOwnCopy(t *testing.T) {
	buf := []byte("kind: Pod\nspec: {}\n# unique to this test\n")
	first, _ := Documents(buf)
	orig := bytes.Clone(buf)
	copy(buf, bytes.Repeat([]byte("x"), len(buf)))
	again, _ := Documents(orig)
	if len(first) != 1 || len(again) != 1 || first[0] != again[0] {
		t.Fatalf("not shared: %v %v", first, again)
	}
	if other, _ := Documents(buf); len(other) != 1 || other[0] == first[0] {
		t.Fatalf("different content got the kept decode")
	}
}
