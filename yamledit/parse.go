package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Options is what a caller's file format allows beyond what every edited file must satisfy (valid
// UTF-8, no anchors or aliases: an edit through an alias would change every place that shares the
// value).
type Options struct {
	// RejectLoneCR refuses a CR not followed by LF. YAML reads it as a line break; editors and diff
	// tools do not, so such a file is ambiguous and splicing by line would be too.
	RejectLoneCR bool
	// DuplicateKeys refuses a mapping holding a key twice: a reader that keeps the last one (the
	// kubelet) and a locator that stops at the first would disagree.
	DuplicateKeys bool
	// PlainKeys refuses mapping keys an insertion cannot locate: non-string keys, empty keys and the
	// explicit "? key" form.
	PlainKeys bool
	// Single requires exactly one non-empty document (a static pod: the kubelet reads one object per
	// file, and a second document is a mistake not to ignore). A malformed document then fails first,
	// then the count (*CountError), then the other checks. Without it the documents before a malformed
	// one are checked first, as they are read.
	Single bool
	// FirstLineEOL takes the line ending of new lines from the first line (static pods); otherwise it
	// is CRLF when the file has any.
	FirstLineEOL bool
	// RejectEmpty refuses a file holding nothing but whitespace (after a byte order mark).
	RejectEmpty bool
	// RejectMixedEOL refuses a file mixing CRLF and LF line endings: an inserted line could not take
	// the file's style, and line-level editors (ParseLines) take CRLF off and put it back everywhere.
	RejectMixedEOL bool
	// MaxDepth is the nesting past which a document is refused as hostile (reported as ErrAlias, as
	// nothing legitimate nests that deep); 0 means 100.
	MaxDepth int
}

// The policies of the files mirrorctl edits.
var (
	// ConfigFile: distribution configs (k3s/RKE2, k0s, kind, kops, Talos), any number of documents.
	ConfigFile = Options{PlainKeys: true}
	// StaticPod: a kubelet static pod manifest.
	StaticPod = Options{Single: true, RejectLoneCR: true, DuplicateKeys: true, FirstLineEOL: true, MaxDepth: 64}
	// Kubeadm: kubeadm configuration files and exported kubeadm-config ConfigMaps, read as lines
	// (ParseLines), so that a ClusterConfiguration embedded in a ConfigMap is edited like a plain one.
	Kubeadm = Options{RejectEmpty: true, RejectMixedEOL: true, RejectLoneCR: true}
)

// ErrAlias is returned (wrapped or as is) for a document with anchors, aliases or absurd nesting.
var ErrAlias = errors.New("YAML anchors and aliases are not supported; expand them first")

// ErrInvalidUTF8 is returned for a file that is not UTF-8.
var ErrInvalidUTF8 = errors.New("not a YAML file (invalid UTF-8)")

// SyntaxError is a document that does not decode.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return "invalid YAML: " + e.Detail() }

// Detail is the decoder's message on one line.
func (e *SyntaxError) Detail() string { return OneLine(e.Err.Error()) }

func (e *SyntaxError) Unwrap() error { return e.Err }

// DuplicateKeyError is a mapping key given twice.
type DuplicateKeyError struct {
	Key         string
	Line, First int
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("line %d: duplicate key %q (first at line %d)", e.Line, e.Key, e.First)
}

// CountError is a Single file without exactly one document.
type CountError struct{ N int }

func (e *CountError) Error() string {
	if e.N == 0 {
		return "file holds no YAML document"
	}
	return fmt.Sprintf("file holds %d YAML documents; want one", e.N)
}

// LoneCRError is a CR without LF (old Mac line endings).
type LoneCRError struct{ Line int }

func (e *LoneCRError) Error() string {
	return fmt.Sprintf("line %d: carriage return without a line feed (old Mac line endings); convert the file to LF or CRLF", e.Line)
}

