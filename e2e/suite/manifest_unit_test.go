package e2e

import "testing"

// The harness's own --controllers evaluator decides what the e2e assertions mean, so it gets the
// semantics of k8s.io/controller-manager's IsControllerEnabled right or the suite proves nothing.
func TestControllerEnabled(t *testing.T) {
	mirroring := []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}
	cases := []struct {
		name  string
		cmd   []string
		off   bool // off by default
		names []string
		want  bool
	}{
		{"no flag means *", []string{"kcm"}, false, mirroring, true},
		{"no flag, off by default", []string{"kcm"}, true, []string{"bootstrapsigner"}, false},
		{"kubeadm default", []string{"kcm", "--controllers=*,bootstrapsigner,tokencleaner"}, true, []string{"bootstrapsigner"}, true},
		{"negative alias", []string{"kcm", "--controllers=*,-endpointslicemirroring"}, false, mirroring, false},
		{"negative canonical", []string{"kcm", "--controllers=*,-endpointslice-mirroring-controller"}, false, mirroring, false},
		{"first match wins", []string{"kcm", "--controllers=endpointslicemirroring,-endpointslicemirroring"}, false, mirroring, true},
		{"no star: only named", []string{"kcm", "--controllers=-endpointslicemirroring"}, false, []string{"deployment"}, false},
		{"repeated flags append", []string{"kcm", "--controllers=*", "--controllers=-endpointslicemirroring"}, false, mirroring, false},
		{"other flags ignored", []string{"kcm", "--kubeconfig=/x", "--controllers=*"}, false, mirroring, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := controllerEnabled(tc.cmd, tc.names, tc.off); got != tc.want {
				t.Fatalf("controllerEnabled(%q, %q) = %t, want %t", tc.cmd, tc.names, got, tc.want)
			}
		})
	}
}
