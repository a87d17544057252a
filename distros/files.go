package distros

// Files is `-f FILE`: files a platform team keeps in Git (Cluster API objects, kubespray group_vars, a
// k0sctl.yaml, and every config the adapters read by flag), edited for review in a pull request. Each YAML
// document is recognised by its content, not by a flag; every recognised document is edited in place
// with the same text-preserving editors the adapters use (patches, yamledit), and every other byte
// stays. It is an Adapter (so engine.Run, status, snapshots and rollback treat the files like node
// files), but not a registered one: it is never detected and has no --distro name.
//
// The paths are the operator's, relative to the current directory, never under --root: Plan and Status
// read them through o.Root, which the command layer makes "/" for -f. Each FileChange keeps the
// absolute path (snapshots and rollback work from any directory) and shows the path as given, so the
// diff applies with `git apply` / `patch -p1` from where mirrorctl ran.

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// File kinds of the documents only -f reads.
const (
	KindKCP       = "capi-kubeadmcontrolplane"
	KindKCPT      = "capi-kubeadmcontrolplanetemplate"
	KindKubespray = "kubespray-group-vars"
	KindK0sctl    = "k0sctl-config"
)

const (
	capiKCPGroup   = "controlplane.cluster.x-k8s.io/"
	capiTopologyOK = "topology.cluster.x-k8s.io/owned" // clusterv1.ClusterTopologyOwnedLabel
	k0sctlAPI      = "k0sctl.k0sproject.io/v1beta1"
	kubesprayVar   = "kube_kubeadm_controller_extra_args"
)

// FilePath is one -f file: as given, and absolute.
type FilePath struct {
	Given string // as the operator wrote it, cleaned; what diffs and results show
	Abs   string // absolute host path, what is read, snapshotted and written
}

// Files is the -f source: the files given, edited as one change.
type Files struct {
	Paths []FilePath
}

// NewFiles resolves the paths given against dir (the current directory). A path named twice is an
// error: the one change would plan it twice.
func NewFiles(dir string, given []string) (*Files, error) {
	fs := &Files{}
	seen := map[string]string{}
	for _, g := range given {
		if g == "" {
			return nil, errors.New("-f: empty path")
		}
		abs := g
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, g)
		}
		abs = filepath.Clean(abs)
		key := abs
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			key = r // a link and its target are one file: planning it twice would write it twice
		}
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("-f %s: the same file as -f %s", g, prev)
		}
		seen[key] = g
		fs.Paths = append(fs.Paths, FilePath{Given: filepath.ToSlash(filepath.Clean(g)), Abs: abs})
	}
	return fs, nil
}

// Inputs are the adapters' inputs that still mean something with -f: they change how a file is edited,
// not which file. Inputs naming a node's file are refused with -f.
func (*Files) Inputs() []Input { return []Input{k0sAllowHAInput, kindNodeVersionInput} }

func (*Files) Name() string                { return "files" }
func (*Files) Activation() Activation      { return Activation{Kind: Elsewhere} }
func (*Files) Layout() Layout              { return Layout{} }
func (*Files) Detect(nodefs.Root) []string { return nil }

func (fs *Files) Targets(Options) ([]Target, error) {
	var t []Target
	for _, p := range fs.Paths {
		t = append(t, Target{Path: p.Abs, Kind: "file"})
	}
	return t, nil
}

// fileResult is one file's part of a plan or a status.
type fileResult struct {
	kind      string
	after     []byte
	mirroring bool
	eff       []string
	set       bool
	version   controllers.Version
	note      string
	warnings  []string
	notes     []string
	// perDoc: a file of several objects reports each (status).
	perDoc []change.FileStatus
}

// Plan plans every file; one refused or unrecognised file refuses the whole change.
func (fs *Files) Plan(o Options) (*change.Plan, error) {
	p := &change.Plan{Distro: fs.Name(), Op: o.Op}
	want := o.Op == controllers.Enable
	reached := true
	for _, fp := range fs.Paths {
		f, err := o.reads().File(fp.Abs, false)
		if err != nil {
			return nil, namedErr(fp, err)
		}
		r, err := fileAnalyze(o, fp, f.Data, true)
		if err != nil {
			return nil, namedErr(fp, err)
		}
		if r.mirroring != want {
			reached = false
		}
		p.Files = append(p.Files, change.FileChange{Path: fp.Abs, Shown: fp.Given, Kind: r.kind, Before: f, After: r.after})
		p.Warnings = append(p.Warnings, r.warnings...)
		for _, n := range r.notes {
			if !slices.Contains(p.Notes, n) {
				p.Notes = append(p.Notes, n)
			}
		}
	}
	p.Mirroring = change.StateOf(want)
	if !reached {
		p.Mirroring = change.StateOf(!want)
	}
	if o.EndpointsController {
		// Read every file's new bytes back as status does: the Endpoints controller's state is what
		// they say, not what was asked.
		after := &change.Status{}
		for i, fp := range fs.Paths {
			data := p.Files[i].After
			if data == nil {
				data = p.Files[i].Before.Data
			}
			r, err := fileAnalyze(o, fp, data, false)
			if err != nil {
				return nil, namedErr(fp, fmt.Errorf("internal error: the edit does not read back: %w", err))
			}
			after.Files = append(after.Files, r.statuses(fp)...)
		}
		after.SummarizeEndpoints()
		p.Endpoints = after.Endpoints
	}
	return p, nil
}

