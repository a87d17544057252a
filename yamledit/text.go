// Package yamledit is mirrorctl's one text-preserving YAML editor. kyaml (yaml.v3 nodes) locates what
// to change; the change is spliced into the original bytes, so comments, quoting, key order, line
// endings and indentation elsewhere in the user's file survive exactly. Every editor (static pod
// manifests, kubeadm configurations, distribution configs, lint fixes) goes through it, so they agree
// on what a file may hold (Parse's policy), where a value's text is (ScalarSpan), how a new value is
// written (Render) and how edits combine (Apply).
package yamledit

import (
	"bytes"
	"fmt"
	"strconv"
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
	// A plain scalar ends at a comment (" #" or tab then "#"), at ": " or a final ":" (a key), and in a
	// flow collection at "," "]" "}" (and a ":" before one of them).
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		blank := func(j int) bool { return rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\r' }
		if (c == '#' && i > 0 && blank(i-1)) ||
			(c == ':' && (i+1 == len(rest) || blank(i+1) || inFlow && strings.IndexByte(",]}", rest[i+1]) >= 0)) ||
			(inFlow && strings.IndexByte(",]}", c) >= 0) {
			end = i
			break
		}
	}
	return len(strings.TrimRight(string(rest[:end]), " \t\r"))
}

// Render writes text as a scalar in the given style, falling back to double quotes whenever the plain
// or single-quoted form would not read back as the same string ("*,…" is an alias in plain YAML, a
// " #" starts a comment). A new value (no style to keep) is written with yaml.DoubleQuotedStyle.
func Render(style yaml.Style, text string) string { return RenderIn(style, text, false) }

// RenderIn is Render for a scalar inside a flow collection when flow is set, where "," "]" and "}" end
// a plain scalar.
//
// The rules are the union of the ones the editors used before they shared this one: a plain scalar must
// read back as the same plain string both as a document and as a mapping value in its context, and
// holds no "#", tab, CR or LF; a single-quoted one holds no "#", line break, control character or
// backquote. Double quotes use Go's escapes, which YAML reads the same way (\n, \t, \uXXXX...).
func RenderIn(style yaml.Style, text string, flow bool) string {
	dq := strconv.Quote(text)
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		return dq
	case style&yaml.SingleQuotedStyle != 0:
		s := "'" + strings.ReplaceAll(text, "'", "''") + "'"
		if strconv.CanBackquote(text) && !strings.ContainsAny(text, "#\n") && readsBack(s, text) {
			return s
		}
		return dq
	}
	if text == "" || strings.ContainsAny(text, "#\n\r\t") || !readsBack(text, text) {
		return dq
	}
	ctx := "k: " + text
	if flow {
		ctx = "{k: " + text + "}"
	}
	var m yaml.Node
	if err := yaml.Unmarshal([]byte(ctx), &m); err != nil || len(m.Content) != 1 {
		return dq
	}
	if mm := m.Content[0]; mm.Kind != yaml.MappingNode || len(mm.Content) != 2 || mm.Content[1].Kind != yaml.ScalarNode ||
		mm.Content[1].Tag != "!!str" || mm.Content[1].Style != 0 || mm.Content[1].Value != text {
		return dq
	}
	return text
}

// readsBack reports whether s, as a YAML document, is the string scalar text.
func readsBack(s, text string) bool {
	var n yaml.Node
	return yaml.Unmarshal([]byte(s), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode &&
		n.Content[0].Tag == "!!str" && n.Content[0].Value == text
}
