package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/manifests"
)

// One kcm restart under the kubelet, from kcm's own leader election flags: the recovery after a failed
// gate waits at least this long (31–34 s were measured for a restored kcm 1.37 under the real kubelet).
func TestRestartTime(t *testing.T) {
	pod := func(flags ...string) *manifests.Manifest {
		t.Helper()
		y := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v1.37.2\n    command:\n    - kube-controller-manager\n"
		for _, f := range flags {
			y += "    - " + f + "\n"
		}
		m, err := manifests.Parse([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name string
		m    *manifests.Manifest
		want time.Duration
		why  string
	}{
		{"no manifest: kcm's defaults", nil, 45 * time.Second, "leader lease 15s + retry 2s"},
		{"kubeadm's flags", pod("--leader-elect=true", "--kubeconfig=/etc/kubernetes/controller-manager.conf"), 45 * time.Second, "leader lease 15s"},
		{"a longer lease", pod("--leader-elect-lease-duration=60s", "--leader-elect-retry-period=5s"), 93 * time.Second, "leader lease 1m0s + retry 5s"},
		{"the last occurrence wins", pod("--leader-elect-lease-duration=60s", "--leader-elect-lease-duration=30s"), 60 * time.Second, "leader lease 30s"},
		{"not a duration: kcm's default", pod("--leader-elect-lease-duration=soon"), 45 * time.Second, "leader lease 15s"},
		{"no leader election", pod("--leader-elect=false", "--leader-elect-lease-duration=60s"), 28 * time.Second, "no leader election"},
	} {
		got, why := RestartTime(c.m)
		if got != c.want || !strings.Contains(why, c.why) || !strings.Contains(why, "back-off 15s") {
			t.Errorf("%s: %s (%s), want %s (~%q)", c.name, got, why, c.want, c.why)
		}
	}
	// Under 31–34 s it would not cover the restored kcm measured under the real kubelet.
	if d, _ := RestartTime(nil); d < 35*time.Second {
		t.Errorf("default restart time %s is under the 31–34 s measured", d)
	}
}
