package distros_test

import (
	"errors"
	"testing"

	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// A store given the distributions' static pod folders refuses a state dir in any of them, including
// one snapshot does not know by itself.
func TestStoreRefusesEveryStaticPodDir(t *testing.T) {
	t.Parallel()
	r, err := nodefs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dirs := append(distros.StaticPodDirs(), "/opt/new-distro/pod-manifests")
	for _, d := range dirs {
		for _, state := range []string{d, d + "/.mirrorctl"} {
			s := snapshot.Open(r, state, snapshot.RefuseStaticPodDirs(dirs))
			if _, err := s.List(); !errors.Is(err, snapshot.ErrUnsafe) {
				t.Errorf("state dir %s: List = %v, want ErrUnsafe", state, err)
			}
		}
	}
	if _, err := snapshot.Open(r, "/var/lib/mirrorctl", snapshot.RefuseStaticPodDirs(dirs)).List(); err != nil {
		t.Errorf("ordinary state dir: %v", err)
	}
}
