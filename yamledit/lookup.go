package yamledit

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Get returns a mapping's key and value nodes for key (nil when absent or m is no mapping).
func Get(m *yaml.Node, key string) (k, v *yaml.Node) {
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

// KindName names a node's kind for errors.
func KindName(n *yaml.Node) string {
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

func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Field returns a mapping's value for key (nil when absent or m is no mapping).
func Field(m *yaml.Node, key string) *yaml.Node {
	_, v := Get(m, key)
	return v
}

// ScalarField returns a mapping's string value for key ("" when absent or not a scalar).
func ScalarField(m *yaml.Node, key string) string {
	v := Field(m, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// NodeError is a lookup refused at a node; callers say where (file, document, line).
type NodeError struct {
	Node *yaml.Node
	Msg  string
}

func (e *NodeError) Error() string { return fmt.Sprintf("line %d: %s", e.Node.Line, e.Msg) }

// Lookup is Get for files parsed without Options (single documents read with yaml.Parse): it refuses
// what would make the lookup ambiguous — a key given twice, merge keys ("<<") and an aliased or
// anchored value — as a *NodeError at the key. It returns nil nodes when the key is absent.
func Lookup(m *yaml.Node, name string) (key, value *yaml.Node, err error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
			return nil, nil, &NodeError{k, "merge keys (<<) are not supported"}
		}
		if k.Kind != yaml.ScalarNode || k.Value != name {
			continue
		}
		if key != nil {
			return nil, nil, &NodeError{k, fmt.Sprintf("duplicate key %q", name)}
		}
		if v.Kind == yaml.AliasNode || v.Anchor != "" {
			return nil, nil, &NodeError{k, fmt.Sprintf("%s: YAML anchors and aliases are not supported here", name)}
		}
		key, value = k, v
	}
	return key, value, nil
}

func JoinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// Strings reads a list of strings, or a single string as a one-item list.
func Strings(path string, n *yaml.Node) ([]string, error) {
	switch {
	case IsNull(n):
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, nil
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: holds %s; want strings", path, KindName(it))
			}
			out = append(out, it.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: is %s; want a list of strings", path, KindName(n))
}

// DocsOfKind returns the file's mapping documents whose kind field is kind, in file order; kind ""
// returns the ones without a kind field (a bare spec, Talos's v1alpha1 machine config).
func (f *File) DocsOfKind(kind string) []*yaml.Node {
	var out []*yaml.Node
	for _, d := range f.Docs {
		if d == nil || d.Kind != yaml.MappingNode {
			continue
		}
		_, k := Get(d, "kind")
		if (kind == "" && k == nil) || (k != nil && kind != "" && k.Value == kind) {
			out = append(out, d)
		}
	}
	return out
}
