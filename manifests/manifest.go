// Package manifests reads and edits the kube-controller-manager static pod manifest. Edits are
// spliced into the original bytes: kyaml (yaml.v3 nodes) only locates the flag, so comments, quoting,
// indentation and everything else in the file survive exactly.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// ContainerName is the container kubeadm (and every static pod layout we know) gives kcm.
const ContainerName = "kube-controller-manager"

const flagName = controllers.Flag

// occurrence is one --controllers flag in the container's command or args.
type occurrence struct {
	field  string     // "command" or "args"
	flag   *yaml.Node // the item holding "--controllers=V" or "--controllers"
	value  *yaml.Node // the item holding V in the two-item form; nil in the "=" form
	text   string     // V
	joined bool       // "--controllers=V" form
}

// Manifest is a parsed static pod manifest.
type Manifest struct {
	file    *yamledit.File
	data    []byte
	Image   string
	Version controllers.Version
	fields  map[string]*yaml.Node    // "command", "args" sequences of the kcm container (may be nil)
	argv    []string                 // command then args: the command line the kubelet runs
	flags   []controllers.Occurrence // every --controllers on argv
	occ     []occurrence             // the same, located in the YAML
	broken  error                    // the first --controllers value kcm would reject or misread
}

// Parse reads a static pod manifest and finds the kcm container and its --controllers flags.
// Errors are one line without the file name; callers prefix it.
//
// One run reads the same manifest several times over (the plan, the check of the edit, status, lint);
// a Manifest never changes after parsing, so the last few parses are kept and shared. The key is the
// content, and a kept Manifest holds its own copy of it, so a caller reusing its buffer changes nothing.
func Parse(data []byte) (*Manifest, error) {
	if m := parsed.get(data); m != nil {
		return m, nil
	}
	m, err := parse(bytes.Clone(data))
	if err == nil {
		parsed.put(m)
	}
	return m, err
}

const parsedKept = 4

type parseCache struct {
	mu   sync.Mutex
	kept [parsedKept]*Manifest
	next int
}

var parsed parseCache

func (c *parseCache) get(data []byte) *Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.kept {
		if m != nil && bytes.Equal(m.data, data) {
			return m
		}
	}
	return nil
}

func (c *parseCache) put(m *Manifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept[c.next] = m
	c.next = (c.next + 1) % parsedKept
}

func parse(data []byte) (*Manifest, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	f, err := parsePolicy(data)
	if err != nil {
		return nil, err
	}
	doc := f.Docs[0]
	if doc.Kind != yaml.MappingNode {
		return nil, errors.New("not a Kubernetes object (the document is not a mapping)")
	}
	if k := scalarField(doc, "kind"); k != "Pod" {
		if k == "" {
			return nil, errors.New("no kind: not a Pod manifest")
		}
		return nil, fmt.Errorf("kind is %q, not a Pod manifest", k)
	}
	spec := field(doc, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, errors.New("Pod has no spec")
	}
	containers := field(spec, "containers")
	if containers == nil || containers.Kind != yaml.SequenceNode {
		return nil, errors.New("Pod has no spec.containers list")
	}
	var kcm *yaml.Node
	var names []string
	for _, c := range containers.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		n := scalarField(c, "name")
		names = append(names, n)
		if n == ContainerName {
			if kcm != nil {
				return nil, fmt.Errorf("two containers named %q", ContainerName)
			}
			kcm = c
		}
	}
	if kcm == nil {
		return nil, fmt.Errorf("no container named %q (found: %s)", ContainerName, strings.Join(names, ", "))
	}
	m := &Manifest{file: f, data: data, fields: map[string]*yaml.Node{}}
	m.Image = scalarField(kcm, "image")
	m.Version = controllers.ImageVersion(m.Image)
	for _, f := range []string{"command", "args"} {
		seq := field(kcm, f)
		if seq == nil || seq.Tag == "!!null" {
			continue
		}
		if seq.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("container %s: %s is not a list", ContainerName, f)
		}
		m.fields[f] = seq
		// Collected once command is known and again with args: a problem in command is reported before
		// anything args holds, as the kubelet's order of the arguments has it.
		if err := m.collect(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parsePolicy decodes the one document of a static pod file under yamledit.StaticPod, in the words of a
// static pod. The kubelet reads one object per file; a second document is a mistake we must not
// silently ignore (yaml.Parse would).
func parsePolicy(data []byte) (*yamledit.File, error) {
	f, err := yamledit.Parse(data, yamledit.StaticPod)
	var syn *yamledit.SyntaxError
	var count *yamledit.CountError
	var dup *yamledit.DuplicateKeyError
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, yamledit.ErrAlias):
		return nil, errors.New("YAML aliases or anchors are not supported in a static pod manifest")
	case errors.As(err, &syn):
		return nil, fmt.Errorf("malformed YAML: %s", syn.Detail())
	case errors.As(err, &count) && count.N == 0:
		return nil, errors.New("file holds no YAML document")
	case errors.As(err, &count):
		return nil, fmt.Errorf("file holds %d YAML documents; a static pod manifest holds one", count.N)
	case errors.As(err, &dup):
		// The kubelet decodes static pods leniently and keeps the last one, while a locator that
		// stops at the first would edit a list kcm never runs.
		return nil, fmt.Errorf("%w; the kubelet would use the last one", err)
	}
	return nil, err
}

