package lint

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Fix plans the repairs lint can make: removing the EndpointSliceMirroring entry from every
// --feature-gates flag in the static pod folder (the whole flag when it was the only gate). Like an
// adapter's Plan it writes nothing; it returns one FileChange per manifest it would change, spliced
// into the original bytes so the file differs only on those lines.
func Fix(root nodefs.Root, o Options) ([]distros.FileChange, error) {
	dir := o.ManifestsDir
	if dir == "" {
		dir = distros.KubeadmManifestsDir
	}
	pods, _, err := readPodDir(root, nodefs.Clean(dir), true)
	if err != nil {
		return nil, err
	}
	var out []distros.FileChange
	for _, p := range pods {
		items := gateItems(p)
		if len(items) == 0 {
			continue
		}
		before, err := root.ReadFile(p.path, false)
		if err != nil {
			return nil, err
		}
		after, err := removeGates(p.data, items)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		// The edit must mean what it says: the result parses as a Pod and has no such gate left.
		doc, err := parsePod(after)
		if err != nil {
			return nil, fmt.Errorf("%s: internal error: fixed manifest does not parse: %w", p.path, err)
		}
		if left := gateItems(&podFile{path: p.path, doc: doc}); len(left) > 0 {
			return nil, fmt.Errorf("%s: internal error: %s left after the fix", p.path, left[0].item)
		}
		out = append(out, distros.FileChange{Path: p.path, Kind: distros.KindStaticPod, Before: before, After: after})
	}
	return out, nil
}

type edit struct {
	start, end int
	text       string
}

func removeGates(data []byte, items []flagItem) ([]byte, error) {
	var edits []edit
	for _, it := range items {
		if it.seq.Style&yaml.FlowStyle != 0 {
			return nil, fmt.Errorf("line %d: %s is in a flow-style list ([a, b]); remove the %s gate by hand", it.line, it.item, featureGate)
		}
		entries, bad, _ := gateEntries(it.text)
		var kept []string
		for i, e := range entries {
			if !bad[i] {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 || strings.TrimSpace(strings.Join(kept, "")) == "" {
			for _, n := range []*yaml.Node{it.flag, it.value} {
				if n == nil {
					continue
				}
				e, err := deleteLine(data, n)
				if err != nil {
					return nil, err
				}
				edits = append(edits, e)
			}
			continue
		}
		value := strings.Join(kept, ",")
		target, text := it.value, value
		if it.value == nil {
			target, text = it.flag, "--feature-gates="+value
		}
		start, end, err := scalarSpan(data, target)
		if err != nil {
			return nil, err
		}
		edits = append(edits, edit{start, end, render(target.Style, text)})
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos {
			return nil, fmt.Errorf("internal error: overlapping edits")
		}
		b.Write(data[pos:e.start])
		b.WriteString(e.text)
		pos = e.end
	}
	b.Write(data[pos:])
	return b.Bytes(), nil
}

// offset converts a yaml node's 1-based line and character column into a byte offset.
func offset(data []byte, n *yaml.Node) (int, error) {
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	for l := 1; l < n.Line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("internal error: line %d past end of file", n.Line)
		}
		start += i + 1
	}
	off := start
	for c := 1; c < n.Column; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("internal error: column %d past end of line %d", n.Column, n.Line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// scalarSpan returns the bytes of a one-line scalar as written (quotes included) and checks they decode
// to the node's value, so an edit never lands beside its target.
func scalarSpan(data []byte, n *yaml.Node) (int, int, error) {
	start, err := offset(data, n)
	if err != nil {
		return 0, 0, err
	}
	eol := bytes.IndexByte(data[start:], '\n')
	if eol < 0 {
		eol = len(data)
	} else {
		eol += start
	}
	line := string(data[start:eol])
	end := -1
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
			} else if line[i] == '"' {
				end = start + i + 1
				break
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
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
	default:
		t := line
		if i := strings.Index(t, " #"); i >= 0 {
			t = t[:i]
		}
		end = start + len(strings.TrimRight(t, " \t\r"))
	}
	var v string
	if end < 0 || yaml.Unmarshal(data[start:end], &v) != nil || v != n.Value {
		return 0, 0, fmt.Errorf("line %d: %q spans several lines or uses a YAML form mirrorctl does not rewrite; fix it by hand", n.Line, n.Value)
	}
	return start, end, nil
}

// render writes text in the quoting style of the scalar it replaces, falling back to double quotes.
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
	if yaml.Unmarshal([]byte(s), &back) != nil || back != text {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text) + `"`
	}
	return s
}

// deleteLine removes the whole line of a block sequence item ("    - value  # comment").
func deleteLine(data []byte, n *yaml.Node) (edit, error) {
	off, err := offset(data, n)
	if err != nil {
		return edit{}, err
	}
	_, vend, err := scalarSpan(data, n)
	if err != nil {
		return edit{}, err
	}
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	end := bytes.IndexByte(data[off:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += off + 1
	}
	prefix := strings.TrimLeft(string(data[start:off]), " ")
	rest := strings.TrimSpace(string(data[vend:min(end, len(data))]))
	if strings.TrimSpace(prefix) != "-" || rest != "" && !strings.HasPrefix(rest, "#") {
		return edit{}, fmt.Errorf("line %d: %q does not stand alone on its line; remove the %s gate by hand", n.Line, n.Value, featureGate)
	}
	return edit{start, end, ""}, nil
}
