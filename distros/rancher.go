package distros

// k3s and RKE2 read kube-controller-manager flags from the server's config file and its drop-ins. This
// file computes the effective --controllers the way they do and plans a drop-in of our own, so the
// user's config.yaml is never edited.
//
// Sources (k3s-io/k3s):
//   - pkg/configfilearg/parser.go readConfigFile: config.yaml first, then config.yaml.d/*.yaml|*.yml in
//     name order (os.ReadDir); a key ending in "+" appends to the value so far, any other key replaces it.
//   - pkg/daemons/control/server.go controllerManager: default controllers "*,tokencleaner", plus
//     ",-service,-route,-cloud-node-lifecycle" unless the cloud controller is disabled
//     (disable-cloud-controller; on RKE2 also cloud-provider-name / cloud-provider-config).
//   - pkg/util/args.go GetArgs (read at commit 0aa32d5656f84887848522c45df9d6869d8eaec9): an entry
//     is "--"-less "name=value" (controllers.ParseExtraArg reads it); "controllers=V" drops the
//     default and adds V after earlier values, "controllers+=V" keeps the default (first use only) and
//     appends V, "controllers-=V" puts V before the default and every earlier value. Each value becomes
//     one --controllers=V flag, and kcm concatenates repeated flags.
//
// The drop-in holds one "controllers-=±name" entry: it is placed first, so kcm's first-match rule
// makes it decide for the mirroring controller whatever the other files say, and every other entry —
// k3s's default included, which follows disable-cloud-controller — stays exactly as the user has it.
// Except where our entry is the first controllers entry k3s merges and the next one is a plain
// "controllers=V" (a later drop-in, or the unit's ExecStart, which k3s reads after every config file:
// pkg/configfilearg/parser.go, commit 0aa32d5656f84887848522c45df9d6869d8eaec9, inserts the config
// file's flags right after the subcommand, before the command line's own): "-=" would take k3s's
// default in ahead of V, which V alone drops, and turn other controllers on or off. There the entry is
// a plain "controllers=±name", which drops the default as V does. The plan merges every file and
// ExecStart with the entry in place and refuses any result that changes another controller.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// RancherDropIn is the name of the drop-in mirrorctl writes. "99-" sorts after the numbered drop-ins
// operators use; a later file that touches kube-controller-manager-arg is detected and refused.
const RancherDropIn = "99-mirrorctl.yaml"

const (
	rancherKCMArg     = "kube-controller-manager-arg"
	rancherDropInMode = 0o600
)

// rancherPrepend starts the entry our drop-in writes: a controllers value put before every other.
var rancherPrepend = controllers.FormatExtraArg("-", "")

// rancherReplace starts the plain entry, used where "-=" would pull k3s's default in (see above).
var rancherReplace = controllers.FormatExtraArg("", "")

// rancherOurEntry says whether a drop-in line or value is an entry mirrorctl writes, and returns the
// value after its prefix.
func rancherOurEntry(v string) (string, bool) {
	if val, ok := strings.CutPrefix(v, rancherPrepend); ok {
		return val, true
	}
	return strings.CutPrefix(v, rancherReplace)
}

// rancherDefaults are k3s's own kcm --controllers (pkg/daemons/control/server.go).
const (
	rancherDefaultControllers      = "*,tokencleaner"
	rancherDefaultControllersCloud = "*,tokencleaner,-service,-route,-cloud-node-lifecycle"
)

// rancher is the adapter logic shared by k3s and RKE2.
type rancher struct {
	name       string
	configDir  string // /etc/rancher/<name>
	dataDir    string // /var/lib/rancher/<name>
	service    string // systemd unit
	podManifst string // RKE2's generated kcm manifest ("" for k3s)
}

func (r rancher) configPath() string { return r.configDir + "/config.yaml" }
func (r rancher) dropInDir() string  { return r.configDir + "/config.yaml.d" }
func (r rancher) dropInPath() string { return r.dropInDir() + "/" + RancherDropIn }

