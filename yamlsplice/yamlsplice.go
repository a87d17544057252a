// Package yamlsplice holds what every text-preserving YAML edit in mirrorctl shares: turning a
// yaml.v3 node position into a byte offset, finding where a one-line scalar's source text ends, and
// writing a new value in the quoting style of the one it replaces. The editors (static pod
// manifests, distribution configs, lint fixes) locate nodes with kyaml and splice bytes; this is the
// part of that they must agree on.
package yamlsplice

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const bom = "\xef\xbb\xbf"

// Offset converts a yaml.v3 position (1-based line, 1-based column counted in characters) into a byte
// offset in data. The parser skips a leading byte order mark without counting it.
func Offset(data []byte, line, col int) (int, error) {
	start := 0
	if bytes.HasPrefix(data, []byte(bom)) {
		start = len(bom)
	}
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("internal error: line %d past end of file", line)
		}
		start += i + 1
	}
	return Column(data, start, line, col)
}

// Column advances from the byte offset of a line's start to its 1-based character column.
func Column(data []byte, lineStart, line, col int) (int, error) {
	off := lineStart
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("internal error: column %d past end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// TokenEnd returns the length of the scalar's source text at the start of rest (the rest of its line
// from the node's column): quotes included; for plain scalars without a trailing comment or spaces,
// and in a flow collection without the "," "]" or "}" that ends it. It returns -1 when the scalar goes
// on past the line (block scalars, quoted scalars broken over lines): those are not rewritten in place.
func TokenEnd(rest []byte, style yaml.Style, inFlow bool) int {
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == '"' {
				return i + 1
			}
		}
		return -1
	case style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
		return -1
	case style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return -1
	}
	text := string(rest)
	if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	}
	if inFlow {
		if i := strings.IndexAny(text, ",]}"); i >= 0 {
			text = text[:i]
		}
	}
	return len(strings.TrimRight(text, " \t\r"))
}

// Render writes text as a scalar in the given style, falling back to double quotes whenever the plain
// or single-quoted form would not read back as the same string ("*,…" is an alias in plain YAML, a
// " #" starts a comment).
func Render(style yaml.Style, text string) string {
	dq := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text) + `"`
	var s string
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		return dq
	case style&yaml.SingleQuotedStyle != 0:
		s = "'" + strings.ReplaceAll(text, "'", "''") + "'"
	default:
		s = text
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 ||
		n.Content[0].Kind != yaml.ScalarNode || n.Content[0].Tag != "!!str" || n.Content[0].Value != text ||
		strings.ContainsAny(s, "#\n") {
		return dq
	}
	return s
}
