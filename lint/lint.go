// Package lint finds what will hurt a control-plane node around the EndpointSlice mirroring switch,
// before (and independently of) any change: an EndpointSliceMirroring feature gate (no such gate
// exists; the component will not start), files in the static pod folder the kubelet would run,
// manifest and kubeadm ClusterConfiguration disagreeing, broken or unknown --controllers entries, and
// what stops working when mirroring is off on 1.34+/1.37+. Findings carry the node path and line.
//
// Lint only reads. Fix returns the feature-gate removals as FileChanges; the caller writes them through
// the snapshot store like any other change.
package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// Severities. Error: a component will not start or the kubelet runs something it should not. Warning:
// a change will be lost or behave unexpectedly. Note: worth knowing, nothing to fix. Notes do not
// count as findings for the exit status (a node where mirroring is off on purpose lints clean).
const (
	Error   = "error"
	Warning = "warning"
	Note    = "note"
)

// Check names, stable for scripts (JSON "check").
const (
	CheckFeatureGate        = "feature-gate"
	CheckKubeadmFeatureGate = "kubeadm-feature-gate"
	CheckStrayFile          = "stray-file"
	CheckDuplicatePod       = "duplicate-pod"
	CheckUnreadableManifest = "unreadable-manifest"
	CheckDisagreement       = "config-disagreement"
	CheckControllersEntry   = "controllers-entry"
	CheckUnknownController  = "unknown-controller"
	CheckMirroringConsumers = "mirroring-consumers"
	CheckDuplicateKey       = "duplicate-key"
	CheckDistroFeatureGate  = "distro-feature-gate"
)

// Finding is one problem, at a node path and (when it is in a file's text) a 1-based line.
type Finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Line     int    `json:"line,omitempty"`
	Message  string `json:"message"`
	Fixable  bool   `json:"fixable,omitempty"` // lint --fix repairs it
}

func (f Finding) String() string {
	loc := f.Path
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", f.Path, f.Line)
	}
	return fmt.Sprintf("%s: %s: %s [%s]", loc, f.Severity, f.Message, f.Check)
}

// Counts reports whether f makes `mirrorctl lint` exit 3.
func (f Finding) Counts() bool { return f.Severity != Note }

// Options select what Run reads.
type Options struct {
	// ManifestsDir is the static pod folder (node path); default /etc/kubernetes/manifests.
	ManifestsDir string
	// KubeadmConfigs are kubeadm config files or exported ConfigMaps (node paths), as --kubeadm-config;
	// empty means /etc/kubernetes/kubeadm-config.yaml when present.
	KubeadmConfigs []string
	// Reads is the read set of the caller's phase (a plan's: the adapter has read and parsed the kcm
	// manifest already); nil: Run reads for itself.
	Reads *distros.Reads
}

// reads is o.Reads, or a read set of this call's own.
func (o Options) reads(root nodefs.Root) *distros.Reads {
	if o.Reads != nil {
		return o.Reads
	}
	return distros.NewReads(root)
}

const featureGate = "EndpointSliceMirroring"

