package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

func TestWriteFileCreatesMissingFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := "/etc/rancher/k3s/config.yaml.d/99-mirrorctl.yaml"
	if err := WriteFile(root, p, []byte("x: 1\n"), 0o600, -1, -1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "etc/rancher/k3s/config.yaml.d"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("folder: %v %v", err, fi)
	}
	if b, _ := os.ReadFile(root.Host(p)); string(b) != "x: 1\n" {
		t.Errorf("content %q", b)
	}
}
