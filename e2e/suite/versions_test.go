package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKCMAcceptsWhatMirrorctlWrites: for the real kubeadm manifests in testdata/kubeadm, mirrorctl
// disables mirroring and a real kube-controller-manager starts from the edited manifest, with the
// mirroring controller (and only it) reported disabled. kcm 1.27 knows only the alias
// `endpointslicemirroring` and exits on the canonical name, so the version-aware choice is what keeps
// a 1.27 control plane alive.
//
// kubeadm's 1.29 manifest is not run on a kcm 1.29 (a cold build of it cost more than kcm 1.31's and
// would prove nothing 1.31 does not: e2e/README.md, "Version sets"). The subtest v1.29 holds what stands
// in for it: mirrorctl writes exactly the same kcm command for it as for the 1.31 manifest that kcm 1.31
// starts with below, and `mirrorctl lint` finds every name in it among those kcm 1.29 knows (its
// controller table, generated from v1.29.15's source: 1.31's names less
// `storage-version-migrator-controller`/`svm`).
func TestKCMAcceptsWhatMirrorctlWrites(t *testing.T) {
	mirrorctlBin(t)
	t.Run("v1.29", func(t *testing.T) {
		var cmds [][]string
		for _, fixture := range []string{"v1.29", "v1.31"} {
			root := t.TempDir()
			manifest := filepath.Join(root, nodeManifest)
			copyFile(t, repoFile("testdata/kubeadm/"+fixture+"/kube-controller-manager.yaml"), manifest)
			expectResult(t, mirrorctl(t, root, "disable"), true, "disabled")
			cmds = append(cmds, podCommand(t, manifest, "kube-controller-manager"))
			if r := runMirrorctl(t, root, "lint"); r.code != 0 {
				t.Fatalf("%s manifest after disable: lint exit %d, want 0 (no unknown controller for its release)\n%s%s", fixture, r.code, r.stdout, r.stderr)
			}
		}
		if !slices.Equal(cmds[0], cmds[1]) {
			t.Fatalf("mirrorctl wrote different kcm commands for the 1.29 and 1.31 manifests, so kcm 1.31 running the latter proves nothing about the former:\n1.29: %q\n1.31: %q", cmds[0], cmds[1])
		}
		t.Logf("1.29 manifest: mirrorctl writes the command it writes for 1.31 (--controllers %q), which kcm 1.31 runs below", flagValues(cmds[0], "controllers"))
	})
	cases := []struct {
		fixture string // under testdata/kubeadm
		kcmSet  string
		// name the kcm of kcmSet logs the controller under; the alias is what 1.27 knows.
		logName string
	}{
		{"v1.27", set127, "endpointslicemirroring"},
		{"v1.31", set131, "endpointslice-mirroring-controller"},
		{"v1.37", set137, "endpointslice-mirroring-controller"},
	}
	kcmBins := map[string]string{}
	for _, tc := range cases {
		kcmBins[tc.kcmSet] = bin(t, tc.kcmSet, "kube-controller-manager")
	}
	c := newCluster(t)
	for i, tc := range cases {
		c.run(t, tc.fixture, func(t *testing.T) {
			defer c.stopKCM() // the cluster outlives the subtest: leave no kcm behind
			root := t.TempDir()
			manifest := filepath.Join(root, nodeManifest)
			copyFile(t, repoFile("testdata/kubeadm/"+tc.fixture+"/kube-controller-manager.yaml"), manifest)
			expectResult(t, mirrorctl(t, root, "disable"), true, "disabled")
			cmd := podCommand(t, manifest, "kube-controller-manager")
			if got := controllerState(cmd); got != "mirroring=false bootstrapsigner=true tokencleaner=true deployment=true" {
				t.Fatalf("edited manifest: %s (flags %q)", got, flagValues(cmd, "controllers"))
			}
			if tc.kcmSet == set127 && !slices.ContainsFunc(flagValues(cmd, "controllers"), func(v string) bool {
				return slices.Contains(strings.Split(v, ","), "-endpointslicemirroring")
			}) {
				t.Fatalf("1.27 manifest: mirrorctl must write the alias -endpointslicemirroring, wrote %q", flagValues(cmd, "controllers"))
			}

			t0 := time.Now()
			kcm := c.startKCM(kcmBins[tc.kcmSet], manifest)
			c.probeControllers(fmt.Sprintf("probe-v%d", i))
			want := fmt.Sprintf(`"Warning: controller is disabled" controller=%q`, tc.logName)
			if !strings.Contains(kcm.log(), want) {
				t.Fatalf("kcm log (%s) lacks %s", kcm.logPath, want)
			}
			for _, l := range c.healthzLines() {
				if strings.Contains(l, "mirroring") {
					t.Fatalf("kcm /healthz?verbose still lists %q", l)
				}
			}
			c.stopKCM()
			t.Logf("%s manifest on kcm %s: started, mirroring disabled, in %s", tc.fixture, k8sVersion(t, tc.kcmSet), time.Since(t0).Round(time.Millisecond))

			if tc.kcmSet != set127 {
				return
			}
			// The same manifest with the canonical name instead of the alias: kcm 1.27 refuses to start.
			canonical := filepath.Join(t.TempDir(), "kube-controller-manager.yaml")
			text := readFile(t, manifest)
			if !strings.Contains(text, "-endpointslicemirroring") {
				t.Fatalf("%s: no -endpointslicemirroring entry to swap", manifest)
			}
			writeFile(t, canonical, []byte(strings.Replace(text, "-endpointslicemirroring", "-endpointslice-mirroring-controller", 1)), 0o600)
			p := c.launchKCM(kcmBins[tc.kcmSet], canonical)
			if !p.waitExit(60 * time.Second) {
				p.stop()
				t.Fatalf("kcm %s kept running with the canonical name; log:\n%s", k8sVersion(t, tc.kcmSet), p.tail(20))
			}
			const fatal = `"endpointslice-mirroring-controller" is not in the list of known controllers`
			// klog quotes the error: the name's quotes arrive as \".
			if p.exitCode() == 0 || !strings.Contains(strings.ReplaceAll(p.log(), `\"`, `"`), fatal) {
				t.Fatalf("kcm %s with the canonical name: exit %d, want non-zero and %s; log:\n%s", k8sVersion(t, tc.kcmSet), p.exitCode(), fatal, p.tail(20))
			}
			t.Logf("kcm %s exits %d on the canonical name: %s", k8sVersion(t, tc.kcmSet), p.exitCode(), fatal)
		})
	}
}