// statuses is a status result's lines: one per object of a file of several, else one.
func (r *fileResult) statuses(fp FilePath) []change.FileStatus {
	var out []change.FileStatus
	for _, d := range r.perDoc {
		d.Path = fp.Given
		out = append(out, d)
	}
	if len(r.perDoc) == 0 {
		fst := effectiveStatus(fp.Given, r.kind, r.eff, r.version)
		fst.Mirroring = change.StateOf(r.mirroring)
		fst.Note = r.note
		out = append(out, fst)
	}
	return out
}

func (fs *Files) Status(o Options) (*change.Status, error) {
	s := &change.Status{Distro: fs.Name()}
	for _, fp := range fs.Paths {
		f, err := o.reads().File(fp.Abs, false)
		if err != nil {
			return nil, namedErr(fp, err)
		}
		r, err := fileAnalyze(o, fp, f.Data, false)
		if err != nil {
			return nil, namedErr(fp, err)
		}
		s.Files = append(s.Files, r.statuses(fp)...)
		s.Warnings = append(s.Warnings, r.warnings...)
	}
	s.Summarize()
	return s, nil
}

// filesName is where -f picks the names to write, as the adapters do (Options.Switch): the version's,
// or --controller-name, and the Endpoints controller's with --endpoints-controller. Every -f edit but
// the adapters' own goes through it.
func filesName(o Options, v controllers.Version) (controllers.Switch, error) {
	return o.Switch(v)
}

