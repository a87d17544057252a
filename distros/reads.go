package distros

import (
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// Reads is what one look at a node read: each file's bytes and what they parsed to, by node path. A
// command's plan reads the kcm manifest in the adapter, again in lint's checks and again for lint's
// view of the adapter's status; sharing one Reads between them makes that one read and one parse.
//
// The engine makes a new one for each phase, so a replan under the lock reads the disk again; nothing
// is kept across phases or runs. Not safe for concurrent use.
type Reads struct {
	Root  nodefs.Root
	files map[string]*read
}

type read struct {
	file *nodefs.File // as nodefs.Root.ReadFile with allowMissing
	err  error

	decoded *yamledit.Decoded
	parses  int // YAML parses of file's bytes: decodes and kubeadm ClusterConfiguration reads

	manifest    *manifests.Manifest
	manifestErr error
	parsedMan   bool

	kubeadm    *patches.KubeadmConfig
	kubeadmErr error
	parsedKCfg bool
}

// NewReads is an empty read set over root.
func NewReads(root nodefs.Root) *Reads {
	return &Reads{Root: root, files: map[string]*read{}}
}

// File is root.ReadFile(path, allowMissing), read once.
func (r *Reads) File(path string, allowMissing bool) (*nodefs.File, error) {
	e := r.read(path)
	if e.err == nil && !e.file.Exists && !allowMissing {
		return r.Root.ReadFile(path, false) // for the error that says it is missing
	}
	return e.file, e.err
}

func (r *Reads) read(path string) *read {
	np := nodefs.Clean(path)
	e := r.files[np]
	if e == nil {
		e = &read{}
		e.file, e.err = r.Root.ReadFile(np, true)
		r.files[np] = e
	}
	return e
}

// Decoded is the file's YAML documents (yamledit.Decode), decoded once. An error reading the file
// (missing included) names it.
func (r *Reads) Decoded(path string) (*yamledit.Decoded, error) {
	if _, err := r.File(path, false); err != nil {
		return nil, err
	}
	e := r.read(path)
	if e.decoded == nil {
		e.decoded = yamledit.Decode(e.file.Data)
		e.parses++
	}
	return e.decoded, nil
}

// Manifest is the file parsed as a kcm static pod manifest (manifests.ParseDecoded), from the same
// decode as Decoded. An error reading the file names it; a parse error does not (callers prefix it).
func (r *Reads) Manifest(path string) (*manifests.Manifest, error) {
	d, err := r.Decoded(path)
	if err != nil {
		return nil, err
	}
	e := r.read(path)
	if !e.parsedMan {
		e.manifest, e.manifestErr = manifests.ParseDecoded(d)
		e.parsedMan = true
	}
	return e.manifest, e.manifestErr
}

// KubeadmConfig is what the file says as a kubeadm config (patches.ReadKubeadmConfig), parsed once.
// An error reading the file names it; a parse error does not (callers prefix it).
func (r *Reads) KubeadmConfig(path string) (*patches.KubeadmState, error) {
	k, err := r.KubeadmDoc(path)
	if err != nil {
		return nil, err
	}
	return k.State(), nil
}

// KubeadmDoc is the file parsed as a kubeadm config, once: its state, and its edit.
func (r *Reads) KubeadmDoc(path string) (*patches.KubeadmConfig, error) {
	if _, err := r.File(path, false); err != nil {
		return nil, err
	}
	e := r.read(path)
	if !e.parsedKCfg {
		e.kubeadm, e.kubeadmErr = patches.ParseKubeadmConfig(e.file.Data)
		e.parsedKCfg = true
		e.parses++
	}
	return e.kubeadm, e.kubeadmErr
}

// Parses counts the YAML parses this read set made of the file at path: at most one per way of
// reading it (a decode, a kubeadm config read). Tests hold a phase to it.
func (r *Reads) Parses(path string) int {
	if e := r.files[nodefs.Clean(path)]; e != nil {
		return e.parses
	}
	return 0
}

// reads is the read set the adapter's call shares with its caller, or a new one for this call alone.
func (o Options) reads() *Reads {
	if o.Reads != nil {
		return o.Reads
	}
	return NewReads(o.Root)
}
