package manifests

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// splice replaces data[start:end] with text.
type splice struct {
	start, end int
	text       string
}

func apply(data []byte, edits []splice) ([]byte, error) {
	sortSplices(edits)
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos {
			return nil, fmt.Errorf("internal error: overlapping edits")
		}
		out.Write(data[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(data[pos:])
	return out.Bytes(), nil
}

// offsetOf converts a yaml.v3 node position (1-based line, 1-based column counted in characters) to
// a byte offset in data.
func offsetOf(data []byte, n *yaml.Node) (int, error) {
	line, col := n.Line, n.Column
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3 // the parser skips a byte order mark without counting it
	}
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("internal error: line %d past end of file", line)
		}
		start += i + 1
	}
	off := start
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("internal error: column %d past end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// scalarSpan returns the byte range of a single-line scalar's source text (quotes included), and checks
// that the text really is that scalar. Multi-line scalars are refused: rewriting them in place could
// change the file's meaning elsewhere.
func scalarSpan(data []byte, n *yaml.Node) (int, int, error) {
	start, err := offsetOf(data, n)
	if err != nil {
		return 0, 0, err
	}
	eol := bytes.IndexByte(data[start:], '\n')
	if eol < 0 {
		eol = len(data)
	} else {
		eol += start
	}
	line := data[start:eol]
	var end int
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		end = -1
		for i := 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '"' {
				end = start + i + 1
				break
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		end = -1
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				end = start + i + 1
				break
			}
		}
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		end = -1
	default:
		text := string(line)
		if i := strings.Index(text, " #"); i >= 0 {
			text = text[:i]
		}
		end = start + len(strings.TrimRight(text, " \t\r"))
	}
	if end < 0 {
		return 0, 0, fmt.Errorf("the value %q spans several lines; write it on one line", n.Value)
	}
	var v string
	if err := yaml.Unmarshal(data[start:end], &v); err != nil || v != n.Value {
		return 0, 0, fmt.Errorf("the value %q spans several lines or uses an unsupported YAML form; write it on one line", n.Value)
	}
	return start, end, nil
}

// render writes text as a scalar in the style of the node it replaces, so quoting survives.
func render(style yaml.Style, text string) string {
	var s string
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text) + `"`
	case style&yaml.SingleQuotedStyle != 0:
		s = "'" + strings.ReplaceAll(text, "'", "''") + "'"
	default:
		s = text
	}
	var back string
	if err := yaml.Unmarshal([]byte(s), &back); err != nil || back != text {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text) + `"`
	}
	return s
}

func replaceScalar(data []byte, n *yaml.Node, text string) (splice, error) {
	start, end, err := scalarSpan(data, n)
	if err != nil {
		return splice{}, err
	}
	return splice{start, end, render(n.Style, text)}, nil
}

// lineOf returns the byte range of the line holding n, without its line ending.
func lineOf(data []byte, n *yaml.Node) (int, int, error) {
	off, err := offsetOf(data, n)
	if err != nil {
		return 0, 0, err
	}
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	end := bytes.IndexByte(data[off:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += off
	}
	if end > start && data[end-1] == '\r' {
		end--
	}
	return start, end, nil
}

// nextLine returns the offset just past the line ending at end.
func nextLine(data []byte, end int) int {
	if end < len(data) && data[end] == '\r' {
		end++
	}
	if end < len(data) && data[end] == '\n' {
		end++
	}
	return end
}

// deleteItem removes the whole line of a block sequence item ("  - value  # comment").
func deleteItem(data []byte, n *yaml.Node) (splice, error) {
	start, end, err := lineOf(data, n)
	if err != nil {
		return splice{}, err
	}
	_, vend, err := scalarSpan(data, n)
	if err != nil {
		return splice{}, err
	}
	line := data[start:end]
	dash := bytes.IndexByte(line, '-')
	rest := strings.TrimSpace(string(data[vend:end]))
	if dash < 0 || !isBlank(line[:dash]) || (rest != "" && !strings.HasPrefix(rest, "#")) {
		return splice{}, fmt.Errorf("cannot remove the list item %q: it does not stand alone on its line", n.Value)
	}
	return splice{start, nextLine(data, end), ""}, nil
}
