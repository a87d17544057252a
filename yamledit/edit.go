package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Splice replaces data[start:end] with text.
type Splice struct {
	Start, End int
	Text       string
}

func Apply(data []byte, edits []Splice) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.Start < pos || e.End < e.Start || e.End > len(data) {
			return nil, errors.New("internal error: overlapping edits")
		}
		out.Write(data[pos:e.Start])
		out.WriteString(e.Text)
		pos = e.End
	}
	out.Write(data[pos:])
	return out.Bytes(), nil
}

// Offset converts a yaml.v3 position (1-based line, 1-based column in characters) to a byte offset.
func (f *File) Offset(line, col int) (int, error) {
	if line < 1 || line > len(f.lines) {
		return 0, fmt.Errorf("internal error: line %d past end of file", line)
	}
	return Column(f.Data, f.lines[line-1], line, col)
}

// LineEnd returns the offset of the end of the line holding off (before "\r\n" or "\n").
func (f *File) LineEnd(off int) int {
	i := bytes.IndexByte(f.Data[off:], '\n')
	if i < 0 {
		return len(f.Data)
	}
	end := off + i
	if end > 0 && f.Data[end-1] == '\r' {
		end--
	}
	return end
}

// ScalarSpan returns the byte range of a one-line scalar's source (quotes included), checked to decode
// to the node's value. inFlow says the scalar sits in a flow collection, where "," "]" and "}" end a
// plain scalar. Multi-line scalars are refused: rewriting them in place could change the file's meaning
// elsewhere.
func (f *File) ScalarSpan(n *yaml.Node, inFlow bool) (int, int, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, 0, errors.New("internal error: not a scalar")
	}
	if n.Line < 1 || n.Line > len(f.lines) {
		return 0, 0, fmt.Errorf("internal error: line %d past end of file", n.Line)
	}
	ls := f.lines[n.Line-1]
	start, end, err := SpanInLine(string(f.Data[ls:f.LineEnd(ls)]), n, inFlow)
	switch {
	case errors.Is(err, ErrUnlocated):
		return 0, 0, fmt.Errorf("internal error: column %d past end of line %d", n.Column, n.Line)
	case errors.Is(err, ErrMultiLine):
		return 0, 0, fmt.Errorf("the value %q spans several lines; write it on one line", n.Value)
	case err != nil:
		return 0, 0, fmt.Errorf("the value %q spans several lines or uses an unsupported YAML form; write it on one line", n.Value)
	}
	return ls + start, ls + end, nil
}

// KeyEnd returns the offset just after a mapping key's source text.
func (f *File) KeyEnd(k *yaml.Node) (int, error) {
	if k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		_, end, err := f.ScalarSpan(k, false)
		return end, err
	}
	start, err := f.Offset(k.Line, k.Column)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(f.Data[start:], []byte(k.Value)) {
		return 0, fmt.Errorf("the key %q uses an unsupported YAML form", k.Value)
	}
	end := start + len(k.Value)
	// A block key is followed by ":" (after optional spaces) on its line; "? key" is not.
	rest := strings.TrimLeft(string(f.Data[end:f.LineEnd(end)]), " \t")
	if !strings.HasPrefix(rest, ":") {
		return 0, fmt.Errorf("the key %q uses an unsupported YAML form (write key: value)", k.Value)
	}
	return end, nil
}

// SetScalar replaces a one-line scalar value, keeping its quoting style where it can.
func (f *File) SetScalar(n *yaml.Node, value string, inFlow bool) (Splice, error) {
	start, end, err := f.ScalarSpan(n, inFlow)
	if err != nil {
		return Splice{}, err
	}
	style := n.Style
	if n.Tag != "!!str" {
		style = yaml.DoubleQuotedStyle // e.g. a number or null: the new value is a string
	}
	return Splice{start, end, RenderIn(style, value, inFlow)}, nil
}

