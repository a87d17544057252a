package distros

// kind: a kind node is a plain kubeadm node (detected by /kind/), so inside one the kubeadm adapter is
// the right one. This adapter edits a kind cluster config (--kind-config) so new clusters start with
// the change: a kubeadmConfigPatches entry for ClusterConfiguration setting controllerManager.extraArgs
// controllers to the whole list (kubeadm's default "*,bootstrapsigner,tokencleaner" is replaced by it).
//
// kind picks the kubeadm API by node version (kubernetes-sigs/kind pkg/cluster/internal/kubeadm/config.go):
// v1beta2 below 1.23, v1beta3 below 1.36, v1beta4 from 1.36, and applies a patch to a document when the
// kind matches and the patch's apiVersion is empty or equal (pkg/internal/patch/resource.go). v1beta4's
// extraArgs is a list of {name, value}; the older ones a map. The node version comes from
// --kind-node-version or the nodes' image tags; when neither says, kind's current default node image
// (v1.37, so v1beta4) is assumed and a warning says so.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

const (
	kindKind         = "kind-config"
	kindDefaultImage = "kindest/node:v1.37.0" // kind's default node image series at the time of writing
)

type kindAdapter struct{}

var _ = register(kindAdapter{})

func (kindAdapter) Name() string { return "kind" }

var (
	kindConfigInput = Input{Name: "kind-config", Kind: StringInput, File: true, Order: 30,
		Usage: "kind: cluster config `FILE` to edit"}
	kindNodeVersionInput = Input{Name: "kind-node-version", Kind: StringInput, Order: 30,
		Usage: "kind: Kubernetes `VERSION` of the node image (picks the kubeadm extraArgs shape)"}
)

func (kindAdapter) Inputs() []Input { return []Input{kindConfigInput, kindNodeVersionInput} }

// Activation: clusters created from the config get the change (`kind create cluster --config`).
func (kindAdapter) Activation() Activation { return Activation{Kind: Elsewhere} }

// Layout: the config lives on the operator's machine; inside a kind node the kubeadm adapter applies.
func (kindAdapter) Layout() Layout { return Layout{} }

// Detect finds nothing on purpose: a kind node (/kind/version) is a kubeadm node and auto-detection
// must pick the kubeadm adapter there; a kind cluster config lives with the user, given by flag.
func (kindAdapter) Detect(nodefs.Root) []string { return nil }

var kindConfig = configFile[*kindState]{input: kindConfigInput, kind: kindKind,
	missing: errors.New("kind: pass the cluster config with --kind-config FILE (inside a kind node, use --distro kubeadm)"),
	parse: func(o Options, data []byte) (*kindState, error) {
		return kindRead(data, o.String(kindNodeVersionInput))
	}}

func (kindAdapter) Targets(o Options) ([]Target, error) { return kindConfig.targets(o) }

// kindPatchDoc is a ClusterConfiguration document inside one kubeadmConfigPatches entry.
type kindPatchDoc struct {
	item   *yaml.Node     // the entry (a block scalar)
	where  string         // the entry's path, for messages
	inner  *yamledit.File // the entry's text
	doc    *yaml.Node
	api    string
	ctrl   *yaml.Node // the controllers value node (nil when unset)
	values []string
}

type kindState struct {
	yf        *yamledit.File
	root      *yaml.Node
	version   controllers.Version
	guessed   bool
	api       string
	docs      []*kindPatchDoc // applicable cluster-wide ClusterConfiguration patches, in order
	setter    *kindPatchDoc   // the last one that sets controllers
	eff       []string        // what the cluster-wide patches give
	nodes     []kindNode      // the control-plane nodes, each with what it gets
	patchSeq  *yaml.Node
	patchKey  *yaml.Node
	skipped   []string
	overrides []string // JSON 6902 patches that touch controllers on some control-plane node
}

// kindNode is one control-plane node of the config and the controllers its kube-controller-manager gets.
type kindNode struct {
	index    int           // in nodes (-1: the node kind creates when the config lists none)
	setter   *kindPatchDoc // its own last patch that sets controllers, applied after the cluster-wide ones
	eff      []string
	json6902 []string // JSON 6902 patches (cluster-wide or its own) that touch controllers: eff is unknown
}

func (n kindNode) name() string {
	if n.index < 0 {
		return "the default control-plane node"
	}
	return fmt.Sprintf("nodes[%d]", n.index)
}

func (st *kindState) kcmVersion() controllers.Version { return st.version }

