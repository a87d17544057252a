// Package distros holds one adapter per Kubernetes distribution. An adapter knows where that
// distribution keeps kube-controller-manager's flags on a node, how to detect it under a root, and how
// to plan the edit with the shared patches algebra. Adapters only read; writing, snapshots and
// rollback are the same for all of them (package snapshot).
package distros

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Options carries everything an adapter may need; each adapter reads only the inputs it declares.
type Options struct {
	Root           nodefs.Root
	Op             controllers.Op // for Plan
	ControllerName string         // --controller-name: override the version-based choice
	// EndpointsController is --endpoints-controller: switch the Endpoints controller with the
	// mirroring controller. Every adapter edits through Options.Switch, so each honours it.
	EndpointsController bool

	// Inputs holds the values of the adapters' declared inputs (see Input), by Input.Name. The
	// command line fills it from one flag per input; tests and other callers fill in what they need.
	Inputs Values

	// Reads is the read set of the caller's phase, shared with what else reads the node in it (lint):
	// each file is read and parsed once. nil: each Plan or Status call reads for itself.
	Reads *Reads

	// Added are the files, by node path, where a change by mirrorctl added the controllers entry
	// the file now holds (the newest snapshot of the file recorded it): the file's bytes before that
	// change. An enable takes such an entry back (patches.KubeadmConfig.RemoveAdded) instead of
	// leaving kubeadm's default written out in the operator's file. Only enable reads it.
	Added map[string][]byte

	// Node is what the API server says of this node, when the caller asked it (--kubeconfig): more
	// evidence of a tool that manages the node. nil: not asked.
	Node *NodeInfo
}

// NodeInfo is this node's Node object as far as the adapters use it.
type NodeInfo struct {
	Name        string
	Annotations map[string]string // nil when there is no such Node
	Err         error             // reading it failed: said in a warning, no evidence either way
}

// Selection is what the command switches, before a version picks the names to write.
func (o Options) Selection() controllers.Selection {
	return controllers.Selection{ControllerName: o.ControllerName, Endpoints: o.EndpointsController}
}

// Switch picks the controller names to write for version v: --controller-name or the version's name
// for the mirroring controller, and the Endpoints controller's name with --endpoints-controller.
func (o Options) Switch(v controllers.Version) (controllers.Switch, error) {
	return o.Selection().For(v)
}

// Values are inputs' values by Input.Name: a string, a bool or a []string, as the Input's Kind says.
type Values map[string]any

// String returns a StringInput's value ("" when unset).
func (o Options) String(in Input) string {
	v, _ := o.value(in, StringInput).(string)
	return v
}

// Bool returns a BoolInput's value (false when unset).
func (o Options) Bool(in Input) bool {
	v, _ := o.value(in, BoolInput).(bool)
	return v
}

// Strings returns a StringsInput's values (nil when unset).
func (o Options) Strings(in Input) []string {
	v, _ := o.value(in, StringsInput).([]string)
	return v
}

// value returns the input's value, and panics when it is not of the input's kind: that is a caller
// filling Values by hand with the wrong type, which would otherwise read as "not given".
func (o Options) value(in Input, want InputKind) any {
	if in.Kind != want {
		panic(fmt.Sprintf("distros: input %s is a %s, read as a %s", in.Name, in.Kind, want))
	}
	v, ok := o.Inputs[in.Name]
	if !ok || v == nil {
		return nil
	}
	var typeOK bool
	switch want {
	case StringInput:
		_, typeOK = v.(string)
	case BoolInput:
		_, typeOK = v.(bool)
	case StringsInput:
		_, typeOK = v.([]string)
	}
	if !typeOK {
		panic(fmt.Sprintf("distros: input %s holds a %T, want a %s", in.Name, v, want))
	}
	return v
}

// InputKind is the type of value an input takes.
type InputKind int

const (
	StringInput  InputKind = iota + 1 // one string
	BoolInput                         // a switch, false unless given
	StringsInput                      // a repeatable string
)

func (k InputKind) String() string {
	switch k {
	case StringInput:
		return "string"
	case BoolInput:
		return "bool"
	case StringsInput:
		return "string list"
	}
	return fmt.Sprintf("InputKind(%d)", int(k))
}

// Input is a value an adapter reads from the operator: the command line offers it as the flag
// --<Name> (and MIRRORCTL_<NAME> in the environment), with Usage as its help text. Several adapters
// may declare the same input (the same Name, Usage, Kind and Order): it is offered once.
type Input struct {
	Name  string
	Usage string
	Kind  InputKind
	// Order places the flag among the distribution flags in help and the man page, ascending; inputs
	// with the same Order keep the order their adapter declares them in.
	Order int
	// File: the value is a file the operator names, resolved by the command line's path rule
	// (nodefs.Named) before it reaches the adapter as a node path.
	File bool
	// WriteOnly: only a change reads it (status and distros do not offer it).
	WriteOnly bool
}

