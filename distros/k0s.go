package distros

// k0s takes kube-controller-manager flags from spec.controllerManager in its ClusterConfig: extraArgs (a
// map that replaces k0s's own values, so a controllers entry replaces the default
// "*,bootstrapsigner,tokencleaner" whole) and rawArgs (appended to the command line as written). Only
// extraArgs is edited; rawArgs is read so the effective list is right.
//
// In a multi-controller k0s cluster the `kubernetes` Service's EndpointSlice comes from the mirroring
// controller (k0s maintains the Endpoints itself; kubernetes/kubernetes#104612), so turning mirroring off
// there breaks in-cluster API access. Plan refuses unless --i-understand-k0s-ha-needs-mirroring.

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// K0sConfig is k0s's default config path.
const K0sConfig = "/etc/k0s/k0s.yaml"

const (
	k0sDataDir = "/var/lib/k0s"
	k0sKind    = "k0s-config"
)

// k0sDefaultControllers is what k0s passes when extraArgs sets no controllers.
var k0sDefaultControllers = []string{"*", "bootstrapsigner", "tokencleaner"}

type k0s struct{}

var _ = register(k0s{})

func (k0s) Name() string { return "k0s" }

var (
	k0sConfigInput = Input{Name: "k0s-config", Kind: StringInput, File: true, Order: 20,
		Usage: "k0s: config `FILE` (default /etc/k0s/k0s.yaml)"}
	k0sAllowHAInput = Input{Name: "i-understand-k0s-ha-needs-mirroring", Kind: BoolInput, WriteOnly: true, Order: 20,
		Usage: "k0s: disable mirroring even on an HA control plane, whose default/kubernetes Endpoints depend on it"}
)

func (k0s) Inputs() []Input { return []Input{k0sConfigInput, k0sAllowHAInput} }

func (k0s) Activation() Activation {
	return Activation{Kind: ByServiceRestart, Command: []string{"systemctl", "restart", "k0scontroller"}}
}

// Layout: k0s runs kcm itself (its controllermanager component), with the kubeconfig it writes
// under its cert root.
func (k0s) Layout() Layout { return Layout{KCMKubeconfig: k0sDataDir + "/pki/ccm.conf"} }

func (k0s) Detect(r nodefs.Root) []string {
	var found []string
	for _, p := range []string{K0sConfig, k0sDataDir} {
		if r.Exists(p) {
			found = append(found, p)
		}
	}
	return found
}

// k0sUnits are where `k0s install controller` puts the service.
var k0sUnits = []string{"/etc/systemd/system/k0scontroller.service", "/etc/init.d/k0scontroller"}

// k0sUnit returns the controller service's path and text ("" when none).
func k0sUnit(r nodefs.Root) (string, string) {
	for _, u := range k0sUnits {
		if f, err := r.ReadFile(u, true); err == nil && f.Exists {
			return u, string(f.Data)
		}
	}
	return "", ""
}

// k0sConfig is the config k0s reads: the one given, the service's --config, or k0s's default.
var k0sConfig = configFile[*k0sState]{input: k0sConfigInput, kind: k0sKind, fallback: k0sUnitConfig,
	parse: func(_ Options, data []byte) (*k0sState, error) { return k0sRead(data) }}

// k0sUnitConfig is the config the service names with --config, else k0s's default.
func k0sUnitConfig(o Options) string {
	if _, unit := k0sUnit(o.Root); unit != "" {
		words := systemdExecStart(unit)
		for i, w := range words {
			switch {
			case strings.HasPrefix(w, "--config="):
				return nodefs.Clean(strings.TrimPrefix(w, "--config="))
			case (w == "--config" || w == "-c") && i+1 < len(words):
				return nodefs.Clean(words[i+1])
			}
		}
	}
	return K0sConfig
}

func (k0s) Targets(o Options) ([]Target, error) { return k0sConfig.targets(o) }

// k0sState is what a k0s config says.
type k0sState struct {
	yf       *yamledit.File
	root     *yaml.Node
	set      bool     // extraArgs.controllers is set
	first    []string // extraArgs.controllers, or the default
	raw      [][]string
	ha       []string // why the cluster looks highly available
	version  controllers.Version
	extraRaw string // the rawArgs controllers, joined, for status
}

func (st *k0sState) kcmVersion() controllers.Version { return st.version }