// IndentLines renders relative lines at an indentation, each ending with the file's line ending.
func (f *File) IndentLines(indent int, lines []string) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, l := range lines {
		if l == "" {
			b.WriteString(f.EOL)
			continue
		}
		b.WriteString(pad + l + f.EOL)
	}
	return b.String()
}

// BlockEnd returns the offset just past the last content line of the block collection whose entries
// start at column indent+1 and whose last entry starts on line lastLine: the first later line (not blank,
// not a comment) that is less indented, or a document marker, ends it.
func (f *File) BlockEnd(indent, lastLine int) (int, error) {
	return f.blockEnd(indent, lastLine, false)
}

// blockEnd is BlockEnd; seq says the block is a sequence whose "- " indicators sit at column indent+1.
// There a later line at that very column ends it too: after the last item it can only be a key of the
// mapping that holds the sequence, as in kind's documented "key:\n- item\nnext:" layout, where the
// sequence is not indented below its key.
func (f *File) blockEnd(indent, lastLine int, seq bool) (int, error) {
	off, err := f.Offset(lastLine, 1)
	if err != nil {
		return 0, err
	}
	end := f.LineEnd(off)
	pos := end
	for pos < len(f.Data) {
		// step past the line ending
		if f.Data[pos] == '\r' {
			pos++
		}
		if pos < len(f.Data) && f.Data[pos] == '\n' {
			pos++
		}
		if pos >= len(f.Data) {
			break
		}
		le := f.LineEnd(pos)
		line := string(f.Data[pos:le])
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(trimmed, "#"):
		case strings.HasPrefix(line, "---") || strings.HasPrefix(line, "..."):
			return f.AfterEOL(end), nil
		case len(line)-len(trimmed) < indent, seq && len(line)-len(trimmed) == indent:
			return f.AfterEOL(end), nil
		default:
			end = le
		}
		pos = le
	}
	return f.AfterEOL(end), nil
}

// AppendToBlock adds lines (indentation relative to indent) after the block collection whose entries
// start at column indent+1 and whose last entry starts on line lastLine. A file whose last line lacks
// its line ending keeps lacking it.
func (f *File) AppendToBlock(indent, lastLine int, lines []string) (Splice, error) {
	at, err := f.BlockEnd(indent, lastLine)
	if err != nil {
		return Splice{}, err
	}
	return f.insertLinesAt(at, indent, lines), nil
}

// insertLinesAt inserts lines at offset at (a line start, or the end of the file), indented.
func (f *File) insertLinesAt(at, indent int, lines []string) Splice {
	text := f.IndentLines(indent, lines)
	if at == len(f.Data) && len(f.Data) > 0 && !bytes.HasSuffix(f.Data, []byte("\n")) {
		text = f.EOL + strings.TrimSuffix(text, f.EOL)
	}
	return Splice{at, at, text}
}

// AppendToSeq adds lines (indentation relative to the sequence's "- " indicators, so an item starts
// with "- ") after the last item of the non-empty block sequence seq.
func (f *File) AppendToSeq(seq *yaml.Node, lines []string) (Splice, error) {
	if seq == nil || seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
		return Splice{}, fmt.Errorf("internal error: AppendToSeq wants a non-empty block sequence, got %s", KindName(seq))
	}
	indent := IndentOf(seq)
	at, err := f.blockEnd(indent, seq.Content[len(seq.Content)-1].Line, true)
	if err != nil {
		return Splice{}, err
	}
	return f.insertLinesAt(at, indent, lines), nil
}

// AfterEOL returns the offset after the line ending at end (end itself at end of file).
func (f *File) AfterEOL(end int) int {
	if end < len(f.Data) && f.Data[end] == '\r' {
		end++
	}
	if end < len(f.Data) && f.Data[end] == '\n' {
		end++
	}
	return end
}

