// Package patches holds the kubeadm ClusterConfiguration edits. Nothing here touches the file system.
package patches

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/yamledit"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// KubeadmDefaultControllers is what kubeadm writes when ClusterConfiguration sets no controllers.
// A controllers entry in extraArgs replaces it whole, so edits must start from it, unless the last
// entry (kubeadm v1) has a mergeMethod, which concatenates the entry's value with it.
var KubeadmDefaultControllers = []string{"*", "bootstrapsigner", "tokencleaner"}

// KubeadmState is what a kubeadm config says about kube-controller-manager's --controllers.
type KubeadmState struct {
	APIVersion  string              // "kubeadm.k8s.io/v1beta4"
	Version     controllers.Version // from ClusterConfiguration.kubernetesVersion (Known=false if absent/unparseable)
	Set         bool                // controllers is set in controllerManager.extraArgs
	Controllers []string            // effective list: the set value, or KubeadmDefaultControllers when not set
	Mirroring   bool                // controllers.MirroringEnabled(Controllers)
	ConfigMap   bool                // input was an exported kubeadm-config ConfigMap (data.ClusterConfiguration)
	// Line is the 1-based file line of the first controllers entry (its key; in a v1beta4/v1 list,
	// its name), 0 when Set is false: where lint points. It says where, not what, so the golden
	// state files leave it out.
	Line int `json:"-"`
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

// KubeadmConfig is a kubeadm config file (plain, possibly multi-document) or an exported kubeadm-config
// ConfigMap, parsed once: what it says about --controllers, and the edit of it.
type KubeadmConfig struct {
	data  []byte
	f     *yamledit.LineFile
	cc    *clusterConfig
	state *KubeadmState
	args  *argsLocation
}

// ParseKubeadmConfig parses a kubeadm config and locates its ClusterConfiguration.
func ParseKubeadmConfig(data []byte) (*KubeadmConfig, error) {
	f, err := yamledit.ParseLines(data, yamledit.Kubeadm)
	if err != nil {
		return nil, err
	}
	cc, err := findClusterConfiguration(f)
	if err != nil {
		return nil, err
	}
	st, args, err := cc.state()
	if err != nil {
		return nil, err
	}
	return &KubeadmConfig{data: data, f: f, cc: cc, state: st, args: args}, nil
}

// State is what the config says about --controllers.
func (k *KubeadmConfig) State() *KubeadmState { return k.state }

// ReadKubeadmConfig reads what a kubeadm config file (plain, possibly multi-document) or an exported
// kubeadm-config ConfigMap says about --controllers.
func ReadKubeadmConfig(data []byte) (*KubeadmState, error) {
	k, err := ParseKubeadmConfig(data)
	if err != nil {
		return nil, err
	}
	return k.State(), nil
}

// EditKubeadmConfig is ParseKubeadmConfig, then Edit.
func EditKubeadmConfig(data []byte, op controllers.Op, nameOverride string) (out []byte, after *KubeadmState, changed bool, err error) {
	return EditKubeadmConfigSelection(data, op, controllers.Selection{ControllerName: nameOverride})
}

// EditKubeadmConfigSelection is ParseKubeadmConfig, then EditSelection.
func EditKubeadmConfigSelection(data []byte, op controllers.Op, sel controllers.Selection) (out []byte, after *KubeadmState, changed bool, err error) {
	if op != controllers.Disable && op != controllers.Enable {
		return nil, nil, false, fmt.Errorf("unknown operation %q", op)
	}
	k, err := ParseKubeadmConfig(data)
	if err != nil {
		return nil, nil, false, err
	}
	return k.EditSelection(op, sel)
}

// Edit returns the new bytes (== the parsed bytes when unchanged) and the state after the edit.
// nameOverride "" = choose with controllers.NameFor(state.Version, "").
//
// Only the controllers value changes (or the lines that create it); every other byte of the input stays.
// A missing entry is created from KubeadmDefaultControllers, because kubeadm replaces its whole default
// with whatever extraArgs says. In v1beta4/v1 lists, several controllers entries become several
// --controllers flags, which kube-controller-manager concatenates; they are edited like repeated flags.
func (k *KubeadmConfig) Edit(op controllers.Op, nameOverride string) (out []byte, after *KubeadmState, changed bool, err error) {
	return k.EditSelection(op, controllers.Selection{ControllerName: nameOverride})
}

// EditSelection is Edit for every controller sel asks for (with Endpoints, the Endpoints controller
// too), the names chosen for the config's kubernetesVersion.
func (k *KubeadmConfig) EditSelection(op controllers.Op, sel controllers.Selection) (out []byte, after *KubeadmState, changed bool, err error) {
	if op != controllers.Disable && op != controllers.Enable {
		return nil, nil, false, fmt.Errorf("unknown operation %q", op)
	}
	cc, before := k.cc, k.state
	sw, err := sel.For(before.Version)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: kubernetesVersion: %w", cc.what(), err)
	}
	edits, wantList, changed, err := cc.plan(k.args, op, sw)
	if err != nil {
		return nil, nil, false, err
	}
	if !changed {
		return k.data, before, false, nil
	}

	newDoc := yamledit.ApplyLines(cc.doc.Lines, edits)
	if err := validateClusterConfiguration(cc.apiVersion, cc.doc.Text(), strings.Join(newDoc, "")); err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", cc.what(), err)
	}
	out = k.f.Bytes(yamledit.ApplyLines(k.f.Lines, cc.doc.ToFile(edits)))

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

