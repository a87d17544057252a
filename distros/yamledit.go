package distros

// Locate-and-splice YAML editing shared by the k0s, kind, Talos and kops adapters. kyaml (yaml.v3 nodes)
// finds where a value is; the change is spliced into the original bytes, so comments, quoting, key order
// and indentation elsewhere in the user's file survive. Identifiers carry a "ye" prefix because the
// package is shared with the kubeadm adapter.

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/yamlsplice"
)

// yeFile is a YAML stream and its documents' root nodes (nil for an empty document).
type yeFile struct {
	data  []byte
	docs  []*yaml.Node
	eol   string // the file's line ending
	lines []int  // byte offset where each line starts (index 0: line 1)
}

func yeOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// yeParse decodes every document. Anchors and aliases are refused: an edit through an alias would
// change every place that shares the value.
func yeParse(data []byte) (*yeFile, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not a YAML file (invalid UTF-8)")
	}
	f := &yeFile{data: data, eol: "\n", lines: []int{0}}
	if bytes.Contains(data, []byte("\r\n")) {
		f.eol = "\r\n"
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		f.lines[0] = 3 // the parser skips a byte order mark without counting it
	}
	for i, b := range data {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	// Documents stops at the first malformed one; those before it are checked first, as they are read.
	docs, decodeErr := yamlsplice.Documents(data)
	for _, n := range docs {
		var root *yaml.Node
		if len(n.Content) > 0 {
			root = n.Content[0]
		}
		if yeHasAlias(root, 0) {
			return nil, errors.New("YAML anchors and aliases are not supported; expand them first")
		}
		if err := f.checkKeys(root); err != nil {
			return nil, err
		}
		f.docs = append(f.docs, root)
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("invalid YAML: %s", yeOneLine(decodeErr.Error()))
	}
	return f, nil
}

func yeHasAlias(n *yaml.Node, depth int) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" || depth > 100 {
		return true
	}
	for _, c := range n.Content {
		if yeHasAlias(c, depth+1) {
			return true
		}
	}
	return false
}

// yeSplice replaces data[start:end] with text.
type yeSplice struct {
	start, end int
	text       string
}

func yeApply(data []byte, edits []yeSplice) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > len(data) {
			return nil, errors.New("internal error: overlapping edits")
		}
		out.Write(data[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(data[pos:])
	return out.Bytes(), nil
}

// checkKeys refuses mapping keys the splice edits cannot locate: non-string keys, empty keys and the
// explicit "? key" form. Every key must be its own text at its position.
func (f *yeFile) checkKeys(n *yaml.Node) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "" {
				return fmt.Errorf("line %d: mapping keys must be plain strings", k.Line)
			}
			if n.Style&yaml.FlowStyle == 0 {
				if _, err := f.keyEnd(k); err != nil {
					return fmt.Errorf("line %d: %w", k.Line, err)
				}
			}
		}
	}
	for _, c := range n.Content {
		if err := f.checkKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// offset converts a yaml.v3 position (1-based line, 1-based column in characters) to a byte offset.
func (f *yeFile) offset(line, col int) (int, error) {
	if line < 1 || line > len(f.lines) {
		return 0, fmt.Errorf("internal error: line %d past end of file", line)
	}
	return yamlsplice.Column(f.data, f.lines[line-1], line, col)
}

// lineEnd returns the offset of the end of the line holding off (before "\r\n" or "\n").
func (f *yeFile) lineEnd(off int) int {
	i := bytes.IndexByte(f.data[off:], '\n')
	if i < 0 {
		return len(f.data)
	}
	end := off + i
	if end > 0 && f.data[end-1] == '\r' {
		end--
	}
	return end
}

// scalarSpan returns the byte range of a one-line scalar's source (quotes included). inFlow says the
// scalar sits in a flow collection, where "," "]" and "}" end a plain scalar.
func (f *yeFile) scalarSpan(n *yaml.Node, inFlow bool) (int, int, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, 0, errors.New("internal error: not a scalar")
	}
	start, err := f.offset(n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	end := yamlsplice.TokenEnd(f.data[start:f.lineEnd(start)], n.Style, inFlow)
	if end >= 0 {
		end += start
	}
	if end < 0 {
		return 0, 0, fmt.Errorf("the value %q spans several lines; write it on one line", n.Value)
	}
	var v string
	if err := yaml.Unmarshal(f.data[start:end], &v); err != nil || v != n.Value {
		if n.Tag == "!!null" && start == end {
			return start, end, nil
		}
		return 0, 0, fmt.Errorf("the value %q spans several lines or uses an unsupported YAML form; write it on one line", n.Value)
	}
	return start, end, nil
}

// keyEnd returns the offset just after a mapping key's source text.
func (f *yeFile) keyEnd(k *yaml.Node) (int, error) {
	if k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		_, end, err := f.scalarSpan(k, false)
		return end, err
	}
	start, err := f.offset(k.Line, k.Column)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(f.data[start:], []byte(k.Value)) {
		return 0, fmt.Errorf("the key %q uses an unsupported YAML form", k.Value)
	}
	end := start + len(k.Value)
	// A block key is followed by ":" (after optional spaces) on its line; "? key" is not.
	rest := strings.TrimLeft(string(f.data[end:f.lineEnd(end)]), " \t")
	if !strings.HasPrefix(rest, ":") {
		return 0, fmt.Errorf("the key %q uses an unsupported YAML form (write key: value)", k.Value)
	}
	return end, nil
}