func kindAPIFor(v controllers.Version) string {
	switch {
	case v.Known && !v.AtLeast(1, 23):
		return "kubeadm.k8s.io/v1beta2"
	case v.Known && !v.AtLeast(1, 36):
		return "kubeadm.k8s.io/v1beta3"
	}
	return "kubeadm.k8s.io/v1beta4"
}

func kindRead(data []byte, nodeVersion string) (*kindState, error) {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return nil, err
	}
	if len(yf.Docs) != 1 || yf.Docs[0] == nil || yf.Docs[0].Kind != yaml.MappingNode {
		return nil, errors.New("want one kind Cluster document")
	}
	st := &kindState{yf: yf, root: yf.Docs[0]}
	if _, k := yamledit.Get(st.root, "kind"); k == nil || k.Value != "Cluster" {
		return nil, errors.New("kind: want Cluster (a kind cluster config)")
	}
	// The node version: given, or the control-plane nodes' image tags.
	if nodeVersion != "" {
		st.version = controllers.ParseVersion(nodeVersion)
		if !st.version.Known {
			return nil, fmt.Errorf("kind node version %q is not a Kubernetes version", nodeVersion)
		}
	} else {
		_, nodes := yamledit.Get(st.root, "nodes")
		var seen []string
		if nodes != nil && nodes.Kind == yaml.SequenceNode {
			for _, n := range nodes.Content {
				_, role := yamledit.Get(n, "role")
				_, img := yamledit.Get(n, "image")
				if img == nil || (role != nil && role.Value != "control-plane") {
					continue
				}
				v := controllers.ImageVersion(img.Value)
				if v.Known {
					if st.version.Known && v != st.version {
						return nil, fmt.Errorf("nodes: control-plane images differ in version (%s and %s); pass --kind-node-version", st.version, v)
					}
					st.version = v
					seen = append(seen, img.Value)
				}
			}
		}
		if !st.version.Known {
			st.version, st.guessed = controllers.ImageVersion(kindDefaultImage), true
		}
	}
	st.api = kindAPIFor(st.version)

	st.patchKey, st.patchSeq = yamledit.Get(st.root, "kubeadmConfigPatches")
	if st.docs, st.setter, err = st.readPatches(st.patchSeq, "kubeadmConfigPatches"); err != nil {
		return nil, err
	}
	st.eff = patches.KubeadmDefaultControllers
	if st.setter != nil {
		st.eff = st.setter.values
	}
	cluster6902 := kindJSON6902Setters(st.root, "")
	// kind applies each node's own kubeadmConfigPatches after the cluster-wide ones (kind@v0.30.0
	// pkg/cluster/internal/create/actions/config/config.go getKubeadmConfig), so on a node whose own
	// ClusterConfiguration patch sets controllers, that value is what its kube-controller-manager gets.
	// Only control-plane nodes run kube-controller-manager; kind's default role is control-plane.
	_, nodes := yamledit.Get(st.root, "nodes")
	if nodes != nil && nodes.Kind == yaml.SequenceNode {
		for i, n := range nodes.Content {
			if _, role := yamledit.Get(n, "role"); role != nil && role.Value != "control-plane" {
				continue
			}
			kn := kindNode{index: i, eff: st.eff, json6902: append(append([]string{}, cluster6902...), kindJSON6902Setters(n, fmt.Sprintf("nodes[%d].", i))...)}
			_, np := yamledit.Get(n, "kubeadmConfigPatches")
			if _, kn.setter, err = st.readPatches(np, fmt.Sprintf("nodes[%d].kubeadmConfigPatches", i)); err != nil {
				return nil, err
			}
			if kn.setter != nil {
				kn.eff = kn.setter.values
			}
			st.nodes = append(st.nodes, kn)
		}
	}
	if len(st.nodes) == 0 {
		st.nodes = []kindNode{{index: -1, eff: st.eff, json6902: cluster6902}} // no nodes: kind creates one control-plane node
	}
	for _, n := range st.nodes {
		for _, w := range n.json6902 {
			if !slices.Contains(st.overrides, w) {
				st.overrides = append(st.overrides, w)
			}
		}
	}
	return st, nil
}