func (r rancher) kindConfig() string { return r.name + "-config" }
func (r rancher) kindDropIn() string { return r.name + "-config-dropin" }

func (r rancher) detect(root nodefs.Root) []string {
	var found []string
	for _, p := range []string{r.configDir, r.dataDir} {
		if root.Exists(p) {
			found = append(found, p)
		}
	}
	return found
}

// rancherFile is one config file as k3s reads it.
type rancherFile struct {
	file *nodefs.File
	// entries are the file's top-level keys in order, "+" kept, with the values k3s's toSlice gives.
	entries []rancherEntry
}

type rancherEntry struct {
	key    string // as written, "+" included
	values []string
	list   bool // the value was a list (or a scalar turned into one by "+")
}

// rancherListFiles returns config.yaml (when present) and the drop-ins in the order k3s loads them.
func (r rancher) listFiles(root nodefs.Root) ([]string, error) {
	var files []string
	if root.Exists(r.configPath()) {
		files = append(files, r.configPath())
	}
	host, err := root.Resolve(r.dropInDir())
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(host)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", r.dropInDir(), unwrapPath(err))
	}
	var names []string
	for _, e := range ents {
		n := strings.ToLower(e.Name())
		if e.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names) // os.ReadDir sorts already; k3s relies on that order
	for _, n := range names {
		files = append(files, r.dropInDir()+"/"+n)
	}
	return files, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseRancherFile reads the top-level keys of a k3s config file.
func parseRancherFile(f *nodefs.File) (*rancherFile, error) {
	rf := &rancherFile{file: f}
	yf, err := yamledit.Parse(f.Data, yamledit.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	if len(yf.Docs) > 1 {
		return nil, fmt.Errorf("%s: holds %d YAML documents; k3s reads one", f.Path, len(yf.Docs))
	}
	if len(yf.Docs) == 0 || yf.Docs[0] == nil {
		return rf, nil
	}
	root := yf.Docs[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: is %s; want a mapping of k3s flags", f.Path, yamledit.KindName(root))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		e := rancherEntry{key: k.Value}
		switch {
		case v.Kind == yaml.SequenceNode:
			e.list = true
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s: %s: holds %s; want strings", f.Path, k.Value, yamledit.KindName(it))
				}
				e.values = append(e.values, it.Value)
			}
		case v.Kind == yaml.ScalarNode:
			e.values = []string{v.Value}
		default:
			if strings.TrimSuffix(k.Value, "+") == rancherKCMArg {
				return nil, fmt.Errorf("%s: %s: is %s; want a list of flag=value strings", f.Path, k.Value, yamledit.KindName(v))
			}
		}
		rf.entries = append(rf.entries, e)
	}
	return rf, nil
}

// rancherMerged is the merge of a set of config files.
type rancherMerged struct {
	all       map[string][]string // every key (without "+") and its merged values
	kcmArgs   []string            // kube-controller-manager-arg values in order
	kcmFrom   []string            // the file each kcmArgs value comes from
	noCCM     bool                // the cloud controller is disabled
	cloudSet  bool                // cloud-provider-name/-config set (RKE2 disables its CCM then)
	lastKCMBy string              // the file that last replaced (not appended to) kube-controller-manager-arg
}

