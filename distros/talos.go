package distros

// Talos has no shell: its machine config is changed with `talosctl patch mc`. The adapter emits that
// patch (--talos-patch-out) or rewrites a machine config file (--talos-config).
//
// Talos builds kcm's flags itself (siderolabs/talos internal/app/machined/pkg/controllers/k8s/
// control_plane_static_pod.go): default controllers "*,tokencleaner", and extraArgs.controllers is merged
// with the MergeAdditive policy (pkg/argsbuilder): entries not already in the default are appended, so
// the default entries cannot be removed. The value written is the whole effective list, which merges to
// itself. Since Talos v1.14 the same settings can come from a KubeControllerManagerConfig document
// (pkg/machinery/config/types/k8s/controller_manager.go); Talos refuses it next to a v1alpha1
// .cluster.controllerManager section and requires its image field.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// TalosStateConfig is where a Talos node keeps its machine config (readable from a mounted disk image).
const TalosStateConfig = "/system/state/config.yaml"

const (
	talosKindConfig = "talos-machine-config"
	talosKindPatch  = "talos-patch"
	talosDocKind    = "KubeControllerManagerConfig"
)

var talosDefaultControllers = []string{"*", "tokencleaner"}

type talos struct{}

var _ = register(talos{})

func (talos) Name() string { return "talos" }

var (
	talosConfigInput = Input{Name: "talos-config", Kind: StringInput, File: true, Order: 40,
		Usage: "Talos: machine config `FILE` to rewrite"}
	talosPatchOutInput = Input{Name: "talos-patch-out", Kind: StringInput, File: true, Order: 40,
		Usage: "Talos: write a machine-config patch to `FILE`, for talosctl patch mc --patch @FILE"}
	talosDocumentInput = Input{Name: "talos-document", Kind: BoolInput, WriteOnly: true, Order: 40,
		Usage: "Talos: emit the v1.14+ KubeControllerManagerConfig document form"}
)

func (talos) Inputs() []Input {
	return []Input{talosConfigInput, talosPatchOutInput, talosDocumentInput}
}

// Activation: `talosctl patch mc` (or applying the rewritten config) from an operator's machine.
func (talos) Activation() Activation { return Activation{Kind: Elsewhere} }

// Layout: the node has no shell for mirrorctl to run in.
func (talos) Layout() Layout { return Layout{} }

func (talos) Detect(r nodefs.Root) []string {
	if r.Exists(TalosStateConfig) {
		return []string{TalosStateConfig}
	}
	return nil
}

// talosConfigPath is the machine config to read: the one given, or the node's own.
func talosConfigPath(o Options) string {
	if o.String(talosConfigInput) != "" {
		return nodefs.Clean(o.String(talosConfigInput))
	}
	if o.Root.Exists(TalosStateConfig) {
		return TalosStateConfig
	}
	return ""
}

func (talos) Targets(o Options) ([]Target, error) {
	var t []Target
	if p := talosConfigPath(o); p != "" {
		kind := talosKindConfig
		if o.String(talosPatchOutInput) != "" {
			kind += "-readonly"
		}
		t = append(t, Target{Path: p, Kind: kind})
	}
	if o.String(talosPatchOutInput) != "" {
		t = append(t, Target{Path: nodefs.Clean(o.String(talosPatchOutInput)), Kind: talosKindPatch})
	}
	return t, nil
}

// talosMerge is argsbuilder's MergeAdditive: the default, then each new entry (trimmed) not seen yet.
func talosMerge(user []string) []string {
	out := append([]string(nil), talosDefaultControllers...)
	seen := map[string]bool{}
	for _, e := range out {
		seen[e] = true
	}
	for _, e := range user {
		e = strings.TrimSpace(e)
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, e)
	}
	return out
}

type talosState struct {
	yf       *yamledit.File
	v1       *yaml.Node // the v1alpha1 document (machine/cluster), nil when absent
	kcmDoc   *yaml.Node // a KubeControllerManagerConfig document, nil when absent
	user     []string   // controllers as written (nil when unset)
	set      bool
	where    string // "cluster.controllerManager.extraArgs" or the document
	version  controllers.Version
	isWorker bool
	v1HasCM  bool // the v1alpha1 document has a cluster.controllerManager section
}

