package yamledit

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestTokenEnd(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rest   string
		style  yaml.Style
		inFlow bool
		want   int
	}{
		{`--controllers=*,foo   # kept`, 0, false, len(`--controllers=*,foo`)},
		{`--controllers=*,foo` + "\r", 0, false, len(`--controllers=*,foo`)},
		{`"a\"b" # c`, yaml.DoubleQuotedStyle, false, len(`"a\"b"`)},
		{`'it''s' x`, yaml.SingleQuotedStyle, false, len(`'it''s'`)},
		{`"unterminated`, yaml.DoubleQuotedStyle, false, -1},
		{`|`, yaml.LiteralStyle, false, -1},
		{`a, b]`, 0, true, 1},
		{`a#b`, 0, false, 3}, // "#" inside a plain scalar is not a comment
	} {
		if got := TokenEnd([]byte(c.rest), c.style, c.inFlow); got != c.want {
			t.Errorf("TokenEnd(%q) = %d, want %d", c.rest, got, c.want)
		}
	}
}

func TestRenderReadsBack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		style      yaml.Style
		text, want string
	}{
		{0, "--controllers=*,-x", "--controllers=*,-x"},
		{0, "*,bootstrapsigner", `"*,bootstrapsigner"`}, // an alias in plain YAML
		{0, "a #b", `"a #b"`},
		{0, "true", `"true"`}, // would read back as a bool
		{yaml.SingleQuotedStyle, "it's", `'it''s'`},
		{yaml.DoubleQuotedStyle, `a"b\c`, `"a\"b\\c"`},
	} {
		got := Render(c.style, c.text)
		if got != c.want {
			t.Errorf("Render(%v, %q) = %s, want %s", c.style, c.text, got, c.want)
		}
		var back string
		if err := yaml.Unmarshal([]byte(got), &back); err != nil || back != c.text {
			t.Errorf("Render(%q) = %s reads back as %q (%v)", c.text, got, back, err)
		}
	}
}

func TestOffsetCountsCharactersAndSkipsBOM(t *testing.T) {
	t.Parallel()
	data := []byte("\xef\xbb\xbfa: 1\nkey: ünï value\n")
	off, err := Offset(data, 2, 10)
	if err != nil || string(data[off:off+5]) != "value" {
		t.Errorf("Offset = %d %v (%q)", off, err, data[off:])
	}
	if _, err := Offset(data, 9, 1); err == nil {
		t.Error("line past the end accepted")
	}
}