// Run lints the node under root. It returns an error only when it cannot read what it must (the
// static pod folder, the kcm manifest as a file); everything else it can say is a finding.
func Run(root nodefs.Root, o Options) ([]Finding, error) {
	dir := o.ManifestsDir
	if dir == "" {
		dir = distros.KubeadmManifestsDir
	}
	dir = nodefs.Clean(dir)
	reads := o.reads(root)
	var out []Finding
	pods, fs, err := readPodDir(reads, dir, true)
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	// Other distributions run static pods from their own folders (RKE2 rewrites its manifests there at
	// every start, from its config): files the kubelet should not run matter there too. kubeadm's
	// folder is the one --manifests-dir replaces.
	for _, extra := range distros.StaticPodDirs() {
		if extra == dir || extra == distros.KubeadmManifestsDir {
			continue
		}
		xp, xf, err := readPodDir(reads, extra, false)
		if err != nil {
			continue
		}
		out = append(out, xf...)
		for _, p := range xp {
			out = append(out, duplicateKeys(p.path, p.doc, "")...)
		}
	}
	for _, p := range pods {
		out = append(out, duplicateKeys(p.path, p.doc, "")...)
		for _, g := range gateItems(p) {
			out = append(out, Finding{Check: CheckFeatureGate, Severity: Error, Path: p.path, Line: g.line, Fixable: true,
				Message: fmt.Sprintf("container %s: %s: Kubernetes has no %s feature gate; %s will not start (\"unrecognized feature gate\"); run `mirrorctl lint --fix`, then `mirrorctl disable` to switch mirroring off", g.container, g.item, featureGate, g.container)})
		}
	}
	out = append(out, distroGates(reads)...)
	kcmPath := path.Join(dir, path.Base(distros.KubeadmManifest))
	var kcm *podFile
	for _, p := range pods {
		if p.path == kcmPath {
			kcm = p
		}
	}
	if kcm == nil {
		// Not a kubeadm node (or no kcm here): nothing else to check.
		if _, err := reads.File(kcmPath, true); err != nil {
			return nil, err
		}
		return sortFindings(out), nil
	}
	m, err := reads.Manifest(kcmPath)
	if err != nil {
		// A manifest with duplicate keys is already a finding above; the editor refuses it, so the
		// checks that need its --controllers stop here rather than fail the whole lint.
		for _, f := range out {
			if f.Check == CheckDuplicateKey && f.Path == kcmPath {
				return sortFindings(out), nil
			}
		}
		return nil, fmt.Errorf("%s: %w", kcmPath, err)
	}
	version := m.Version
	cfgs := configPaths(root, o.KubeadmConfigs)
	for _, c := range cfgs {
		f, err := reads.File(c, false)
		if err != nil {
			return nil, err
		}
		out = append(out, kubeadmGates(f)...)
		if !version.Known {
			if st, err := reads.KubeadmConfig(c); err == nil && st.Version.Known {
				version = st.Version
			}
		}
	}
	cf, brokenCtl := controllerFindings(kcm, version)
	out = append(out, cf...)
	if !brokenCtl {
		st, err := kubeadmStatus(reads, o.KubeadmConfigs)
		if err != nil {
			return nil, err
		}
		out = append(out, disagreements(st)...)
		out = append(out, configControllerFindings(reads, st, version)...)
		if on, err := m.Mirroring(); err == nil && !on {
			out = append(out, ConsumerNotes(kcmPath, version)...)
		}
	}
	return sortFindings(out), nil
}

// duplicateKeys reports mapping keys that appear twice. YAML forbids them, yet the kubelet accepts them:
// it decodes static pods with sigs.k8s.io/yaml (non-strict), where the last one wins, while most
// editors and tools (mirrorctl's own manifest editor included) read the first.
func duplicateKeys(path string, n *yaml.Node, at string) []Finding {
	var out []Finding
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			key := at + "." + k.Value
			if first, ok := seen[k.Value]; ok {
				out = append(out, Finding{Check: CheckDuplicateKey, Severity: Error, Path: path, Line: k.Line,
					Message: fmt.Sprintf("%s is set twice (first on line %d): the kubelet uses this one, most tools the first; remove one", strings.TrimPrefix(key, "."), first)})
			} else {
				seen[k.Value] = k.Line
			}
			out = append(out, duplicateKeys(path, n.Content[i+1], key)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, duplicateKeys(path, c, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

func configPaths(root nodefs.Root, given []string) []string {
	if len(given) > 0 {
		var out []string
		for _, p := range given {
			out = append(out, nodefs.Clean(p))
		}
		return out
	}
	if root.Exists(distros.KubeadmDefaultConfig) {
		return []string{distros.KubeadmDefaultConfig}
	}
	return nil
}

func kubeadmStatus(reads *distros.Reads, configs []string) (*change.Status, error) {
	a, err := distros.Get("kubeadm")
	if err != nil {
		return nil, err
	}
	return a.Status(distros.Options{Root: reads.Root, Reads: reads, Inputs: distros.Values{distros.KubeadmConfigInput.Name: configs}})
}

func sortFindings(f []Finding) []Finding {
	sort.SliceStable(f, func(i, j int) bool {
		if f[i].Path != f[j].Path {
			return f[i].Path < f[j].Path
		}
		return f[i].Line < f[j].Line
	})
	if f == nil {
		f = []Finding{}
	}
	return f
}

// podFile is a file of the static pod folder the kubelet would read.
type podFile struct {
	path string // node path
	data []byte
	doc  *yaml.Node // the Pod mapping; nil when it does not parse as one
	name string     // metadata.name
}

// backupRE matches names editors, package managers, patch and Ansible (`backup: yes`:
// name.<pid>.<YYYY-MM-DD@HH:MM:SS>~) leave beside a file.
var backupRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(~|\.(bak|backup|orig|old|save|swp|swo|rej|tmp|dpkg-[a-z]+|rpmnew|rpmsave|ucf-[a-z]+)|\.[0-9]+\.[0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9:]+~)$`)
})

var manifestExt = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\.(ya?ml|json)$`) })

