package distros

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
)

// Paths kubeadm uses on every control-plane node.
const (
	KubeadmManifest      = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
	KubeadmManifestsDir  = "/etc/kubernetes/manifests"
	KubeadmDefaultConfig = "/etc/kubernetes/kubeadm-config.yaml"
)

// File kinds in output.
const (
	KindStaticPod        = "static-pod-manifest"
	KindKubeadmConfig    = "kubeadm-config"
	KindKubeadmConfigMap = "kubeadm-config-configmap"
)

type kubeadm struct{}

var _ = register(kubeadm{})

func (kubeadm) Name() string { return "kubeadm" }

// KubeadmConfigInput is --kubeadm-config: kubeadm config files to edit with the manifest. lint reads
// the same files.
var KubeadmConfigInput = Input{Name: "kubeadm-config", Kind: StringsInput, File: true, Order: 10,
	Usage: "kubeadm config `FILE` or exported kubeadm-config ConfigMap to edit too (repeatable; default: /etc/kubernetes/kubeadm-config.yaml when present)"}

func (kubeadm) Inputs() []Input { return []Input{KubeadmConfigInput, ManagedNodeInput} }

func (kubeadm) Activation() Activation { return Activation{Kind: ByKubelet} }

func (kubeadm) Layout() Layout {
	return Layout{
		StaticPodDirs: []string{KubeadmManifestsDir},
		KCMManifest:   KubeadmManifest,
		KCMKubeconfig: "/etc/kubernetes/controller-manager.conf",
	}
}

func (kubeadm) Detect(r nodefs.Root) []string {
	// Lstat, not Stat: a broken or looping link there is still a kubeadm node, and Plan then names
	// the file and what is wrong with it.
	if _, err := os.Lstat(r.Host(KubeadmManifest)); err == nil {
		return []string{KubeadmManifest}
	}
	return nil
}

// kubeadmConfigs returns the kubeadm config files to edit: the ones given, or the conventional file when
// present. auto tells the caller the file was found rather than asked for.
func kubeadmConfigs(o Options) (paths []string, auto bool) {
	if given := o.Strings(KubeadmConfigInput); len(given) > 0 {
		for _, p := range given {
			paths = append(paths, nodefs.Clean(p))
		}
		return paths, false
	}
	if o.Root.Exists(KubeadmDefaultConfig) {
		return []string{KubeadmDefaultConfig}, true
	}
	return nil, false
}

func (kubeadm) Targets(o Options) ([]Target, error) {
	t := []Target{{Path: KubeadmManifest, Kind: KindStaticPod}}
	paths, _ := kubeadmConfigs(o)
	for _, p := range paths {
		t = append(t, Target{Path: p, Kind: KindKubeadmConfig})
	}
	return t, nil
}

// readManifest reads and parses the kcm manifest, with errors naming the file.
func readManifest(r *Reads, path string) (*nodefs.File, *manifests.Manifest, error) {
	f, err := r.File(path, false)
	if err != nil {
		return nil, nil, err
	}
	m, err := r.Manifest(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, m, nil
}

func configKind(s *patches.KubeadmState) string {
	if s.ConfigMap {
		return KindKubeadmConfigMap
	}
	return KindKubeadmConfig
}

func (kubeadm) Plan(o Options) (*change.Plan, error) {
	reads := o.reads()
	f, m, err := readManifest(reads, KubeadmManifest)
	if err != nil {
		return nil, err
	}
	p := &change.Plan{Distro: "kubeadm", Op: o.Op}
	version := m.Version

	// Read the configs first: when the image tag says nothing (digest-pinned), kubernetesVersion does.
	cfgs, warnings, err := kubeadmConfigDocs(o, reads, "; left alone")
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, warnings...)
	for _, c := range cfgs {
		if st := c.doc.State(); !version.Known && st.Version.Known {
			version = st.Version
		}
	}

	sw, err := o.Switch(version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KubeadmManifest, err)
	}
	after, _, err := m.EditedSwitch(o.Op, sw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KubeadmManifest, err)
	}
	p.Files = append(p.Files, change.FileChange{Path: KubeadmManifest, Kind: KindStaticPod, Before: f, After: after.Bytes()})
	on, err := after.Mirroring()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KubeadmManifest, err)
	}
	p.Mirroring = change.StateOf(on)
	p.Version = version
	eff, err := after.Effective()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KubeadmManifest, err)
	}
	p.Endpoints = endpointsAfter(o, eff)

	for _, c := range cfgs {
		var out []byte
		var st *patches.KubeadmState
		taken := false
		if before, ok := o.Added[c.file.Path]; ok && o.Op == controllers.Enable {
			// Only a plain disable's entry is recognised (RemoveAdded), and taking it back leaves
			// kubeadm's default: the Endpoints controller on, as it was before that disable.
			out, st, taken = c.doc.RemoveAdded(before)
		}
		if !taken {
			if out, st, _, err = c.doc.EditSelection(o.Op, o.Selection()); err != nil {
				return nil, fmt.Errorf("%s: %w", c.file.Path, err)
			}
		}
		fc := change.FileChange{Path: c.file.Path, Kind: configKind(st), Before: c.file, After: out}
		if !c.doc.State().Set && fc.Changed() {
			fc.Added = []string{patches.AddedControllersKey}
		}
		p.Files = append(p.Files, fc)
		if st.Mirroring != on {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: mirroring would be %s there but %s in %s", c.file.Path, change.StateOf(st.Mirroring), change.StateOf(on), KubeadmManifest))
		}
		if e := endpointsAfter(o, st.Controllers); e != p.Endpoints {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: the Endpoints controller would be %s there but %s in %s", c.file.Path, e, p.Endpoints, KubeadmManifest))
		}
	}

	if len(cfgs) == 0 {
		p.Warnings = append(p.Warnings, "no kubeadm ClusterConfiguration was edited: `kubeadm upgrade` and new control-plane nodes regenerate the manifest from the kubeadm-config ConfigMap and would undo this; pass --kubeadm-config FILE (an exported ConfigMap works) or update kube-system/kubeadm-config")
	}
	if on != (o.Op == controllers.Enable) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: mirroring stays %s", KubeadmManifest, change.StateOf(on)))
	}
	p.Notes = append(p.Notes,
		"the kubelet restarts kube-controller-manager from the new manifest within about 20 seconds",
		"kube-controller-manager uses leader election: make the same change on every control-plane node")
	p.Warnings = append(p.Warnings, nodeWarnings(o)...)
	if err := guardManaged(o, p, kubeadmManager(o, controllers.Join(eff))); err != nil {
		return nil, err
	}
	return p, nil
}

