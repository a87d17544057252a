package distros

// kops renders kube-controller-manager's flags from the cluster spec: spec.kubeControllerManager.controllers
// (a list). When it is empty kops fills it (kubernetes/kops pkg/model/components/kubecontrollermanager.go):
// nothing (kcm's "*") normally, "*","-nodeipam" when kops-controller does IPAM, i.e. on IPv6-only
// clusters (nonMasqueradeCIDR is IPv6). Writing the list replaces that default, so the default is
// written too. The spec file is given with --kops-spec.
//
// On a kops control-plane node, nodeup writes kcm's static pod as
// /etc/kubernetes/manifests/kube-controller-manager.manifest from that spec (k8s.io/kops@v1.30.0
// nodeup/pkg/model/kube_controller_manager.go), so an edit there lasts until nodeup runs again or the
// machine is replaced. Without --kops-spec such a node is detected, and a change is refused with the
// spec change to make (nodemanager.go); --i-understand-node-is-managed edits the manifest anyway.

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

const kopsKind = "kops-cluster-spec"

type kops struct{}

var _ = register(kops{})

func (kops) Name() string { return "kops" }

var kopsSpecInput = Input{Name: "kops-spec", Kind: StringInput, File: true, Order: 50, Usage: "kops: cluster spec `FILE` to edit"}

func (kops) Inputs() []Input { return []Input{kopsSpecInput, ManagedNodeInput} }

// KopsNodeManifest is the kcm static pod nodeup writes on a kops control-plane node.
const KopsNodeManifest = KubeadmManifestsDir + "/kube-controller-manager.manifest"

const kopsNodeKind = "kops-node-manifest"

// kopsNode says whether o is about a kops node's manifest rather than a cluster spec file.
func kopsNode(o Options) bool {
	return o.String(kopsSpecInput) == "" && kopsNodeEvidence(o.Root) != nil
}

func kopsNodeEvidence(r nodefs.Root) []string {
	// Lstat, as for kubeadm: a broken link there is still a kops node, and Plan names the problem.
	if _, err := os.Lstat(r.Host(KopsNodeManifest)); err == nil {
		return []string{KopsNodeManifest}
	}
	return nil
}

// Activation: `kops update cluster --yes` and a rolling update apply the spec.
func (kops) Activation() Activation { return Activation{Kind: Elsewhere} }

// Layout: the change takes effect elsewhere (the cluster spec). The folder nodeup's manifest sits in is
// kubeadm's, which kubeadm's layout already names for the callers that must avoid it.
func (kops) Layout() Layout { return Layout{} }

// Detect finds a kops control-plane node by nodeup's kcm manifest; the cluster spec itself lives with
// the operator (--kops-spec).
func (kops) Detect(r nodefs.Root) []string { return kopsNodeEvidence(r) }

var kopsSpec = configFile[*kopsState]{input: kopsSpecInput, kind: kopsKind,
	missing: errors.New("kops: pass the cluster spec with --kops-spec FILE (`kops get cluster NAME -o yaml > FILE`)"),
	parse:   func(_ Options, data []byte) (*kopsState, error) { return kopsRead(data) }}

func (kops) Targets(o Options) ([]Target, error) {
	if kopsNode(o) {
		return []Target{{Path: KopsNodeManifest, Kind: kopsNodeKind}}, nil
	}
	return kopsSpec.targets(o)
}

// kopsManager is kops with the cluster spec change: the whole controllers list (none when empty: a
// status names the manager only).
func kopsManager(entries []string) *change.NodeManager {
	m := &change.NodeManager{Name: "kops", Evidence: []string{KopsNodeManifest},
		SourceOfTruth: "the kops cluster spec (spec.kubeControllerManager.controllers)"}
	if len(entries) == 0 {
		return m
	}
	m.Change = []string{
		"in the cluster spec (`kops edit cluster NAME`, or `kops get cluster NAME -o yaml > cluster.yaml` and `mirrorctl disable --kops-spec cluster.yaml`), the whole list (it replaces kops's default):",
		"spec:",
		"  kubeControllerManager:",
		"    controllers:",
	}
	for _, e := range entries {
		m.Change = append(m.Change, "    - "+yamledit.Render(yaml.DoubleQuotedStyle, e))
	}
	m.Change = append(m.Change, "then `kops update cluster NAME --yes` and `kops rolling-update cluster NAME --yes` (control-plane machines are replaced); a spec kept in Git: `mirrorctl disable -f FILE` edits the file")
	return m
}

