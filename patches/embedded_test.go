package patches

import (
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/yamledit"
)

// embeddedEdit parses in, takes the mapping at path (the last key's value; with missing, the parent
// that lacks them) and disables mirroring in it.
func embeddedEdit(t *testing.T, in string, path []string, o EmbeddedOptions) (string, error) {
	t.Helper()
	f, err := yamledit.ParseLines([]byte(in), yamledit.Kubeadm)
	if err != nil {
		t.Fatal(err)
	}
	d := f.Docs[0]
	m := d.Root
	var key = m
	for _, p := range path {
		key, m = yamledit.Get(m, p)
	}
	o.Roots = append(o.Roots, d.Root)
	e, err := ParseEmbedded(d, key, m, o)
	if err != nil {
		return "", err
	}
	edits, after, changed, err := e.Edit(controllers.Disable, controllers.Mirror(controllers.NameAlias))
	if err != nil || !changed {
		return "", err
	}
	if controllers.MirroringEnabled(after) {
		t.Errorf("after %v: mirroring still on", after)
	}
	return string(f.Bytes(yamledit.ApplyLines(f.Lines, edits))), nil
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	const head = "spec:\n  kubeadmConfigSpec:\n"
	cc := []string{"spec", "kubeadmConfigSpec", "clusterConfiguration"}
	for _, c := range []struct {
		name, in string
		path     []string
		o        EmbeddedOptions
		want     string // the whole output, or the error's text
	}{
		{"map, no controllerManager", head + "    clusterConfiguration:\n      apiServer: {}\n", cc, EmbeddedOptions{What: "kcp"},
			head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n          controllers: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"\n      apiServer: {}\n"},
		{"list, empty clusterConfiguration", head + "    clusterConfiguration: {}\n", cc, EmbeddedOptions{What: "kcp", List: true},
			head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n        - name: controllers\n          value: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"\n"},
		{"missing clusterConfiguration", head + "    files: []\n", []string{"spec", "kubeadmConfigSpec"}, EmbeddedOptions{What: "kcp", Missing: []string{"clusterConfiguration"}},
			head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n          controllers: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"\n    files: []\n"},
		{"flow map", head + "    clusterConfiguration:\n      controllerManager: {extraArgs: {v: \"2\"}}\n", cc, EmbeddedOptions{What: "kcp"},
			head + "    clusterConfiguration:\n      controllerManager: {extraArgs: {v: \"2\", controllers: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"}}\n"},
		{"flow list", head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs: [{name: v, value: \"2\"}]\n", cc, EmbeddedOptions{What: "kcp", List: true},
			head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs: [{name: v, value: \"2\"}, {name: controllers, value: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"}]\n"},
		{"own default", "spec:\n  controllerManager: {}\n", []string{"spec"}, EmbeddedOptions{What: "k0s", Default: []string{"*"}},
			"spec:\n  controllerManager:\n    extraArgs:\n      controllers: \"*,-endpointslicemirroring\"\n"},
		{"two list items", head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n        - {name: controllers, value: \"*\"}\n        - {name: controllers, value: \"-x\"}\n", cc, EmbeddedOptions{What: "kcp", List: true},
			"kcp: line 7: 2 controllers items in controllerManager.extraArgs; Cluster API requires unique names"},
		{"mergeMethod", head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs:\n        - {name: controllers, value: \"*\", mergeMethod: append}\n", cc, EmbeddedOptions{What: "kcp", List: true},
			"mergeMethod"},
		{"holder not a map", head + "    clusterConfiguration: [a]\n", cc, EmbeddedOptions{What: "kcp"},
			"not a map"},
		{"flow over two lines", head + "    clusterConfiguration:\n      controllerManager:\n        extraArgs: {a: b,\n          c: d}\n", cc, EmbeddedOptions{What: "kcp"},
			"several lines"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := embeddedEdit(t, c.in, c.path, c.o)
			if err != nil {
				if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err = %v; want one line containing %q", err, c.want)
				}
				return
			}
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}
