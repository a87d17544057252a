// Package patches holds the kubeadm ClusterConfiguration edits. Nothing here touches the file system.
package patches

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/yamledit"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// KubeadmDefaultControllers is what kubeadm writes when ClusterConfiguration sets no controllers.
// Any controllers entry in extraArgs replaces it whole, so edits must start from it.
var KubeadmDefaultControllers = []string{"*", "bootstrapsigner", "tokencleaner"}

// KubeadmState is what a kubeadm config says about kube-controller-manager's --controllers.
type KubeadmState struct {
	APIVersion  string              // "kubeadm.k8s.io/v1beta4"
	Version     controllers.Version // from ClusterConfiguration.kubernetesVersion (Known=false if absent/unparseable)
	Set         bool                // controllers is set in controllerManager.extraArgs
	Controllers []string            // effective list: the set value, or KubeadmDefaultControllers when not set
	Mirroring   bool                // controllers.MirroringEnabled(Controllers)
	ConfigMap   bool                // input was an exported kubeadm-config ConfigMap (data.ClusterConfiguration)
}

// ErrNoClusterConfiguration is returned when the input holds no ClusterConfiguration document and no
// ConfigMap with a data.ClusterConfiguration key (e.g. a file with only an InitConfiguration).
var ErrNoClusterConfiguration = errors.New("no ClusterConfiguration document")

const kubeadmGroup = "kubeadm.k8s.io"

// kubeadmAPIVersions maps the supported apiVersions to whether extraArgs is a list of {name, value}
// (v1beta4, v1) rather than a map (v1beta2, v1beta3).
var kubeadmAPIVersions = map[string]bool{
	kubeadmGroup + "/v1beta2": false,
	kubeadmGroup + "/v1beta3": false,
	kubeadmGroup + "/v1beta4": true,
	kubeadmGroup + "/v1":      true,
}

// ReadKubeadmConfig reads what a kubeadm config file (plain, possibly multi-document) or an exported
// kubeadm-config ConfigMap says about --controllers.
func ReadKubeadmConfig(data []byte) (*KubeadmState, error) {
	f, err := loadText(data)
	if err != nil {
		return nil, err
	}
	cc, err := f.findClusterConfiguration()
	if err != nil {
		return nil, err
	}
	st, _, err := cc.state()
	return st, err
}

// EditKubeadmConfig returns the new bytes (== data when unchanged) and the state after the edit.
// nameOverride "" = choose with controllers.NameFor(state.Version, "").
//
// Only the controllers value changes (or the lines that create it); every other byte of the input stays.
// A missing entry is created from KubeadmDefaultControllers, because kubeadm replaces its whole default
// with whatever extraArgs says. In v1beta4/v1 lists, several controllers entries become several
// --controllers flags, which kube-controller-manager concatenates; they are edited like repeated flags.
func EditKubeadmConfig(data []byte, op controllers.Op, nameOverride string) (out []byte, after *KubeadmState, changed bool, err error) {
	if op != controllers.Disable && op != controllers.Enable {
		return nil, nil, false, fmt.Errorf("unknown operation %q", op)
	}
	f, err := loadText(data)
	if err != nil {
		return nil, nil, false, err
	}
	cc, err := f.findClusterConfiguration()
	if err != nil {
		return nil, nil, false, err
	}
	before, args, err := cc.state()
	if err != nil {
		return nil, nil, false, err
	}
	name, err := controllers.NameFor(before.Version, nameOverride)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: kubernetesVersion: %w", cc.what(), err)
	}
	edits, wantList, changed, err := cc.plan(args, op, name)
	if err != nil {
		return nil, nil, false, err
	}
	if !changed {
		return data, before, false, nil
	}

	newDoc := yamledit.ApplyLines(cc.lines, edits)
	if err := validateClusterConfiguration(cc.apiVersion, strings.Join(cc.lines, ""), strings.Join(newDoc, "")); err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", cc.what(), err)
	}

	fileEdits := make([]yamledit.LineEdit, len(edits))
	pad := strings.Repeat(" ", cc.shift)
	for i, e := range edits {
		e.Line += cc.lineBase
		if e.Insert == nil {
			e.Start += cc.shift
			e.End += cc.shift
		} else {
			ins := make([]string, len(e.Insert))
			for j, l := range e.Insert {
				ins[j] = pad + l
			}
			e.Insert = ins
		}
		fileEdits[i] = e
	}
	out = f.bytes(yamledit.ApplyLines(f.lines, fileEdits))

	// Read the result back: the splice must say exactly what was planned, and the file must still parse.
	after, err = ReadKubeadmConfig(out)
	if err != nil {
		return nil, nil, false, fmt.Errorf("internal error: the edited file does not read back: %v", err)
	}
	if !slices.Equal(after.Controllers, wantList) || after.Mirroring != (op == controllers.Enable) {
		return nil, nil, false, fmt.Errorf("internal error: the edited file reads back as controllers %q, want %q", controllers.Join(after.Controllers), controllers.Join(wantList))
	}
	return out, after, true, nil
}