// namedErr makes an error name the file as given, once.
func namedErr(fp FilePath, err error) error {
	msg := err.Error()
	for _, p := range []string{fp.Abs + ": ", fp.Given + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return fmt.Errorf("%s: %s", fp.Given, yamledit.OneLine(strings.ReplaceAll(msg, fp.Abs, fp.Given)))
}

// docFormat is what a document is.
type docFormat string

const (
	fmtNone      docFormat = ""
	fmtKCP       docFormat = "kcp"
	fmtKCPT      docFormat = "kcpt"
	fmtK0sctl    docFormat = "k0sctl"
	fmtKubespray docFormat = "kubespray"
	fmtManifest  docFormat = "manifest"
	fmtKubeadm   docFormat = "kubeadm"
	fmtKind      docFormat = "kind"
	fmtK0s       docFormat = "k0s"
	fmtKops      docFormat = "kops"
	fmtTalos     docFormat = "talos"
	fmtTopology  docFormat = "topology" // a Cluster API Cluster with spec.topology: nothing to edit in it
	// fmtK0sctlK0s is a k0s ClusterConfig document next to a k0sctl Cluster: k0sctl merges it into
	// spec.k0s.config (k0sctl cmd/flags.go readConfig), so it is edited as spec.k0s.config is.
	fmtK0sctlK0s docFormat = "k0sctl-k0s"
)

// whole formats are edited by their adapter's editor over the whole file.
var wholeFormats = map[docFormat]bool{fmtManifest: true, fmtKubeadm: true, fmtKind: true, fmtK0s: true, fmtKops: true, fmtTalos: true}

// The keys of a v1alpha1 machine config (siderolabs/talos pkg/machinery/config/types/v1alpha1
// v1alpha1_types.go: Config, MachineConfig, ClusterConfig), by which a patch file without
// `version: v1alpha1` is told from another tool's YAML that happens to have a cluster key.
var (
	talosKeys        = []string{"version", "debug", "persist", "machine", "cluster"}
	talosMachineKeys = []string{"type", "token", "ca", "acceptedCAs", "certSANs", "controlPlane", "kubelet", "pods", "network", "disks", "install", "files", "env", "time", "sysctls", "sysfs", "registries", "systemDiskEncryption", "features", "udev", "logging", "kernel", "seccompProfiles", "baseRuntimeSpecOverrides", "nodeLabels", "nodeAnnotations", "nodeTaints"}
	talosClusterKeys = []string{"id", "secret", "controlPlane", "clusterName", "network", "token", "aescbcEncryptionSecret", "secretboxEncryptionSecret", "ca", "acceptedCAs", "aggregatorCA", "serviceAccount", "apiServer", "controllerManager", "proxy", "scheduler", "discovery", "etcd", "coreDNS", "externalCloudProvider", "extraManifests", "extraManifestHeaders", "inlineManifests", "adminKubeconfig", "allowSchedulingOnMasters", "allowSchedulingOnControlPlanes"}
)

// talosShaped: a document whose top-level keys are a machine config's, and whose machine and cluster
// sections hold only a machine config's keys (a strategic-merge patch may add "$patch" directives).
func talosShaped(root *yaml.Node, keys []string) bool {
	if slices.ContainsFunc(keys, func(k string) bool { return !slices.Contains(talosKeys, k) }) {
		return false
	}
	if yamledit.ScalarField(root, "version") == "v1alpha1" {
		return true
	}
	some := false
	for _, sec := range []struct {
		name string
		keys []string
	}{{"machine", talosMachineKeys}, {"cluster", talosClusterKeys}} {
		m := yamledit.Field(root, sec.name)
		if m == nil {
			continue
		}
		if m.Kind != yaml.MappingNode || len(m.Content) == 0 {
			return false
		}
		for _, k := range topKeys(m) {
			if !slices.Contains(sec.keys, k) && !strings.HasPrefix(k, "$patch") {
				return false
			}
		}
		some = true
	}
	return some
}

// kubesprayKeys are kubespray variables that say a group_vars file configures the cluster: the one
// edited, and kube_network_plugin, which kubespray's sample k8s_cluster group_vars set
// (inventory/sample/group_vars/k8s_cluster/k8s-cluster.yml). kube_version, which other Ansible roles
// name too, counts only next to another of kubespray's variables of that file.
var (
	kubesprayKeys     = []string{kubesprayVar, "kube_network_plugin"}
	kubesprayWithVers = []string{"kube_proxy_mode", "kube_service_addresses", "kube_pods_subnet", "kube_config_dir", "container_manager", "kube_network_node_prefix"}
)

// classify says what one document is. A document mirrorctl must not edit is an error saying why and
// what to do instead.
func classify(root *yaml.Node) (docFormat, error) {
	if root == nil || root.Kind != yaml.MappingNode {
		return fmtNone, nil
	}
	api, kind := yamledit.ScalarField(root, "apiVersion"), yamledit.ScalarField(root, "kind")
	name := yamledit.ScalarField(yamledit.Field(root, "metadata"), "name")
	group, _, _ := strings.Cut(api, "/")
	switch {
	case strings.HasPrefix(api, capiKCPGroup) && (kind == "KubeadmControlPlane" || kind == "KubeadmControlPlaneTemplate"):
		if api != capiKCPGroup+"v1beta1" && api != capiKCPGroup+"v1beta2" {
			return fmtNone, fmt.Errorf("%s %q: apiVersion %s is not supported (v1beta1 and v1beta2 are); convert it with clusterctl first", kind, name, api)
		}
		if kind == "KubeadmControlPlaneTemplate" {
			return fmtKCPT, nil
		}
		return fmtKCP, nil
	case api == k0sctlAPI && (kind == "Cluster" || kind == "cluster"):
		return fmtK0sctl, nil
	case group == "operator.openshift.io" && kind == "KubeControllerManager":
		return fmtNone, fmt.Errorf("OpenShift KubeControllerManager %q: the kube-controller-manager operator owns kcm's flags; only unsupportedConfigOverrides could set --controllers, and that makes the cluster unsupported and blocks upgrades: label the selector-less Services' Endpoints endpointslice.kubernetes.io/skip-mirror=true instead (mirrorctl skip)", name)
	case group == "hypershift.openshift.io" && kind == "HostedCluster":
		return fmtNone, fmt.Errorf("HyperShift HostedCluster %q: the hosted control plane's kcm flags are managed by HyperShift, not by this object: label the selector-less Services' Endpoints endpointslice.kubernetes.io/skip-mirror=true instead (mirrorctl skip)", name)
	case group == "core.gardener.cloud" && kind == "Shoot":
		return fmtNone, fmt.Errorf("Gardener Shoot %q: spec.kubernetes.kubeControllerManager has no field for --controllers and Gardener owns the control plane: label the selector-less Services' Endpoints endpointslice.kubernetes.io/skip-mirror=true instead (mirrorctl skip)", name)
	case group == "cluster.x-k8s.io" && kind == "Cluster" && yamledit.Field(yamledit.Field(root, "spec"), "topology") != nil:
		return fmtTopology, nil
	case kind == "Pod" && isKCMPod(root):
		return fmtManifest, nil
	case group == "kubeadm.k8s.io" && kind == "ClusterConfiguration":
		return fmtKubeadm, nil
	case api == "v1" && kind == "ConfigMap" && yamledit.Field(yamledit.Field(root, "data"), "ClusterConfiguration") != nil:
		return fmtKubeadm, nil
	case group == "kind.x-k8s.io" && kind == "Cluster":
		return fmtKind, nil
	case group == "k0s.k0sproject.io":
		return fmtK0s, nil
	case group == "kops.k8s.io" && kind == "Cluster":
		return fmtKops, nil
	case kind == talosDocKind:
		return fmtTalos, nil
	case api == "" && kind == "":
		keys := topKeys(root)
		// A bare spec, as the kops and k0s docs print fragments: kops's key is kubeControllerManager,
		// k0s's controllerManager (kubeadm's ClusterConfiguration has no spec).
		if len(keys) == 1 && keys[0] == "spec" {
			spec := yamledit.Field(root, "spec")
			switch {
			case yamledit.Field(spec, "kubeControllerManager") != nil:
				return fmtKops, nil
			case yamledit.Field(spec, "controllerManager") != nil:
				return fmtK0s, nil
			}
		}
		has := func(k string) bool { return slices.Contains(keys, k) }
		if slices.ContainsFunc(kubesprayKeys, has) || has("kube_version") && slices.ContainsFunc(kubesprayWithVers, has) {
			return fmtKubespray, nil
		}
		if talosShaped(root, keys) {
			return fmtTalos, nil
		}
	}
	return fmtNone, nil
}

func topKeys(m *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	return keys
}

// isKCMPod: a Pod with a container named kube-controller-manager or whose command runs it.
func isKCMPod(root *yaml.Node) bool {
	cs := yamledit.Field(yamledit.Field(root, "spec"), "containers")
	if cs == nil || cs.Kind != yaml.SequenceNode {
		return false
	}
	for _, c := range cs.Content {
		if yamledit.ScalarField(c, "name") == "kube-controller-manager" {
			return true
		}
		if cmd := yamledit.Field(c, "command"); cmd != nil && cmd.Kind == yaml.SequenceNode && len(cmd.Content) > 0 &&
			strings.HasSuffix(cmd.Content[0].Value, "kube-controller-manager") {
			return true
		}
	}
	return false
}

// fileAnalyze recognises the file's documents and reads them (plan: and computes the edit for o.Op).
func fileAnalyze(o Options, fp FilePath, data []byte, plan bool) (*fileResult, error) {
	lf, err := yamledit.ParseLines(data, yamledit.Kubeadm)
	if err != nil {
		return nil, err
	}
	var formats []docFormat
	seen := map[docFormat]bool{}
	for _, d := range lf.Docs {
		if d.Err != nil {
			return nil, d.Err
		}
		f, err := classify(d.Root)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", d.Base+1, err)
		}
		formats = append(formats, f)
		if f != fmtNone {
			seen[f] = true
		}
	}
	delete(seen, fmtTopology)
	if seen[fmtK0sctl] && seen[fmtK0s] {
		k0sctlRemap(formats)
		delete(seen, fmtK0s)
	}
	var whole []docFormat
	objects := false
	for f := range seen {
		if wholeFormats[f] {
			whole = append(whole, f)
		} else {
			objects = true
		}
	}
	slices.Sort(whole)
	switch {
	case len(seen) == 0 && slices.Contains(formats, fmtTopology):
		i := slices.Index(formats, fmtTopology)
		root := lf.Docs[i].Root
		class := yamledit.ScalarField(yamledit.Field(yamledit.Field(root, "spec"), "topology"), "class")
		if class == "" {
			class = yamledit.ScalarField(yamledit.Field(yamledit.Field(yamledit.Field(root, "spec"), "topology"), "classRef"), "name")
		}
		return nil, fmt.Errorf("Cluster %q is topology-managed (spec.topology, ClusterClass %q): Cluster API renders its KubeadmControlPlane from the class; run mirrorctl -f on the file holding the class's KubeadmControlPlaneTemplate", yamledit.ScalarField(yamledit.Field(root, "metadata"), "name"), class)
	case len(seen) == 0:
		return nil, errors.New("no document mirrorctl recognises (Cluster API KubeadmControlPlane or KubeadmControlPlaneTemplate, kubespray group_vars, k0sctl Cluster, kubeadm config, kind, k0s, kops or Talos config, kcm static pod manifest); see README \"Who owns the flag?\"")
	case len(whole) > 1 || (len(whole) == 1 && objects):
		var all []string
		for f := range seen {
			all = append(all, string(f))
		}
		slices.Sort(all)
		return nil, fmt.Errorf("holds documents of several tools (%s); give each its own file", strings.Join(all, ", "))
	case len(whole) == 1:
		return wholeAnalyze(o, fp, whole[0], data, plan)
	case seen[fmtKubespray] && len(seen) > 1:
		return nil, errors.New("holds kubespray variables next to Kubernetes objects; give each its own file")
	case seen[fmtKubespray]:
		return kubesprayAnalyze(o, data, plan)
	}
	return objectsAnalyze(o, lf, formats, plan)
}

