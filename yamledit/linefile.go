package yamledit

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Line files: a YAML stream held as lines so that a document inside another one (kubeadm's
// ClusterConfiguration in a ConfigMap's block scalar) is edited with the same line edits as a document
// of its own. Everything that maps a node's line and column onto those lines is here.

// Errors of ParseLines' text policy (Options.RejectEmpty, RejectMixedEOL, RejectLoneCR).
var (
	ErrEmptyFile = errors.New("file is empty")
	ErrMixedEOL  = errors.New("mixed CRLF and LF line endings; convert the file to one style first")
	// ErrStrayCR is ParseLines' RejectLoneCR: YAML reads a lone CR as a line break, which would shift
	// every line number after it.
	ErrStrayCR = errors.New("file contains a carriage return that is not part of a CRLF line ending")
)

// MarkerContentError is a document marker line with content after it: splitting on lines would cut
// that document in two.
type MarkerContentError struct{ Line int }

func (e *MarkerContentError) Error() string {
	return fmt.Sprintf("line %d: content after the document marker is not supported; start the document on the next line", e.Line)
}

// DocumentError is a document of a LineFile that does not decode.
type DocumentError struct {
	N, Line int // 1-based document number and file line of its first line
	Err     error
}

func (e *DocumentError) Error() string {
	return fmt.Sprintf("document %d (line %d): malformed YAML: %s", e.N, e.Line, OneLine(e.Err.Error()))
}

func (e *DocumentError) Unwrap() error { return e.Err }

// LineFile is a YAML stream split into lines (each keeping its "\n"), with a UTF-8 BOM and CRLF line
// endings taken off so that YAML line numbers index Lines; Bytes puts them back.
type LineFile struct {
	BOM, CRLF bool
	Lines     []string
	// Docs are the documents between marker lines, in order, each parsed (Root, or Err).
	Docs []*LineDoc
}

// LineDoc is lines of a LineFile holding one YAML document: a document of the stream, or the content
// of a literal block scalar (Block).
type LineDoc struct {
	Lines []string // the document's own text, line by line
	Base  int      // index in the file's lines of Lines[0]
	Shift int      // indentation every line carries in the file (block scalar content), else 0
	Root  *yaml.Node
	// Err is the document's *DocumentError; Root is nil then, and for an empty or comment-only
	// document.
	Err error
}

// ParseLines reads data as lines under o's RejectEmpty, RejectMixedEOL and RejectLoneCR (checked in
// that order, after the BOM is taken off), splits it into documents on marker lines and parses each.
// Unlike Parse it leaves UTF-8 and anchors to the decoder and the caller.
func ParseLines(data []byte, o Options) (*LineFile, error) {
	s := string(data)
	f := &LineFile{}
	if rest, ok := strings.CutPrefix(s, bom); ok {
		f.BOM, s = true, rest
	}
	if o.RejectEmpty && strings.TrimSpace(s) == "" {
		return nil, ErrEmptyFile
	}
	if n := strings.Count(s, "\r\n"); n > 0 {
		if o.RejectMixedEOL && n != strings.Count(s, "\n") {
			return nil, ErrMixedEOL
		}
		f.CRLF, s = true, strings.ReplaceAll(s, "\r\n", "\n")
	}
	if o.RejectLoneCR && strings.Contains(s, "\r") {
		return nil, ErrStrayCR
	}
	f.Lines = splitLines(s)
	start := 0
	var bounds [][2]int
	for i, line := range f.Lines {
		rest, ok := marker(line)
		if !ok {
			continue
		}
		if rest != "" && !strings.HasPrefix(rest, "#") {
			return nil, &MarkerContentError{Line: i + 1}
		}
		bounds = append(bounds, [2]int{start, i})
		start = i + 1
	}
	bounds = append(bounds, [2]int{start, len(f.Lines)})
	for i, b := range bounds {
		d := &LineDoc{Lines: f.Lines[b[0]:b[1]], Base: b[0]}
		rn, err := yaml.Parse(strings.Join(d.Lines, ""))
		switch {
		case errors.Is(err, io.EOF): // empty or comment-only
		case err != nil:
			d.Err = &DocumentError{N: i + 1, Line: b[0] + 1, Err: err}
		default:
			d.Root = rn.YNode()
		}
		f.Docs = append(f.Docs, d)
	}
	return f, nil
}

// Bytes is the file holding lines, with the BOM and line endings it was read with.
func (f *LineFile) Bytes(lines []string) []byte {
	s := strings.Join(lines, "")
	if f.CRLF {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	if f.BOM {
		s = bom + s
	}
	return []byte(s)
}

// splitLines splits s after each "\n"; the last line has no "\n" when s does not end with one.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func trimEOL(line string) string { return strings.TrimSuffix(line, "\n") }

// marker reports whether a line is a YAML document marker ("---" or "...") at column 0, and what
// follows it. Such a line ends the document even inside a block scalar, so splitting on lines is exact.
func marker(line string) (string, bool) {
	l := trimEOL(line)
	for _, m := range []string{"---", "..."} {
		if l == m || strings.HasPrefix(l, m+" ") || strings.HasPrefix(l, m+"\t") {
			return strings.TrimSpace(l[3:]), true
		}
	}
	return "", false
}

// FileLine is the 1-based file line of the document's 1-based line docLine (a node's Line).
func (d *LineDoc) FileLine(docLine int) int { return d.Base + docLine }

// SpanLine is the 1-based file line of a span of the document.
func (d *LineDoc) SpanLine(s LineSpan) int { return d.Base + s.Line + 1 }

// Text is the document's text.
func (d *LineDoc) Text() string { return strings.Join(d.Lines, "") }

// LineSpan is where a one-line scalar's source sits: Lines[Line][Start:End] (0-based line, bytes).
type LineSpan struct{ Line, Start, End int }

// Replace is the edit that replaces the span's text.
func (s LineSpan) Replace(text string) LineEdit {
	return LineEdit{Line: s.Line, Start: s.Start, End: s.End, Repl: text}
}

// Span locates a one-line scalar's source in the document, checked as SpanInLine does (its errors;
// ErrUnlocated for a line outside the document).
func (d *LineDoc) Span(n *yaml.Node, flow bool) (LineSpan, error) {
	li := n.Line - 1
	if li < 0 || li >= len(d.Lines) {
		return LineSpan{}, ErrUnlocated
	}
	start, end, err := SpanInLine(trimEOL(d.Lines[li]), n, flow)
	if err != nil {
		return LineSpan{}, err
	}
	return LineSpan{Line: li, Start: start, End: end}, nil
}

// InsertAfter is the edit that adds lines after n's line.
func (d *LineDoc) InsertAfter(n *yaml.Node, lines []string) LineEdit {
	return LineEdit{Line: n.Line - 1, Insert: lines}
}

// ToFile maps edits of the document's lines onto the file's lines: lines move down by Base, and right
// by Shift.
func (d *LineDoc) ToFile(edits []LineEdit) []LineEdit {
	out := make([]LineEdit, len(edits))
	pad := strings.Repeat(" ", d.Shift)
	for i, e := range edits {
		e.Line += d.Base
		if e.Insert == nil {
			e.Start += d.Shift
			e.End += d.Shift
		} else {
			ins := make([]string, len(e.Insert))
			for j, l := range e.Insert {
				ins[j] = pad + l
			}
			e.Insert = ins
		}
		out[i] = e
	}
	return out
}

// IndentOf is the number of columns before n on its line: in block style, where indentation is
// spaces, the byte column at which a sibling of n is written.
func IndentOf(n *yaml.Node) int { return n.Column - 1 }

// Indentation is how a file indents: the step of nested maps and the offset of a block sequence's
// dash from its key (0: "key:\n- a", as kubeadm and kubectl print).
type Indentation struct{ Step, Seq int }

// DetectIndent takes the first nested block map and block sequence found in the given documents;
// 2 and 0 when there is none.
func DetectIndent(roots ...*yaml.Node) Indentation {
	st := Indentation{Step: -1, Seq: -1}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || (st.Step >= 0 && st.Seq >= 0) {
			return
		}
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > k.Line {
					switch {
					case v.Kind == yaml.MappingNode && st.Step < 0 && v.Column > k.Column:
						st.Step = v.Column - k.Column
					case v.Kind == yaml.SequenceNode && st.Seq < 0 && v.Column >= k.Column:
						st.Seq = v.Column - k.Column
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	if st.Step < 0 {
		st.Step = 2
	}
	if st.Seq < 0 {
		st.Seq = 0
	}
	return st
}

// Errors of ClearEmpty.
var (
	ErrValueNotOnKeyLine = errors.New("the value must follow the key on the same line")
	ErrEmptyUnlocated    = errors.New("cannot locate its empty value on the key's line")
)

// ClearEmpty recognises an empty value v of the key whose source is at key: nothing, null (~, null,
// Null, NULL), {} or []. It returns the edit that clears the value from the key's line so that block
// content can follow (nil when there is nothing to clear), or ok=false for a non-empty value. A
// comment after the value stays. InsertInto's null branch does the same for byte splices.
func (d *LineDoc) ClearEmpty(key LineSpan, v *yaml.Node) (clear *LineEdit, ok bool, err error) {
	if !IsEmpty(v) {
		return nil, false, nil
	}
	isEmptyFlow := v.Kind != yaml.ScalarNode
	line := trimEOL(d.Lines[key.Line])
	i := key.End
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) || line[i] != ':' {
		return nil, false, ErrValueNotOnKeyLine
	}
	colon := i + 1
	rest := line[colon:]
	trimmed := strings.TrimLeft(rest, " \t")
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return nil, true, nil // the value is absent: nothing to clear
	}
	tokStart := colon + len(rest) - len(trimmed)
	tokEnd := -1
	if isEmptyFlow {
		open, close := byte('{'), byte('}')
		if v.Kind == yaml.SequenceNode {
			open, close = '[', ']'
		}
		if trimmed[0] == open {
			j := 1
			for j < len(trimmed) && (trimmed[j] == ' ' || trimmed[j] == '\t') {
				j++
			}
			if j < len(trimmed) && trimmed[j] == close {
				tokEnd = tokStart + j + 1
			}
		}
	} else {
		for _, tok := range nullTokens {
			if strings.HasPrefix(trimmed, tok) && (len(trimmed) == len(tok) || trimmed[len(tok)] == ' ' || trimmed[len(tok)] == '\t') {
				tokEnd = tokStart + len(tok)
			}
		}
	}
	if tokEnd < 0 {
		return nil, false, ErrEmptyUnlocated
	}
	return &LineEdit{Line: key.Line, Start: colon, End: tokEnd, Repl: ""}, true, nil
}

// IsEmpty reports a value ClearEmpty can clear: null or an empty collection.
func IsEmpty(v *yaml.Node) bool {
	return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" ||
		(v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0
}

// nullTokens are the one-word spellings of null.
var nullTokens = []string{"null", "Null", "NULL", "~"}

// Errors of Block.
var (
	ErrHeaderUnlocated = errors.New("cannot locate the block scalar header")
)

// BlockHeaderError is a block scalar header Block does not map (indentation indicators, folding).
type BlockHeaderError struct{ Header string }

func (e *BlockHeaderError) Error() string {
	return fmt.Sprintf("block scalar header %q is not supported (want |, |- or |+)", e.Header)
}

// BlockMarkerError is a document marker line inside a block scalar's content (at File line Line).
type BlockMarkerError struct{ Line int }

func (e *BlockMarkerError) Error() string {
	return fmt.Sprintf("line %d: more than one YAML document", e.Line)
}

// Block maps the content of the literal block scalar v (the value of key) onto lines of the document:
// the returned LineDoc's lines are the scalar's value, each shifted right by the block's indentation
// in the file (Shift), so that edits of the value map back with ToFile. Its Root is left for the
// caller to parse. ReplaceBlockLines is the byte-splice counterpart for a whole new value.
//
// Errors: ErrNotLiteral (also for a tagged or anchored scalar), ErrHeaderUnlocated,
// *BlockHeaderError, ErrBlockEmpty, ErrBlockUnmapped (the lines do not read as the value, or the last
// line lacks its "\n", which changes chomping), *BlockMarkerError.
func (d *LineDoc) Block(key, v *yaml.Node) (*LineDoc, error) {
	if v.Kind != yaml.ScalarNode || v.Style&yaml.LiteralStyle == 0 || v.Style&yaml.TaggedStyle != 0 || v.Anchor != "" {
		return nil, ErrNotLiteral
	}
	hl := v.Line - 1
	hcol, ok := ByteCol(trimEOL(d.Lines[hl]), v.Column)
	if !ok {
		return nil, ErrHeaderUnlocated
	}
	header := trimEOL(d.Lines[hl])[hcol:]
	if i := strings.Index(header, " #"); i >= 0 {
		header = header[:i]
	}
	header = strings.TrimRight(header, " \t")
	var chomp byte
	switch header {
	case "|":
	case "|-", "|+":
		chomp = header[1]
	default:
		return nil, &BlockHeaderError{header}
	}

	// Content: every following line that is blank or indented at least as deep as the first
	// non-blank line.
	indent := -1
	end := hl + 1
	for ; end < len(d.Lines); end++ {
		l := trimEOL(d.Lines[end])
		spaces := len(l) - len(strings.TrimLeft(l, " "))
		if spaces == len(l) {
			continue // blank
		}
		if indent < 0 {
			indent = spaces
		}
		if spaces < indent {
			break
		}
	}
	keyCol, _ := ByteCol(trimEOL(d.Lines[key.Line-1]), key.Column)
	if indent <= keyCol {
		return nil, ErrBlockEmpty
	}
	var inner []string
	last := -1
	for i := hl + 1; i < end; i++ {
		l := trimEOL(d.Lines[i])
		rest := ""
		if len(l) >= indent {
			rest = l[indent:]
		}
		inner = append(inner, rest+"\n")
		if rest != "" {
			last = len(inner) - 1
		}
	}
	content := inner[:last+1]
	want := strings.Join(content, "")
	switch chomp {
	case '-':
		want = strings.TrimSuffix(want, "\n")
	case '+':
		want = strings.Join(inner, "")
	}
	if end == len(d.Lines) && !strings.HasSuffix(d.Lines[end-1], "\n") {
		want = "" // a last line without "\n" changes chomping; not worth mapping
	}
	if want != v.Value {
		return nil, ErrBlockUnmapped
	}
	for i, l := range content {
		if _, ok := marker(l); ok {
			return nil, &BlockMarkerError{Line: d.FileLine(hl + 1 + i + 1)}
		}
	}
	// With |- the value lacks the last line's "\n": the lines must read exactly as the value.
	if !strings.HasSuffix(v.Value, "\n") && len(content) > 0 {
		content = slices.Clone(content)
		content[len(content)-1] = strings.TrimSuffix(content[len(content)-1], "\n")
	}
	return &LineDoc{Lines: content, Base: d.Base + hl + 1, Shift: indent}, nil
}

// ErrFlowMultiLine is a flow collection that does not close on the line it opens on.
var ErrFlowMultiLine = errors.New("is a flow collection ({...} or [...]) over several lines; write it on one line or as a block")

// FlowAppend is the edit that adds entry as the last element of the one-line flow collection v
// ("{a: b}" becomes "{a: b, entry}"), inside its line: the rest of the line stays as written. An
// empty entry only checks that it can be done.
func (d *LineDoc) FlowAppend(v *yaml.Node, entry string) (LineEdit, error) {
	li := v.Line - 1
	if v.Style&yaml.FlowStyle == 0 || li < 0 || li >= len(d.Lines) {
		return LineEdit{}, ErrUnlocated
	}
	line := trimEOL(d.Lines[li])
	start, ok := ByteCol(line, v.Column)
	if !ok || start >= len(line) || (line[start] != '{' && line[start] != '[') {
		return LineEdit{}, ErrUnlocated
	}
	end := flowClose(line, start)
	if end < 0 {
		return LineEdit{}, ErrFlowMultiLine
	}
	at := end
	for at > start+1 && (line[at-1] == ' ' || line[at-1] == '\t') {
		at--
	}
	sep := ", "
	if at == start+1 {
		sep = ""
	}
	return LineEdit{Line: li, Start: at, End: at, Repl: sep + entry}, nil
}

// flowClose is the index of the bracket that closes the flow collection opening at line[start], or -1
// when the line ends first.
func flowClose(line string, start int) int {
	depth := 0
	quote := byte(0)
	for i := start; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote == '\'' && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return -1
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