// kindJSON6902Setters lists the JSON 6902 patches of a config or node (prefix names it) that touch
// controllers in the ClusterConfiguration. kind applies them after the merge patches of the same level
// (pkg/internal/patch KubeYAML); mirrorctl does not evaluate JSON patches, so with one of them the state
// cannot be told.
func kindJSON6902Setters(m *yaml.Node, prefix string) []string {
	var out []string
	if _, j := yamledit.Get(m, "kubeadmConfigPatchesJSON6902"); j != nil && j.Kind == yaml.SequenceNode {
		for i, it := range j.Content {
			_, k := yamledit.Get(it, "kind")
			_, patch := yamledit.Get(it, "patch")
			if k != nil && k.Value == "ClusterConfiguration" && patch != nil && strings.Contains(patch.Value, controllers.FlagName) {
				out = append(out, fmt.Sprintf("%skubeadmConfigPatchesJSON6902[%d]", prefix, i))
			}
		}
	}
	return out
}

// readPatches reads a kubeadmConfigPatches list: the ClusterConfiguration patches kind applies for the
// node version, in order, and the last one that sets controllers.
func (st *kindState) readPatches(seq *yaml.Node, where string) (docs []*kindPatchDoc, setter *kindPatchDoc, err error) {
	if seq == nil || yamledit.IsNull(seq) {
		return nil, nil, nil
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s: is %s; want a list of YAML strings", where, yamledit.KindName(seq))
	}
	for i, it := range seq.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, nil, fmt.Errorf("%s[%d]: is %s; want a YAML string", where, i, yamledit.KindName(it))
		}
		inner, err := yamledit.Parse([]byte(it.Value), yamledit.ConfigFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s[%d]: %w", where, i, err)
		}
		for _, d := range inner.DocsOfKind("ClusterConfiguration") {
			pd := &kindPatchDoc{item: it, inner: inner, doc: d, where: fmt.Sprintf("%s[%d]", where, i)}
			if _, a := yamledit.Get(d, "apiVersion"); a != nil {
				pd.api = a.Value
			}
			if pd.api != "" && pd.api != st.api {
				st.skipped = append(st.skipped, fmt.Sprintf("%s (%s)", pd.where, pd.api))
				continue
			}
			at := pd.where + ": controllerManager.extraArgs"
			_, cm := yamledit.Get(d, "controllerManager")
			_, extra := yamledit.Get(cm, "extraArgs")
			switch {
			case extra == nil || yamledit.IsNull(extra):
			case extra.Kind == yaml.MappingNode:
				_, pd.ctrl = yamledit.Get(extra, controllers.FlagName)
			case extra.Kind == yaml.SequenceNode:
				for _, a := range extra.Content {
					_, n := yamledit.Get(a, "name")
					_, v := yamledit.Get(a, "value")
					if n != nil && n.Value == controllers.FlagName && v != nil {
						pd.ctrl = v
					}
				}
			default:
				return nil, nil, fmt.Errorf("%s: is %s", at, yamledit.KindName(extra))
			}
			if pd.ctrl != nil {
				if pd.ctrl.Kind != yaml.ScalarNode {
					return nil, nil, fmt.Errorf("%s: controllers is %s; want a string", at, yamledit.KindName(pd.ctrl))
				}
				if pd.values, err = controllers.Split(pd.ctrl.Value); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", at, err)
				}
				setter = pd
			}
			docs = append(docs, pd)
		}
	}
	return docs, setter, nil
}

// listShape says whether a patch document's extraArgs is a v1beta4 list.
func (st *kindState) listShape(pd *kindPatchDoc) bool {
	_, cm := yamledit.Get(pd.doc, "controllerManager")
	_, extra := yamledit.Get(cm, "extraArgs")
	switch {
	case extra != nil && extra.Kind == yaml.SequenceNode:
		return true
	case extra != nil && extra.Kind == yaml.MappingNode:
		return false
	case pd.api != "":
		return pd.api == "kubeadm.k8s.io/v1beta4" || pd.api == "kubeadm.k8s.io/v1"
	}
	return st.api == "kubeadm.k8s.io/v1beta4"
}

// kindArgLines renders controllers in a shape, relative to extraArgs' children.
func kindArgLines(list bool, value string) []string {
	if list {
		return []string{"- name: controllers", "  value: " + yamledit.Render(yaml.DoubleQuotedStyle, value)}
	}
	return []string{"controllers: " + yamledit.Render(yaml.DoubleQuotedStyle, value)}
}