// Inputs returns every adapter's inputs, once each, in Order: the flags the command line offers for
// them.
func Inputs() []Input {
	var out []Input
	seen := map[string]bool{}
	for _, a := range registry {
		for _, in := range a.Inputs() {
			if !seen[in.Name] {
				seen[in.Name] = true
				out = append(out, in)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// LookupInput returns the input with this name, as some adapter declares it.
func LookupInput(name string) (Input, bool) {
	for _, in := range Inputs() {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// Implied returns the adapter the given inputs name without --distro: an input that only one
// adapter reads, of a distribution whose files live off the node (kind, Talos, kops: detection cannot
// find them). It returns nil when no input implies one, and an error naming the inputs when they
// imply different ones. given lists the inputs set, by name.
func Implied(given []string) (Adapter, error) {
	var found Adapter
	var by string
	for _, name := range given {
		readers := ReadBy(name)
		if len(readers) != 1 {
			continue
		}
		a, err := Get(readers[0])
		if err != nil || a.Activation().Kind != Elsewhere {
			continue
		}
		if found != nil && found.Name() != a.Name() {
			return nil, fmt.Errorf("--%s is %s's and --%s is %s's: pass the inputs of one distribution", by, found.Name(), name, a.Name())
		}
		found, by = a, name
	}
	return found, nil
}

// ReadBy lists the adapters that declare the input with this name, in registry order.
func ReadBy(name string) []string {
	var out []string
	for _, a := range registry {
		for _, in := range a.Inputs() {
			if in.Name == name {
				out = append(out, a.Name())
				break
			}
		}
	}
	return out
}

// ActivationKind is how a change written to a node's files reaches the running kube-controller-manager.
type ActivationKind int

const (
	// ByKubelet: kcm is a static pod whose manifest was edited; the kubelet sees the change and
	// restarts kcm by itself.
	ByKubelet ActivationKind = iota + 1
	// ByServiceRestart: the service that runs kcm on this node reads the file only when it starts;
	// Activation.Command restarts it.
	ByServiceRestart
	// Elsewhere: the file is applied on another machine or by another tool (a cluster config, a
	// machine-config patch, a cloud control plane); this node's kcm does not change.
	Elsewhere
)

// Activation says how a written change takes effect: what --wait can watch on this node and what
// --restart runs.
type Activation struct {
	Kind    ActivationKind
	Command []string // ByServiceRestart: the restart command, argv; nil otherwise
}

// Valid says whether the activation is one of the three kinds, with a command exactly when a
// restart is needed.
func (a Activation) Valid() bool {
	switch a.Kind {
	case ByKubelet, Elsewhere:
		return a.Command == nil
	case ByServiceRestart:
		return len(a.Command) > 0
	}
	return false
}

// Layout is where a distribution runs things on a node, for the callers that must know without
// planning: the --wait health gate reads kcm's leader lease with kcm's own kubeconfig, and nothing
// mirrorctl saves may land in a folder whose files the kubelet runs.
type Layout struct {
	// StaticPodDirs are folders whose every non-dot file the kubelet runs as a pod (node paths).
	StaticPodDirs []string
	// KCMManifest is kcm's static pod manifest; "" where kcm is not a static pod. Its --kubeconfig
	// flag, when set, names kcm's kubeconfig.
	KCMManifest string
	// KCMKubeconfig is the kubeconfig kcm uses where the manifest names none (or there is no
	// manifest); "" where the distribution has none on this node.
	KCMKubeconfig string
}

// StaticPodDirs lists every folder whose files a kubelet runs, for any registered distribution:
// snapshots, backups and plans must never be saved there. Sorted, each once.
func StaticPodDirs() []string {
	var out []string
	for _, a := range registry {
		for _, d := range a.Layout().StaticPodDirs {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Target is a file an adapter would read or write.
type Target struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// Adapter is one distribution.
type Adapter interface {
	// Name is the --distro value.
	Name() string
	// Inputs declares what the adapter reads from the operator beyond the common options; the
	// command line offers one flag per input.
	Inputs() []Input
	// Activation says how a written change takes effect.
	Activation() Activation
	// Layout says where the distribution keeps kcm and static pods on a node.
	Layout() Layout
	// Detect looks only at the file system under the root and returns what it found (files, folders)
	// that says this node runs the distribution; empty means not detected.
	Detect(r nodefs.Root) []string
	// Targets lists the files the adapter reads and may write with these options.
	Targets(o Options) ([]Target, error)
	// Plan reads the targets and computes the change for o.Op. It writes nothing.
	Plan(o Options) (*change.Plan, error)
	// Status reads the targets and reports the mirroring state.
	Status(o Options) (*change.Status, error)
}

var registry []Adapter

// All returns every adapter, in the order they are listed to users.
func All() []Adapter { return registry }

// register is called from each adapter file's var block, keeping registration explicit and ordered
// by file name.
func register(a Adapter) Adapter {
	registry = append(registry, a)
	return a
}

// Get returns the adapter with this name.
func Get(name string) (Adapter, error) {
	for _, a := range registry {
		if a.Name() == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("unknown distro %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the adapter names, sorted.
func Names() []string {
	var n []string
	for _, a := range registry {
		n = append(n, a.Name())
	}
	sort.Strings(n)
	return n
}

// Detect picks the one adapter whose Detect finds evidence under the root. None or more than one is an
// error listing what was found, so the operator can pass --distro.
func Detect(r nodefs.Root) (Adapter, error) {
	var found []Adapter
	var what []string
	for _, a := range registry {
		if ev := a.Detect(r); len(ev) > 0 {
			found = append(found, a)
			what = append(what, fmt.Sprintf("%s (%s)", a.Name(), strings.Join(ev, ", ")))
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no Kubernetes distribution detected under %s (looked for: %s); pass --distro", r.Dir, strings.Join(Names(), ", "))
	default:
		return nil, fmt.Errorf("more than one distribution detected under %s: %s; pass --distro", r.Dir, strings.Join(what, "; "))
	}
}
