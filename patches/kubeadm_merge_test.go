package patches

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	kubeadmutil "k8s.io/kubernetes/cmd/kubeadm/app/util"
)

// TestKubeadmMergeMethodMatchesKubeadm: what mirrorctl reads from a v1 extraArgs list with mergeMethod
// is what kubeadm 1.37's own command builder passes to kube-controller-manager.
func TestKubeadmMergeMethodMatchesKubeadm(t *testing.T) {
	type arg = kubeadmapi.Arg
	const c = "controllers"
	cases := map[string][]arg{
		"append":                {{Name: c, Value: ",-endpointslice-mirroring-controller", MergeMethod: "append"}},
		"append empty":          {{Name: c, Value: "", MergeMethod: "append"}},
		"append no comma":       {{Name: c, Value: "x", MergeMethod: "append"}},
		"prepend":               {{Name: c, Value: "-endpointslice-mirroring-controller,", MergeMethod: "prepend"}},
		"prepend no comma":      {{Name: c, Value: "-x", MergeMethod: "prepend"}},
		"last merges, tail":     {{Name: c, Value: "-a"}, {Name: "bind-address", Value: "0.0.0.0"}, {Name: c, Value: ",-b", MergeMethod: "append"}, {Name: c, Value: "-c"}, {Name: c, Value: ",-d", MergeMethod: "append"}},
		"last plain drops":      {{Name: c, Value: ",endpointslice-mirroring-controller", MergeMethod: "append"}, {Name: c, Value: "*,-endpointslice-mirroring-controller"}},
		"earlier method broken": {{Name: c, Value: " broken", MergeMethod: "prepend"}, {Name: c, Value: "-e", MergeMethod: "prepend"}},
		"plain only":            {{Name: c, Value: "*"}, {Name: c, Value: "-endpointslice-mirroring-controller"}},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var y strings.Builder
			y.WriteString("apiVersion: kubeadm.k8s.io/v1\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\ncontrollerManager:\n  extraArgs:\n")
			for _, a := range args {
				fmt.Fprintf(&y, "  - name: %s\n    value: %q\n", a.Name, a.Value)
				if a.MergeMethod != "" {
					fmt.Fprintf(&y, "    mergeMethod: %s\n", a.MergeMethod)
				}
			}
			st, err := ReadKubeadmConfig([]byte(y.String()))
			if err != nil {
				t.Fatalf("%v\n%s", err, y.String())
			}
			// The base as kubeadm's getControllerManagerCommand has it (the other flags do not matter here).
			base := []arg{{Name: "bind-address", Value: "127.0.0.1"}, {Name: c, Value: kubeadmDefaultValue}, {Name: "leader-elect", Value: "true"}}
			var want []string
			for _, flag := range kubeadmutil.ArgumentsToCommand(base, slices.Clone(args)) {
				if v, ok := strings.CutPrefix(flag, "--"+c+"="); ok {
					entries, err := controllers.Split(v)
					if err != nil {
						t.Fatalf("kubeadm passes %s: %v", flag, err)
					}
					want = append(want, entries...)
				}
			}
			if !slices.Equal(st.Controllers, want) {
				t.Errorf("mirrorctl reads %q, kubeadm passes %q", st.Controllers, want)
			}
		})
	}
}

func TestUnmergeRefusesAChangedDefault(t *testing.T) {
	for _, tc := range []struct {
		merge   string
		entries []string
		value   string
		ok      bool
	}{
		{"append", []string{"*", "bootstrapsigner", "tokencleaner", "-x"}, ",-x", true},
		{"append", []string{"*", "bootstrapsigner", "tokencleaner"}, "", true},
		{"append", []string{"*", "tokencleaner", "-x"}, "", false},
		{"prepend", []string{"-x", "*", "bootstrapsigner", "tokencleaner"}, "-x,", true},
		{"prepend", []string{"*", "bootstrapsigner", "tokencleaner", "-x"}, "", false},
	} {
		v, ok := unmerge(tc.merge, tc.entries)
		if ok != tc.ok || (ok && v != tc.value) {
			t.Errorf("unmerge(%s, %q) = %q, %v; want %q, %v", tc.merge, tc.entries, v, ok, tc.value, tc.ok)
		}
	}
}