// mergeRancher merges files as k3s's readConfigFile does, for the keys that matter here.
func mergeRancher(files []*rancherFile) (rancherMerged, error) {
	var m rancherMerged
	vals := map[string][]string{}
	set := map[string]bool{}
	for _, f := range files {
		for _, e := range f.entries {
			key := strings.TrimSuffix(e.key, "+")
			appendKey := strings.HasSuffix(e.key, "+")
			if set[key] && appendKey {
				vals[key] = append(vals[key], e.values...)
			} else {
				vals[key] = append([]string(nil), e.values...)
				if key == rancherKCMArg {
					m.lastKCMBy = f.file.Path
					m.kcmFrom = nil
				}
			}
			if key == rancherKCMArg {
				for range e.values {
					m.kcmFrom = append(m.kcmFrom, f.file.Path)
				}
			}
			set[key] = true
		}
	}
	m.all = vals
	m.kcmArgs = vals[rancherKCMArg]
	if v, ok := vals["disable-cloud-controller"]; ok && len(v) > 0 {
		b, err := strconv.ParseBool(v[len(v)-1])
		if err != nil {
			return m, fmt.Errorf("disable-cloud-controller: %q is not a boolean", v[len(v)-1])
		}
		m.noCCM = b
	}
	for _, k := range []string{"cloud-provider-name", "cloud-provider-config"} {
		if v := vals[k]; len(v) > 0 && v[len(v)-1] != "" {
			m.cloudSet = true
		}
	}
	return m, nil
}

// rancherControllers applies k3s's GetArgs to the controllers entries of kube-controller-manager-arg
// and returns the --controllers flags kcm gets, in order. Every value but def has passed
// rancherCheckArg.
func rancherControllers(def string, kcmArgs []string) [][]string {
	var values []string
	initial, haveInitial := def, true
	for _, a := range kcmArgs {
		arg, ok := controllers.ParseExtraArg(a)
		if !ok {
			continue
		}
		value := arg.Value
		var next []string
		switch {
		case strings.HasSuffix(arg.Merge, "+"):
			if haveInitial {
				next = append(next, initial)
			}
			next = append(next, values...)
			next = append(next, value)
		case strings.HasSuffix(arg.Merge, "-"):
			next = append(next, value)
			if haveInitial {
				next = append(next, initial)
			}
			next = append(next, values...)
		default:
			next = append(next, values...)
			next = append(next, value)
		}
		haveInitial = false
		values = next
	}
	if haveInitial {
		values = []string{initial}
	}
	occ := make([][]string, len(values))
	for i, v := range values {
		occ[i], _ = controllers.Split(v)
	}
	return occ
}

// defaultControllers is the distro's own --controllers for this merged config.
func (r rancher) defaultControllers(m rancherMerged) string {
	if m.noCCM || (r.podManifst != "" && m.cloudSet) {
		return rancherDefaultControllers
	}
	return rancherDefaultControllersCloud
}

// rancherState is what the config files say.
type rancherState struct {
	files     []*rancherFile // every config file, ours included when it exists
	ours      *nodefs.File   // our drop-in as read (Exists false when absent)
	oursIdx   int            // index of our drop-in in the load order (where it is or would be)
	base      rancherMerged  // every file but ours
	def       string
	effective []string // with our drop-in as it is now
	version   controllers.Version
	unit      string   // the systemd unit read for command-line flags ("" when none)
	cli       []string // kube-controller-manager-arg values from the unit's ExecStart
	warnings  []string
}

