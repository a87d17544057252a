package lint

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamlsplice"
)

// Fix plans the repairs lint can make: removing the EndpointSliceMirroring entry from every
// --feature-gates flag in the static pod folder (the whole flag when it was the only gate). Like an
// adapter's Plan it writes nothing; it returns one FileChange per manifest it would change, spliced
// into the original bytes so the file differs only on those lines.
func Fix(root nodefs.Root, o Options) ([]change.FileChange, error) {
	dir := o.ManifestsDir
	if dir == "" {
		dir = distros.KubeadmManifestsDir
	}
	pods, _, err := readPodDir(root, nodefs.Clean(dir), true)
	if err != nil {
		return nil, err
	}
	var out []change.FileChange
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
		out = append(out, change.FileChange{Path: p.path, Kind: distros.KindStaticPod, Before: before, After: after})
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
		edits = append(edits, edit{start, end, yamlsplice.Render(target.Style, text)})
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

func offset(data []byte, n *yaml.Node) (int, error) {
	return yamlsplice.Offset(data, n.Line, n.Column)
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
		eol = len(data) - start
	}
	end := yamlsplice.TokenEnd(data[start:start+eol], n.Style, false)
	var v string
	if end < 0 || yaml.Unmarshal(data[start:start+end], &v) != nil || v != n.Value {
		return 0, 0, fmt.Errorf("line %d: %q spans several lines or uses a YAML form mirrorctl does not rewrite; fix it by hand", n.Line, n.Value)
	}
	return start, start + end, nil
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
