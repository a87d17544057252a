// Package manifests reads and edits the kube-controller-manager static pod manifest. Edits are
// spliced into the original bytes: kyaml (yaml.v3 nodes) only locates the flag, so comments, quoting,
// indentation and everything else in the file survive exactly.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

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
	env    *yaml.Node // the env value V comes from ("--controllers=$(VAR)"): the edit goes there
	fixed  error      // V is built with $(VAR) in a form mirrorctl does not edit: why
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
	kcm     *yaml.Node               // the container
	script  *script                  // kcm's command line inside a shell's -c script; nil when argv is it
}

// Parse reads a static pod manifest and finds the kcm container and its --controllers flags.
// Errors are one line without the file name; callers prefix it. The Manifest keeps its own copy of
// data, so a caller reusing its buffer changes nothing.
func Parse(data []byte) (*Manifest, error) {
	return ParseDecoded(yamledit.Decode(bytes.Clone(data)))
}

// ParseDecoded is Parse over a file already decoded, for a reader that shares the decode with others
// (lint reads the same static pod leniently): d and its nodes must not change while the Manifest is in
// use.
func ParseDecoded(d *yamledit.Decoded) (*Manifest, error) {
	data := d.Data
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	f, err := parsePolicy(d)
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
	m := &Manifest{file: f, data: data, fields: map[string]*yaml.Node{}, kcm: kcm}
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
func parsePolicy(d *yamledit.Decoded) (*yamledit.File, error) {
	f, err := d.Parse(yamledit.StaticPod)
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
// fields known so far, as kcm gets it: each item expanded as the kubelet expands $(VAR) from the
// container's env (commandline.go), and, when the command is a shell, the words of its -c script. Every
// item must be a string; a flag whose value is not in its own list (the last item of command, its value
// args[0]) is refused, as before: kcm would read it, but editing a flag split over two lists is not
// supported.
func (m *Manifest) collect() error {
	var items []*yaml.Node
	var fieldOf []string
	var notString error
	var raw []string
	m.argv, m.script = nil, nil
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
			raw = append(raw, it.Value)
		}
		if notString != nil {
			break
		}
	}
	env, err := readEnv(m.kcm)
	if err != nil {
		return err
	}
	var unknown []string // per item: the first name whose value is not known, "" when none
	for _, r := range raw {
		v, u := expand(r, env.lookup, env.refs)
		m.argv = append(m.argv, v)
		first := ""
		if len(u) > 0 {
			first = u[0]
		}
		unknown = append(unknown, first)
	}
	if isShell(m.argv) {
		return m.collectScript(items, fieldOf, raw)
	}
	occ, err := controllers.Occurrences(m.argv)
	var missing *controllers.MissingValueError
	if errors.As(err, &missing) {
		return fmt.Errorf("container %s: %s ends with %s and no value", ContainerName, fieldOf[missing.Flag], flagName)
	}
	m.flags, m.occ, m.broken = occ, nil, err
	// An item the kubelet expands from a value not known here may be, or hold, the flag: then the
	// state cannot be established.
	for i, name := range unknown {
		isValue := false
		for _, o := range occ {
			isValue = isValue || o.Value == i
		}
		if name != "" && (isValue || couldBeFlag(raw[i])) {
			m.broken = fmt.Errorf("%s %q: the kubelet substitutes $(%s), and %s; mirrorctl cannot tell what kube-controller-manager gets: set the value in the manifest", fieldOf[i], raw[i], name, env.whyUnknown(name))
			break
		}
	}
	for _, o := range occ {
		if fieldOf[o.Value] != fieldOf[o.Flag] {
			return fmt.Errorf("container %s: %s ends with %s and no value", ContainerName, fieldOf[o.Flag], flagName)
		}
		oc := occurrence{field: fieldOf[o.Flag], flag: items[o.Flag], text: o.Raw, joined: o.OneToken()}
		if !o.OneToken() {
			oc.value = items[o.Value]
		}
		oc.env, oc.fixed = m.envTarget(env, raw, o)
		m.occ = append(m.occ, oc)
	}
	return notString
}