// innerEdits computes the edits of one patch document's text.
func (st *kindState) innerEdits(pd *kindPatchDoc, value string) ([]yamledit.Splice, error) {
	in := pd.inner
	if pd.ctrl != nil {
		s, err := in.SetScalar(pd.ctrl, value, false)
		if err != nil {
			return nil, err
		}
		return []yamledit.Splice{s}, nil
	}
	list := st.listShape(pd)
	cmKey, cm := yamledit.Get(pd.doc, "controllerManager")
	if cmKey == nil {
		lines := []string{"controllerManager:", "  extraArgs:"}
		for _, l := range kindArgLines(list, value) {
			lines = append(lines, "    "+l)
		}
		return in.InsertInto("controllerManager", nil, pd.doc, lines)
	}
	exKey, extra := yamledit.Get(cm, "extraArgs")
	if exKey == nil {
		lines := []string{"extraArgs:"}
		for _, l := range kindArgLines(list, value) {
			lines = append(lines, "  "+l)
		}
		return in.InsertInto("controllerManager", cmKey, cm, lines)
	}
	if extra.Kind == yaml.SequenceNode && len(extra.Content) > 0 {
		s, err := in.AppendToSeq(extra, kindArgLines(true, value))
		if err != nil {
			return nil, err
		}
		return []yamledit.Splice{s}, nil
	}
	if list {
		return nil, errors.New("controllerManager.extraArgs: an empty list; write the controllers item yourself")
	}
	return in.InsertInto("controllerManager.extraArgs", exKey, extra, kindArgLines(false, value))
}

// spliceBlock maps an edit of a block scalar's text back onto the file: the changed lines are replaced,
// indented like the block.
func (st *kindState) spliceBlock(item *yaml.Node, oldText, newText string) (yamledit.Splice, error) {
	s, err := st.yf.ReplaceBlockLines(item, oldText, newText)
	switch {
	case errors.Is(err, yamledit.ErrNotLiteral):
		return s, errors.New("the ClusterConfiguration patch is not a literal block (|); write it as one")
	case errors.Is(err, yamledit.ErrBlockUnmapped):
		return s, errors.New("cannot map the patch text to the file; write it as a plain literal block")
	case errors.Is(err, yamledit.ErrBlockEmpty):
		return s, errors.New("the patch is empty")
	}
	return s, err
}

// patchEdit sets controllers in one kubeadmConfigPatches entry, mapped back onto the file.
func (st *kindState) patchEdit(pd *kindPatchDoc, value string) (yamledit.Splice, error) {
	inner, err := st.innerEdits(pd, value)
	if err != nil {
		return yamledit.Splice{}, err
	}
	newText, err := yamledit.Apply(pd.inner.Data, inner)
	if err != nil {
		return yamledit.Splice{}, err
	}
	return st.spliceBlock(pd.item, string(pd.inner.Data), string(newText))
}

// clusterEdits sets controllers cluster-wide: in the last patch that sets it, else the last
// ClusterConfiguration patch, else a new entry.
func (st *kindState) clusterEdits(value string) ([]yamledit.Splice, error) {
	target := st.setter
	if target == nil && len(st.docs) > 0 {
		target = st.docs[len(st.docs)-1]
	}
	if target != nil {
		s, err := st.patchEdit(target, value)
		if err != nil {
			return nil, fmt.Errorf("kubeadmConfigPatches: %w", err)
		}
		return []yamledit.Splice{s}, nil
	}
	lines := []string{"- |", "  kind: ClusterConfiguration", "  controllerManager:", "    extraArgs:"}
	for _, l := range kindArgLines(st.api == "kubeadm.k8s.io/v1beta4", value) {
		lines = append(lines, "      "+l)
	}
	switch {
	case st.patchSeq != nil && st.patchSeq.Kind == yaml.SequenceNode && len(st.patchSeq.Content) > 0:
		s, err := st.yf.AppendToSeq(st.patchSeq, lines)
		if err != nil {
			return nil, err
		}
		return []yamledit.Splice{s}, nil
	case st.patchKey != nil:
		return st.yf.InsertInto("kubeadmConfigPatches", st.patchKey, nil, lines)
	}
	return st.yf.InsertInto("", nil, st.root, append([]string{"kubeadmConfigPatches:"}, lines...))
}