// clusterConfig is a located ClusterConfiguration: its text as lines, where those lines sit in the
// file, and the parsed nodes.
type clusterConfig struct {
	doc       *yamledit.LineDoc
	configMap bool

	root       *yaml.Node
	apiVersion string
	list       bool // extraArgs is a list of {name, value}
	version    controllers.Version
	kindKey    *yaml.Node
	style      yamledit.Indentation

	// An embedded ClusterConfiguration (Cluster API) or controllerManager holder (k0sctl): the key
	// whose value is root, and the name errors give it. Both nil/"" for a kubeadm document.
	holderKey *yaml.Node
	label     string
	// missing are keys between root and controllerManager that do not exist yet (Cluster API's
	// clusterConfiguration when only kubeadmConfigSpec is there): created with it.
	missing []string
}

func (cc *clusterConfig) what() string {
	if cc.label != "" {
		return cc.label
	}
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
func (cc *clusterConfig) fileLine(docLine int) int { return cc.doc.FileLine(docLine) }

func findClusterConfiguration(f *yamledit.LineFile) (*clusterConfig, error) {
	var found []*clusterConfig
	var roots []*yaml.Node
	for _, d := range f.Docs {
		if d.Err != nil {
			return nil, d.Err
		}
		root := d.Root
		if root == nil || root.Kind != yaml.MappingNode {
			continue // empty or comment-only document, or no mapping
		}
		roots = append(roots, root)
		base := &clusterConfig{doc: d, root: root}
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
			cc, err := newClusterConfig(d, false)
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
		return nil, fmt.Errorf("%d ClusterConfiguration documents (lines %d and %d); kubeadm reads one", len(found), found[0].doc.FileLine(1), found[1].doc.FileLine(1))
	}
	cc := found[0]
	cc.style = yamledit.DetectIndent(append([]*yaml.Node{cc.root}, roots...)...)
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
	doc, err := base.doc.Block(key, v)
	var header *yamledit.BlockHeaderError
	var marker *yamledit.BlockMarkerError
	switch {
	case errors.Is(err, yamledit.ErrNotLiteral):
		return nil, fail("not a literal block scalar (|); mirrorctl edits the form kubectl prints")
	case errors.Is(err, yamledit.ErrHeaderUnlocated):
		return nil, fail("cannot locate the block scalar header")
	case errors.As(err, &header):
		return nil, fail("%s", header)
	case errors.Is(err, yamledit.ErrBlockEmpty):
		return nil, fail("block scalar is empty")
	case errors.Is(err, yamledit.ErrBlockUnmapped):
		return nil, fail("cannot map the block scalar's content to lines of the file")
	case errors.As(err, &marker):
		return nil, fmt.Errorf("ConfigMap data.ClusterConfiguration: %w", marker)
	case err != nil:
		return nil, err
	}
	if strings.TrimSpace(v.Value) == "" {
		return nil, fail("block scalar is empty")
	}
	rn, err := yaml.Parse(v.Value)
	if err != nil {
		return nil, fail("malformed YAML: %s", oneLine(err.Error()))
	}
	doc.Root = rn.YNode()
	if doc.Root == nil || doc.Root.Kind != yaml.MappingNode {
		return nil, fail("not a YAML map")
	}
	return newClusterConfig(doc, true)
}

func newClusterConfig(doc *yamledit.LineDoc, configMap bool) (*clusterConfig, error) {
	root := doc.Root
	cc := &clusterConfig{doc: doc, configMap: configMap, root: root}
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

// scalarLoc is where a single-line scalar's token sits in the document, and how it is written.
type scalarLoc struct {
	yamledit.LineSpan
	style yaml.Style
	flow  bool
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
	sp, err := cc.doc.Span(n, flow)
	switch {
	case errors.Is(err, yamledit.ErrUnlocated):
		return scalarLoc{}, cc.nodeErr(n, "cannot locate the value")
	case errors.Is(err, yamledit.ErrMultiLine):
		return scalarLoc{}, cc.nodeErr(n, "value spans several lines; write it on one line")
	case err != nil:
		return scalarLoc{}, cc.nodeErr(n, "value spans several lines or cannot be located; write it on one line")
	}
	return scalarLoc{LineSpan: sp, style: n.Style, flow: flow}, nil
}

// controllersEntry is one controllers value in extraArgs.
type controllersEntry struct {
	key     *yaml.Node // the controllers key, or in a list the entry's name key
	loc     scalarLoc
	entries []string // for a merged entry: the concatenation with kubeadm's default, as kcm reads it
	merge   string   // kubeadm v1 mergeMethod of the entry that merges with the default, "" otherwise
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
	child := col + cc.style.Step
	if cc.list {
		child = col + cc.style.Seq
	}
	return append([]string{pad(col) + "extraArgs:"}, cc.entryLines(child, quoted, 2)...)
}

// emptyValue recognises a key whose value is empty: nothing, null/~, {} or []. It returns the edit that
// clears the value from the key's line (so block content can follow), or ok=false for a non-empty value.
func (cc *clusterConfig) emptyValue(k, v *yaml.Node) (clear *yamledit.LineEdit, ok bool, err error) {
	if !yamledit.IsEmpty(v) {
		return nil, false, nil
	}
	kl, err := cc.locate(k, false)
	if err != nil {
		return nil, false, err
	}
	clear, ok, err = cc.doc.ClearEmpty(kl.LineSpan, v)
	if err != nil {
		return nil, false, cc.nodeErr(k, "%s: %s", k.Value, err)
	}
	return clear, ok, nil
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
	insertAfter := func(n *yaml.Node, ls []string, clear *yamledit.LineEdit) []yamledit.LineEdit {
		edits := []yamledit.LineEdit{cc.doc.InsertAfter(n, ls)}
		if clear != nil {
			edits = append(edits, *clear)
		}
		return edits
	}
	cmK, cmV, err := cc.field(cc.root, "controllerManager")
	if err != nil {
		return nil, err
	}
	if cc.missing != nil {
		cmK, cmV = nil, nil // root is the parent of the missing keys, not the ClusterConfiguration
	}
	if cmK == nil && cc.holderKey != nil {
		// An embedded mapping: below its key, at its children's column.
		clear, empty, err := cc.emptyValue(cc.holderKey, cc.root)
		if err != nil {
			return nil, err
		}
		col := yamledit.IndentOf(cc.holderKey) + cc.style.Step
		if !empty {
			if err := cc.blockChildren(cc.holderKey, cc.root); err != nil {
				return nil, err
			}
			col = yamledit.IndentOf(cc.root.Content[0])
		}
		loc.create = func(q string) []yamledit.LineEdit {
			var ls []string
			c := col
			for _, m := range cc.missing {
				ls = append(ls, pad(c)+m+":")
				c += cc.style.Step
			}
			ls = append(ls, pad(c)+"controllerManager:")
			ls = append(ls, cc.extraArgsLines(c+cc.style.Step, q)...)
			return insertAfter(cc.holderKey, ls, clear)
		}
		return loc, nil
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
		col := yamledit.IndentOf(cc.kindKey)
		loc.create = func(q string) []yamledit.LineEdit {
			ls := append([]string{pad(col) + "controllerManager:"}, cc.extraArgsLines(col+cc.style.Step, q)...)
			return insertAfter(cc.kindKey, ls, nil)
		}
		return loc, nil
	}
	clear, empty, err := cc.emptyValue(cmK, cmV)
	if err != nil {
		return nil, err
	}
	if empty {
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(cmK, cc.extraArgsLines(yamledit.IndentOf(cmK)+cc.style.Step, q), clear)
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
		col := yamledit.IndentOf(cmV.Content[0])
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(cmK, cc.extraArgsLines(col, q), nil)
		}
		return loc, nil
	}
	clear, empty, err = cc.emptyValue(eaK, eaV)
	if err != nil {
		return nil, err
	}
	if empty {
		col := yamledit.IndentOf(eaK) + cc.style.Step
		if cc.list {
			col = yamledit.IndentOf(eaK) + cc.style.Seq
		}
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(eaK, cc.entryLines(col, q, 2), clear)
		}
		return loc, nil
	}
	flow := eaV.Style&yaml.FlowStyle != 0
	if !cc.list {
		if eaV.Kind != yaml.MappingNode {
			return nil, cc.nodeErr(eaK, "controllerManager.extraArgs must be a map in %s", cc.apiVersion)
		}
		k, v, err := cc.field(eaV, controllers.FlagName)
		if err != nil {
			return nil, err
		}
		if k == nil {
			if flow {
				return cc.flowCreate(loc, eaV, func(q string) string { return "controllers: " + q })
			}
			if err := cc.blockChildren(eaK, eaV); err != nil {
				return nil, err
			}
			col := yamledit.IndentOf(eaV.Content[0])
			loc.create = func(q string) []yamledit.LineEdit {
				return insertAfter(eaK, cc.entryLines(col, q, 0), nil)
			}
			return loc, nil
		}
		e, err := cc.controllersValue(k, k, v, flow)
		if err != nil {
			return nil, err
		}
		loc.values = append(loc.values, e)
		return loc, nil
	}

	if eaV.Kind != yaml.SequenceNode {
		return nil, cc.nodeErr(eaK, "controllerManager.extraArgs must be a list of {name, value} in %s", cc.apiVersion)
	}
	var items []listItem
	for _, item := range eaV.Content {
		if item.Kind != yaml.MappingNode {
			return nil, cc.nodeErr(item, "controllerManager.extraArgs: an entry is not a {name, value} map")
		}
		name, nameKey, err := cc.stringField(item, "name")
		if err != nil {
			return nil, err
		}
		if name != controllers.FlagName {
			continue
		}
		merge, mk, err := cc.stringField(item, "mergeMethod")
		if err != nil {
			return nil, err
		}
		switch {
		case merge == "":
		case cc.apiVersion != kubeadmGroup+"/v1":
			// v1beta4's Arg has no mergeMethod: kubeadm drops the unknown field with a warning, so the
			// entry replaces the default after all; refusing is clearer than guessing what was meant.
			return nil, cc.nodeErr(mk, "controllers entry with mergeMethod %q: %s has no mergeMethod (kubeadm ignores it); remove it", merge, cc.apiVersion)
		case merge != "append" && merge != "prepend":
			return nil, cc.nodeErr(mk, "controllers entry with mergeMethod %q: kubeadm accepts append or prepend", merge)
		}
		vk, vv, err := cc.field(item, "value")
		if err != nil {
			return nil, err
		}
		if vk == nil {
			return nil, cc.nodeErr(item, "controllers entry has no value")
		}
		items = append(items, listItem{nameKey: nameKey, vk: vk, vv: vv, flow: flow || item.Style&yaml.FlowStyle != 0, merge: merge})
	}
	// kubeadm v1 (k8s.io/kubernetes@v1.37.2 cmd/kubeadm/app/util/arguments.go ArgumentsToCommand,
	// apis/kubeadm/argument.go MergeArgWithBase): the LAST controllers entry alone decides what happens
	// to kubeadm's default. With a mergeMethod the default's value becomes default+value (append) or
	// value+default (prepend), plain string concatenation, and stays among the sorted base arguments,
	// ahead of every override; with none the default is dropped. Every entry without a mergeMethod is
	// then passed as its own --controllers, in list order. An entry with a mergeMethod that is not the
	// last never reaches kube-controller-manager, so it is neither read nor edited.
	if n := len(items); n > 0 && items[n-1].merge != "" {
		last := items[n-1]
		e, err := cc.mergedValue(last)
		if err != nil {
			return nil, err
		}
		loc.values = append(loc.values, e)
	}
	for _, it := range items {
		if it.merge != "" {
			continue
		}
		e, err := cc.controllersValue(it.nameKey, it.vk, it.vv, it.flow)
		if err != nil {
			return nil, err
		}
		loc.values = append(loc.values, e)
	}
	if len(loc.values) == 0 && flow {
		return cc.flowCreate(loc, eaV, func(q string) string { return "{name: controllers, value: " + q + "}" })
	}
	if len(loc.values) == 0 {
		if err := cc.blockChildren(eaK, eaV); err != nil {
			return nil, err
		}
		dash := yamledit.IndentOf(eaV)
		first := eaV.Content[0]
		off := 2
		if first.Kind == yaml.MappingNode && first.Style&yaml.FlowStyle == 0 && first.Line == eaV.Line {
			off = yamledit.IndentOf(first) - dash
		}
		loc.create = func(q string) []yamledit.LineEdit {
			return insertAfter(eaK, cc.entryLines(dash, q, off), nil)
		}
	}
	return loc, nil
}