func k0sRead(data []byte) (*k0sState, error) {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return nil, err
	}
	if len(yf.Docs) > 1 {
		return nil, fmt.Errorf("holds %d YAML documents; k0s reads one ClusterConfig", len(yf.Docs))
	}
	st := &k0sState{yf: yf, first: k0sDefaultControllers}
	if len(yf.Docs) == 1 {
		st.root = yf.Docs[0]
	}
	if st.root != nil && st.root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("is %s; want a k0s ClusterConfig", yamledit.KindName(st.root))
	}
	// k0s never checks kind (pkg/apis/k0s/v1beta1 ConfigFromBytes unmarshals into ClusterConfig
	// whatever it says, k0sproject/k0s@dff90cee); `k0s default-config` and the docs printed
	// "kind: Cluster" until about 1.22, and such files still run. Anything else is not a k0s config.
	if _, k := yamledit.Get(st.root, "kind"); k != nil && k.Value != "ClusterConfig" && k.Value != "Cluster" {
		return nil, fmt.Errorf("kind is %q; want ClusterConfig (or the legacy Cluster)", k.Value)
	}
	_, spec := yamledit.Get(st.root, "spec")
	_, cm := yamledit.Get(spec, "controllerManager")
	_, extra := yamledit.Get(cm, "extraArgs")
	if extra != nil && !yamledit.IsNull(extra) && extra.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("spec.controllerManager.extraArgs: is %s; want a mapping", yamledit.KindName(extra))
	}
	// k0s fills in its default when the value is empty (pkg/component/controller/controllermanager.go).
	if _, c := yamledit.Get(extra, controllers.FlagName); c != nil && !(c.Kind == yaml.ScalarNode && c.Value == "") {
		if c.Kind != yaml.ScalarNode || yamledit.IsNull(c) {
			return nil, fmt.Errorf("spec.controllerManager.extraArgs.controllers: is %s; want a string", yamledit.KindName(c))
		}
		e, err := controllers.Split(c.Value)
		if err != nil {
			return nil, fmt.Errorf("spec.controllerManager.extraArgs.controllers: %w", err)
		}
		st.set, st.first = true, e
	}
	_, raw := yamledit.Get(cm, "rawArgs")
	rawArgs, err := yamledit.Strings("spec.controllerManager.rawArgs", raw)
	if err != nil {
		return nil, err
	}
	occ, rawErr := controllers.Occurrences(rawArgs)
	var rawVals []string
	for _, o := range occ {
		err := o.Err
		if err == nil && o.Raw == "" {
			err = fmt.Errorf("empty --controllers value")
		}
		if err != nil {
			return nil, fmt.Errorf("spec.controllerManager.rawArgs: %w", err)
		}
		st.raw = append(st.raw, o.Entries)
		rawVals = append(rawVals, o.Raw)
	}
	if rawErr != nil {
		// Left after the loop: a bare --controllers at the end. rawArgs end kcm's command line, and kcm
		// would stop with "flag needs an argument".
		return nil, fmt.Errorf("spec.controllerManager.rawArgs: %w", rawErr)
	}
	st.extraRaw = strings.Join(rawVals, ",")

	// HA hints (k0s docs "Control plane high availability"): a load-balanced API address, an external
	// etcd cluster, or an external kine datastore shared by several controllers.
	_, api := yamledit.Get(spec, "api")
	if _, ea := yamledit.Get(api, "externalAddress"); ea != nil && ea.Value != "" {
		st.ha = append(st.ha, "spec.api.externalAddress is set")
	}
	_, storage := yamledit.Get(spec, "storage")
	_, etcd := yamledit.Get(storage, "etcd")
	if _, ext := yamledit.Get(etcd, "externalCluster"); ext != nil && !yamledit.IsNull(ext) {
		st.ha = append(st.ha, "spec.storage.etcd.externalCluster is set")
	}
	_, network := yamledit.Get(spec, "network")
	for _, lb := range []string{"nodeLocalLoadBalancing", "controlPlaneLoadBalancing"} {
		_, n := yamledit.Get(network, lb)
		if _, en := yamledit.Get(n, "enabled"); en != nil && en.Value == "true" {
			st.ha = append(st.ha, "spec.network."+lb+" is enabled")
		}
	}
	if _, t := yamledit.Get(storage, "type"); t != nil && t.Value == "kine" {
		_, kine := yamledit.Get(storage, "kine")
		if _, ds := yamledit.Get(kine, "dataSource"); ds != nil && !strings.HasPrefix(ds.Value, "sqlite:") && ds.Value != "" {
			st.ha = append(st.ha, "spec.storage.kine.dataSource is an external database")
		}
	}
	return st, nil
}

// effective is the concatenated --controllers list kcm gets.
func (st *k0sState) effective() []string {
	return controllers.Flatten(append([][]string{st.first}, st.raw...))
}

// k0sNewFirst computes the extraArgs value: the algebra on it alone, then, when rawArgs (which follow it)
// still decide otherwise, one decisive entry more in extraArgs, which comes first on the command line.
func k0sNewFirst(op controllers.Op, first []string, raw [][]string, sw controllers.Switch) []string {
	out, _ := sw.Edit(op, [][]string{first})
	nf := out[0]
	return append(nf, sw.Pending(op, controllers.Flatten(append([][]string{nf}, raw...)))...)
}

// k0sNewFileHeader starts a config file mirrorctl creates: k0s runs on built-in defaults when its
// config file is missing, and a partial file keeps those defaults for everything it does not set.
const k0sNewFileHeader = "# Created by mirrorctl: k0s reads this file at start (k0s controller --config); everything not set\n" +
	"# here keeps k0s's defaults.\napiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"

