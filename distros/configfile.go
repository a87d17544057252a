package distros

// The adapters whose change lives in one config file (kind's cluster config, kops's cluster spec, k0s's
// ClusterConfig) take the same steps around it: find the file from its flag, read it, parse it with
// errors naming it, parse the edit again, report its effective --controllers list. Those steps are
// here, once; what the file says and how to edit it stays in each adapter's own file.

import (
	"fmt"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// configState is what a config file's parser returns.
type configState interface {
	// kcmVersion is the Kubernetes version the file is for (unknown when it does not say).
	kcmVersion() controllers.Version
}

// configFile is an adapter's one config file, parsed into S.
type configFile[S configState] struct {
	input Input  // the flag that names the file
	kind  string // the file's kind in targets, plans and status
	// fallback is where the file is when the flag is not given, and the file may then be absent;
	// without one the flag is required and missing is the error when it is not given.
	fallback func(Options) string
	missing  error
	parse    func(o Options, data []byte) (S, error)
}

// path is the file's node path; optional says it may be absent (the flag did not name it).
func (c configFile[S]) path(o Options) (path string, optional bool, err error) {
	if p := o.String(c.input); p != "" {
		return nodefs.Clean(p), false, nil
	}
	if c.fallback == nil {
		return "", false, c.missing
	}
	return c.fallback(o), true, nil
}

func (c configFile[S]) targets(o Options) ([]Target, error) {
	path, _, err := c.path(o)
	if err != nil {
		return nil, err
	}
	return []Target{{Path: path, Kind: c.kind}}, nil
}

// read reads and parses the file; the returned file's Path is its node path, which parse errors name.
func (c configFile[S]) read(o Options) (*nodefs.File, S, error) {
	var none S
	path, optional, err := c.path(o)
	if err != nil {
		return nil, none, err
	}
	f, err := o.Root.ReadFile(path, optional)
	if err != nil {
		return nil, none, err
	}
	st, err := c.parse(o, f.Data)
	if err != nil {
		return nil, none, fmt.Errorf("%s: %w", path, err)
	}
	return f, st, nil
}

// readForPlan reads the file and picks the controller names to write for the version it is for.
func (c configFile[S]) readForPlan(o Options) (f *nodefs.File, st S, sw controllers.Switch, err error) {
	if f, st, err = c.read(o); err != nil {
		return nil, st, sw, err
	}
	if sw, err = o.Switch(st.kcmVersion()); err != nil {
		return nil, st, sw, fmt.Errorf("%s: %w", f.Path, err)
	}
	return f, st, sw, nil
}

// reparse parses the file's edited bytes: an edit its own parser refuses is a bug, not the operator's.
func (c configFile[S]) reparse(o Options, path string, edited []byte) (S, error) {
	st, err := c.parse(o, edited)
	if err != nil {
		return st, fmt.Errorf("%s: internal error: the edit does not parse: %w", path, err)
	}
	return st, nil
}

// status is the file's line in a status: the effective --controllers list and the version it is for.
func (c configFile[S]) status(path string, eff []string, v controllers.Version) change.FileStatus {
	return effectiveStatus(path, c.kind, eff, v)
}

// effectiveStatus is a file's status from the --controllers list kcm gets from it.
func effectiveStatus(path, kind string, eff []string, v controllers.Version) change.FileStatus {
	return change.FileStatus{Path: path, Kind: kind, Mirroring: change.StateOf(controllers.MirroringEnabled(eff)),
		Controllers: controllers.Join(eff), Version: v.String()}
}

// oneFileStatus is the status of an adapter that reads one file.
func oneFileStatus(distro string, fs change.FileStatus) *change.Status {
	s := &change.Status{Distro: distro, Files: []change.FileStatus{fs}}
	s.Summarize()
	return s
}

// endpointsAfter is a plan's Endpoints state: what the effective list after the edit says, when the
// command switches the Endpoints controller ("" otherwise).
func endpointsAfter(o Options, eff []string) string {
	if !o.EndpointsController {
		return ""
	}
	return change.StateOf(controllers.EndpointsEnabled(eff))
}