// InsertInto adds lines (indentation relative to the children of v) to the mapping v held by key k.
// k is nil when v is a document root; v may be nil (empty document), null, an empty flow mapping or a
// block mapping. path names v in errors.
func (f *File) InsertInto(path string, k, v *yaml.Node, lines []string) ([]Splice, error) {
	switch {
	case v == nil && k == nil:
		// An empty document: append at the end of the file.
		text := f.IndentLines(0, lines)
		if len(f.Data) > 0 && !bytes.HasSuffix(f.Data, []byte("\n")) {
			text = f.EOL + text
		}
		return []Splice{{len(f.Data), len(f.Data), text}}, nil
	case v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0:
		s, err := f.AppendToBlock(v.Content[0].Column-1, v.Content[len(v.Content)-2].Line, lines)
		if err != nil {
			return nil, err
		}
		return []Splice{s}, nil
	case k != nil && (IsNull(v) || v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle != 0 && len(v.Content) == 0):
		// "key:", "key: null", "key: {}": the value becomes a block below the key.
		kend, err := f.KeyEnd(k)
		if err != nil {
			return nil, err
		}
		le := f.LineEnd(kend)
		rest := string(f.Data[kend:le])
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
		if token != "" && token != "{}" && !slices.Contains(nullTokens, token) {
			return nil, fmt.Errorf("%s: cannot add to %q; write it as a block mapping", path, token)
		}
		indent := k.Column - 1 + 2
		text := comment + f.EOL + strings.TrimSuffix(f.IndentLines(indent, lines), f.EOL)
		return []Splice{{valStart, le, text}}, nil
	case v.Kind == yaml.MappingNode && len(lines) == 1:
		// A one-line flow mapping takes the entry inside its braces; the rest of the line stays.
		start, err := f.Offset(v.Line, v.Column)
		if err != nil {
			return nil, err
		}
		end := f.FlowEnd(start)
		if end < 0 {
			return nil, fmt.Errorf("%s: is a flow mapping ({...}) over several lines; write it on one line or as a block mapping", path)
		}
		at := end - 1
		for at > start+1 && (f.Data[at-1] == ' ' || f.Data[at-1] == '\t') {
			at--
		}
		return []Splice{{at, at, ", " + strings.TrimSpace(lines[0])}}, nil
	case v.Kind == yaml.MappingNode:
		return nil, fmt.Errorf("%s: is a flow mapping ({...}); write it as a block mapping", path)
	}
	return nil, fmt.Errorf("%s: is %s, not a mapping", path, KindName(v))
}

// SetPath sets the string value at path under the mapping root, creating missing mappings. It returns
// no edit when the value is already there.
func (f *File) SetPath(root *yaml.Node, prefix string, path []string, value string) ([]Splice, error) {
	var parentKey *yaml.Node
	cur := root
	name := prefix
	for i, key := range path {
		if cur != nil && cur.Kind != yaml.MappingNode && !IsNull(cur) {
			return nil, fmt.Errorf("%s: is %s, not a mapping", name, KindName(cur))
		}
		k, v := Get(cur, key)
		if k == nil {
			// Build the rest of the path below cur.
			var lines []string
			for j, rk := range path[i:] {
				pad := strings.Repeat("  ", j)
				if j == len(path[i:])-1 {
					lines = append(lines, pad+Render(0, rk)+": "+Render(yaml.DoubleQuotedStyle, value))
				} else {
					lines = append(lines, pad+Render(0, rk)+":")
				}
			}
			return f.InsertInto(name, parentKey, cur, lines)
		}
		name = JoinPath(name, key)
		if i == len(path)-1 {
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: is %s, not a string", name, KindName(v))
			}
			if v.Value == value && v.Tag == "!!str" {
				return nil, nil
			}
			if IsNull(v) && v.Value == "" {
				kend, err := f.KeyEnd(k)
				if err != nil {
					return nil, err
				}
				le := f.LineEnd(kend)
				colon := strings.Index(string(f.Data[kend:le]), ":")
				if colon < 0 {
					return nil, fmt.Errorf("%s: the value must start on the line of its key", name)
				}
				at := kend + colon + 1
				return []Splice{{at, at, " " + Render(yaml.DoubleQuotedStyle, value)}}, nil
			}
			s, err := f.SetScalar(v, value, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return []Splice{s}, nil
		}
		parentKey, cur = k, v
	}
	return nil, nil
}