// k0sctlRemap marks the k0s ClusterConfig documents of a file that holds a k0sctl Cluster as that
// cluster's config.
func k0sctlRemap(formats []docFormat) {
	if !slices.Contains(formats, fmtK0sctl) {
		return
	}
	for i, f := range formats {
		if f == fmtK0s {
			formats[i] = fmtK0sctlK0s
		}
	}
}

// classPatchWarnings names the patches of the file's ClusterClasses that set kcm's extraArgs: Cluster
// API applies them to the template's output at every reconcile, so a JSON patch there replaces the
// whole map and undoes an edit of the KubeadmControlPlaneTemplate.
func classPatchWarnings(lf *yamledit.LineFile) []string {
	var out []string
	for _, d := range lf.Docs {
		root := d.Root
		if root == nil || yamledit.ScalarField(root, "kind") != "ClusterClass" || !strings.HasPrefix(yamledit.ScalarField(root, "apiVersion"), "cluster.x-k8s.io/") {
			continue
		}
		class := yamledit.ScalarField(yamledit.Field(root, "metadata"), "name")
		patchesN := yamledit.Field(yamledit.Field(root, "spec"), "patches")
		if patchesN == nil || patchesN.Kind != yaml.SequenceNode {
			continue
		}
		for _, p := range patchesN.Content {
			defs := yamledit.Field(p, "definitions")
			if defs == nil || defs.Kind != yaml.SequenceNode {
				continue
			}
			for _, def := range defs.Content {
				jps := yamledit.Field(def, "jsonPatches")
				if jps == nil || jps.Kind != yaml.SequenceNode {
					continue
				}
				for _, jp := range jps.Content {
					if path := yamledit.ScalarField(jp, "path"); strings.Contains(path, "/controllerManager") {
						out = append(out, fmt.Sprintf("ClusterClass %q patch %q sets %s: Cluster API applies it over the template at every reconcile, replacing what it names; put the controllers value in that patch too, or this edit is undone", class, yamledit.ScalarField(p, "name"), path))
					}
				}
			}
		}
	}
	return out
}

// embeddedDoc is a recognised object document and its ClusterConfiguration-shaped part.
type embeddedDoc struct {
	emb      *patches.Embedded
	what     string
	kind     string
	version  controllers.Version
	warnings []string
	notes    []string
	ha       []string // k0sctl: why the cluster is highly available
	raw      bool     // k0sctl: rawArgs set --controllers
}

