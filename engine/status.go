package engine

import (
	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/distros"
)

// StatusResult is what status reports; its JSON keys are public contract.
type StatusResult struct {
	Distro    string              `json:"distro"`
	Mirroring string              `json:"mirroring"`
	Agree     bool                `json:"agree"`
	Files     []change.FileStatus `json:"files"`
	Warnings  []string            `json:"warnings"`
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
	r := &StatusResult{Distro: st.Distro, Mirroring: st.Mirroring, Agree: st.Mirroring != change.Mixed,
		Files: st.Files, Warnings: append([]string{}, st.Warnings...)}
	if r.Files == nil {
		r.Files = []change.FileStatus{}
	}
	return r, nil
}