// SetStringList rewrites the items of a sequence of strings to items. A block sequence keeps its
// indentation and the quoting of items that stay; a flow sequence is rewritten in flow style.
func (f *File) SetStringList(path string, seq *yaml.Node, items []string) ([]Splice, error) {
	if seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: is %s; want a list of strings", path, KindName(seq))
	}
	style := map[string]yaml.Style{}
	var newStyle yaml.Style // new items are quoted like the last existing one
	for _, it := range seq.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: holds %s; want strings", path, KindName(it))
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
		start, err := f.Offset(seq.Line, seq.Column)
		if err != nil {
			return nil, err
		}
		end := f.FlowEnd(start)
		if end < 0 {
			return nil, fmt.Errorf("%s: a flow list must be on one line", path)
		}
		var parts []string
		for _, it := range items {
			parts = append(parts, RenderIn(styleOf(it), it, true))
		}
		return []Splice{{start, end, "[" + strings.Join(parts, ", ") + "]"}}, nil
	}
	first := seq.Content[0]
	last := seq.Content[len(seq.Content)-1]
	for _, it := range seq.Content {
		if _, _, err := f.ScalarSpan(it, false); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	start, err := f.Offset(seq.Line, seq.Column)
	if err != nil {
		return nil, err
	}
	_, lastEnd, err := f.ScalarSpan(last, false)
	if err != nil {
		return nil, err
	}
	lineStart := bytes.LastIndexByte(f.Data[:start], '\n') + 1
	indent := start - lineStart
	gap := first.Column - seq.Column // "- " width
	if gap < 2 {
		gap = 2
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: the list would be empty", path)
	}
	item := func(v string) string { return "-" + strings.Repeat(" ", gap-1) + Render(styleOf(v), v) }
	// Only additions at the end: new lines after the last item, so its comment stays with it.
	if len(items) > len(seq.Content) {
		same := true
		for i, it := range seq.Content {
			same = same && items[i] == it.Value
		}
		if same && lastEnd >= lineStart {
			at := f.AfterEOL(f.LineEnd(lastEnd))
			var b strings.Builder
			if at == len(f.Data) && !bytes.HasSuffix(f.Data, []byte("\n")) {
				b.WriteString(f.EOL)
			}
			for i, v := range items[len(seq.Content):] {
				if i > 0 || at < len(f.Data) || bytes.HasSuffix(f.Data, []byte("\n")) {
					b.WriteString(strings.Repeat(" ", indent) + item(v) + f.EOL)
				} else {
					b.WriteString(strings.Repeat(" ", indent) + item(v))
				}
			}
			return []Splice{{at, at, b.String()}}, nil
		}
	}
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(f.EOL + strings.Repeat(" ", indent))
		}
		b.WriteString(item(it))
	}
	return []Splice{{start, lastEnd, b.String()}}, nil
}