func (a kindAdapter) Plan(o Options) (*change.Plan, error) {
	f, st, sw, err := kindConfig.readForPlan(o)
	if err != nil {
		return nil, err
	}
	path := f.Path
	if len(st.overrides) > 0 {
		return nil, fmt.Errorf("%s: %s set controllers through JSON 6902 patches, which kind applies after kubeadmConfigPatches and mirrorctl does not evaluate; put the value in a kubeadmConfigPatches entry instead", path, strings.Join(st.overrides, ", "))
	}
	want := o.Op == controllers.Enable
	p := &change.Plan{Distro: "kind", Op: o.Op, Mirroring: change.StateOf(want), Version: st.version}
	out := f.Data
	var edits []yamledit.Splice
	// The cluster-wide patches matter only for the control-plane nodes that have no controllers of
	// their own; each node's own patch is edited where it sets controllers, keeping its other entries
	// (a CNI's -nodeipam).
	usesCluster := false
	for _, n := range st.nodes {
		usesCluster = usesCluster || n.setter == nil
	}
	if occ, changed := sw.Edit(o.Op, [][]string{st.eff}); usesCluster && changed {
		value := controllers.Join(occ[0])
		s, err := st.clusterEdits(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		edits = append(edits, s...)
		if st.setter == nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: controllers replaces kubeadm's default, so the whole list is written (%s)", path, value))
		}
	}
	for _, n := range st.nodes {
		if n.setter == nil {
			continue
		}
		if occ, changed := sw.Edit(o.Op, [][]string{n.eff}); changed {
			s, err := st.patchEdit(n.setter, controllers.Join(occ[0]))
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, n.setter.where, err)
			}
			edits = append(edits, s)
		}
	}
	if len(edits) > 0 {
		if out, err = yamledit.Apply(f.Data, edits); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		after, err := kindConfig.reparse(o, path, out)
		if err != nil {
			return nil, err
		}
		for _, n := range after.nodes {
			if !sw.Done(o.Op, n.eff) {
				return nil, fmt.Errorf("%s: internal error: the edit does not give the wanted state on %s", path, n.name())
			}
		}
		if len(after.nodes) > 0 {
			p.Endpoints = endpointsAfter(o, after.nodes[0].eff)
		}
	} else if len(st.nodes) > 0 {
		p.Endpoints = endpointsAfter(o, st.nodes[0].eff)
	}
	p.Files = []change.FileChange{{Path: path, Kind: kindKind, Before: f, After: out}}
	if st.guessed {
		p.Warnings = append(p.Warnings, fmt.Sprintf("no node image in %s and no --kind-node-version: assuming kind's default node image (%s, kubeadm %s); pass --kind-node-version when `kind create cluster --image` picks another", path, kindDefaultImage, st.api))
	}
	for _, n := range st.nodes {
		if n.setter != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: %s sets controllers for %s (kind applies it after the cluster-wide patches, so it decides there): that is where it is changed", path, n.setter.where, n.name()))
		}
	}
	if len(st.skipped) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: %s not used for Kubernetes %s (kind uses %s there) and left alone", path, strings.Join(st.skipped, ", "), st.version, st.api))
	}
	p.Notes = append(p.Notes,
		"takes effect for clusters created from this config: `kind create cluster --config "+path+"`",
		"for a running kind cluster, run mirrorctl with --distro kubeadm inside each control-plane node container")
	return p, nil
}

// Status reports what each control-plane node's kube-controller-manager gets: the cluster-wide value, or
// the node's own patch where it sets controllers.
func (kindAdapter) Status(o Options) (*change.Status, error) {
	f, st, err := kindConfig.read(o)
	if err != nil {
		return nil, err
	}
	s := &change.Status{Distro: "kind"}
	for _, n := range st.nodes {
		fs := kindConfig.status(f.Path, n.eff, st.version)
		switch {
		case n.setter != nil:
			fs.Note = n.name() + ": its own " + n.setter.where
		case st.setter != nil:
			fs.Note = n.name() + ": " + st.setter.where
		default:
			fs.Note = n.name() + ": controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
		}
		if st.guessed {
			fs.Version = "unknown"
		}
		if len(n.json6902) > 0 {
			fs.Mirroring = change.Unknown
			fs.Note += "; " + strings.Join(n.json6902, ", ") + " set controllers (JSON 6902, not evaluated)"
		}
		s.Files = append(s.Files, fs)
	}
	s.Summarize()
	if s.Mirroring == change.Mixed {
		s.Warnings = append(s.Warnings, f.Path+": the control-plane nodes disagree (a node's own kubeadmConfigPatches set controllers)")
	}
	return s, nil
}

// clusterVersion is the node image version every node of the cluster this config creates runs; kind's
// default image when the config names none is a guess, not a version the cluster is known to run.
func (kindAdapter) clusterVersion(o Options) (controllers.Version, string, error) {
	f, st, err := kindConfig.read(o)
	if err != nil {
		return controllers.Version{}, "", err
	}
	if st.guessed {
		return controllers.Version{}, fmt.Sprintf("%s names no node image and --kind-node-version is not given", f.Path), nil
	}
	return st.version, "the node image version of " + f.Path, nil
}