// fileText is the input split into lines (each keeping its "\n"), with a UTF-8 BOM and CRLF line
// endings taken off so that YAML line numbers index lines; bytes() puts them back.
type fileText struct {
	bom, crlf bool
	lines     []string
}

func loadText(data []byte) (*fileText, error) {
	s := string(data)
	f := &fileText{}
	if rest, ok := strings.CutPrefix(s, "\ufeff"); ok {
		f.bom, s = true, rest
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("file is empty")
	}
	if n := strings.Count(s, "\r\n"); n > 0 {
		if n != strings.Count(s, "\n") {
			return nil, errors.New("mixed CRLF and LF line endings; convert the file to one style first")
		}
		f.crlf, s = true, strings.ReplaceAll(s, "\r\n", "\n")
	}
	if strings.Contains(s, "\r") {
		// YAML reads a lone CR as a line break, which would shift every line number after it.
		return nil, errors.New("file contains a carriage return that is not part of a CRLF line ending")
	}
	f.lines = splitLines(s)
	return f, nil
}

func (f *fileText) bytes(lines []string) []byte {
	s := strings.Join(lines, "")
	if f.crlf {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	if f.bom {
		s = "\ufeff" + s
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

// marker reports whether a line is a YAML document marker ("---" or "...") at column 0. Such a line
// ends the document even inside a block scalar, so splitting on lines is exact.
func marker(line string) (string, bool) {
	l := trimEOL(line)
	for _, m := range []string{"---", "..."} {
		if l == m || strings.HasPrefix(l, m+" ") || strings.HasPrefix(l, m+"\t") {
			return strings.TrimSpace(l[3:]), true
		}
	}
	return "", false
}

// segment is one YAML document: lines [start, end) of the file, markers excluded.
type segment struct{ start, end int }

func (f *fileText) segments() ([]segment, error) {
	var segs []segment
	start := 0
	for i, line := range f.lines {
		rest, ok := marker(line)
		if !ok {
			continue
		}
		if rest != "" && !strings.HasPrefix(rest, "#") {
			return nil, fmt.Errorf("line %d: content after the document marker is not supported; start the document on the next line", i+1)
		}
		segs = append(segs, segment{start, i})
		start = i + 1
	}
	return append(segs, segment{start, len(f.lines)}), nil
}

// clusterConfig is a located ClusterConfiguration: its text as lines, where those lines sit in the
// file, and the parsed nodes.
type clusterConfig struct {
	lines     []string // the ClusterConfiguration document's own text, line by line
	lineBase  int      // file line index of lines[0]
	shift     int      // indentation each line carries in the file (block scalar content), else 0
	configMap bool

	root       *yaml.Node
	apiVersion string
	list       bool // extraArgs is a list of {name, value}
	version    controllers.Version
	kindKey    *yaml.Node
	style      indentStyle
}

func (cc *clusterConfig) what() string {
	what := "ClusterConfiguration"
	if cc.configMap {
		what = "ConfigMap data.ClusterConfiguration"
	}
	if cc.apiVersion != "" {
		what += " (" + cc.apiVersion + ")"
	}
	return what
}

// fileLine is the 1-based file line of a node's line (1-based within the document).
func (cc *clusterConfig) fileLine(docLine int) int { return cc.lineBase + docLine }

func (f *fileText) findClusterConfiguration() (*clusterConfig, error) {
	segs, err := f.segments()
	if err != nil {
		return nil, err
	}
	var found []*clusterConfig
	var roots []*yaml.Node
	for di, seg := range segs {
		text := strings.Join(f.lines[seg.start:seg.end], "")
		rn, err := yaml.Parse(text)
		if errors.Is(err, io.EOF) {
			continue // empty or comment-only document
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (line %d): malformed YAML: %s", di+1, seg.start+1, oneLine(err.Error()))
		}
		root := rn.YNode()
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		roots = append(roots, root)
		base := &clusterConfig{lines: f.lines[seg.start:seg.end], lineBase: seg.start, root: root}
		kind, _, err := base.stringField(root, "kind")
		if err != nil {
			return nil, err
		}
		apiVersion, _, err := base.stringField(root, "apiVersion")
		if err != nil {
			return nil, err
		}
		switch {
		case kind == "ClusterConfiguration":
			cc, err := newClusterConfig(base.lines, seg.start, 0, false, root)
			if err != nil {
				return nil, err
			}
			found = append(found, cc)
		case kind == "ConfigMap" && apiVersion == "v1":
			cc, err := base.embedded()
			if err != nil {
				return nil, err
			}
			if cc != nil {
				found = append(found, cc)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, ErrNoClusterConfiguration
	case 1:
	default:
		return nil, fmt.Errorf("%d ClusterConfiguration documents (lines %d and %d); kubeadm reads one", len(found), found[0].lineBase+1, found[1].lineBase+1)
	}
	cc := found[0]
	cc.style = detectIndent(append([]*yaml.Node{cc.root}, roots...)...)
	return cc, nil
}

// embedded locates data.ClusterConfiguration in a ConfigMap document; nil when the ConfigMap has none.
// The value must be a literal block scalar ("|"), as kubectl prints it: its content lines are the
// ClusterConfiguration's lines, shifted right by the block's indentation.
func (base *clusterConfig) embedded() (*clusterConfig, error) {
	dataKey, data, err := base.field(base.root, "data")
	if err != nil || data == nil {
		return nil, err
	}
	if data.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("ConfigMap: line %d: data is not a map", base.fileLine(dataKey.Line))
	}
	key, v, err := base.field(data, "ClusterConfiguration")
	if err != nil || v == nil {
		return nil, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("ConfigMap data.ClusterConfiguration: line %d: %s", base.fileLine(key.Line), fmt.Sprintf(format, args...))
	}
	if v.Kind != yaml.ScalarNode || v.Style&yaml.LiteralStyle == 0 || v.Style&yaml.TaggedStyle != 0 || v.Anchor != "" {
		return nil, fail("not a literal block scalar (|); mirrorctl edits the form kubectl prints")
	}
	hl := v.Line - 1
	hcol, ok := yamledit.ByteCol(trimEOL(base.lines[hl]), v.Column)
	if !ok {
		return nil, fail("cannot locate the block scalar header")
	}
	header := trimEOL(base.lines[hl])[hcol:]
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
		return nil, fail("block scalar header %q is not supported (want |, |- or |+)", header)
	}

	// Content: every following line that is blank or indented at least as deep as the first
	// non-blank line.
	indent := -1
	end := hl + 1
	for ; end < len(base.lines); end++ {
		l := trimEOL(base.lines[end])
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
	keyCol, _ := yamledit.ByteCol(trimEOL(base.lines[key.Line-1]), key.Column)
	if indent <= keyCol {
		return nil, fail("block scalar is empty")
	}
	var inner []string
	last := -1
	for i := hl + 1; i < end; i++ {
		l := trimEOL(base.lines[i])
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
	if end == len(base.lines) && !strings.HasSuffix(base.lines[end-1], "\n") {
		want = "" // a last line without "\n" changes chomping; not worth mapping
	}
	if want != v.Value {
		return nil, fail("cannot map the block scalar's content to lines of the file")
	}
	for i, l := range content {
		if _, ok := marker(l); ok {
			return nil, fmt.Errorf("ConfigMap data.ClusterConfiguration: line %d: more than one YAML document", base.fileLine(hl+1+i+1))
		}
	}
	if strings.TrimSpace(v.Value) == "" {
		return nil, fail("block scalar is empty")
	}
	rn, err := yaml.Parse(v.Value)
	if err != nil {
		return nil, fail("malformed YAML: %s", oneLine(err.Error()))
	}
	root := rn.YNode()
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, fail("not a YAML map")
	}
	// With |- the value lacks the last line's "\n": the lines must read exactly as the value.
	if !strings.HasSuffix(v.Value, "\n") && len(content) > 0 {
		content = slices.Clone(content)
		content[len(content)-1] = strings.TrimSuffix(content[len(content)-1], "\n")
	}
	return newClusterConfig(content, base.lineBase+hl+1, indent, true, root)
}

func newClusterConfig(lines []string, lineBase, shift int, configMap bool, root *yaml.Node) (*clusterConfig, error) {
	cc := &clusterConfig{lines: lines, lineBase: lineBase, shift: shift, configMap: configMap, root: root}
	kind, kindKey, err := cc.stringField(root, "kind")
	if err != nil {
		return nil, err
	}
	if kind != "ClusterConfiguration" {
		return nil, fmt.Errorf("%s: kind is %q, want ClusterConfiguration", cc.what(), kind)
	}
	cc.kindKey = kindKey
	apiVersion, _, err := cc.stringField(root, "apiVersion")
	if err != nil {
		return nil, err
	}
	list, ok := kubeadmAPIVersions[apiVersion]
	if !ok {
		return nil, fmt.Errorf("ClusterConfiguration: unknown apiVersion %q (mirrorctl supports %s/v1beta2, v1beta3, v1beta4 and v1)", apiVersion, kubeadmGroup)
	}
	cc.apiVersion, cc.list = apiVersion, list
	if root.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("%s: the document is in flow style (JSON); mirrorctl edits block-style YAML only", cc.what())
	}
	v, _, err := cc.stringField(root, "kubernetesVersion")
	if err != nil {
		return nil, err
	}
	cc.version = controllers.ParseVersion(v)
	return cc, nil
}

// field looks a key up in a mapping, refusing what would make the lookup ambiguous (yamledit.Lookup).
// It returns nil nodes when the key is absent.
func (cc *clusterConfig) field(m *yaml.Node, name string) (key, value *yaml.Node, err error) {
	key, value, err = yamledit.Lookup(m, name)
	var ne *yamledit.NodeError
	if errors.As(err, &ne) {
		return nil, nil, cc.nodeErr(ne.Node, "%s", ne.Msg)
	}
	return key, value, err
}

func (cc *clusterConfig) nodeErr(n *yaml.Node, format string, args ...any) error {
	what := "document"
	if cc.kindKey != nil || cc.configMap {
		what = cc.what()
	}
	return fmt.Errorf("%s: line %d: %s", what, cc.fileLine(n.Line), fmt.Sprintf(format, args...))
}

// stringField reads an optional string-valued key.
func (cc *clusterConfig) stringField(m *yaml.Node, name string) (string, *yaml.Node, error) {
	k, v, err := cc.field(m, name)
	if err != nil || k == nil {
		return "", nil, err
	}
	if v.Kind != yaml.ScalarNode {
		return "", nil, cc.nodeErr(k, "%s is not a string", name)
	}
	return v.Value, k, nil
}

// scalarLoc is where a single-line scalar's token sits: lines[line][start:end] (byte offsets).
type scalarLoc struct {
	line, start, end int
	style            yaml.Style
	flow             bool
}

// locate finds a scalar's token in the text and checks that the token says exactly the node's value,
// so that replacing those bytes replaces that value and nothing else.
func (cc *clusterConfig) locate(n *yaml.Node, flow bool) (scalarLoc, error) {
	if n.Kind != yaml.ScalarNode {
		return scalarLoc{}, cc.nodeErr(n, "not a scalar")
	}
	if n.Style&(yaml.TaggedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 || n.Anchor != "" {
		return scalarLoc{}, cc.nodeErr(n, "tagged, anchored or block scalars are not supported here; write the value on one line")
	}
	li := n.Line - 1
	if li < 0 || li >= len(cc.lines) {
		return scalarLoc{}, cc.nodeErr(n, "cannot locate the value")
	}
	start, end, err := yamledit.SpanInLine(trimEOL(cc.lines[li]), n, flow)
	switch {
	case errors.Is(err, yamledit.ErrUnlocated):
		return scalarLoc{}, cc.nodeErr(n, "cannot locate the value")
	case errors.Is(err, yamledit.ErrMultiLine):
		return scalarLoc{}, cc.nodeErr(n, "value spans several lines; write it on one line")
	case err != nil:
		return scalarLoc{}, cc.nodeErr(n, "value spans several lines or cannot be located; write it on one line")
	}
	return scalarLoc{line: li, start: start, end: end, style: n.Style, flow: flow}, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// indentStyle is how the file indents: the step of nested maps and the offset of a block
// sequence's dash from its key (0: "key:\n- a", as kubeadm and kubectl print).
type indentStyle struct{ step, seq int }

// detectIndent takes the first nested block map and block sequence found in the given documents.
func detectIndent(roots ...*yaml.Node) indentStyle {
	st := indentStyle{step: -1, seq: -1}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || (st.step >= 0 && st.seq >= 0) {
			return
		}
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > k.Line {
					switch {
					case v.Kind == yaml.MappingNode && st.step < 0 && v.Column > k.Column:
						st.step = v.Column - k.Column
					case v.Kind == yaml.SequenceNode && st.seq < 0 && v.Column >= k.Column:
						st.seq = v.Column - k.Column
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
	if st.step < 0 {
		st.step = 2
	}
	if st.seq < 0 {
		st.seq = 0
	}
	return st
}

// controllersEntry is one controllers value in extraArgs.
type controllersEntry struct {
	loc     scalarLoc
	entries []string
}

// argsLocation is what the ClusterConfiguration says about controllerManager.extraArgs: the existing
// controllers entries, or how to create one.
type argsLocation struct {
	values []controllersEntry
	create func(quoted string) []yamledit.LineEdit
}

func pad(n int) string { return strings.Repeat(" ", n) }

// entryLines writes a new controllers entry at column col: a map key or a list item.
func (cc *clusterConfig) entryLines(col int, quoted string, itemKeyOffset int) []string {
	if cc.list {
		// The item's keys line up with the existing items' keys ("-   name:" style included).
		itemKeyOffset = max(itemKeyOffset, 2)
		return []string{pad(col) + "-" + pad(itemKeyOffset-1) + "name: controllers", pad(col+itemKeyOffset) + "value: " + quoted}
	}
	return []string{pad(col) + "controllers: " + quoted}
}

// extraArgsLines writes "extraArgs:" at column col with one controllers entry under it.
func (cc *clusterConfig) extraArgsLines(col int, quoted string) []string {
	child := col + cc.style.step
	if cc.list {
		child = col + cc.style.seq
	}
	return append([]string{pad(col) + "extraArgs:"}, cc.entryLines(child, quoted, 2)...)
}

// keyCol is the byte column of a key node (indentation is spaces, so characters = bytes).
func keyCol(k *yaml.Node) int { return k.Column - 1 }

// emptyValue recognises a key whose value is empty: nothing, null/~, {} or []. It returns the edit that
// clears the value from the key's line (so block content can follow), or ok=false for a non-empty value.
func (cc *clusterConfig) emptyValue(k, v *yaml.Node) (clear *yamledit.LineEdit, ok bool, err error) {
	isNull := v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null"
	isEmptyFlow := (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0
	if !isNull && !isEmptyFlow {
		return nil, false, nil
	}
	kl, err := cc.locate(k, false)
	if err != nil {
		return nil, false, err
	}
	line := trimEOL(cc.lines[kl.line])
	i := kl.end
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i >= len(line) || line[i] != ':' {
		return nil, false, cc.nodeErr(k, "%s: the value must follow the key on the same line", k.Value)
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
		for _, tok := range []string{"null", "Null", "NULL", "~"} {
			if strings.HasPrefix(trimmed, tok) && (len(trimmed) == len(tok) || trimmed[len(tok)] == ' ' || trimmed[len(tok)] == '\t') {
				tokEnd = tokStart + len(tok)
			}
		}
	}
	if tokEnd < 0 {
		return nil, false, cc.nodeErr(k, "%s: cannot locate its empty value on the key's line", k.Value)
	}
	return &yamledit.LineEdit{Line: kl.line, Start: colon, End: tokEnd, Repl: ""}, true, nil
}

// blockChildren checks that a non-empty collection is in block style and starts below its key, so that
// lines can be inserted right after the key's line.
func (cc *clusterConfig) blockChildren(k, v *yaml.Node) error {
	if v.Style&yaml.FlowStyle != 0 || v.Style&yaml.TaggedStyle != 0 || v.Line <= k.Line {
		return cc.nodeErr(k, "%s is in flow style ({...} or [...]); mirrorctl edits block style only", k.Value)
	}
	return nil
}

// extraArgs finds controllerManager.extraArgs and its controllers entries.
func (cc *clusterConfig) extraArgs() (*argsLocation, error) {
	loc := &argsLocation{}
	insertAfter := func(line int, ls []string, clear *yamledit.LineEdit) []yamledit.LineEdit {
		edits := []yamledit.LineEdit{{Line: line, Insert: ls}}
		if clear != nil {
			edits = append(edits, *clear)
		}
		return edits
	}
	cmK, cmV, err := cc.field(cc.root, "controllerManager")
	if err != nil {
		return nil, err
	}
	if cmK == nil {
		// Right after "kind: ClusterConfiguration", at the top level's column.
		if _, err := cc.locate(cc.kindKey, false); err != nil {
			return nil, err
		}
		kv := cc.root.Content[slices.Index(cc.root.Content, cc.kindKey)+1]
		if _, err := cc.locate(kv, false); err != nil {
			return nil, err
		}
		col := keyCol(cc.kindKey)
		loc.create = func(q string) []yamledit.LineEdit {
			ls := append([]string{pad(col) + "controllerManager:"}, cc.extraArgsLines(col+cc.style.step, q)...)
			return insertAfter(cc.kindKey.Line-1, ls, nil)
		}
		return loc, nil
	}
	clear, empty, err := cc.emptyValue(cmK, cmV)
	if err != nil {
		return nil, err
	}
	if empty {
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(cmK.Line-1, cc.extraArgsLines(keyCol(cmK)+cc.style.step, q), clear)
		}
		return loc, nil
	}
	if cmV.Kind != yaml.MappingNode {
		return nil, cc.nodeErr(cmK, "controllerManager is not a map")
	}
	eaK, eaV, err := cc.field(cmV, "extraArgs")
	if err != nil {
		return nil, err
	}
	if eaK == nil {
		if err := cc.blockChildren(cmK, cmV); err != nil {
			return nil, err
		}
		col := keyCol(cmV.Content[0])
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(cmK.Line-1, cc.extraArgsLines(col, q), nil)
		}
		return loc, nil
	}
	clear, empty, err = cc.emptyValue(eaK, eaV)
	if err != nil {
		return nil, err
	}
	if empty {
		col := keyCol(eaK) + cc.style.step
		if cc.list {
			col = keyCol(eaK) + cc.style.seq
		}
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(eaK.Line-1, cc.entryLines(col, q, 2), clear)
		}
		return loc, nil
	}
	flow := eaV.Style&yaml.FlowStyle != 0
	if !cc.list {
		if eaV.Kind != yaml.MappingNode {
			return nil, cc.nodeErr(eaK, "controllerManager.extraArgs must be a map in %s", cc.apiVersion)
		}
		k, v, err := cc.field(eaV, "controllers")
		if err != nil {
			return nil, err
		}
		if k == nil {
			if err := cc.blockChildren(eaK, eaV); err != nil {
				return nil, err
			}
			col := keyCol(eaV.Content[0])
			loc.create = func(q string) []yamledit.LineEdit {
				return insertAfter(eaK.Line-1, cc.entryLines(col, q, 0), nil)
			}
			return loc, nil
		}
		e, err := cc.controllersValue(k, v, flow)
		if err != nil {
			return nil, err
		}
		loc.values = append(loc.values, e)
		return loc, nil
	}

	if eaV.Kind != yaml.SequenceNode {
		return nil, cc.nodeErr(eaK, "controllerManager.extraArgs must be a list of {name, value} in %s", cc.apiVersion)
	}
	for _, item := range eaV.Content {
		if item.Kind != yaml.MappingNode {
			return nil, cc.nodeErr(item, "controllerManager.extraArgs: an entry is not a {name, value} map")
		}
		itemFlow := flow || item.Style&yaml.FlowStyle != 0
		name, _, err := cc.stringField(item, "name")
		if err != nil {
			return nil, err
		}
		if name != "controllers" {
			continue
		}
		if mk, mv, err := cc.field(item, "mergeMethod"); err != nil {
			return nil, err
		} else if mk != nil && mv.Value != "" {
			return nil, cc.nodeErr(mk, "controllers entry with mergeMethod %q: mirrorctl writes the whole list; remove mergeMethod", mv.Value)
		}
		vk, vv, err := cc.field(item, "value")
		if err != nil {
			return nil, err
		}
		if vk == nil {
			return nil, cc.nodeErr(item, "controllers entry has no value")
		}
		e, err := cc.controllersValue(vk, vv, itemFlow)
		if err != nil {
			return nil, err
		}
		loc.values = append(loc.values, e)
	}
	if len(loc.values) == 0 {
		if err := cc.blockChildren(eaK, eaV); err != nil {
			return nil, err
		}
		dash := keyCol(eaV)
		first := eaV.Content[0]
		off := 2
		if first.Kind == yaml.MappingNode && first.Style&yaml.FlowStyle == 0 && first.Line == eaV.Line {
			off = keyCol(first) - dash
		}
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(eaK.Line-1, cc.entryLines(dash, q, off), nil)
		}
	}
	return loc, nil
}

func (cc *clusterConfig) controllersValue(k, v *yaml.Node, flow bool) (controllersEntry, error) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		return controllersEntry{}, cc.nodeErr(k, "controllers value is not a string")
	}
	l, err := cc.locate(v, flow)
	if err != nil {
		return controllersEntry{}, err
	}
	entries, err := controllers.Split(v.Value)
	if err != nil {
		return controllersEntry{}, cc.nodeErr(v, "controllerManager.extraArgs: %s", err.Error())
	}
	return controllersEntry{loc: l, entries: entries}, nil
}

// occurrences are the controllers values in the order kubeadm passes them to kube-controller-manager.
func (a *argsLocation) occurrences() [][]string {
	occ := make([][]string, len(a.values))
	for i, v := range a.values {
		occ[i] = v.entries
	}
	return occ
}

// checkOrder refuses duplicate v1beta4 entries whose meaning depends on the kubeadm release: 1.31 sorts
// duplicate arguments by value before writing the manifest; later releases keep the list's order.
func (cc *clusterConfig) checkOrder(a *argsLocation) error {
	if len(a.values) < 2 {
		return nil
	}
	occ := a.occurrences()
	sorted := slices.Clone(a.values)
	sort.SliceStable(sorted, func(i, j int) bool { return controllers.Join(sorted[i].entries) < controllers.Join(sorted[j].entries) })
	var occSorted [][]string
	for _, v := range sorted {
		occSorted = append(occSorted, v.entries)
	}
	if controllers.MirroringEnabled(controllers.Flatten(occ)) != controllers.MirroringEnabled(controllers.Flatten(occSorted)) {
		return fmt.Errorf("%s: line %d: %d controllers entries in controllerManager.extraArgs mean different things to different kubeadm releases (some sort them by value); merge them into one entry",
			cc.what(), cc.fileLine(a.values[0].loc.line+1), len(a.values))
	}
	return nil
}

func (cc *clusterConfig) state() (*KubeadmState, *argsLocation, error) {
	a, err := cc.extraArgs()
	if err != nil {
		return nil, nil, err
	}
	if err := cc.checkOrder(a); err != nil {
		return nil, nil, err
	}
	st := &KubeadmState{APIVersion: cc.apiVersion, Version: cc.version, ConfigMap: cc.configMap}
	st.Controllers = slices.Clone(KubeadmDefaultControllers)
	if len(a.values) > 0 {
		st.Set = true
		st.Controllers = append([]string{}, controllers.Flatten(a.occurrences())...)
	}
	st.Mirroring = controllers.MirroringEnabled(st.Controllers)
	return st, a, nil
}

// plan computes the edits for op: the new effective controllers list and whether anything changes.
func (cc *clusterConfig) plan(a *argsLocation, op controllers.Op, name string) ([]yamledit.LineEdit, []string, bool, error) {
	if len(a.values) == 0 {
		out, changed := controllers.Edit(op, [][]string{slices.Clone(KubeadmDefaultControllers)}, name)
		if !changed {
			return nil, nil, false, nil
		}
		value := controllers.Join(out[0])
		return a.create(yamledit.Render(yaml.DoubleQuotedStyle, value)), out[0], true, nil
	}
	occ := a.occurrences()
	out, changed := controllers.Edit(op, occ, name)
	if !changed {
		return nil, nil, false, nil
	}
	var edits []yamledit.LineEdit
	for i, v := range a.values {
		if slices.Equal(out[i], occ[i]) {
			continue
		}
		loc := v.loc
		edits = append(edits, yamledit.LineEdit{Line: loc.line, Start: loc.start, End: loc.end, Repl: yamledit.RenderIn(loc.style, controllers.Join(out[i]), loc.flow)})
	}
	return edits, controllers.Flatten(out), true, nil
}