// objectsAnalyze reads Cluster API and k0sctl documents (any number, in one file) and edits each.
func objectsAnalyze(o Options, lf *yamledit.LineFile, formats []docFormat, plan bool) (*fileResult, error) {
	var roots []*yaml.Node
	for _, d := range lf.Docs {
		if d.Root != nil {
			roots = append(roots, d.Root)
		}
	}
	var separate *yamledit.LineDoc
	for i, d := range lf.Docs {
		if formats[i] == fmtK0sctlK0s {
			n := 0
			for _, f := range formats {
				if f == fmtK0sctl {
					n++
				}
			}
			if separate != nil || n > 1 {
				return nil, errors.New("holds more than one k0sctl Cluster or k0s ClusterConfig: give each cluster its own file")
			}
			separate = d
		}
	}
	var docs []*embeddedDoc
	for i, d := range lf.Docs {
		var ed *embeddedDoc
		var err error
		switch formats[i] {
		case fmtKCP, fmtKCPT:
			ed, err = capiDoc(d, formats[i], roots)
		case fmtK0sctl:
			ed, err = k0sctlDoc(d, separate, roots)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, ed)
	}
	r := &fileResult{kind: docs[0].kind, mirroring: true, warnings: classPatchWarnings(lf)}
	want := o.Op == controllers.Enable
	var edits []yamledit.LineEdit
	for _, ed := range docs {
		st := ed.emb.State()
		r.eff = append(r.eff, st.Controllers...)
		r.set = r.set || st.Set
		r.version = ed.version
		if !st.Mirroring {
			r.mirroring = false
		}
		r.warnings = append(r.warnings, ed.warnings...)
		fst := effectiveStatus("", ed.kind, st.Controllers, ed.version)
		fst.Note = ed.what
		if !st.Set {
			fst.Note += ": controllers not set, the default " + controllers.Join(st.Controllers)
		}
		r.perDoc = append(r.perDoc, fst)
		if !plan {
			if len(ed.ha) > 0 {
				r.warnings = append(r.warnings, ed.what+": k0s HA ("+strings.Join(ed.ha, ", ")+"): the `kubernetes` Service needs the mirroring controller (kubernetes/kubernetes#104612)")
			}
			continue
		}
		sw, err := filesName(o, ed.version)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ed.what, err)
		}
		if st.Mirroring != want && !want && len(ed.ha) > 0 && !o.Bool(k0sAllowHAInput) {
			return nil, fmt.Errorf("%s: this k0s control plane is highly available (%s): k0s keeps the `kubernetes` Service's Endpoints itself and relies on EndpointSlice mirroring to publish them (kubernetes/kubernetes#104612), so disabling mirroring breaks in-cluster API access; pass --i-understand-k0s-ha-needs-mirroring to do it anyway", ed.what, strings.Join(ed.ha, ", "))
		}
		if !sw.Done(o.Op, st.Controllers) && ed.raw {
			return nil, fmt.Errorf("%s: the k0s config's controllerManager.rawArgs sets --controllers too; merge it into extraArgs.controllers first", ed.what)
		}
		le, after, changed, err := ed.emb.Edit(o.Op, sw)
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, le...)
			if !st.Set {
				r.warnings = append(r.warnings, fmt.Sprintf("%s: a controllers entry replaces the default list whole, so the whole list is written (%s)", ed.what, controllers.Join(after)))
			}
			// What applying it sets in motion belongs in the review, dry run included.
			r.warnings = append(r.warnings, ed.notes...)
		}
		if !ed.version.Known {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: Kubernetes version unknown: using %s, which every version from 1.19 accepts", ed.what, sw.Describe()))
		}
		if !want && len(ed.ha) > 0 {
			r.warnings = append(r.warnings, ed.what+": k0s HA ("+strings.Join(ed.ha, ", ")+"): the `kubernetes` Service's EndpointSlice is no longer kept up to date (kubernetes/kubernetes#104612)")
		}
	}
	if !plan {
		r.note = fmt.Sprintf("%d document(s)", len(docs))
		if !r.set {
			r.note = "controllers not set: the default " + controllers.Join(patches.KubeadmDefaultControllers)
		}
		return r, nil
	}
	r.after = lf.Bytes(yamledit.ApplyLines(lf.Lines, edits))
	// Read the result back: every document must now give the wanted state, and nothing else moved.
	back, err := yamledit.ParseLines(r.after, yamledit.Kubeadm)
	if err != nil {
		return nil, fmt.Errorf("internal error: the edit does not parse: %w", err)
	}
	again := make([]docFormat, len(back.Docs))
	for i, d := range back.Docs {
		if d.Err != nil {
			return nil, fmt.Errorf("internal error: the edit does not parse: %w", d.Err)
		}
		again[i], _ = classify(d.Root)
	}
	k0sctlRemap(again)
	if !slices.Equal(again, formats) {
		return nil, errors.New("internal error: the edit changes what the documents are")
	}
	after, err := objectsAnalyze(o, back, again, false)
	if err != nil {
		return nil, fmt.Errorf("internal error: the edit does not read back: %w", err)
	}
	if after.mirroring != want {
		return nil, errors.New("internal error: the edit does not give the wanted state")
	}
	r.mirroring, r.eff = after.mirroring, after.eff
	return r, nil
}