// read reads the config files through o.Reads, which plan and status set: one read set for the call.
func (r rancher) read(o Options) (*rancherState, error) {
	paths, err := r.listFiles(o.Root)
	if err != nil {
		return nil, err
	}
	st := &rancherState{oursIdx: -1}
	var others []*rancherFile
	for _, p := range paths {
		f, err := o.Reads.File(p, false)
		if err != nil {
			return nil, err
		}
		rf, err := parseRancherFile(f)
		if err != nil {
			return nil, err
		}
		if p == r.dropInPath() {
			st.ours = f
			st.oursIdx = len(st.files)
			if err := rancherCheckOurs(rf); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		} else {
			others = append(others, rf)
		}
		st.files = append(st.files, rf)
	}
	if st.ours == nil {
		st.ours = &nodefs.File{Path: r.dropInPath()}
		// Where it would load: after every file whose name sorts before it.
		st.oursIdx = len(st.files)
		for i, f := range st.files {
			if f.file.Path != r.configPath() && path.Base(f.file.Path) > RancherDropIn {
				st.oursIdx = i
				break
			}
		}
	}
	if st.base, err = mergeRancher(others); err != nil {
		return nil, fmt.Errorf("%s: %w", r.configPath(), err)
	}
	st.unit, st.cli, st.warnings = r.unitArgs(o.Root)
	st.base.kcmArgs = append(st.base.kcmArgs, st.cli...)
	for _, a := range st.cli {
		if err := rancherCheckArg(a); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", st.unit, rancherKCMArg, err)
		}
	}
	st.def = r.defaultControllers(st.base)
	all, err := mergeRancher(st.files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.configPath(), err)
	}
	// Only the values that survive the merge reach kcm: a later file's plain kube-controller-manager-arg
	// replaces the list so far (k3s-io/k3s pkg/configfilearg/parser.go readConfigFile, read at commit
	// f646604010affc6a1d3233a8a0870bca46bf80cf), so a broken entry it replaces is no error.
	for i, a := range all.kcmArgs {
		if err := rancherCheckArg(a); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", all.kcmFrom[i], rancherKCMArg, err)
		}
	}
	all.kcmArgs = append(all.kcmArgs, st.cli...)
	eff := controllers.Flatten(rancherControllers(st.def, all.kcmArgs))
	if _, err := controllers.Split(strings.Join(eff, ",")); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.configPath(), rancherKCMArg, err)
	}
	st.effective = eff
	st.version = controllers.Version{}
	if r.podManifst != "" {
		if f, err := o.Reads.File(r.podManifst, true); err == nil && f.Exists {
			if m, err := o.Reads.Manifest(r.podManifst); err == nil {
				st.version = m.Version
			}
		}
	}
	return st, nil
}

// rancherCheckArg rejects a controllers argument kcm would refuse or misread.
func rancherCheckArg(a string) error {
	arg, ok := controllers.ParseExtraArg(a)
	if !ok {
		return nil
	}
	value := arg.Value
	if !arg.HasValue {
		value = "" // k3s would pass "true", which is no controller either
	}
	_, err := controllers.Split(value)
	if err == nil && value == "" {
		err = fmt.Errorf("%q sets an empty --controllers value", a)
	}
	return err
}

// rancherCheckOurs refuses to overwrite a drop-in with our name that holds anything we did not write.
func rancherCheckOurs(rf *rancherFile) error {
	for _, e := range rf.entries {
		if e.key != rancherKCMArg+"+" {
			return fmt.Errorf("holds %q, which mirrorctl did not write; move the file away or merge it into another drop-in", e.key)
		}
		for _, v := range e.values {
			val, ok := rancherOurEntry(v)
			entries, err := controllers.Split(val)
			ours := ok && err == nil && len(entries) > 0 && len(entries) <= 2
			for _, e := range entries {
				n := strings.TrimPrefix(e, "-")
				ours = ours && (controllers.IsMirroringName(n) || controllers.IsEndpointsName(n))
			}
			if !ours {
				return fmt.Errorf("holds %q, which mirrorctl did not write; move the file away or merge it into another drop-in", v)
			}
		}
	}
	return nil
}