func (kubeadm) Status(o Options) (*change.Status, error) {
	reads := o.reads()
	_, m, err := readManifest(reads, KubeadmManifest)
	if err != nil {
		return nil, err
	}
	s := &change.Status{Distro: "kubeadm"}
	eff, err := m.Effective()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KubeadmManifest, err)
	}
	s.Files = append(s.Files, change.FileStatus{
		Path: KubeadmManifest, Kind: KindStaticPod, Mirroring: change.StateOf(controllers.MirroringEnabled(eff)),
		Controllers: manifestValue(m, eff), Version: m.Version.String(),
	})
	cfgs, warnings, err := kubeadmConfigDocs(o, reads, "")
	if err != nil {
		return nil, err
	}
	s.Warnings = append(s.Warnings, warnings...)
	for _, c := range cfgs {
		st := c.doc.State()
		fs := change.FileStatus{Path: c.file.Path, Kind: configKind(st), Mirroring: change.StateOf(st.Mirroring),
			Controllers: controllers.Join(st.Controllers), Version: st.Version.String()}
		if !st.Set {
			fs.Note = "controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
		}
		s.Files = append(s.Files, fs)
	}
	s.Summarize()
	if s.Mirroring == change.Mixed {
		s.Warnings = append(s.Warnings, "the files disagree: `kubeadm upgrade` regenerates "+KubeadmManifest+" from the ClusterConfiguration")
	}
	s.Warnings = append(s.Warnings, nodeWarnings(o)...)
	statusManaged(s, kubeadmManager(o, ""))
	return s, nil
}

// kubeadmConfig is a kubeadm config the adapter edits, parsed once for the phase.
type kubeadmConfig struct {
	file *nodefs.File
	doc  *patches.KubeadmConfig
}

// kubeadmConfigDocs reads the kubeadm configs of o: a file picked up by default that holds no
// ClusterConfiguration is left out with a warning (ending in skipped), one named by flag is an error.
func kubeadmConfigDocs(o Options, reads *Reads, skipped string) ([]kubeadmConfig, []string, error) {
	var cfgs []kubeadmConfig
	var warnings []string
	paths, auto := kubeadmConfigs(o)
	for _, path := range paths {
		cf, err := reads.File(path, false)
		if err != nil {
			return nil, nil, err
		}
		doc, err := reads.KubeadmDoc(path)
		if errors.Is(err, patches.ErrNoClusterConfiguration) && auto {
			warnings = append(warnings, fmt.Sprintf("%s: no ClusterConfiguration document%s", path, skipped))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		cfgs = append(cfgs, kubeadmConfig{cf, doc})
	}
	return cfgs, warnings, nil
}

func manifestValue(m *manifests.Manifest, eff []string) string {
	occ, _ := m.Controllers()
	if len(occ) == 0 {
		return "" // flag absent: kcm's default "*"
	}
	return strings.Join(eff, ",")
}