// capiDoc reads a KubeadmControlPlane (spec.kubeadmConfigSpec.clusterConfiguration) or a
// KubeadmControlPlaneTemplate (spec.template.spec.kubeadmConfigSpec…). Cluster API passes
// controllerManager.extraArgs to kubeadm as they are, so kubeadm's rule holds: a controllers entry
// replaces kubeadm's default list whole.
func capiDoc(d *yamledit.LineDoc, f docFormat, roots []*yaml.Node) (*embeddedDoc, error) {
	root := d.Root
	api, kind := yamledit.ScalarField(root, "apiVersion"), yamledit.ScalarField(root, "kind")
	meta := yamledit.Field(root, "metadata")
	name := yamledit.ScalarField(meta, "name")
	what := fmt.Sprintf("%s %q (%s)", kind, name, api)
	ed := &embeddedDoc{what: what, kind: KindKCP}
	path := []string{"spec", "kubeadmConfigSpec"}
	if f == fmtKCPT {
		ed.kind = KindKCPT
		path = []string{"spec", "template", "spec", "kubeadmConfigSpec"}
	} else {
		if yamledit.Field(yamledit.Field(meta, "labels"), capiTopologyOK) != nil {
			return nil, fmt.Errorf("%s is managed by its Cluster's topology (label %s): Cluster API rewrites it from the ClusterClass; run mirrorctl -f on the class's KubeadmControlPlaneTemplate instead", what, capiTopologyOK)
		}
		ed.version = controllers.ParseVersion(yamledit.ScalarField(yamledit.Field(root, "spec"), "version"))
	}
	var key, m *yaml.Node
	m = root
	for _, p := range path {
		key, m = yamledit.Get(m, p)
		if m == nil || m.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: %s is missing or not a map", what, strings.Join(path, "."))
		}
	}
	ccKey, cc := yamledit.Get(m, "clusterConfiguration")
	opts := patches.EmbeddedOptions{What: what, Version: ed.version, List: strings.HasSuffix(api, "/v1beta2"), Roots: roots}
	var err error
	if ccKey == nil {
		opts.Missing = []string{"clusterConfiguration"}
		ed.emb, err = patches.ParseEmbedded(d, key, m, opts)
	} else {
		ed.emb, err = patches.ParseEmbedded(d, ccKey, cc, opts)
	}
	if err != nil {
		return nil, err
	}
	if f == fmtKCPT {
		ed.notes = append(ed.notes,
			"KubeadmControlPlaneTemplate: Cluster API refuses changes to an existing template's spec: apply the edited template under a new metadata.name and point the ClusterClass's spec.controlPlane at it; every Cluster of the class then rolls out new control-plane machines",
			"a ClusterClass patch (spec.patches) that sets …/clusterConfiguration/controllerManager/extraArgs replaces the whole map and would undo this edit: check the class's patches")
	} else {
		ed.notes = append(ed.notes, "KubeadmControlPlane: applying the edited object makes Cluster API replace every control-plane machine (a rolling update); the change lasts, as new machines are built from it")
	}
	return ed, nil
}

// k0sctlDoc reads a k0sctl Cluster: the k0s config embedded at spec.k0s.config, whose spec holds
// controllerManager.extraArgs as a k0s.yaml does (a map; a controllers entry replaces k0s's default).
func k0sctlDoc(d, separate *yamledit.LineDoc, roots []*yaml.Node) (*embeddedDoc, error) {
	root := d.Root
	name := yamledit.ScalarField(yamledit.Field(root, "metadata"), "name")
	if name == "" {
		name = "k0s-cluster" // k0sctl's default (v1beta1.ClusterMetadata)
	}
	what := fmt.Sprintf("k0sctl Cluster %q", name)
	ed := &embeddedDoc{what: what, kind: KindK0sctl}
	spec := yamledit.Field(root, "spec")
	k0sKey, k0s := yamledit.Get(spec, "k0s")
	// k0s versions follow Kubernetes' from 1.x (v1.29.2+k0s.0); a 0.x k0s says nothing of Kubernetes's.
	if v := controllers.ParseVersion(yamledit.ScalarField(k0s, "version")); v.Major >= 1 {
		ed.version = v
	}
	if hosts := yamledit.Field(spec, "hosts"); hosts != nil && hosts.Kind == yaml.SequenceNode {
		n := 0
		for _, h := range hosts.Content {
			switch yamledit.ScalarField(h, "role") {
			case "controller", "controller+worker", "single": // k0sctl cluster.Host.IsController
				n++
			}
		}
		if n > 1 {
			ed.ha = append(ed.ha, fmt.Sprintf("%d hosts with a controller role", n))
		}
	}
	if yamledit.ScalarField(k0s, "dynamicConfig") == "true" {
		ed.warnings = append(ed.warnings, what+": spec.k0s.dynamicConfig is true: k0sctl pushes the config only when it creates the cluster; afterwards change the ClusterConfig object with `k0sctl config edit` (or kubectl)")
	}
	if k0sKey == nil || k0s == nil || k0s.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: spec.k0s is missing or not a map; add spec.k0s.config (the k0s ClusterConfig) to set kube-controller-manager's flags", what)
	}
	cfgKey, cfg := yamledit.Get(k0s, "config")
	where, cdoc := "spec.k0s.config.spec", d
	switch {
	case separate != nil && cfgKey != nil:
		return nil, fmt.Errorf("%s: has spec.k0s.config and a separate k0s ClusterConfig document (line %d), which k0sctl merges into it; mirrorctl edits one of them: keep the config in one place", what, separate.Base+1)
	case separate != nil:
		cfg, cdoc, where = separate.Root, separate, "the ClusterConfig document's spec"
	case cfgKey == nil || cfg == nil || cfg.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s: spec.k0s.config is missing or not a map (k0sctl then uses `k0s config create`); add one to set kube-controller-manager's flags", what)
	}
	cspecKey, cspec := yamledit.Get(cfg, "spec")
	if cspecKey == nil || cspec == nil || cspec.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %s is missing or not a map", what, where)
	}
	// The HA signals the k0s adapter reads in a k0s.yaml, here in the embedded config.
	_, api := yamledit.Get(cspec, "api")
	if ea := yamledit.ScalarField(api, "externalAddress"); ea != "" {
		ed.ha = append(ed.ha, "spec.api.externalAddress is set")
	}
	storage := yamledit.Field(cspec, "storage")
	if ext := yamledit.Field(yamledit.Field(storage, "etcd"), "externalCluster"); ext != nil && !yamledit.IsNull(ext) {
		ed.ha = append(ed.ha, "spec.storage.etcd.externalCluster is set")
	}
	for _, lb := range []string{"nodeLocalLoadBalancing", "controlPlaneLoadBalancing"} {
		if yamledit.ScalarField(yamledit.Field(yamledit.Field(cspec, "network"), lb), "enabled") == "true" {
			ed.ha = append(ed.ha, "spec.network."+lb+" is enabled")
		}
	}
	if yamledit.ScalarField(storage, "type") == "kine" {
		if ds := yamledit.ScalarField(yamledit.Field(storage, "kine"), "dataSource"); ds != "" && !strings.HasPrefix(ds, "sqlite:") {
			ed.ha = append(ed.ha, "spec.storage.kine.dataSource is an external database")
		}
	}
	if raw := yamledit.Field(yamledit.Field(cspec, "controllerManager"), "rawArgs"); raw != nil {
		for _, a := range raw.Content {
			if strings.HasPrefix(a.Value, controllers.Flag) {
				ed.raw = true
			}
		}
	}
	var err error
	ed.emb, err = patches.ParseEmbedded(cdoc, cspecKey, cspec, patches.EmbeddedOptions{What: what, Version: ed.version, Default: k0sDefaultControllers, Roots: roots})
	if err != nil {
		return nil, err
	}
	ed.notes = append(ed.notes, "k0sctl: `k0sctl apply --config FILE` writes the new k0s.yaml to every controller and restarts k0s there")
	return ed, nil
}