// setScalar replaces a one-line scalar value, keeping its quoting style where it can.
func (f *yeFile) setScalar(n *yaml.Node, value string, inFlow bool) (yeSplice, error) {
	start, end, err := f.scalarSpan(n, inFlow)
	if err != nil {
		return yeSplice{}, err
	}
	style := n.Style
	if n.Tag != "!!str" {
		style = yaml.DoubleQuotedStyle // e.g. a number or null: the new value is a string
	}
	return yeSplice{start, end, yamlsplice.Render(style, value)}, nil
}

// yeGet returns a mapping's key and value nodes for key (nil when absent or m is no mapping).
func yeGet(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// yeKindName names a node's kind for errors.
func yeKindName(n *yaml.Node) string {
	switch {
	case n == nil:
		return "empty"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "null"
	case n.Kind == yaml.ScalarNode:
		return "a scalar"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	}
	return "not a mapping"
}

func yeIsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// indentLines renders relative lines at an indentation, each ending with the file's line ending.
func (f *yeFile) indentLines(indent int, lines []string) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, l := range lines {
		if l == "" {
			b.WriteString(f.eol)
			continue
		}
		b.WriteString(pad + l + f.eol)
	}
	return b.String()
}

// blockEnd returns the offset just past the last content line of the block collection whose entries
// start at column indent+1 and whose last entry starts on line lastLine: the first later line (not blank,
// not a comment) that is less indented, or a document marker, ends it.
func (f *yeFile) blockEnd(indent, lastLine int) (int, error) {
	off, err := f.offset(lastLine, 1)
	if err != nil {
		return 0, err
	}
	end := f.lineEnd(off)
	pos := end
	for pos < len(f.data) {
		// step past the line ending
		if f.data[pos] == '\r' {
			pos++
		}
		if pos < len(f.data) && f.data[pos] == '\n' {
			pos++
		}
		if pos >= len(f.data) {
			break
		}
		le := f.lineEnd(pos)
		line := string(f.data[pos:le])
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(trimmed, "#"):
		case strings.HasPrefix(line, "---") || strings.HasPrefix(line, "..."):
			return f.afterEOL(end), nil
		case len(line)-len(trimmed) < indent:
			return f.afterEOL(end), nil
		default:
			end = le
		}
		pos = le
	}
	return f.afterEOL(end), nil
}

// afterEOL returns the offset after the line ending at end (end itself at end of file).
func (f *yeFile) afterEOL(end int) int {
	if end < len(f.data) && f.data[end] == '\r' {
		end++
	}
	if end < len(f.data) && f.data[end] == '\n' {
		end++
	}
	return end
}

