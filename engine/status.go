package engine

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// StatusResult is what status reports; its JSON keys are public contract.
type StatusResult struct {
	Distro    string `json:"distro"`
	Mirroring string `json:"mirroring"`
	// Endpoints is the Endpoints controller's state over the files, as Mirroring is the mirroring
	// controller's.
	Endpoints string              `json:"endpoints_controller"`
	Agree     bool                `json:"agree"`
	Files     []change.FileStatus `json:"files"`
	Warnings  []string            `json:"warnings"`
	// Interrupted is a change that died between its files (null when none): see snapshot.Journal.
	Interrupted *snapshot.Journal `json:"interrupted"`
	// NodeManager is the tool that renders this node's kcm flags from elsewhere, when one was found.
	NodeManager *change.NodeManager `json:"node_manager,omitempty"`
}

// Status reads the node's targets through adapter a and, when live is not nil, the live
// ClusterConfiguration, which kubeadm regenerates the manifest from: the two must agree.
func Status(a distros.Adapter, o distros.Options, live func() (change.FileStatus, error)) (*StatusResult, error) {
	st, err := a.Status(o)
	if err != nil {
		return nil, err
	}
	if live != nil {
		fs, err := live()
		if err != nil {
			return nil, err
		}
		st.Files = append(st.Files, fs)
		st.Summarize()
		if st.Mirroring == change.Mixed {
			st.Warnings = append(st.Warnings, "the node and the live ClusterConfiguration disagree: `kubeadm upgrade` and `kubeadm join --control-plane` regenerate the manifest from the ConfigMap")
		}
	}
	if st.Mirroring == "" {
		st.Summarize()
	}
	if st.Endpoints == "" {
		st.SummarizeEndpoints()
	}
	if st.Endpoints == change.Mixed {
		st.Warnings = append(st.Warnings, "the files disagree on the Endpoints controller (see each file's endpoints_controller): `mirrorctl enable --endpoints-controller` or `disable --endpoints-controller` makes them agree")
	}
	r := &StatusResult{Distro: st.Distro, Mirroring: st.Mirroring, Endpoints: st.Endpoints,
		Agree: st.Mirroring != change.Mixed && st.Endpoints != change.Mixed,
		Files: st.Files, Warnings: append([]string{}, st.Warnings...), NodeManager: st.Manager}
	if r.Interrupted, err = snapshot.Interrupted(o.Root); err != nil {
		r.Warnings = append(r.Warnings, "cannot tell whether a change was interrupted: "+err.Error())
	} else if r.Interrupted != nil {
		r.Warnings = append(r.Warnings, r.Interrupted.Advice())
	}
	if r.Files == nil {
		r.Files = []change.FileStatus{}
	}
	return r, nil
}