// kubesprayAnalyze reads a kubespray group_vars file: kube_kubeadm_controller_extra_args is a dict
// that kubespray's kubeadm-config templates render, key by key, into controllerManager.extraArgs, so
// kubeadm's rule holds (a controllers entry replaces its default). The version is kube_version's.
func kubesprayAnalyze(o Options, data []byte, plan bool) (*fileResult, error) {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return nil, err
	}
	var doc *yaml.Node
	for _, d := range yf.Docs {
		if f, _ := classify(d); f == fmtKubespray {
			if doc != nil {
				return nil, errors.New("holds more than one document of kubespray variables")
			}
			doc = d
		}
	}
	r := &fileResult{kind: KindKubespray, eff: patches.KubeadmDefaultControllers}
	vk := yamledit.ScalarField(doc, "kube_version")
	if !strings.Contains(vk, "{{") {
		r.version = controllers.ParseVersion(vk)
	}
	_, args := yamledit.Get(doc, kubesprayVar)
	if args != nil && !yamledit.IsEmpty(args) && args.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: is %s; want a dict", kubesprayVar, yamledit.KindName(args))
	}
	_, c := yamledit.Get(args, controllers.FlagName)
	if c != nil {
		if c.Kind != yaml.ScalarNode || yamledit.IsNull(c) {
			return nil, fmt.Errorf("%s.controllers: is %s; want a string", kubesprayVar, yamledit.KindName(c))
		}
		if strings.Contains(c.Value, "{{") || strings.Contains(c.Value, "{%") {
			return nil, fmt.Errorf("%s.controllers: is a Jinja expression (%s); mirrorctl edits literal values only", kubesprayVar, c.Value)
		}
		e, err := controllers.Split(c.Value)
		if err != nil {
			return nil, fmt.Errorf("%s.controllers: %w", kubesprayVar, err)
		}
		r.eff, r.set = e, true
	}
	r.mirroring = controllers.MirroringEnabled(r.eff)
	if !plan {
		if !r.set {
			r.note = kubesprayVar + ".controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
		}
		return r, nil
	}
	sw, err := filesName(o, r.version)
	if err != nil {
		return nil, fmt.Errorf("kube_version: %w", err)
	}
	out, changed := sw.Edit(o.Op, [][]string{slices.Clone(r.eff)})
	r.after = data
	if changed {
		edits, err := yf.SetPath(doc, "", []string{kubesprayVar, controllers.FlagName}, controllers.Join(out[0]))
		if err != nil {
			return nil, err
		}
		if r.after, err = yamledit.Apply(data, edits); err != nil {
			return nil, err
		}
		back, err := kubesprayAnalyze(o, r.after, false)
		if err != nil {
			return nil, fmt.Errorf("internal error: the edit does not read back: %w", err)
		}
		if back.mirroring != (o.Op == controllers.Enable) {
			return nil, errors.New("internal error: the edit does not give the wanted state")
		}
		r.mirroring, r.eff = back.mirroring, back.eff
		if !r.set {
			r.warnings = append(r.warnings, fmt.Sprintf("%s.controllers replaces kubeadm's default list whole, so the whole list is written (%s)", kubesprayVar, controllers.Join(out[0])))
		}
		if args == nil {
			// Ansible does not merge dicts across group_vars and host_vars: the definition with the
			// highest precedence is the whole value kubespray renders.
			r.warnings = append(r.warnings, kubesprayVar+" is new in this file: if another group_vars or host_vars file of the control-plane hosts sets it, Ansible's variable precedence picks one whole dict; add controllers there too (or move the value here)")
		}
		// kubespray roles/kubernetes/control-plane: kubeadm-setup.yml templates kubeadm-config.yaml on every
		// run; only kubeadm-upgrade.yml (upgrade_cluster_setup) rewrites the manifests from it.
		r.notes = append(r.notes, "kubespray renders this into /etc/kubernetes/kubeadm-config.yaml at every playbook run, but only upgrade-cluster.yml rewrites the control-plane manifests from it (`kubeadm init phase control-plane all`) and uploads it to kube-system/kubeadm-config; a plain cluster.yml run leaves kube-controller-manager as it is")
	}
	if !r.version.Known {
		r.warnings = append(r.warnings, fmt.Sprintf("kube_version not set here: using %s, which every version from 1.19 accepts", sw.Describe()))
	}
	return r, nil
}

