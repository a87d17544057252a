package manifests

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/yamlsplice"
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

// offsetOf is the byte offset of a node in data.
func offsetOf(data []byte, n *yaml.Node) (int, error) {
	return yamlsplice.Offset(data, n.Line, n.Column)
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
		eol = len(data) - start
	}
	n1 := yamlsplice.TokenEnd(data[start:start+eol], n.Style, false)
	if n1 < 0 {
		return 0, 0, fmt.Errorf("the value %q spans several lines; write it on one line", n.Value)
	}
	end := start + n1
	var v string
	if err := yaml.Unmarshal(data[start:end], &v); err != nil || v != n.Value {
		return 0, 0, fmt.Errorf("the value %q spans several lines or uses an unsupported YAML form; write it on one line", n.Value)
	}
	return start, end, nil
}

func replaceScalar(data []byte, n *yaml.Node, text string) (splice, error) {
	start, end, err := scalarSpan(data, n)
	if err != nil {
		return splice{}, err
	}
	return splice{start, end, yamlsplice.Render(n.Style, text)}, nil
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