func talosRead(data []byte) (*talosState, error) {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return nil, err
	}
	st := &talosState{yf: yf}
	// Of documents of the same sort, the last is the one read.
	if docs := yf.DocsOfKind(talosDocKind); len(docs) > 0 {
		st.kcmDoc = docs[len(docs)-1]
	}
	for _, d := range yf.DocsOfKind("") {
		for _, key := range []string{"cluster", "machine", "version"} {
			if _, v := yamledit.Get(d, key); v != nil {
				st.v1 = d
				break
			}
		}
	}
	if st.v1 == nil && st.kcmDoc == nil {
		return nil, errors.New("not a Talos machine config (no v1alpha1 document with machine/cluster, no KubeControllerManagerConfig)")
	}
	_, machine := yamledit.Get(st.v1, "machine")
	if _, t := yamledit.Get(machine, "type"); t != nil && t.Value == "worker" {
		st.isWorker = true
	}
	_, cluster := yamledit.Get(st.v1, "cluster")
	_, cm := yamledit.Get(cluster, "controllerManager")
	read := func(where string, m *yaml.Node) error {
		_, image := yamledit.Get(m, "image")
		if image != nil && image.Value != "" {
			st.version = controllers.ImageVersion(image.Value)
		}
		_, extra := yamledit.Get(m, "extraArgs")
		if extra != nil && !yamledit.IsNull(extra) && extra.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: is %s; want a mapping", where, yamledit.KindName(extra))
		}
		_, c := yamledit.Get(extra, controllers.FlagName)
		if c == nil {
			return nil
		}
		vals, err := yamledit.Strings(where+".controllers", c) // newer Talos also takes a list of strings
		if err != nil {
			return err
		}
		joined := strings.Join(vals, ",")
		if _, err := controllers.Split(joined); err != nil {
			return fmt.Errorf("%s.controllers: %w", where, err)
		}
		st.user, st.set, st.where = strings.Split(joined, ","), true, where
		return nil
	}
	st.v1HasCM = cm != nil
	if st.v1HasCM && st.kcmDoc != nil {
		return nil, errors.New("both cluster.controllerManager and a KubeControllerManagerConfig document: Talos refuses this config")
	}
	if err := read("cluster.controllerManager.extraArgs", cm); err != nil {
		return nil, err
	}
	if st.kcmDoc != nil {
		// The document form is the newer source of truth; when both set controllers, it wins.
		if err := read(talosDocKind+".extraArgs", st.kcmDoc); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (st *talosState) effective() []string { return talosMerge(st.user) }

// talosValue is the whole controllers value to write for op.
// merged is what kcm gets from it after Talos's merge.
func talosValue(op controllers.Op, eff []string, sw controllers.Switch) (value string, merged []string, err error) {
	out, _ := sw.Edit(op, [][]string{eff})
	v := controllers.Join(out[0])
	merged = talosMerge(out[0])
	if !sw.Done(op, merged) {
		return "", nil, fmt.Errorf("internal error: %q does not give the wanted state after Talos's merge", v)
	}
	return v, merged, nil
}

func (talos) patchText(o Options, value, fromConfig string, document bool) []byte {
	var b bytes.Buffer
	what := "the EndpointSlice mirroring controller"
	if o.EndpointsController {
		what = "the EndpointSlice mirroring and Endpoints controllers"
	}
	fmt.Fprintf(&b, "# Machine-config patch written by mirrorctl (%s %s).\n", o.Op, what)
	if fromConfig != "" {
		fmt.Fprintf(&b, "# Computed from %s. ", fromConfig)
	} else {
		b.WriteString("# Computed from Talos's default controllers (no machine config was read). ")
	}
	b.WriteString("Apply to every control-plane node:\n")
	b.WriteString("#   talosctl patch mc --nodes <control-plane nodes> --patch @" + nodefs.Clean(o.String(talosPatchOutInput)) + "\n")
	if document {
		b.WriteString("apiVersion: v1alpha1\nkind: " + talosDocKind + "\nextraArgs:\n")
		b.WriteString("  controllers: " + yamledit.Render(yaml.DoubleQuotedStyle, value) + "\n")
		return b.Bytes()
	}
	b.WriteString("cluster:\n  controllerManager:\n    extraArgs:\n")
	b.WriteString("      controllers: " + yamledit.Render(yaml.DoubleQuotedStyle, value) + "\n")
	return b.Bytes()
}

func (a talos) Plan(o Options) (*change.Plan, error) {
	cfgPath := talosConfigPath(o)
	if cfgPath == "" && o.String(talosPatchOutInput) == "" {
		return nil, errors.New("talos: pass --talos-patch-out FILE to get a patch for `talosctl patch mc`, or --talos-config FILE to rewrite a machine config")
	}
	p := &change.Plan{Distro: "talos", Op: o.Op}
	var st *talosState
	var cfg *nodefs.File
	if cfgPath != "" {
		f, err := o.Root.ReadFile(cfgPath, false)
		if err != nil {
			return nil, err
		}
		if st, err = talosRead(f.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
		if st.isWorker {
			return nil, fmt.Errorf("%s: machine.type is worker: kube-controller-manager runs on control-plane nodes; use a controlplane config", cfgPath)
		}
		cfg = f
	}
	version := controllers.Version{}
	eff := talosDefaultControllers
	if st != nil {
		version, eff = st.version, st.effective()
	}
	p.Version = version
	sw, err := o.Switch(version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	value, merged, err := talosValue(o.Op, eff, sw)
	if err != nil {
		return nil, err
	}
	p.Mirroring = change.StateOf(controllers.MirroringEnabled(merged))
	p.Endpoints = endpointsAfter(o, merged)

	if o.String(talosPatchOutInput) != "" {
		out := nodefs.Clean(o.String(talosPatchOutInput))
		before, err := o.Root.ReadFile(out, true)
		if err != nil {
			return nil, err
		}
		document := o.Bool(talosDocumentInput) || (st != nil && st.kcmDoc != nil)
		if document && st != nil && st.v1HasCM {
			return nil, fmt.Errorf("%s: sets cluster.controllerManager, which Talos refuses next to a %s document; drop --talos-document (or move the section to the document first)", cfgPath, talosDocKind)
		}
		if document && (st == nil || st.kcmDoc == nil) {
			// Talos requires the document's image; a patch must not pin one from a possibly stale file.
			p.Warnings = append(p.Warnings, "the "+talosDocKind+" patch sets only extraArgs: it applies to nodes whose config already has that document (Talos requires its image field)")
		}
		text := a.patchText(o, value, cfgPath, document)
		p.Files = append(p.Files, change.FileChange{Path: out, Kind: talosKindPatch, Before: before, After: text, Mode: 0o600})
		if cfg != nil {
			p.Files = append(p.Files, change.FileChange{Path: cfgPath, Kind: talosKindConfig, Before: cfg, After: cfg.Data})
		} else {
			p.Warnings = append(p.Warnings, "no machine config read: the patch replaces any cluster.controllerManager.extraArgs.controllers the nodes have; pass --talos-config (e.g. from `talosctl get mc -o yaml`) to keep it")
		}
		p.Notes = append(p.Notes, "apply with `talosctl patch mc --nodes <control-plane nodes> --patch @"+out+"`; Talos restarts kube-controller-manager itself")
	} else {
		out := cfg.Data
		if !sw.Done(o.Op, eff) {
			edits, err := a.configEdits(st, o, value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cfgPath, err)
			}
			if out, err = yamledit.Apply(cfg.Data, edits); err != nil {
				return nil, fmt.Errorf("%s: %w", cfgPath, err)
			}
			after, err := talosRead(out)
			if err != nil {
				return nil, fmt.Errorf("%s: internal error: the edit does not parse: %w", cfgPath, err)
			}
			if !sw.Done(o.Op, after.effective()) {
				return nil, fmt.Errorf("%s: internal error: the edit does not give the wanted state", cfgPath)
			}
		}
		p.Files = append(p.Files, change.FileChange{Path: cfgPath, Kind: talosKindConfig, Before: cfg, After: out})
		p.Notes = append(p.Notes, "apply the machine config with `talosctl apply-config --nodes <node> --file "+cfgPath+"` (or build a patch with --talos-patch-out for `talosctl patch mc`)")
	}
	if !version.Known {
		p.Warnings = append(p.Warnings, fmt.Sprintf("Kubernetes version unknown: using %s, which every version from 1.19 accepts", sw.Describe()))
	}
	p.Notes = append(p.Notes, "kube-controller-manager uses leader election: change every control-plane node")
	return p, nil
}

// configEdits puts value where the controllers live: the KubeControllerManagerConfig document when it
// exists (or is asked for and there is no v1alpha1 one), else cluster.controllerManager.extraArgs.
func (talos) configEdits(st *talosState, o Options, value string) ([]yamledit.Splice, error) {
	if st.kcmDoc != nil {
		return st.yf.SetPath(st.kcmDoc, talosDocKind, []string{"extraArgs", controllers.FlagName}, value)
	}
	if o.Bool(talosDocumentInput) {
		return nil, fmt.Errorf("--talos-document: the config has no %s document to edit; rewrite it yourself or drop the flag", talosDocKind)
	}
	if st.v1 == nil {
		return nil, errors.New("no v1alpha1 document to edit")
	}
	return st.yf.SetPath(st.v1, "", []string{"cluster", "controllerManager", "extraArgs", controllers.FlagName}, value)
}

func (talos) Status(o Options) (*change.Status, error) {
	s := &change.Status{Distro: "talos"}
	if cfgPath := talosConfigPath(o); cfgPath != "" {
		f, err := o.Root.ReadFile(cfgPath, false)
		if err != nil {
			return nil, err
		}
		st, err := talosRead(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
		fs := effectiveStatus(cfgPath, talosKindConfig, st.effective(), st.version)
		if !st.set {
			fs.Note = "controllers not set: Talos's default " + controllers.Join(talosDefaultControllers)
		}
		s.Files = append(s.Files, fs)
	}
	if o.String(talosPatchOutInput) != "" {
		out := nodefs.Clean(o.String(talosPatchOutInput))
		f, err := o.Root.ReadFile(out, true)
		if err != nil {
			return nil, err
		}
		fs := change.FileStatus{Path: out, Kind: talosKindPatch, Mirroring: change.Unknown, Version: "unknown", Note: "not written yet"}
		if f.Exists {
			st, err := talosRead(f.Data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", out, err)
			}
			eff := st.effective()
			fs.Mirroring, fs.Controllers = change.StateOf(controllers.MirroringEnabled(eff)), controllers.Join(eff)
			fs.Note = "what the nodes get once the patch is applied"
		}
		s.Files = append(s.Files, fs)
	}
	if len(s.Files) == 0 {
		return nil, errors.New("talos: pass --talos-config FILE or --talos-patch-out FILE")
	}
	s.Summarize()
	return s, nil
}