func (a k0s) Plan(o Options) (*change.Plan, error) {
	// No config file reads as none (k0s runs on its defaults); a new file starts with the header.
	f, st, sw, err := k0sConfig.readForPlan(o)
	if err != nil {
		return nil, err
	}
	path := f.Path
	st.ha = append(st.ha, k0sJoinedHint(o.Root)...)
	want := o.Op == controllers.Enable
	p := &change.Plan{Distro: "k0s", Op: o.Op, Version: st.version, Mirroring: change.StateOf(controllers.MirroringEnabled(st.effective()))}
	out := f.Data
	p.Endpoints = endpointsAfter(o, st.effective())
	if !sw.Done(o.Op, st.effective()) {
		if !want && len(st.ha) > 0 && !o.Bool(k0sAllowHAInput) && controllers.MirroringEnabled(st.effective()) {
			return nil, fmt.Errorf("%s: this k0s control plane looks highly available (%s): k0s keeps the `kubernetes` Service's Endpoints itself and relies on EndpointSlice mirroring to publish them (kubernetes/kubernetes#104612), so disabling mirroring breaks in-cluster API access; pass --i-understand-k0s-ha-needs-mirroring to do it anyway", path, strings.Join(st.ha, ", "))
		}
		nf := k0sNewFirst(o.Op, st.first, st.raw, sw)
		edits, err := st.yf.SetPath(st.root, "", []string{"spec", "controllerManager", "extraArgs", controllers.FlagName}, controllers.Join(nf))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if out, err = yamledit.Apply(f.Data, edits); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !f.Exists {
			out = append([]byte(k0sNewFileHeader), out...)
		}
		after, err := k0sConfig.reparse(o, path, out)
		if err != nil {
			return nil, err
		}
		p.Mirroring = change.StateOf(controllers.MirroringEnabled(after.effective()))
		p.Endpoints = endpointsAfter(o, after.effective())
		if !st.set {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: extraArgs.controllers replaces k0s's default, so the whole list is written (%s)", path, controllers.Join(nf)))
		}
	}
	if !want && len(st.ha) > 0 && o.Bool(k0sAllowHAInput) {
		p.Warnings = append(p.Warnings, "k0s HA ("+strings.Join(st.ha, ", ")+"): the `kubernetes` Service's EndpointSlice is no longer kept up to date (kubernetes/kubernetes#104612)")
	}
	p.Files = []change.FileChange{{Path: path, Kind: k0sKind, Before: f, After: out, Mode: 0o600}}
	if !f.Exists && out == nil {
		p.Files[0].After = nil // nothing to create
	}
	if u, unit := k0sUnit(o.Root); unit != "" {
		if strings.Contains(unit, "kube-controller-manager-extra-args") {
			p.Warnings = append(p.Warnings, u+": passes --kube-controller-manager-extra-args, which mirrorctl does not read; check it sets no --controllers")
		}
		if strings.Contains(unit, "--enable-dynamic-config") {
			p.Warnings = append(p.Warnings, u+": k0s runs with --enable-dynamic-config, so it takes spec.controllerManager from the ClusterConfig object in kube-system, not from "+path+": edit that object with kubectl")
		}
	}
	p.Warnings = append(p.Warnings, fmt.Sprintf("Kubernetes version not in %s: using %s, which every version from 1.19 accepts", path, sw.Describe()))
	p.Notes = append(p.Notes,
		"takes effect after restarting k0s on this node: `systemctl restart k0scontroller` (`k0s stop && k0s start` without systemd)",
		"with --enable-dynamic-config, k0s reads spec.controllerManager from the ClusterConfig object in kube-system instead: edit it with kubectl",
		"kube-controller-manager uses leader election: make the same change on every controller node")
	return p, nil
}

func (k0s) Status(o Options) (*change.Status, error) {
	f, st, err := k0sConfig.read(o)
	if err != nil {
		return nil, err
	}
	st.ha = append(st.ha, k0sJoinedHint(o.Root)...)
	fs := k0sConfig.status(f.Path, st.effective(), st.version)
	if !st.set {
		fs.Note = "extraArgs.controllers not set: k0s's default " + controllers.Join(k0sDefaultControllers)
	}
	if !f.Exists {
		fs.Note = "no config file: k0s's defaults (" + controllers.Join(k0sDefaultControllers) + ")"
	}
	if st.extraRaw != "" {
		fs.Note = strings.TrimPrefix(fs.Note+"; rawArgs add --controllers="+st.extraRaw, "; ")
	}
	s := oneFileStatus("k0s", fs)
	if len(st.ha) > 0 {
		s.Warnings = append(s.Warnings, "k0s HA ("+strings.Join(st.ha, ", ")+"): the `kubernetes` Service needs the mirroring controller (kubernetes/kubernetes#104612)")
	}
	return s, nil
}

// k0sJoinedHint finds a controller that joined another one: `k0s install controller --token-file` puts
// the join token in the service's command line, so this node is one of several controllers.
func k0sJoinedHint(r nodefs.Root) []string {
	if u, unit := k0sUnit(r); strings.Contains(unit, "--token-file") {
		return []string{u + " joins with --token-file"}
	}
	return nil
}