// envTarget returns where an edit of o goes when the kubelet builds its value from $(VAR): the env
// value, when the value is exactly "$(VAR)" of a literal env entry set once, whose text the kubelet
// takes as written (no "$" in it) and that nothing else refers to; otherwise why it is not edited.
func (m *Manifest) envTarget(env *environment, raw []string, o controllers.Occurrence) (*yaml.Node, error) {
	flag, value := raw[o.Flag], raw[o.Value]
	if o.OneToken() {
		value = strings.TrimPrefix(flag, flagName+"=")
	} else if strings.Contains(flag, "$") {
		return nil, fmt.Errorf("the flag item %q is built with $(…) or $$; edit it by hand", flag)
	}
	if !o.OneToken() || strings.HasPrefix(flag, flagName+"=") {
		if !strings.Contains(value, "$") {
			return nil, nil
		}
	}
	if o.OneToken() && !strings.HasPrefix(flag, flagName+"=") {
		return nil, fmt.Errorf("the item %q becomes %s only when the kubelet expands it; edit it by hand", flag, flagName)
	}
	name, ok := envRef(value)
	if !ok {
		return nil, fmt.Errorf("%s %q is built with $(…) or $$; mirrorctl edits only a value that is exactly $(VAR); edit it by hand", flagName, value)
	}
	v := env.vars[name]
	if v == nil || v.why != "" {
		return nil, fmt.Errorf("%s=%s: %s", flagName, value, env.whyUnknown(name))
	}
	switch {
	case v.defs > 1:
		return nil, fmt.Errorf("%s=%s: env sets %s %d times; edit it by hand", flagName, value, name, v.defs)
	case v.value == nil:
		return nil, fmt.Errorf("%s=%s: env sets %s without a value; edit it by hand", flagName, value, name)
	case strings.Contains(v.value.Value, "$"):
		return nil, fmt.Errorf("%s=%s: the env value of %s is built with $(…) or $$; edit it by hand", flagName, value, name)
	case env.refs[name] != 1:
		return nil, fmt.Errorf("%s=%s: $(%s) is used %d times in the container; edit it by hand", flagName, value, name, env.refs[name])
	}
	return v.value, nil
}

// collectScript reads kcm's command line from a shell's -c script (see script), or refuses the manifest
// naming why: a shell mirrorctl cannot read would take the flag as one of its own arguments and ignore it.
func (m *Manifest) collectScript(items []*yaml.Node, fieldOf []string, raw []string) error {
	refuse := func(why string) error {
		return fmt.Errorf("container %s: %s runs a shell (%s) whose kube-controller-manager command line mirrorctl cannot read: %s; write the command line as a list, or as sh -c 'exec kube-controller-manager --flag=value …' of plain words", ContainerName, fieldOf[0], m.argv[0], why)
	}
	switch {
	case len(m.argv) >= 2 && m.argv[1] != "-c":
		return refuse(fmt.Sprintf("its first argument is %q, not -c", m.argv[1]))
	case len(m.argv) < 3 && m.fields["args"] == nil && field(m.kcm, "args") != nil && field(m.kcm, "args").Tag != "!!null":
		return nil // command is "sh -c": the script is in args, read with them
	case len(m.argv) < 3:
		return refuse("it has no -c script")
	}
	if raw[2] != m.argv[2] || strings.Contains(raw[2], "$") {
		return refuse("its -c script uses \"$\" (the kubelet's $(VAR) or the shell's expansion)")
	}
	words, err := readScript(m.argv[2])
	if err != nil {
		return refuse("its -c script " + err.Error())
	}
	seq := m.fields[fieldOf[2]]
	m.script = &script{node: items[2], flow: seq.Style&yaml.FlowStyle != 0, words: words}
	m.argv = nil
	for _, w := range words {
		m.argv = append(m.argv, w.text)
	}
	occ, err := controllers.Occurrences(m.argv)
	var missing *controllers.MissingValueError
	if errors.As(err, &missing) {
		return refuse(fmt.Sprintf("its -c script ends with %s and no value", flagName))
	}
	m.flags, m.occ, m.broken = occ, nil, err
	return nil
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
	after, changed, err := m.Edited(op, name)
	if err != nil {
		return nil, false, err
	}
	return after.data, changed, nil
}

