package cluster

import (
	"context"
	"fmt"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/patches"
)

// KubeadmConfigStatus reads the live ClusterConfiguration the way the files are read: it is what
// kubeadm regenerates the manifest from, so status shows it when it can reach it.
func (c *Client) KubeadmConfigStatus(ctx context.Context) (change.FileStatus, error) {
	lc, err := c.PlanKubeadmConfig(ctx, func(b []byte) ([]byte, bool, error) { return b, false, nil })
	if err != nil {
		return change.FileStatus{}, err
	}
	st, err := patches.ReadKubeadmConfig([]byte(lc.Before))
	if err != nil {
		return change.FileStatus{}, fmt.Errorf("%s: %w", LivePath, err)
	}
	fs := change.FileStatus{Path: LivePath, Kind: KindLive, Mirroring: change.StateOf(st.Mirroring),
		Controllers: controllers.Join(st.Controllers), Version: st.Version.String()}
	if !st.Set {
		fs.Note = "controllers not set: kubeadm's default " + controllers.Join(patches.KubeadmDefaultControllers)
	}
	return fs, nil
}