// nodePlan edits nodeup's manifest on a kops node; refused unless the operator overrides it.
func (kops) nodePlan(o Options) (*change.Plan, error) {
	f, m, err := readManifest(o.reads(), KopsNodeManifest)
	if err != nil {
		return nil, err
	}
	sw, err := o.Switch(m.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KopsNodeManifest, err)
	}
	after, _, err := m.EditedSwitch(o.Op, sw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KopsNodeManifest, err)
	}
	eff, err := after.Effective()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KopsNodeManifest, err)
	}
	p := &change.Plan{Distro: "kops", Op: o.Op, Version: m.Version, Mirroring: change.StateOf(controllers.MirroringEnabled(eff)),
		Files: []change.FileChange{{Path: KopsNodeManifest, Kind: kopsNodeKind, Before: f, After: after.Bytes()}}}
	p.Endpoints = endpointsAfter(o, eff)
	p.Notes = append(p.Notes,
		"the kubelet restarts kube-controller-manager from the new manifest within about 20 seconds",
		"kube-controller-manager uses leader election: make the same change on every control-plane node")
	if err := guardManaged(o, p, kopsManager(eff)); err != nil {
		return nil, err
	}
	return p, nil
}

func (kops) nodeStatus(o Options) (*change.Status, error) {
	_, m, err := readManifest(o.reads(), KopsNodeManifest)
	if err != nil {
		return nil, err
	}
	eff, err := m.Effective()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KopsNodeManifest, err)
	}
	fs := effectiveStatus(KopsNodeManifest, kopsNodeKind, eff, m.Version)
	fs.Controllers = manifestValue(m, eff)
	s := oneFileStatus("kops", fs)
	statusManaged(s, kopsManager(nil))
	return s, nil
}

type kopsState struct {
	yf       *yamledit.File
	doc      *yaml.Node // the Cluster document
	kcmKey   *yaml.Node
	kcm      *yaml.Node
	ctrlKey  *yaml.Node
	ctrl     *yaml.Node // the controllers list (nil when unset)
	list     []string   // effective
	set      bool
	ipv6Only bool
	version  controllers.Version
}

func (st *kopsState) kcmVersion() controllers.Version { return st.version }

func kopsRead(data []byte) (*kopsState, error) {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return nil, err
	}
	st := &kopsState{yf: yf}
	// `kops get cluster -o yaml` may print InstanceGroups too: pick the Cluster document, else a bare
	// spec, as in the kops docs.
	if docs := yf.DocsOfKind("Cluster"); len(docs) > 0 {
		st.doc = docs[0]
	} else {
		for _, d := range yf.DocsOfKind("") {
			if _, spec := yamledit.Get(d, "spec"); spec != nil {
				st.doc = d
				break
			}
		}
	}
	if st.doc == nil {
		return nil, errors.New("no kops Cluster document (kind: Cluster with a spec)")
	}
	_, spec := yamledit.Get(st.doc, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("spec: is %s; want a mapping", yamledit.KindName(spec))
	}
	st.kcmKey, st.kcm = yamledit.Get(spec, "kubeControllerManager")
	if st.kcm != nil && !yamledit.IsNull(st.kcm) && st.kcm.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("spec.kubeControllerManager: is %s; want a mapping", yamledit.KindName(st.kcm))
	}
	st.ctrlKey, st.ctrl = yamledit.Get(st.kcm, controllers.FlagName)
	if st.ctrl != nil && !yamledit.IsNull(st.ctrl) {
		if st.ctrl.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("spec.kubeControllerManager.controllers: is %s; want a list", yamledit.KindName(st.ctrl))
		}
		items, err := yamledit.Strings("spec.kubeControllerManager.controllers", st.ctrl)
		if err != nil {
			return nil, err
		}
		// kops joins the list with "," into one --controllers flag.
		entries, err := controllers.Split(strings.Join(items, ","))
		if err != nil {
			return nil, fmt.Errorf("spec.kubeControllerManager.controllers: %w", err)
		}
		st.list, st.set = entries, len(entries) > 0
	}
	for _, p := range [][]string{{"networking", "nonMasqueradeCIDR"}, {"nonMasqueradeCIDR"}} {
		_, n := yamledit.Get(spec, p[0])
		if len(p) == 2 {
			_, n = yamledit.Get(n, p[1])
		}
		if n != nil && strings.Contains(n.Value, ":") {
			st.ipv6Only = true
		}
	}
	if !st.set {
		st.list = []string{"*"}
		if st.ipv6Only {
			st.list = append(st.list, "-nodeipam")
		}
	}
	if _, v := yamledit.Get(spec, "kubernetesVersion"); v != nil {
		st.version = controllers.ParseVersion(v.Value)
	}
	return st, nil
}