func field(m *yaml.Node, key string) *yaml.Node { return yamledit.Field(m, key) }

func scalarField(m *yaml.Node, key string) string { return yamledit.ScalarField(m, key) }

// collect finds the --controllers occurrences (controllers.Occurrences) on the command line made of the
// fields known so far. Every item must be a string; a flag whose value is not in its own list (the last
// item of command, its value args[0]) is refused, as before: kcm would read it, but editing a flag split
// over two lists is not supported.
func (m *Manifest) collect() error {
	var items []*yaml.Node
	var fieldOf []string
	var notString error
	m.argv = nil
	for _, f := range []string{"command", "args"} {
		seq := m.fields[f]
		if seq == nil {
			continue
		}
		for i, it := range seq.Content {
			if it.Kind != yaml.ScalarNode {
				notString = fmt.Errorf("container %s: %s[%d] is not a string", ContainerName, f, i)
				break
			}
			items, fieldOf = append(items, it), append(fieldOf, f)
			m.argv = append(m.argv, it.Value)
		}
		if notString != nil {
			break
		}
	}
	occ, err := controllers.Occurrences(m.argv)
	var missing *controllers.MissingValueError
	if errors.As(err, &missing) {
		return fmt.Errorf("container %s: %s ends with %s and no value", ContainerName, fieldOf[missing.Flag], flagName)
	}
	m.flags, m.occ, m.broken = occ, nil, err
	for _, o := range occ {
		if fieldOf[o.Value] != fieldOf[o.Flag] {
			return fmt.Errorf("container %s: %s ends with %s and no value", ContainerName, fieldOf[o.Flag], flagName)
		}
		oc := occurrence{field: fieldOf[o.Flag], flag: items[o.Flag], text: o.Raw, joined: o.OneToken()}
		if !o.OneToken() {
			oc.value = items[o.Value]
		}
		m.occ = append(m.occ, oc)
	}
	return notString
}

// Flag returns the value kube-controller-manager gets for the single-valued flag --name, and whether
// the manifest sets it: the last occurrence on the command line (command then args) wins, as in pflag.
func (m *Manifest) Flag(name string) (string, bool) {
	return controllers.Last(m.argv, name)
}

// Controllers returns every --controllers occurrence split into entries, command before args, the
// order kubelet passes them (command then args) and pflag concatenates them.
func (m *Manifest) Controllers() ([][]string, error) {
	if m.broken != nil {
		return nil, fmt.Errorf("container %s: %w", ContainerName, m.broken)
	}
	if len(m.flags) == 0 {
		return nil, nil
	}
	return controllers.Lists(m.flags), nil
}

// Effective is the --controllers value kcm ends up with ("*" when the flag is absent).
func (m *Manifest) Effective() ([]string, error) {
	if _, err := m.Controllers(); err != nil {
		return nil, err
	}
	return controllers.Effective(m.flags), nil
}

// Mirroring reports whether kcm runs the mirroring controller with these flags.
func (m *Manifest) Mirroring() (bool, error) {
	e, err := m.Effective()
	if err != nil {
		return false, err
	}
	return controllers.MirroringEnabled(e), nil
}

