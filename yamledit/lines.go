package yamledit

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Line-level editing, for callers that hold a document as lines (each keeping its "\n") because the
// document is a part of its file: the kubeadm ClusterConfiguration inside a ConfigMap's block scalar
// is those lines shifted right.

// LineEdit is one change to lines: replace bytes [Start, End) of line Line (0-based; Insert == nil), or
// insert whole lines (without "\n") after it.
type LineEdit struct {
	Line       int
	Start, End int
	Repl       string
	Insert     []string
}

// ApplyLines returns a copy of lines with the edits applied. Replacements on one line are applied right
// to left; inserted lines get "\n", and a last line without "\n" keeps lacking it after an insertion.
func ApplyLines(lines []string, edits []LineEdit) []string {
	byLine := map[int][]LineEdit{}
	for _, e := range edits {
		byLine[e.Line] = append(byLine[e.Line], e)
	}
	out := make([]string, 0, len(lines)+4)
	for i, l := range lines {
		var inserts []string
		var repls []LineEdit
		for _, e := range byLine[i] {
			if e.Insert != nil {
				inserts = append(inserts, e.Insert...)
			} else {
				repls = append(repls, e)
			}
		}
		sort.Slice(repls, func(a, b int) bool { return repls[a].Start > repls[b].Start })
		eol := strings.HasSuffix(l, "\n")
		body := strings.TrimSuffix(l, "\n")
		for _, r := range repls {
			body = body[:r.Start] + r.Repl + body[r.End:]
		}
		if len(inserts) == 0 {
			if eol {
				body += "\n"
			}
			out = append(out, body)
			continue
		}
		out = append(out, body+"\n")
		for j, ins := range inserts {
			if j == len(inserts)-1 && !eol {
				out = append(out, ins)
			} else {
				out = append(out, ins+"\n")
			}
		}
	}
	return out
}

// ByteCol converts a yaml.v3 column (1-based, in characters) into a byte offset in line.
func ByteCol(line string, col int) (int, bool) {
	if col < 1 {
		return 0, false
	}
	i := 0
	for range col - 1 {
		if i >= len(line) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(line[i:])
		i += size
	}
	return i, i <= len(line)
}

// Errors of SpanInLine.
var (
	ErrUnlocated = errors.New("cannot locate the value")
	ErrMultiLine = errors.New("the value spans several lines")
	ErrMismatch  = errors.New("the text at the value's position is not the value")
)

// SpanInLine returns the byte range, in line (the text of n's line without its line ending), of the
// one-line scalar n's source (quotes included), checked to decode to n's value: replacing those bytes
// replaces that value and nothing else. flow says n sits in a flow collection.
func SpanInLine(line string, n *yaml.Node, flow bool) (start, end int, err error) {
	start, ok := ByteCol(line, n.Column)
	if n.Kind != yaml.ScalarNode || !ok {
		return 0, 0, ErrUnlocated
	}
	end = TokenEnd([]byte(line[start:]), n.Style, flow)
	if end < 0 {
		return 0, 0, ErrMultiLine
	}
	end += start
	if !decodesTo(line[start:end], n) {
		return 0, 0, ErrMismatch
	}
	return start, end, nil
}

// decodesTo reports whether token, alone, is the scalar n (an empty null is its own empty text).
func decodesTo(token string, n *yaml.Node) bool {
	var v string
	if err := yaml.Unmarshal([]byte(token), &v); err == nil && v == n.Value {
		return true
	}
	return n.Tag == "!!null" && token == ""
}