// Edited is Edit returning the edited manifest parsed, the parse that checked the edit: a caller
// reading the new state from it does not parse the new bytes a second time. Unchanged, it is m.
func (m *Manifest) Edited(op controllers.Op, name string) (after *Manifest, changed bool, err error) {
	return m.EditedSwitch(op, controllers.Mirror(name))
}

// EditedSwitch is Edited for every controller of sw (with --endpoints-controller, the Endpoints
// controller too).
func (m *Manifest) EditedSwitch(op controllers.Op, sw controllers.Switch) (after *Manifest, changed bool, err error) {
	occ, err := m.Controllers()
	if err != nil {
		return nil, false, err
	}
	planned, changed := sw.Edit(op, occ)
	if !changed {
		return m, false, nil
	}
	var edits []yamledit.Splice
	// expect is what the read-back must find: every occurrence the splice keeps, including the empty
	// ones that were empty before the edit ("--controllers=" stays, kcm accepts it).
	var expect [][]string
	if m.script != nil {
		e, err := m.scriptSplice(planned)
		if err != nil {
			return nil, false, err
		}
		edits = append(edits, e)
	}
	switch {
	case m.script != nil && len(m.flags) > 0:
		// scriptSplice removes an occurrence the edit empties, as DeleteItem does below.
		for i := range occ {
			if equal(planned[i], occ[i]) {
				expect = append(expect, occ[i])
			} else if len(planned[i]) > 0 {
				expect = append(expect, planned[i])
			}
		}
	case len(m.occ) == 0:
		expect = planned
	}
	if len(m.occ) == 0 && m.script == nil {
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
		if o.fixed != nil {
			return nil, false, o.fixed
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
		if o.env != nil {
			target, text = o.env, value
		}
		e, err := m.file.SetScalar(target, text, false)
		if err != nil {
			return nil, false, err
		}
		edits = append(edits, e)
	}
	out, err := yamledit.Apply(m.data, edits)
	if err != nil {
		return nil, false, err
	}
	// The splice must mean what the plan meant: re-parse and compare, so a locating mistake can never
	// reach the node. out is ours: no copy.
	check, err := ParseDecoded(yamledit.Decode(out))
	if err != nil {
		return nil, false, fmt.Errorf("internal error: edited manifest does not parse: %w", err)
	}
	got, err := check.Controllers()
	if err != nil || !equalOcc(expect, got) {
		return nil, false, fmt.Errorf("internal error: edited manifest has --controllers %v, planned %v", got, planned)
	}
	return check, true, nil
}

// Bytes is the manifest's file content. It must not be changed.
func (m *Manifest) Bytes() []byte { return m.data }

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
	// never after a "--" argument: kcm reads what follows it as arguments, not flags. Where a wrapper
	// runs kcm (kops: command [/go-runner], args [--log-file=…, --also-stdout,
	// /usr/local/bin/kube-controller-manager, kcm's flags…]), the flags before kcm's binary are the
	// wrapper's, and ours goes after it.
	first := 0
	if seq == m.fields["command"] {
		first = 1
	}
	for i, it := range seq.Content {
		if path.Base(it.Value) == ContainerName && !strings.HasPrefix(it.Value, "-") {
			first = i + 1
			break
		}
	}
	idx := len(seq.Content)
	for i, it := range seq.Content {
		if i < first {
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

// ContainerImage reads the image of the container named name in a static pod manifest (another
// component's: kube-apiserver's, for the version it runs), with Parse's YAML policy. Errors are one
// line without the file name.
func ContainerImage(data []byte, name string) (string, error) {
	f, err := parsePolicy(yamledit.Decode(bytes.Clone(data)))
	if err != nil {
		return "", err
	}
	doc := f.Docs[0]
	if doc.Kind != yaml.MappingNode || scalarField(doc, "kind") != "Pod" {
		return "", errors.New("not a Pod manifest")
	}
	containers := field(field(doc, "spec"), "containers")
	if containers == nil || containers.Kind != yaml.SequenceNode {
		return "", errors.New("Pod has no spec.containers list")
	}
	for _, c := range containers.Content {
		if c.Kind == yaml.MappingNode && scalarField(c, "name") == name {
			return scalarField(c, "image"), nil
		}
	}
	return "", fmt.Errorf("no container named %q", name)
}