// flowCreate adds the controllers entry inside a one-line flow collection ("extraArgs: {a: b}"),
// on its line, rather than re-rendering it.
func (cc *clusterConfig) flowCreate(loc *argsLocation, coll *yaml.Node, entry func(quoted string) string) (*argsLocation, error) {
	if _, err := cc.doc.FlowAppend(coll, ""); err != nil {
		return nil, cc.nodeErr(coll, "extraArgs: %s", err)
	}
	loc.create = func(q string) []yamledit.LineEdit {
		e, _ := cc.doc.FlowAppend(coll, entry(q))
		return []yamledit.LineEdit{e}
	}
	return loc, nil
}

func (cc *clusterConfig) controllersValue(entry, k, v *yaml.Node, flow bool) (controllersEntry, error) {
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
	return controllersEntry{key: entry, loc: l, entries: entries}, nil
}

// listItem is a controllers entry of a v1beta4/v1 extraArgs list, before kubeadm's merge rules decide
// whether it reaches kube-controller-manager.
type listItem struct {
	nameKey, vk, vv *yaml.Node
	flow            bool
	merge           string
}

// kubeadmDefaultValue is the default as kubeadm spells it, the base a mergeMethod concatenates with.
var kubeadmDefaultValue = controllers.Join(KubeadmDefaultControllers)