// Edit applies op and returns the new file bytes. name is the controller name to add (see
// controllers.NameFor). changed is false, and out is the input, when nothing needs to change.
func (m *Manifest) Edit(op controllers.Op, name string) (out []byte, changed bool, err error) {
	occ, err := m.Controllers()
	if err != nil {
		return nil, false, err
	}
	planned, changed := controllers.Edit(op, occ, name)
	if !changed {
		return m.data, false, nil
	}
	var edits []yamledit.Splice
	// expect is what the read-back must find: every occurrence the splice keeps, including the empty
	// ones that were empty before the edit ("--controllers=" stays, kcm accepts it).
	var expect [][]string
	if len(m.occ) == 0 {
		expect = planned
		e, err := m.insertFlag(controllers.Join(planned[0]))
		if err != nil {
			return nil, false, err
		}
		edits = append(edits, e)
	}
	for i, o := range m.occ {
		if equal(planned[i], occ[i]) {
			expect = append(expect, occ[i])
			continue
		}
		if len(planned[i]) > 0 {
			expect = append(expect, planned[i])
		}
		if len(planned[i]) == 0 {
			for _, n := range []*yaml.Node{o.flag, o.value} {
				if n == nil {
					continue
				}
				e, err := m.file.DeleteItem(n)
				if errors.Is(err, yamledit.ErrNotAlone) {
					return nil, false, fmt.Errorf("cannot remove the list item %q: it does not stand alone on its line", n.Value)
				}
				if err != nil {
					return nil, false, err
				}
				edits = append(edits, e)
			}
			continue
		}
		value := controllers.Join(planned[i])
		target, text := o.value, value
		if o.joined {
			target, text = o.flag, flagName+"="+value
		}
		e, err := m.file.SetScalar(target, text, false)
		if err != nil {
			return nil, false, err
		}
		edits = append(edits, e)
	}
	out, err = yamledit.Apply(m.data, edits)
	if err != nil {
		return nil, false, err
	}
	// The splice must mean what the plan meant: re-parse and compare, so a locating mistake can never
	// reach the node.
	check, err := Parse(out)
	if err != nil {
		return nil, false, fmt.Errorf("internal error: edited manifest does not parse: %w", err)
	}
	got, err := check.Controllers()
	if err != nil || !equalOcc(expect, got) {
		return nil, false, fmt.Errorf("internal error: edited manifest has --controllers %v, planned %v", got, planned)
	}
	return out, true, nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalOcc(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// insertFlag adds "--controllers=V" as a new list item. kubeadm writes flags sorted by name, so the new
// item goes where kubeadm would have put it; it copies the indentation of its neighbour line.
func (m *Manifest) insertFlag(value string) (yamledit.Splice, error) {
	seq := m.fields["command"]
	if seq == nil || len(seq.Content) < 2 {
		if a := m.fields["args"]; a != nil && len(a.Content) > 0 {
			seq = a
		}
	}
	if seq == nil || len(seq.Content) == 0 {
		return yamledit.Splice{}, fmt.Errorf("container %s has no command or args list to add %s to", ContainerName, flagName)
	}
	if seq.Style&yaml.FlowStyle != 0 {
		return yamledit.Splice{}, fmt.Errorf("container %s: flow-style lists ([a, b]) are not supported; write the list one item per line", ContainerName)
	}
	item := flagName + "=" + value
	// Insert before the first flag that sorts after ours (skipping the binary name at command[0]), and
	// never after a "--" argument: kcm reads what follows it as arguments, not flags.
	idx := len(seq.Content)
	for i, it := range seq.Content {
		if i == 0 && seq == m.fields["command"] {
			continue
		}
		if it.Value == "--" || strings.HasPrefix(it.Value, "--") && it.Value > item {
			idx = i
			break
		}
	}
	var anchor *yaml.Node
	before := true
	if idx < len(seq.Content) {
		anchor = seq.Content[idx]
	} else {
		anchor, before = seq.Content[len(seq.Content)-1], false
	}
	s, err := m.file.InsertItem(anchor, before, item)
	if errors.Is(err, yamledit.ErrNotItemLine) {
		return yamledit.Splice{}, fmt.Errorf("container %s: cannot find the list item line of %q", ContainerName, anchor.Value)
	}
	return s, err
}
