package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// kubeadmManifest asks real kubeadm for a control-plane component's static pod manifest, generated from
// cfg: KUBEADM_INIT_DRYRUN_DIR makes `init phase control-plane --dry-run` write the file into a scratch
// folder instead of /etc/kubernetes/manifests (no root, no node needed). Returns the file's path.
func kubeadmManifest(t testing.TB, kubeadm, cfg, component string) string {
	t.Helper()
	dir := t.TempDir()
	env := []string{"KUBEADM_INIT_DRYRUN_DIR=" + dir}
	if kubeadmMinor(t, kubeadm) < 22 {
		// Phases learnt --dry-run in 1.22. Before, only a whole `init --dry-run` writes the manifests into
		// the dry-run folder; the phases that need a host (preflight, kubelet, etcd) or a cluster are
		// skipped, certs and kubeconfig run because init's summary reads admin.conf.
		run(t, env, kubeadm, "init", "--config", cfg, "--dry-run", "--skip-phases=preflight,kubelet-start,etcd,wait-control-plane,upload-config,upload-certs,mark-control-plane,bootstrap-token,kubelet-finalize,addon")
	} else {
		run(t, env, kubeadm, "init", "phase", "control-plane", component, "--config", cfg, "--dry-run")
	}
	want := "kube-" + component + ".yaml"
	var found string
	// Older kubeadm writes into a random subfolder of the dry-run folder.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == want {
			found = p
			return fs.SkipAll
		}
		return nil
	})
	if found == "" {
		t.Fatalf("kubeadm %s wrote no %s into %s", kubeadm, want, dir)
	}
	return found
}

var kubernetesVersionLine = regexp.MustCompile(`(?m)^kubernetesVersion: .*$`)

// withKubernetesVersion sets ClusterConfiguration.kubernetesVersion in a kubeadm config file's text.
// kubeadm only generates manifests for versions it supports (its own minor and the one before), and the
// init-defaults fixtures carry the version of the kubeadm that printed them.
func withKubernetesVersion(t testing.TB, text, version string) string {
	t.Helper()
	if len(kubernetesVersionLine.FindAllString(text, -1)) != 1 {
		t.Fatalf("expected exactly one kubernetesVersion line in:\n%s", text)
	}
	return kubernetesVersionLine.ReplaceAllString(text, "kubernetesVersion: "+version)
}

func mustExist(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v", err)
	}
}