// mergedValue reads the entry kubeadm merges with its default: the occurrence is the concatenation.
func (cc *clusterConfig) mergedValue(it listItem) (controllersEntry, error) {
	v := it.vv
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		return controllersEntry{}, cc.nodeErr(it.vk, "controllers value is not a string")
	}
	l, err := cc.locate(v, it.flow)
	if err != nil {
		return controllersEntry{}, err
	}
	merged := kubeadmDefaultValue + v.Value
	if it.merge == "prepend" {
		merged = v.Value + kubeadmDefaultValue
	}
	entries, err := controllers.Split(merged)
	if err != nil {
		return controllersEntry{}, cc.nodeErr(v, "controllerManager.extraArgs: with mergeMethod %s kubeadm passes --controllers=%s: %s", it.merge, merged, err.Error())
	}
	return controllersEntry{key: it.nameKey, loc: l, entries: entries, merge: it.merge}, nil
}

// unmerge is the value a merged entry must hold so that kubeadm's concatenation gives entries; ok=false
// when no value can, because the edit changed kubeadm's default part.
func unmerge(merge string, entries []string) (string, bool) {
	joined := controllers.Join(entries)
	if merge == "prepend" {
		return strings.CutSuffix(joined, kubeadmDefaultValue)
	}
	return strings.CutPrefix(joined, kubeadmDefaultValue)
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
	// The entry merged with kubeadm's default is a base argument, never sorted among the overrides.
	plain := slices.DeleteFunc(slices.Clone(a.values), func(v controllersEntry) bool { return v.merge != "" })
	if len(plain) < 2 {
		return nil
	}
	var occ [][]string
	for _, v := range plain {
		occ = append(occ, v.entries)
	}
	sorted := slices.Clone(plain)
	sort.SliceStable(sorted, func(i, j int) bool { return controllers.Join(sorted[i].entries) < controllers.Join(sorted[j].entries) })
	var occSorted [][]string
	for _, v := range sorted {
		occSorted = append(occSorted, v.entries)
	}
	if controllers.MirroringEnabled(controllers.Flatten(occ)) != controllers.MirroringEnabled(controllers.Flatten(occSorted)) {
		return fmt.Errorf("%s: line %d: %d controllers entries in controllerManager.extraArgs mean different things to different kubeadm releases (some sort them by value); merge them into one entry",
			cc.what(), cc.doc.SpanLine(plain[0].loc.LineSpan), len(plain))
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
		st.Line = cc.fileLine(a.values[0].key.Line)
		st.Controllers = append([]string{}, controllers.Flatten(a.occurrences())...)
	}
	st.Mirroring = controllers.MirroringEnabled(st.Controllers)
	return st, a, nil
}