// FlowEnd returns the offset after the "]" or "}" that closes the flow collection opening at start, on
// the same line; -1 when it is not there.
func (f *File) FlowEnd(start int) int {
	le := f.LineEnd(start)
	depth := 0
	quote := byte(0)
	for i := start; i < le; i++ {
		c := f.Data[i]
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

// ErrNotAlone is a list item that shares its line with something other than its dash and a comment.
var ErrNotAlone = errors.New("the list item does not stand alone on its line")

// DeleteItem removes the whole line of a one-line block sequence item ("  - value  # comment").
func (f *File) DeleteItem(n *yaml.Node) (Splice, error) {
	off, err := f.Offset(n.Line, n.Column)
	if err != nil {
		return Splice{}, err
	}
	_, vend, err := f.ScalarSpan(n, false)
	if err != nil {
		return Splice{}, err
	}
	start := bytes.LastIndexByte(f.Data[:off], '\n') + 1
	end := f.LineEnd(off)
	rest := strings.TrimSpace(string(f.Data[vend:end]))
	if strings.TrimSpace(string(f.Data[start:off])) != "-" || rest != "" && !strings.HasPrefix(rest, "#") {
		return Splice{}, ErrNotAlone
	}
	return Splice{start, f.AfterEOL(end), ""}, nil
}

// ErrNotItemLine is an insertion anchor that is not a "- value" line of a block sequence.
var ErrNotItemLine = errors.New("cannot find the list item line")

// InsertItem adds value as a new item of a block sequence, on its own line before (or after) the
// item anchor, indented like it. A file whose last line lacks its line ending keeps lacking it.
func (f *File) InsertItem(anchor *yaml.Node, before bool, value string) (Splice, error) {
	off, err := f.Offset(anchor.Line, anchor.Column)
	if err != nil {
		return Splice{}, err
	}
	start := bytes.LastIndexByte(f.Data[:off], '\n') + 1
	end := f.LineEnd(off)
	line := f.Data[start:end]
	dash := bytes.IndexByte(line, '-')
	if dash < 0 || len(bytes.TrimLeft(line[:dash], " ")) != 0 || dash+1 >= len(line) || line[dash+1] != ' ' {
		return Splice{}, ErrNotItemLine
	}
	newLine := string(line[:dash+2]) + Render(0, value) + f.EOL
	if before {
		return Splice{start, start, newLine}, nil
	}
	if end == len(f.Data) {
		return Splice{end, end, f.EOL + strings.TrimSuffix(newLine, f.EOL)}, nil
	}
	at := f.AfterEOL(end)
	return Splice{at, at, newLine}, nil
}

// Errors of ReplaceBlockLines.
var (
	ErrNotLiteral    = errors.New("not a literal block scalar (|)")
	ErrBlockUnmapped = errors.New("cannot map the block scalar's text to the file")
	ErrBlockEmpty    = errors.New("the block scalar is empty")
)

// ReplaceBlockLines maps an edit of a literal block scalar's text (oldText, its value, becoming
// newText) back onto the file: the changed lines are replaced, indented like the block.
func (f *File) ReplaceBlockLines(item *yaml.Node, oldText, newText string) (Splice, error) {
	if item.Style&yaml.LiteralStyle == 0 {
		return Splice{}, ErrNotLiteral
	}
	oldLines := strings.Split(oldText, "\n")
	newLines := strings.Split(newText, "\n")
	pre := 0
	for pre < len(oldLines) && pre < len(newLines) && oldLines[pre] == newLines[pre] {
		pre++
	}
	suf := 0
	for suf < len(oldLines)-pre && suf < len(newLines)-pre && oldLines[len(oldLines)-1-suf] == newLines[len(newLines)-1-suf] {
		suf++
	}
	// The block's indentation, from its first non-empty line.
	indent := -1
	for k, l := range oldLines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		off, err := f.Offset(item.Line+1+k, 1)
		if err != nil {
			return Splice{}, err
		}
		fileLine := strings.TrimSuffix(string(f.Data[off:f.LineEnd(off)]), "\r")
		if !strings.HasSuffix(fileLine, l) {
			return Splice{}, ErrBlockUnmapped
		}
		indent = len(fileLine) - len(l)
		break
	}
	if indent < 0 {
		return Splice{}, ErrBlockEmpty
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for _, l := range newLines[pre : len(newLines)-suf] {
		if l == "" {
			b.WriteString(f.EOL)
		} else {
			b.WriteString(pad + l + f.EOL)
		}
	}
	start, err := f.Offset(item.Line+1+pre, 1)
	if err != nil {
		return Splice{}, err
	}
	end := start
	for k := pre; k < len(oldLines)-suf; k++ {
		end = f.AfterEOL(f.LineEnd(end))
	}
	return Splice{start, end, b.String()}, nil
}