// readPodDir reads every file of the static pod folder the kubelet would run: every non-dot regular
// file (and symlink to one), whatever its name. Subfolders are not read by the kubelet.
//
// strict makes a kube-controller-manager.yaml that does not parse an error (the kubeadm folder, whose
// kcm manifest the other checks need) rather than a finding.
func readPodDir(reads *distros.Reads, dir string, strict bool) ([]*podFile, []Finding, error) {
	host, err := reads.Root.Resolve(dir)
	if err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(host)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("%s: %w", dir, unwrap(err))
	}
	var pods []*podFile
	var out []Finding
	stray := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		np := path.Join(dir, name)
		fi, err := os.Stat(path.Join(host, name))
		if err != nil || fi.IsDir() {
			continue
		}
		if backupRE().MatchString(name) || !manifestExt().MatchString(name) {
			stray[np] = true
			why := "is not a manifest"
			if backupRE().MatchString(name) {
				why = "looks like a backup"
			}
			out = append(out, Finding{Check: CheckStrayFile, Severity: Error, Path: np,
				Message: fmt.Sprintf("%s but sits in the static pod folder %s: the kubelet runs every non-dot file there as a pod (a copy of a manifest takes the same pod slot and can win); move it out of the folder (e.g. to /etc/kubernetes/tmp)", why, dir)})
		}
		if !fi.Mode().IsRegular() {
			out = append(out, Finding{Check: CheckUnreadableManifest, Severity: Warning, Path: np, Message: "not a regular file"})
			continue
		}
		f, err := reads.File(np, false)
		if err != nil {
			out = append(out, Finding{Check: CheckUnreadableManifest, Severity: Warning, Path: np, Message: strings.TrimPrefix(err.Error(), np+": ")})
			continue
		}
		p := &podFile{path: np, data: f.Data}
		d, err := reads.Decoded(np)
		if err != nil {
			return nil, nil, err // read above
		}
		doc, perr := parsePodDecoded(d)
		if perr != nil {
			if strict && np == path.Join(dir, path.Base(distros.KubeadmManifest)) {
				return nil, nil, fmt.Errorf("%s: %w", np, perr)
			}
			if !stray[np] {
				out = append(out, Finding{Check: CheckUnreadableManifest, Severity: Warning, Path: np, Message: "the kubelet cannot run it: " + perr.Error()})
			}
			continue
		}
		p.doc = doc
		p.name = scalar(field(field(doc, "metadata"), "name"))
		pods = append(pods, p)
	}
	// Pods with the same name: the file named after the pod (kubeadm's layout) is the real one, else the
	// first by name; every other one is reported, unless it is already reported as a stray file.
	byName := map[string][]*podFile{}
	for _, p := range pods {
		if p.name != "" {
			byName[p.name] = append(byName[p.name], p)
		}
	}
	for name, ps := range byName {
		if len(ps) < 2 {
			continue
		}
		real := ps[0]
		for _, p := range ps {
			if path.Base(p.path) == name+".yaml" {
				real = p
			}
		}
		for _, p := range ps {
			if p == real {
				continue
			}
			msg := fmt.Sprintf("defines pod %q like %s: the kubelet runs only one of them, and which one is not up to you", name, real.path)
			if stray[p.path] {
				for i := range out {
					if out[i].Path == p.path && out[i].Check == CheckStrayFile {
						out[i].Message += fmt.Sprintf("; it defines pod %q like %s", name, real.path)
					}
				}
				continue
			}
			out = append(out, Finding{Check: CheckDuplicatePod, Severity: Error, Path: p.path, Message: msg})
		}
	}
	return pods, out, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parsePod decodes one YAML (or JSON) document and checks it is a Pod mapping.