func (a kops) Plan(o Options) (*change.Plan, error) {
	if kopsNode(o) {
		return a.nodePlan(o)
	}
	f, st, sw, err := kopsSpec.readForPlan(o)
	if err != nil {
		return nil, err
	}
	path := f.Path
	p := &change.Plan{Distro: "kops", Op: o.Op, Version: st.version}
	outOcc, changed := sw.Edit(o.Op, [][]string{st.list})
	out := f.Data
	if changed {
		items := outOcc[0]
		var edits []yamledit.Splice
		switch {
		case st.ctrl != nil && !yamledit.IsNull(st.ctrl):
			edits, err = st.yf.SetStringList("spec.kubeControllerManager.controllers", st.ctrl, items)
		default:
			lines := []string{"controllers:"}
			for _, it := range items {
				lines = append(lines, "- "+yamledit.Render(yaml.DoubleQuotedStyle, it))
			}
			edits, err = kopsInsert(st, lines)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if out, err = yamledit.Apply(f.Data, edits); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !st.set {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: spec.kubeControllerManager.controllers replaces kops's default, so the whole list is written (%s)", path, strings.Join(items, ",")))
		}
	}
	after, err := kopsSpec.reparse(o, path, out)
	if err != nil {
		return nil, err
	}
	p.Mirroring = change.StateOf(controllers.MirroringEnabled(after.list))
	p.Endpoints = endpointsAfter(o, after.list)
	p.Files = []change.FileChange{{Path: path, Kind: kopsKind, Before: f, After: out}}
	if !st.version.Known {
		p.Warnings = append(p.Warnings, fmt.Sprintf("spec.kubernetesVersion not readable: using %s, which every version from 1.19 accepts", sw.Describe()))
	}
	p.Notes = append(p.Notes,
		"apply the spec with `kops replace -f "+path+"`, then `kops update cluster --yes` and `kops rolling-update cluster --yes` (control-plane nodes are replaced)")
	return p, nil
}

// kopsInsert adds lines to spec.kubeControllerManager, creating it when absent.
func kopsInsert(st *kopsState, lines []string) ([]yamledit.Splice, error) {
	if st.kcmKey != nil {
		return st.yf.InsertInto("spec.kubeControllerManager", st.kcmKey, st.kcm, lines)
	}
	specKey, spec := yamledit.Get(st.doc, "spec")
	nested := []string{"kubeControllerManager:"}
	for _, l := range lines {
		nested = append(nested, "  "+l)
	}
	return st.yf.InsertInto("spec", specKey, spec, nested)
}

func (a kops) Status(o Options) (*change.Status, error) {
	if kopsNode(o) {
		return a.nodeStatus(o)
	}
	f, st, err := kopsSpec.read(o)
	if err != nil {
		return nil, err
	}
	fs := kopsSpec.status(f.Path, st.list, st.version)
	if !st.set {
		fs.Note = "controllers not set: kops's default " + strings.Join(st.list, ",")
	}
	return oneFileStatus("kops", fs), nil
}

// clusterVersion is spec.kubernetesVersion: kops runs every control-plane node at it.
func (kops) clusterVersion(o Options) (controllers.Version, string, error) {
	f, st, err := kopsSpec.read(o)
	if err != nil {
		return controllers.Version{}, "", err
	}
	return st.version, f.Path + " spec.kubernetesVersion", nil
}