// plan computes the edits for op: the new effective controllers list and whether anything changes.
func (cc *clusterConfig) plan(a *argsLocation, op controllers.Op, sw controllers.Switch) ([]yamledit.LineEdit, []string, bool, error) {
	if len(a.values) == 0 {
		out, changed := sw.Edit(op, [][]string{slices.Clone(KubeadmDefaultControllers)})
		if !changed {
			return nil, nil, false, nil
		}
		value := controllers.Join(out[0])
		return a.create(yamledit.Render(yaml.DoubleQuotedStyle, value)), out[0], true, nil
	}
	occ := a.occurrences()
	out, changed := sw.Edit(op, occ)
	if !changed {
		return nil, nil, false, nil
	}
	var edits []yamledit.LineEdit
	for i, v := range a.values {
		if slices.Equal(out[i], occ[i]) {
			continue
		}
		value := controllers.Join(out[i])
		if v.merge != "" {
			var ok bool
			value, ok = unmerge(v.merge, out[i])
			if n := len(out[i]); !ok && v.merge == "prepend" && n > 0 {
				// controllers.Edit adds its entry at the end, inside the default part. It adds one only
				// when no entry mentions the controller any more, so at the front it means the same;
				// the check below proves that rather than trusting it.
				// With --endpoints-controller it may have added two: move every trailing entry that
				// names a switched controller.
				k := n - 1
				for k > 0 && sw.Is(strings.TrimPrefix(out[i][k-1], "-")) {
					k--
				}
				moved := append(slices.Clone(out[i][k:]), out[i][:k]...)
				trial := slices.Clone(out)
				trial[i] = moved
				if value, ok = unmerge(v.merge, moved); ok && sw.Done(op, controllers.Flatten(trial)) {
					out[i] = moved
				} else {
					ok = false
				}
			}
			if !ok {
				return nil, nil, false, fmt.Errorf("%s: line %d: the edit changes kubeadm's default part (%s) of the controllers entry with mergeMethod %s, which no value of that entry can express; write the whole list without mergeMethod",
					cc.what(), cc.fileLine(v.key.Line), kubeadmDefaultValue, v.merge)
			}
		}
		loc := v.loc
		edits = append(edits, loc.Replace(yamledit.RenderIn(loc.style, value, loc.flow)))
	}
	return edits, controllers.Flatten(out), true, nil
}