// insertInto adds lines (indentation relative to the children of v) to the mapping v held by key k.
// k is nil when v is a document root; v may be nil (empty document), null, an empty flow mapping or a
// block mapping. path names v in errors.
func (f *yeFile) insertInto(path string, k, v *yaml.Node, lines []string) ([]yeSplice, error) {
	switch {
	case v == nil && k == nil:
		// An empty document: append at the end of the file.
		text := f.indentLines(0, lines)
		if len(f.data) > 0 && !bytes.HasSuffix(f.data, []byte("\n")) {
			text = f.eol + text
		}
		return []yeSplice{{len(f.data), len(f.data), text}}, nil
	case v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0:
		indent := v.Content[0].Column - 1
		last := v.Content[len(v.Content)-2]
		at, err := f.blockEnd(indent, last.Line)
		if err != nil {
			return nil, err
		}
		text := f.indentLines(indent, lines)
		if at == len(f.data) && len(f.data) > 0 && !bytes.HasSuffix(f.data, []byte("\n")) {
			text = f.eol + strings.TrimSuffix(text, f.eol)
		}
		return []yeSplice{{at, at, text}}, nil
	case k != nil && (yeIsNull(v) || v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle != 0 && len(v.Content) == 0):
		// "key:", "key: null", "key: {}": the value becomes a block below the key.
		kend, err := f.keyEnd(k)
		if err != nil {
			return nil, err
		}
		le := f.lineEnd(kend)
		rest := string(f.data[kend:le])
		colon := strings.Index(rest, ":")
		if colon < 0 {
			return nil, fmt.Errorf("%s: the value must start on the line of its key", path)
		}
		valStart := kend + colon + 1
		tail := rest[colon+1:]
		token := strings.TrimSpace(tail)
		comment := ""
		if i := strings.Index(tail, "#"); i >= 0 && (i == 0 || tail[i-1] == ' ') {
			token = strings.TrimSpace(tail[:i])
			comment = " " + tail[i:]
		}
		switch token {
		case "", "~", "null", "Null", "NULL", "{}":
		default:
			return nil, fmt.Errorf("%s: cannot add to %q; write it as a block mapping", path, token)
		}
		indent := k.Column - 1 + 2
		text := comment + f.eol + strings.TrimSuffix(f.indentLines(indent, lines), f.eol)
		return []yeSplice{{valStart, le, text}}, nil
	case v.Kind == yaml.MappingNode:
		return nil, fmt.Errorf("%s: is a flow mapping ({...}); write it as a block mapping", path)
	}
	return nil, fmt.Errorf("%s: is %s, not a mapping", path, yeKindName(v))
}

// setPath sets the string value at path under the mapping root, creating missing mappings. It returns
// no edit when the value is already there.
func (f *yeFile) setPath(root *yaml.Node, prefix string, path []string, value string) ([]yeSplice, error) {
	var parentKey *yaml.Node
	cur := root
	name := prefix
	for i, key := range path {
		if cur != nil && cur.Kind != yaml.MappingNode && !yeIsNull(cur) {
			return nil, fmt.Errorf("%s: is %s, not a mapping", name, yeKindName(cur))
		}
		k, v := yeGet(cur, key)
		if k == nil {
			// Build the rest of the path below cur.
			var lines []string
			for j, rk := range path[i:] {
				pad := strings.Repeat("  ", j)
				if j == len(path[i:])-1 {
					lines = append(lines, pad+yamlsplice.Render(0, rk)+": "+yamlsplice.Render(yaml.DoubleQuotedStyle, value))
				} else {
					lines = append(lines, pad+yamlsplice.Render(0, rk)+":")
				}
			}
			return f.insertInto(name, parentKey, cur, lines)
		}
		name = yeJoinPath(name, key)
		if i == len(path)-1 {
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: is %s, not a string", name, yeKindName(v))
			}
			if v.Value == value && v.Tag == "!!str" {
				return nil, nil
			}
			if yeIsNull(v) && v.Value == "" {
				kend, err := f.keyEnd(k)
				if err != nil {
					return nil, err
				}
				le := f.lineEnd(kend)
				colon := strings.Index(string(f.data[kend:le]), ":")
				if colon < 0 {
					return nil, fmt.Errorf("%s: the value must start on the line of its key", name)
				}
				at := kend + colon + 1
				return []yeSplice{{at, at, " " + yamlsplice.Render(yaml.DoubleQuotedStyle, value)}}, nil
			}
			s, err := f.setScalar(v, value, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return []yeSplice{s}, nil
		}
		parentKey, cur = k, v
	}
	return nil, nil
}

func yeJoinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// yeStrings reads a list of strings, or a single string as a one-item list.
func yeStrings(path string, n *yaml.Node) ([]string, error) {
	switch {
	case yeIsNull(n):
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, nil
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: holds %s; want strings", path, yeKindName(it))
			}
			out = append(out, it.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: is %s; want a list of strings", path, yeKindName(n))
}

// setStringList rewrites the items of a sequence of strings to items. A block sequence keeps its
// indentation and the quoting of items that stay; a flow sequence is rewritten in flow style.
func (f *yeFile) setStringList(path string, seq *yaml.Node, items []string) ([]yeSplice, error) {
	if seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: is %s; want a list of strings", path, yeKindName(seq))
	}
	style := map[string]yaml.Style{}
	var newStyle yaml.Style // new items are quoted like the last existing one
	for _, it := range seq.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: holds %s; want strings", path, yeKindName(it))
		}
		style[it.Value] = it.Style
		newStyle = it.Style
	}
	styleOf := func(v string) yaml.Style {
		if st, ok := style[v]; ok {
			return st
		}
		return newStyle
	}
	if seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
		start, err := f.offset(seq.Line, seq.Column)
		if err != nil {
			return nil, err
		}
		end := f.flowEnd(start)
		if end < 0 {
			return nil, fmt.Errorf("%s: a flow list must be on one line", path)
		}
		var parts []string
		for _, it := range items {
			parts = append(parts, yamlsplice.Render(styleOf(it), it))
		}
		return []yeSplice{{start, end, "[" + strings.Join(parts, ", ") + "]"}}, nil
	}
	first := seq.Content[0]
	last := seq.Content[len(seq.Content)-1]
	for _, it := range seq.Content {
		if _, _, err := f.scalarSpan(it, false); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	start, err := f.offset(seq.Line, seq.Column)
	if err != nil {
		return nil, err
	}
	_, lastEnd, err := f.scalarSpan(last, false)
	if err != nil {
		return nil, err
	}
	lineStart := bytes.LastIndexByte(f.data[:start], '\n') + 1
	indent := start - lineStart
	gap := first.Column - seq.Column // "- " width
	if gap < 2 {
		gap = 2
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: the list would be empty", path)
	}
	item := func(v string) string { return "-" + strings.Repeat(" ", gap-1) + yamlsplice.Render(styleOf(v), v) }
	// Only additions at the end: new lines after the last item, so its comment stays with it.
	if len(items) > len(seq.Content) {
		same := true
		for i, it := range seq.Content {
			same = same && items[i] == it.Value
		}
		if same && lastEnd >= lineStart {
			at := f.afterEOL(f.lineEnd(lastEnd))
			var b strings.Builder
			if at == len(f.data) && !bytes.HasSuffix(f.data, []byte("\n")) {
				b.WriteString(f.eol)
			}
			for i, v := range items[len(seq.Content):] {
				if i > 0 || at < len(f.data) || bytes.HasSuffix(f.data, []byte("\n")) {
					b.WriteString(strings.Repeat(" ", indent) + item(v) + f.eol)
				} else {
					b.WriteString(strings.Repeat(" ", indent) + item(v))
				}
			}
			return []yeSplice{{at, at, b.String()}}, nil
		}
	}
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(f.eol + strings.Repeat(" ", indent))
		}
		b.WriteString(item(it))
	}
	return []yeSplice{{start, lastEnd, b.String()}}, nil
}

// flowEnd returns the offset after the "]" or "}" that closes the flow collection opening at start, on
// the same line; -1 when it is not there.
func (f *yeFile) flowEnd(start int) int {
	le := f.lineEnd(start)
	depth := 0
	quote := byte(0)
	for i := start; i < le; i++ {
		c := f.data[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