func parsePod(data []byte) (*yaml.Node, error) { return parsePodDecoded(yamledit.Decode(data)) }

// parsePodDecoded is parsePod over a decode shared with the file's other readers.
func parsePodDecoded(d *yamledit.Decoded) (*yaml.Node, error) {
	// Only the first document matters to the kubelet; an error after it does not.
	docs, err := d.Docs, d.Err
	if len(docs) == 0 {
		if err == nil {
			return nil, errors.New("file is empty")
		}
		return nil, fmt.Errorf("malformed YAML: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	n := docs[0]
	if len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a Kubernetes object")
	}
	doc := n.Content[0]
	if k := scalar(field(doc, "kind")); k != "Pod" {
		return nil, fmt.Errorf("kind is %q, not Pod", k)
	}
	return doc, nil
}

func field(m *yaml.Node, key string) *yaml.Node { return yamledit.Field(m, key) }

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// flagItem is one occurrence of a flag in a container's command or args.
type flagItem struct {
	container string
	seq       *yaml.Node // the command/args sequence
	flag      *yaml.Node // "--flag=V" or "--flag"
	value     *yaml.Node // V in the two-item form; nil otherwise
	text      string     // V
	line      int
	item      string // as written, for messages
}

func containersOf(doc *yaml.Node) []*yaml.Node {
	spec := field(doc, "spec")
	var out []*yaml.Node
	for _, key := range []string{"initContainers", "containers"} {
		seq := field(spec, key)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, c := range seq.Content {
			if c.Kind == yaml.MappingNode {
				out = append(out, c)
			}
		}
	}
	return out
}

// flagItems returns every occurrence of flag ("--feature-gates") on a container's command line, command
// then args, as controllers.Scan reads it. A two-item flag whose value is not a string or lies in the
// other list is left out: neither can be checked or fixed item by item.
func flagItems(c *yaml.Node, flag string) []flagItem {
	name := scalar(field(c, "name"))
	var items, seqOf []*yaml.Node
	var argv []string
	for _, f := range []string{"command", "args"} {
		seq := field(c, f)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, it := range seq.Content {
			items, seqOf = append(items, it), append(seqOf, seq)
			argv = append(argv, scalar(it)) // "" for an item that is not a string: never a flag
		}
	}
	occ, _ := controllers.Scan(argv, strings.TrimPrefix(flag, "--"))
	var out []flagItem
	for _, o := range occ {
		it, seq := items[o.Flag], seqOf[o.Flag]
		if o.OneToken() {
			out = append(out, flagItem{container: name, seq: seq, flag: it, text: o.Raw, line: it.Line, item: it.Value})
			continue
		}
		v := items[o.Value]
		if v.Kind != yaml.ScalarNode || seqOf[o.Value] != seq {
			continue
		}
		out = append(out, flagItem{container: name, seq: seq, flag: it, value: v, text: v.Value, line: v.Line, item: flag + " " + v.Value})
	}
	return out
}

// gateEntries splits a --feature-gates value the way component-base's MapStringBool does (comma
// separated, each entry and key trimmed) and reports which entries name the non-existent gate.
func gateEntries(value string) (entries []string, bad []bool, any bool) {
	entries = strings.Split(value, ",")
	for _, e := range entries {
		k, _, _ := strings.Cut(strings.TrimSpace(e), "=")
		isBad := strings.TrimSpace(k) == featureGate
		bad = append(bad, isBad)
		any = any || isBad
	}
	return entries, bad, any
}

func gateItems(p *podFile) []flagItem {
	var out []flagItem
	for _, c := range containersOf(p.doc) {
		for _, it := range flagItems(c, "--feature-gates") {
			if _, _, bad := gateEntries(it.text); bad {
				out = append(out, it)
			}
		}
	}
	return out
}

var kubeadmGateRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b` + featureGate + `\s*[=:]`) })

// kubeadmGates finds the gate in a kubeadm config by text: in extraArgs (any component) kubeadm writes
// it into the manifest again at the next upgrade or join, so it must go there too.
func kubeadmGates(f *nodefs.File) []Finding {
	var out []Finding
	for i, line := range strings.Split(string(f.Data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || !strings.Contains(line, featureGate) {
			continue
		}
		if !kubeadmGateRE().MatchString(line) {
			continue
		}
		out = append(out, Finding{Check: CheckKubeadmFeatureGate, Severity: Error, Path: f.Path, Line: i + 1,
			Message: fmt.Sprintf("sets the %s feature gate, which does not exist: kubeadm writes it into the component's manifest at the next upgrade or control-plane join and the component will not start; remove it by hand (and from kube-system/kubeadm-config)", featureGate)})
	}
	return out
}

// distroConfigs are the files where other distributions keep component flags; the gate is as fatal there.
var distroConfigs = []struct{ glob, what string }{
	{"/etc/rancher/k3s/config.yaml", "k3s"},
	{"/etc/rancher/k3s/config.yaml.d/*", "k3s"},
	{"/etc/rancher/rke2/config.yaml", "RKE2"},
	{"/etc/rancher/rke2/config.yaml.d/*", "RKE2"},
	{"/var/snap/microk8s/current/args/kube-*", "MicroK8s"},
	{"/etc/k0s/k0s.yaml", "k0s"},
}

// distroGates finds the gate by text in other distributions' config files (the kubeadm ones are read
// by Run). Unreadable files are left to the commands that edit them.
// Looked returns what lint reads on a node (the static pod folders, the kubeadm configs, every
// distribution's config files) and whether any of it exists under root: a node where none does is
// not a node lint can judge, and "no findings" there would be a false green.
func Looked(root nodefs.Root, o Options) (looked []string, found bool) {
	dir := o.ManifestsDir
	if dir == "" {
		dir = distros.KubeadmManifestsDir
	}
	looked = append(looked, nodefs.Clean(dir))
	for _, d := range distros.StaticPodDirs() {
		if d != distros.KubeadmManifestsDir && !slices.Contains(looked, d) {
			looked = append(looked, d)
		}
	}
	looked = append(looked, o.KubeadmConfigs...)
	if len(o.KubeadmConfigs) == 0 {
		looked = append(looked, distros.KubeadmDefaultConfig)
	}
	for _, p := range looked {
		if root.Exists(p) {
			found = true
		}
	}
	for _, d := range distroConfigs {
		looked = append(looked, d.glob)
		if m, _ := filepath.Glob(root.Host(d.glob)); len(m) > 0 {
			found = true
		}
	}
	return looked, found
}

func distroGates(reads *distros.Reads) []Finding {
	var out []Finding
	for _, d := range distroConfigs {
		matches, _ := filepath.Glob(reads.Root.Host(d.glob))
		for _, m := range matches {
			f, err := reads.File(reads.Root.Node(m), false)
			if err != nil {
				continue
			}
			for i, line := range strings.Split(string(f.Data), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") || !kubeadmGateRE().MatchString(line) {
					continue
				}
				out = append(out, Finding{Check: CheckDistroFeatureGate, Severity: Error, Path: f.Path, Line: i + 1,
					Message: fmt.Sprintf("sets the %s feature gate, which does not exist: %s passes it to the component, which will not start (\"unrecognized feature gate\"); remove it by hand", featureGate, d.what)})
			}
		}
	}
	return out
}

// controllerFindings checks every --controllers entry of the kcm container. broken reports an entry
// that makes the manifest unusable for the other checks (they need a parseable list).
func controllerFindings(p *podFile, v controllers.Version) (out []Finding, broken bool) {
	known, tableNote := knownFor(v)
	for _, c := range containersOf(p.doc) {
		if scalar(field(c, "name")) != manifests.ContainerName {
			continue
		}
		for _, it := range flagItems(c, "--"+controllers.FlagName) {
			// kcm gets the value after the kubelet's $(VAR) expansion; one this cannot know is the
			// manifest reader's to refuse, not a finding here.
			text, ok := manifests.Expanded(c, it.text)
			if !ok {
				continue
			}
			// Entries as kcm's pflag reads them (quotes removed); a value CSV cannot read is judged
			// entry by entry as written.
			entries, err := controllers.ReadCSV(text)
			if err != nil || text == "" {
				entries = strings.Split(text, ",")
			}
			for _, e := range entries {
				var why string
				switch problem := controllers.CheckEntry(e); {
				case text == "":
					why = "is empty: kube-controller-manager then runs no controller at all"
				case problem == controllers.EntryEmpty:
					why = "has an empty entry"
				case problem == controllers.EntryUntrimmed:
					why = fmt.Sprintf("has the entry %q with whitespace or quotes: kube-controller-manager does not trim entries and will not start (unknown controller)", e)
				case problem == controllers.EntryNotAName:
					why = fmt.Sprintf("has the entry %q, which is not a controller name", e)
				}
				if why != "" {
					out = append(out, Finding{Check: CheckControllersEntry, Severity: Error, Path: p.path, Line: it.line,
						Message: fmt.Sprintf("container %s: --controllers=%s %s", manifests.ContainerName, text, why)})
					broken = true
					if text == "" {
						break
					}
					continue
				}
				name := strings.TrimPrefix(e, "-")
				if name == "*" || known == nil || known[name] {
					continue
				}
				msg := fmt.Sprintf("container %s: --controllers entry %q: no controller %q in Kubernetes %s; kube-controller-manager will not start: %q is not in the list of known controllers", manifests.ContainerName, e, name, v, name)
				msg += oldNameHint(name, v)
				out = append(out, Finding{Check: CheckUnknownController, Severity: Error, Path: p.path, Line: it.line, Message: msg + tableNote})
			}
		}
	}
	return out, broken
}

// knownFor returns the names kcm v accepts. For a minor without its own table it is the union of the
// nearest tables below and above (a name both lack is unknown for certain; one either has is let
// through), and a note saying so; for an unknown version the union of all tables.
func knownFor(v controllers.Version) (map[string]bool, string) {
	if !v.Known {
		return unionAll(), " (image version unknown: checked against every release mirrorctl knows)"
	}
	if t, ok := knownControllers[v.String()]; ok {
		return t, ""
	}
	var below, above string
	var bm, am int = -1, 1 << 30
	for k := range knownControllers {
		kv := controllers.ParseVersion(k)
		if kv.Major != v.Major {
			continue
		}
		if kv.Minor < v.Minor && kv.Minor > bm {
			below, bm = k, kv.Minor
		}
		if kv.Minor > v.Minor && kv.Minor < am {
			above, am = k, kv.Minor
		}
	}
	u := map[string]bool{}
	var from []string
	for _, k := range []string{below, above} {
		if k == "" {
			continue
		}
		from = append(from, k)
		for n := range knownControllers[k] {
			u[n] = true
		}
	}
	if len(from) == 0 {
		return unionAll(), ""
	}
	return u, fmt.Sprintf(" (checked against the %s controller lists)", strings.Join(from, " and "))
}

func unionAll() map[string]bool {
	u := map[string]bool{}
	for _, t := range knownControllers {
		for n := range t {
			u[n] = true
		}
	}
	return u
}

// configControllerFindings checks the names in each kubeadm config's controllers value: kubeadm writes
// them into the manifest, and an unknown one stops kcm at the next upgrade or control-plane join.
func configControllerFindings(reads *distros.Reads, st *change.Status, v controllers.Version) []Finding {
	var out []Finding
	for _, f := range st.Files[1:] {
		if f.Note != "" || f.Controllers == "" {
			continue // kubeadm's default list
		}
		cv := v
		if fv := controllers.ParseVersion(f.Version); fv.Known {
			cv = fv
		}
		known, tableNote := knownFor(cv)
		line := 0 // where the editor found the entry; the finding stands without it
		if ks, err := reads.KubeadmConfig(f.Path); err == nil {
			line = ks.Line
		}
		for _, e := range strings.Split(f.Controllers, ",") {
			name := strings.TrimPrefix(e, "-")
			if e == "" || name == "*" || known[name] {
				continue
			}
			msg := fmt.Sprintf("controllerManager.extraArgs controllers entry %q: no controller %q in Kubernetes %s; kubeadm writes it into the kcm manifest at the next upgrade or control-plane join, and kube-controller-manager will not start", e, name, cv)
			msg += oldNameHint(name, cv)
			out = append(out, Finding{Check: CheckUnknownController, Severity: Error, Path: f.Path, Line: line, Message: msg + tableNote})
		}
	}
	return out
}

// oldNameHint says, for a canonical name used before 1.28, which name that release knows the
// controller by ("" otherwise).
func oldNameHint(name string, v controllers.Version) string {
	if !v.Known || v.AtLeast(1, 28) {
		return ""
	}
	switch name {
	case controllers.NameCanonical:
		return fmt.Sprintf("; before 1.28 the mirroring controller is called %q", controllers.NameAlias)
	case controllers.EndpointsCanonical:
		return fmt.Sprintf("; before 1.28 the Endpoints controller is called %q", controllers.EndpointsAlias)
	}
	return ""
}

// disagreements reports a ClusterConfiguration that would regenerate a different kcm command line.
func disagreements(st *change.Status) []Finding {
	if len(st.Files) < 2 {
		return nil
	}
	man := st.Files[0]
	manCtl := man.Controllers
	if manCtl == "" {
		manCtl = "*"
	}
	var out []Finding
	for _, f := range st.Files[1:] {
		ctl := f.Controllers
		if f.Note != "" || ctl == "" {
			ctl = controllers.Join(patches.KubeadmDefaultControllers)
		}
		switch {
		case f.Mirroring != man.Mirroring && f.Mirroring != change.Unknown:
			out = append(out, Finding{Check: CheckDisagreement, Severity: Warning, Path: f.Path,
				Message: fmt.Sprintf("mirroring is %s here but %s in %s: `kubeadm upgrade` and control-plane joins regenerate the manifest from the ClusterConfiguration (--controllers=%s); run `mirrorctl %s --kubeadm-config %s` to make them agree", f.Mirroring, man.Mirroring, man.Path, ctl, opFor(man.Mirroring), f.Path)})
		case f.Endpoints != man.Endpoints && f.Endpoints != change.Unknown && man.Endpoints != change.Unknown && f.Endpoints != "" && man.Endpoints != "":
			out = append(out, Finding{Check: CheckDisagreement, Severity: Warning, Path: f.Path,
				Message: fmt.Sprintf("the Endpoints controller is %s here but %s in %s: `kubeadm upgrade` and control-plane joins regenerate the manifest from the ClusterConfiguration (--controllers=%s); run `mirrorctl %s --endpoints-controller --kubeadm-config %s` to make them agree", f.Endpoints, man.Endpoints, man.Path, ctl, opFor(man.Endpoints), f.Path)})
		case normalize(ctl) != normalize(manCtl):
			out = append(out, Finding{Check: CheckDisagreement, Severity: Warning, Path: f.Path,
				Message: fmt.Sprintf("kubeadm would write --controllers=%s but %s has --controllers=%s: the next `kubeadm upgrade` changes which controllers run", ctl, man.Path, manCtl)})
		}
	}
	return out
}

// normalize writes both names of the mirroring controller, and of the Endpoints controller, the same
// way, so a list naming one by its alias and one naming it canonically compare equal (kcm resolves
// aliases first).
func normalize(list string) string {
	e := strings.Split(list, ",")
	for i, x := range e {
		sign := ""
		if strings.HasPrefix(x, "-") {
			sign, x = "-", x[1:]
		}
		switch {
		case controllers.IsMirroringName(x):
			e[i] = sign + controllers.NameCanonical
		case controllers.IsEndpointsName(x):
			e[i] = sign + controllers.EndpointsCanonical
		}
	}
	return strings.Join(e, ",")
}

func opFor(state string) string {
	if state == change.Disabled {
		return "disable"
	}
	return "enable"
}

// ConsumerNotes says what reads EndpointSlices where Endpoints used to do, for a node with mirroring off.
func ConsumerNotes(path string, v controllers.Version) []Finding {
	var out []Finding
	if !v.Known || v.AtLeast(1, 34) {
		out = append(out, Finding{Check: CheckMirroringConsumers, Severity: Note, Path: path,
			Message: "mirroring is off: from 1.34 APIService availability and aggregator routing read EndpointSlices, so an APIService backed by a selector-less Service with hand-written Endpoints (no mirrored slice) becomes unavailable; label such Endpoints endpointslice.kubernetes.io/skip-mirror=true only after creating their EndpointSlices by hand"})
	}
	if !v.Known || v.AtLeast(1, 37) {
		out = append(out, Finding{Check: CheckMirroringConsumers, Severity: Note, Path: path,
			Message: "mirroring is off: from 1.37 the services/proxy subresource reads EndpointSlices, so `kubectl proxy`-style access to a selector-less Service with hand-written Endpoints fails"})
	}
	return out
}