// Embedded is a ClusterConfiguration-shaped mapping inside a document that is not a kubeadm config:
// Cluster API's KubeadmConfigSpec.clusterConfiguration, or k0s's ClusterConfig spec embedded in a
// k0sctl file. Both hold controllerManager.extraArgs as kubeadm does (a map, or with List a list of
// {name, value}), and both replace the default list whole with a controllers entry.
type Embedded struct {
	cc    *clusterConfig
	args  *argsLocation
	state *KubeadmState
	def   []string
}

// EmbeddedOptions describe the embedded mapping.
type EmbeddedOptions struct {
	What    string              // how errors name it: `KubeadmControlPlane "cp" (controlplane.cluster.x-k8s.io/v1beta2)`
	Version controllers.Version // the Kubernetes version it is for (unknown: the alias is written)
	// List: extraArgs is a list of {name, value} whose names are unique (Cluster API v1beta2), so one
	// controllers item at most.
	List bool
	// Default is the list kcm gets when extraArgs sets no controllers (KubeadmDefaultControllers when nil).
	Default []string
	// Roots are every document root of the file, for the indentation style of inserted lines.
	Roots []*yaml.Node
	// Missing are keys to create between the mapping given and controllerManager (the mapping is
	// then their parent): ["clusterConfiguration"] for a KubeadmConfigSpec without one.
	Missing []string
}