// dropInContent is our drop-in for a decisive entry ("" for none), merged with merge ("-": before
// everything; "": replacing k3s's default, see the file comment).
func (r rancher) dropInContent(entry, op, merge string, endpoints bool) []byte {
	what := "EndpointSlice mirroring controller"
	if endpoints {
		what = "EndpointSlice mirroring and Endpoints controllers"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by mirrorctl (%s). %s merges config.yaml.d/*.yaml in name order after config.yaml.\n", op, r.name)
	if entry == "" {
		fmt.Fprintf(&b, "# Nothing to add: the other %s config files give the wanted state. Safe to delete.\n", r.name)
		return b.Bytes()
	}
	if merge == "-" {
		b.WriteString("# \"controllers-=\" puts this entry before every other --controllers value, so it decides for the\n")
		fmt.Fprintf(&b, "# %s; all other controllers stay as the other files set them.\n", what)
	} else {
		fmt.Fprintf(&b, "# \"controllers=\" makes this entry the first --controllers value and drops %s's default, as\n", r.name)
		b.WriteString("# the later plain \"controllers=\" entry does (\"controllers-=\" would put the default ahead of it):\n")
		fmt.Fprintf(&b, "# it decides for the %s; all other controllers stay as the other\n", what)
		b.WriteString("# files set them.\n")
	}
	fmt.Fprintf(&b, "# Undo with `mirrorctl enable` (or delete this file), then `systemctl restart %s`.\n", r.service)
	fmt.Fprintf(&b, "%s+:\n  - %q\n", rancherKCMArg, controllers.FormatExtraArg(merge, entry))
	return b.Bytes()
}

func (r rancher) targets(o Options) ([]Target, error) {
	paths, err := r.listFiles(o.Root)
	if err != nil {
		return nil, err
	}
	var t []Target
	if len(paths) == 0 || paths[0] != r.configPath() {
		t = append(t, Target{Path: r.configPath(), Kind: r.kindConfig()})
	}
	for _, p := range paths {
		if p == r.dropInPath() {
			continue
		}
		k := r.kindDropIn()
		if p == r.configPath() {
			k = r.kindConfig()
		}
		t = append(t, Target{Path: p, Kind: k})
	}
	t = append(t, Target{Path: r.dropInPath(), Kind: "mirrorctl-dropin"})
	if r.podManifst != "" {
		t = append(t, Target{Path: r.podManifst, Kind: "rke2-pod-manifest-readonly"})
	}
	return t, nil
}

func (r rancher) plan(o Options) (*change.Plan, error) {
	o.Reads = o.reads()
	st, err := r.read(o)
	if err != nil {
		return nil, err
	}
	sw, err := o.Switch(st.version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.dropInPath(), err)
	}
	baseEff := controllers.Flatten(rancherControllers(st.def, st.base.kcmArgs))
	p := &change.Plan{Distro: r.name, Op: o.Op, Version: st.version}

	// The entry our drop-in must hold: none when the other files already give the wanted state; with
	// --endpoints-controller, one value with an entry for each controller not yet as wanted.
	pending := sw.Pending(o.Op, baseEff)
	if sw.Endpoints == "" && controllers.EndpointsEnabled(st.effective) != controllers.EndpointsEnabled(baseEff) {
		// Our drop-in holds the Endpoints controller's entry of an earlier --endpoints-controller run,
		// and this run does not switch it: rewriting the drop-in must keep it.
		keep := controllers.EndpointsNameFor(st.version)
		if !controllers.EndpointsEnabled(st.effective) {
			keep = "-" + keep
		}
		pending = append(pending, keep)
	}
	entry := controllers.Join(pending)
	// Merge every file and ExecStart with our drop-in in its load position, for each way of writing
	// the entry; the first whose result sets mirroring as wanted and every other controller as the
	// other files do wins. A later drop-in that replaces kube-controller-manager-arg or prepends its
	// own mirroring entry would win over any of them.
	var after []byte
	var eff []string
	var changedOthers []string
	usedMerge := ""
	for _, merge := range []string{"-", ""} {
		usedMerge = merge
		switch {
		case entry == "" && !st.ours.Exists:
			after = nil // nothing to write, nothing to remove
		case entry == "" && st.ours.Exists && !rancherHasEntry(st.ours.Data):
			after = st.ours.Data
		default:
			after = r.dropInContent(entry, string(o.Op), merge, o.EndpointsController)
			if st.ours.Exists && rancherSameEntry(st.ours.Data, after) {
				after = st.ours.Data // same entry: leave the file as it is
			}
		}
		var merged rancherMerged
		eff, merged, err = r.mergeWith(st, after)
		if err != nil {
			return nil, err
		}
		if !sw.Done(o.Op, eff) {
			if merged.lastKCMBy != "" && merged.lastKCMBy != r.dropInPath() {
				return nil, fmt.Errorf("%s: loads after %s and overrides its %s; move the mirroring entry there or rename the file", merged.lastKCMBy, r.dropInPath(), rancherKCMArg)
			}
			return nil, fmt.Errorf("%s: ExecStart passes --%s with a controllers entry that overrides %s; remove it from the unit", st.unit, rancherKCMArg, r.dropInPath())
		}
		if changedOthers = rancherOthersChanged(st.effective, eff, sw); len(changedOthers) == 0 || entry == "" {
			break
		}
	}
	if len(changedOthers) > 0 {
		return nil, fmt.Errorf("%s: %s would also switch %s (as k3s merges config.yaml, its drop-ins and ExecStart); set the mirroring entry in the file that sets controllers instead", r.dropInPath(), o.Op, strings.Join(changedOthers, ", "))
	}
	p.Warnings = append(p.Warnings, st.warnings...)
	if st.unit == "" {
		for _, d := range []string{"/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
			if agent := d + "/" + r.name + "-agent.service"; o.Root.Exists(agent) {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s exists and %s.service does not: on an agent node kube-controller-manager does not run and %s ignores %s", agent, r.service, r.name, rancherKCMArg))
				break
			}
		}
	}

	p.Files = append(p.Files, change.FileChange{Path: r.dropInPath(), Kind: "mirrorctl-dropin", Before: st.ours, After: after, Mode: rancherDropInMode})
	for _, f := range st.files {
		if f.file.Path == r.dropInPath() {
			continue
		}
		k := r.kindDropIn()
		if f.file.Path == r.configPath() {
			k = r.kindConfig()
		}
		p.Files = append(p.Files, change.FileChange{Path: f.file.Path, Kind: k, Before: f.file, After: f.file.Data})
	}
	p.Mirroring = change.StateOf(controllers.MirroringEnabled(eff))
	p.Endpoints = endpointsAfter(o, eff)
	if ev := rancherEvidence(o.Root, r.configDir); ev != nil {
		// Rancher rewrites only its own drop-in, which sorts before ours: the edit holds on this
		// machine, and machines Rancher creates need the entry in the cluster's machine config.
		arg := ""
		if entry != "" {
			arg = controllers.FormatExtraArg(usedMerge, entry)
		}
		p.Manager = rancherManager(ev, arg)
		p.Manager.Override = p.Changed()
		p.Warnings = append(p.Warnings, fmt.Sprintf("Rancher provisioned this node (%s): %s holds until Rancher replaces the machine; set kube-controller-manager-arg in %s so new machines get it", strings.Join(ev, ", "), r.dropInPath(), p.Manager.SourceOfTruth))
	}
	if !st.version.Known {
		p.Warnings = append(p.Warnings, fmt.Sprintf("Kubernetes version unknown: using %s, which every version from 1.19 accepts", sw.Describe()))
	}
	p.Notes = append(p.Notes,
		fmt.Sprintf("takes effect after `systemctl restart %s`", r.service),
		"kube-controller-manager uses leader election: make the same change on every server node",
		fmt.Sprintf("read: %s, its drop-ins and the %s unit's ExecStart; flags from environment files or another --config are not", r.configPath(), r.service))
	return p, nil
}

// mergeWith merges every config file, with after as our drop-in in its load position (nil: none),
// and ExecStart's values, and returns the --controllers list kcm gets.
func (r rancher) mergeWith(st *rancherState, after []byte) ([]string, rancherMerged, error) {
	newOurs := &nodefs.File{Path: r.dropInPath(), Data: after, Exists: after != nil}
	var files []*rancherFile
	var unchanged *rancherFile // our drop-in as read, when the plan leaves it as it is
	for _, f := range st.files {
		if f.file.Path != r.dropInPath() {
			files = append(files, f)
		} else if after != nil && bytes.Equal(f.file.Data, after) {
			unchanged = f
		}
	}
	if after != nil {
		rf := unchanged
		if rf == nil {
			var err error
			if rf, err = parseRancherFile(newOurs); err != nil {
				return nil, rancherMerged{}, fmt.Errorf("%s: internal error: %w", r.dropInPath(), err)
			}
		}
		files = append(files[:st.oursIdx:st.oursIdx], append([]*rancherFile{rf}, files[st.oursIdx:]...)...)
	}
	merged, err := mergeRancher(files)
	if err != nil {
		return nil, merged, fmt.Errorf("%s: %w", r.configPath(), err)
	}
	merged.kcmArgs = append(merged.kcmArgs, st.cli...)
	return controllers.Flatten(rancherControllers(r.defaultControllers(merged), merged.kcmArgs)), merged, nil
}

// rancherOthersChanged lists the controllers other than the mirroring one whose state differs between
// two --controllers lists, by kcm's IsControllerEnabled (the first entry naming a controller decides,
// else "*" runs the default-on ones): every controller either list names, and "*" for the ones
// neither names when "*" comes and goes.
func rancherOthersChanged(before, after []string, sw controllers.Switch) []string {
	names := map[string]bool{}
	for _, e := range append(append([]string{}, before...), after...) {
		n := strings.TrimPrefix(e, "-")
		if n != "*" && n != "" && !sw.Is(n) {
			names[n] = true
		}
	}
	state := func(list []string, name string) (on, star bool) {
		for _, e := range list {
			switch e {
			case name:
				return true, star
			case "-" + name:
				return false, star
			case "*":
				star = true
			}
		}
		return star && !rancherOffByDefault[name], star
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(names)) {
		b, _ := state(before, n)
		a, _ := state(after, n)
		if a != b {
			out = append(out, fmt.Sprintf("%s %s→%s", n, onOff(b), onOff(a)))
		}
	}
	if _, b := state(before, ""); b != func() bool { _, a := state(after, ""); return a }() {
		out = append(out, fmt.Sprintf("every other default controller (\"*\") %s→%s", onOff(b), onOff(!b)))
	}
	return out
}

// rancherOffByDefault are the controllers "*" does not start: kcm's ControllersDisabledByDefault
// (kubernetes cmd/kube-controller-manager/app/controllermanager.go).
var rancherOffByDefault = map[string]bool{"bootstrapsigner": true, "tokencleaner": true}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// rancherHasEntry says whether a drop-in of ours holds an entry (not only comments).
func rancherHasEntry(data []byte) bool {
	return bytes.Contains(data, []byte(rancherPrepend)) || bytes.Contains(data, []byte(rancherReplace))
}

// rancherSameEntry reports whether two drop-ins hold the same entry (comments aside), so re-running
// with another op wording does not rewrite the file.
func rancherSameEntry(a, b []byte) bool {
	pick := func(d []byte) string {
		for _, l := range strings.Split(string(d), "\n") {
			if rancherHasEntry([]byte(l)) && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	return pick(a) != "" && pick(a) == pick(b)
}

func (r rancher) status(o Options) (*change.Status, error) {
	o.Reads = o.reads()
	st, err := r.read(o)
	if err != nil {
		return nil, err
	}
	s := &change.Status{Distro: r.name, Warnings: st.warnings}
	var from []string
	for _, f := range st.files {
		from = append(from, f.file.Path)
	}
	if len(st.cli) > 0 {
		from = append(from, st.unit+" (ExecStart)")
	}
	note := "merged from " + strings.Join(from, ", ")
	if len(from) == 0 {
		note = "no config files: " + r.name + "'s default"
	}
	note += "; " + r.name + " default " + st.def
	s.Files = append(s.Files, change.FileStatus{
		Path: r.configPath(), Kind: r.kindConfig() + "-merged",
		Mirroring:   change.StateOf(controllers.MirroringEnabled(st.effective)),
		Controllers: controllers.Join(st.effective), Version: st.version.String(), Note: note,
	})
	if r.podManifst != "" {
		f, err := o.Reads.File(r.podManifst, true)
		switch {
		case err != nil:
			return nil, err
		case !f.Exists:
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: not there (%s has not started yet?)", r.podManifst, r.service))
		default:
			m, err := o.Reads.Manifest(r.podManifst)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.podManifst, err)
			}
			eff, err := m.Effective()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.podManifst, err)
			}
			s.Files = append(s.Files, change.FileStatus{
				Path: r.podManifst, Kind: "rke2-pod-manifest", Mirroring: change.StateOf(controllers.MirroringEnabled(eff)),
				Controllers: controllers.Join(eff), Version: m.Version.String(),
				Note: "what runs now; rewritten by rke2 at every start",
			})
		}
	}
	s.Summarize()
	if s.Mirroring == change.Mixed {
		s.Warnings = append(s.Warnings, fmt.Sprintf("the config and the running kube-controller-manager disagree: `systemctl restart %s` applies the config", r.service))
	}
	if ev := rancherEvidence(o.Root, r.configDir); ev != nil {
		statusManaged(s, rancherManager(ev, ""))
	}
	return s, nil
}

// unitPaths are where the k3s install script and the RKE2 packages put the service unit.
func (r rancher) unitPaths() []string {
	var out []string
	for _, d := range []string{"/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		out = append(out, d+"/"+r.service+".service")
	}
	return out
}

// unitArgs reads kube-controller-manager-arg values from the service's ExecStart (INSTALL_K3S_EXEC puts
// flags there). k3s inserts the config file's flags right after "server", so command-line values come
// after every config value. It also warns when the unit points k3s at another config file.
func (r rancher) unitArgs(root nodefs.Root) (unit string, args []string, warnings []string) {
	for _, p := range r.unitPaths() {
		f, err := root.ReadFile(p, true)
		if err != nil || !f.Exists {
			continue
		}
		words := systemdExecStart(string(f.Data))
		for i := 0; i < len(words); i++ {
			w := words[i]
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if !strings.HasPrefix(w, "-") {
				continue
			}
			switch name {
			case rancherKCMArg:
				if !hasValue && i+1 < len(words) {
					i++
					value = words[i]
				}
				args = append(args, value)
			case "config", "c":
				warnings = append(warnings, fmt.Sprintf("%s: ExecStart passes --config; mirrorctl reads %s and its drop-ins only", p, r.configPath()))
			}
		}
		return p, args, warnings
	}
	return "", nil, nil
}

// systemdExecStart splits the first ExecStart= of a unit into words, joining continuation lines and
// honouring systemd's single and double quotes.
func systemdExecStart(unit string) []string {
	var cmd string
	lines := strings.Split(strings.ReplaceAll(unit, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		v, ok := strings.CutPrefix(l, "ExecStart=")
		if !ok || v == "" {
			continue
		}
		for strings.HasSuffix(v, "\\") && i+1 < len(lines) {
			i++
			v = strings.TrimSuffix(v, "\\") + " " + strings.TrimSpace(lines[i])
		}
		cmd = v
		break
	}
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// activation: the server reads its config (and RKE2 rewrites kcm's manifest from it) only when the
// service starts.
func (r rancher) activation() Activation {
	return Activation{Kind: ByServiceRestart, Command: []string{"systemctl", "restart", r.service}}
}

// layout: both run the kubelet's static pods from the agent's pod-manifests folder; k3s runs kcm in
// process, RKE2 as a static pod there, each with the kubeconfig the server writes for it.
func (r rancher) layout() Layout {
	return Layout{
		StaticPodDirs: []string{r.dataDir + "/agent/pod-manifests"},
		KCMManifest:   r.podManifst,
		KCMKubeconfig: r.dataDir + "/server/cred/controller.kubeconfig",
	}
}