// File is a YAML stream and its documents' root nodes (nil for an empty document). The nodes may be
// shared with other readers of the same Decoded: do not change them.
type File struct {
	Data  []byte
	Docs  []*yaml.Node
	EOL   string // the file's line ending: "\r\n" when the file has any CRLF, else "\n"
	lines []int  // byte offset where each line starts (index 0: line 1)
}

// Parse decodes every document of data and applies the policy in o.
func Parse(data []byte, o Options) (*File, error) {
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8 // before decoding: nothing to decode
	}
	return Decode(data).Parse(o)
}

// Parse applies the policy in o to an already decoded stream, as Parse does to bytes: the nodes are
// d's, shared with its other readers.
func (d *Decoded) Parse(o Options) (*File, error) {
	data := d.Data
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	if o.RejectEmpty && len(bytes.TrimSpace(bytes.TrimPrefix(data, []byte(bom)))) == 0 {
		return nil, ErrEmptyFile
	}
	if n := bytes.Count(data, []byte("\r\n")); o.RejectMixedEOL && n > 0 && n != bytes.Count(data, []byte("\n")) {
		return nil, ErrMixedEOL
	}
	if o.RejectLoneCR {
		if i := LoneCR(data); i >= 0 {
			return nil, &LoneCRError{Line: bytes.Count(data[:i], []byte("\n")) + 1}
		}
	}
	f := over(data, o.FirstLineEOL)
	docs, decodeErr := d.Docs, d.Err
	if o.Single {
		if decodeErr != nil {
			return nil, &SyntaxError{decodeErr}
		}
		if len(docs) == 1 && len(docs[0].Content) != 1 {
			return nil, &CountError{0}
		}
		if len(docs) != 1 {
			return nil, &CountError{len(docs)}
		}
	}
	depth := o.MaxDepth
	if depth == 0 {
		depth = 100
	}
	for _, n := range docs {
		var root *yaml.Node
		if len(n.Content) > 0 {
			root = n.Content[0]
		}
		if hasAlias(root, 0, depth) {
			return nil, ErrAlias
		}
		if o.DuplicateKeys {
			if err := duplicateKeys(root); err != nil {
				return nil, err
			}
		}
		if o.PlainKeys {
			if err := f.checkKeys(root); err != nil {
				return nil, err
			}
		}
		f.Docs = append(f.Docs, root)
	}
	if decodeErr != nil {
		return nil, &SyntaxError{decodeErr}
	}
	return f, nil
}

// Over is a File over bytes its caller decoded (with Documents) and checked on its own terms: the
// edits without the policy. Docs is empty.
func Over(data []byte) *File { return over(data, false) }

func over(data []byte, firstLineEOL bool) *File {
	f := &File{Data: data, EOL: "\n", lines: []int{0}}
	if firstLineEOL {
		if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
			f.EOL = "\r\n"
		}
	} else if bytes.Contains(data, []byte("\r\n")) {
		f.EOL = "\r\n"
	}
	if bytes.HasPrefix(data, []byte(bom)) {
		f.lines[0] = len(bom) // the parser skips a byte order mark without counting it
	}
	for i, b := range data {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	return f
}

// LoneCR returns the offset of the first CR not followed by LF, or -1.
func LoneCR(data []byte) int {
	for i, b := range data {
		if b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return i
		}
	}
	return -1
}

// OneLine folds a (decoder's) message onto one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func hasAlias(n *yaml.Node, depth, max int) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" || depth > max {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c, depth+1, max) {
			return true
		}
	}
	return false
}

func duplicateKeys(n *yaml.Node) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, ok := seen[k.Value]; ok {
				return &DuplicateKeyError{Key: k.Value, Line: k.Line, First: first}
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := duplicateKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// checkKeys refuses mapping keys the splice edits cannot locate: non-string keys, empty keys and the
// explicit "? key" form. Every key must be its own text at its position.
func (f *File) checkKeys(n *yaml.Node) error {
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
				if _, err := f.KeyEnd(k); err != nil {
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