// ParseEmbedded reads the mapping held by key in doc.
func ParseEmbedded(doc *yamledit.LineDoc, key, m *yaml.Node, o EmbeddedOptions) (*Embedded, error) {
	if m == nil || (m.Kind != yaml.MappingNode && !yamledit.IsEmpty(m)) {
		return nil, fmt.Errorf("%s: line %d: %s is %s, not a map", o.What, doc.FileLine(key.Line), key.Value, yamledit.KindName(m))
	}
	def := o.Default
	if def == nil {
		def = KubeadmDefaultControllers
	}
	cc := &clusterConfig{doc: doc, root: m, list: o.List, version: o.Version, holderKey: key, label: o.What, apiVersion: o.What, missing: o.Missing}
	cc.style = yamledit.DetectIndent(append([]*yaml.Node{m}, o.Roots...)...)
	a, err := cc.extraArgs()
	if err != nil {
		return nil, err
	}
	if o.List && len(a.values) > 1 {
		return nil, fmt.Errorf("%s: line %d: %d controllers items in controllerManager.extraArgs; Cluster API requires unique names", o.What, cc.doc.SpanLine(a.values[1].loc.LineSpan), len(a.values))
	}
	st := &KubeadmState{Version: o.Version, Controllers: slices.Clone(def)}
	if len(a.values) > 0 {
		st.Set = true
		st.Line = cc.fileLine(a.values[0].key.Line)
		st.Controllers = append([]string{}, controllers.Flatten(a.occurrences())...)
	}
	st.Mirroring = controllers.MirroringEnabled(st.Controllers)
	return &Embedded{cc: cc, args: a, state: st, def: def}, nil
}

// State is what the embedded mapping says about --controllers.
func (e *Embedded) State() *KubeadmState { return e.state }

// Edit returns the edits of the file's lines for op with the controllers of sw, and the controllers
// list they give; changed is false when they are already as op wants.
func (e *Embedded) Edit(op controllers.Op, sw controllers.Switch) (edits []yamledit.LineEdit, after []string, changed bool, err error) {
	if len(e.args.values) == 0 {
		out, changed := sw.Edit(op, [][]string{slices.Clone(e.def)})
		if !changed {
			return nil, e.state.Controllers, false, nil
		}
		value := controllers.Join(out[0])
		return e.cc.doc.ToFile(e.args.create(yamledit.Render(yaml.DoubleQuotedStyle, value))), out[0], true, nil
	}
	le, want, changed, err := e.cc.plan(e.args, op, sw)
	if err != nil || !changed {
		return nil, e.state.Controllers, false, err
	}
	return e.cc.doc.ToFile(le), want, true, nil
}

// oneLine folds a decoder's or kubeadm's message onto one line.
func oneLine(s string) string { return yamledit.OneLine(s) }