// wholeAnalyze edits a file an adapter reads by flag (kind, k0s, kops, Talos, a kubeadm config, a
// static pod manifest) with that adapter's own editor.
func wholeAnalyze(o Options, fp FilePath, f docFormat, data []byte, plan bool) (*fileResult, error) {
	switch f {
	case fmtManifest:
		return manifestAnalyze(o, data, plan)
	case fmtKubeadm:
		return kubeadmAnalyze(o, data, plan)
	}
	var a Adapter
	var in Input
	switch f {
	case fmtKind:
		a, in = kindAdapter{}, kindConfigInput
	case fmtK0s:
		a, in = k0s{}, k0sConfigInput
	case fmtKops:
		a, in = kops{}, kopsSpecInput
	case fmtTalos:
		a, in = talos{}, talosConfigInput
	}
	// The adapter reads its file by node path: a root that is the file's folder makes the file "/name"
	// and holds nothing else the adapter would look at (a k0s service unit, a Talos state dir).
	real := fp.Abs
	if r, err := filepath.EvalSymlinks(fp.Abs); err == nil {
		real = r // the adapter's root is the folder of the file itself, not of a link to it
	}
	dir, base := filepath.Split(real)
	sub := o // every switch of the command, for the adapter's own edit
	sub.Root, sub.Reads = nodefs.Root{Dir: filepath.Clean(dir)}, nil
	sub.Inputs = Values{in.Name: "/" + base}
	for _, fi := range (*Files)(nil).Inputs() {
		if v, ok := o.Inputs[fi.Name]; ok {
			sub.Inputs[fi.Name] = v
		}
	}
	// The adapter speaks of "this node": a -f file is read by the nodes it is copied to.
	fix := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "/"+base, fp.Given), "on this node", "on each node that reads it")
	}
	fixAll := func(ss []string) []string {
		var out []string
		for _, s := range ss {
			out = append(out, fix(s))
		}
		return out
	}
	r := &fileResult{kind: kindOf(a)}
	if !plan {
		st, err := a.Status(sub)
		if err != nil {
			return nil, errors.New(fix(err.Error()))
		}
		fs := st.Files[0]
		r.kind, r.mirroring, r.note = fs.Kind, fs.Mirroring == change.Enabled, fs.Note
		r.eff, _ = controllers.Split(fs.Controllers)
		r.version = controllers.ParseVersion(fs.Version)
		r.warnings = fixAll(st.Warnings)
		return r, nil
	}
	p, err := a.Plan(sub)
	if err != nil {
		return nil, errors.New(fix(err.Error()))
	}
	for _, c := range p.Files {
		if c.Path == "/"+base {
			r.kind, r.after = c.Kind, c.After
		}
	}
	r.mirroring = p.Mirroring == change.Enabled
	r.warnings, r.notes = fixAll(p.Warnings), fixAll(p.Notes)
	if f == fmtTalos && talosIsPatch(data) {
		// A file without machine.type is a patch (talosctl gen config --config-patch…, talosctl patch
		// mc --patch @FILE), not a node's config: say how a patch is applied.
		r.kind = talosKindPatch
		r.notes = []string{"a Talos machine-config patch: apply it with `talosctl patch mc --nodes <control-plane nodes> --patch @" + fp.Given + "` (or keep it among the --config-patch-control-plane files of `talosctl gen config`); Talos restarts kube-controller-manager itself"}
	}
	return r, nil
}

// talosIsPatch: no v1alpha1 document of the file says machine.type, which every generated machine
// config does.
func talosIsPatch(data []byte) bool {
	yf, err := yamledit.Parse(data, yamledit.ConfigFile)
	if err != nil {
		return false
	}
	for _, d := range yf.Docs {
		if yamledit.ScalarField(yamledit.Field(d, "machine"), "type") != "" {
			return false
		}
	}
	return true
}

func kindOf(a Adapter) string { return a.Name() + "-config" }

func manifestAnalyze(o Options, data []byte, plan bool) (*fileResult, error) {
	m, err := manifests.Parse(data)
	if err != nil {
		return nil, err
	}
	eff, err := m.Effective()
	if err != nil {
		return nil, err
	}
	r := &fileResult{kind: KindStaticPod, eff: eff, version: m.Version, mirroring: controllers.MirroringEnabled(eff)}
	if !plan {
		return r, nil
	}
	sw, err := filesName(o, m.Version)
	if err != nil {
		return nil, err
	}
	after, _, err := m.EditedSwitch(o.Op, sw)
	if err != nil {
		return nil, err
	}
	on, err := after.Mirroring()
	if err != nil {
		return nil, err
	}
	r.after, r.mirroring = after.Bytes(), on
	r.notes = append(r.notes, "a static pod manifest: the kubelet of the node it is copied to restarts kube-controller-manager from it")
	return r, nil
}

func kubeadmAnalyze(o Options, data []byte, plan bool) (*fileResult, error) {
	k, err := patches.ParseKubeadmConfig(data)
	if err != nil {
		return nil, err
	}
	st := k.State()
	r := &fileResult{kind: configKind(st), eff: st.Controllers, set: st.Set, version: st.Version, mirroring: st.Mirroring}
	if !st.Set {
		r.note = "controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
	}
	if !plan {
		return r, nil
	}
	out, after, _, err := k.EditSelection(o.Op, o.Selection())
	if err != nil {
		return nil, err
	}
	r.after, r.mirroring, r.eff = out, after.Mirroring, after.Controllers
	r.notes = append(r.notes, "a kubeadm config: `kubeadm init`/`join` read it; a running cluster's copy is ConfigMap kube-system/kubeadm-config (mirrorctl --kubeconfig edits it)")
	return r, nil
}
