package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/distros"
)

// TestAnsibleModuleHasEveryDistroInput: the Ansible modules (ansible/plugins/module_utils/mirrorctl.py,
// COMMON_ARGS) take every per-distribution input as an option named like its flag, "-" as "_", of the
// same kind; an adapter's new input without a module option fails here, not on an operator's node.
func TestAnsibleModuleHasEveryDistroInput(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../ansible/plugins/module_utils/mirrorctl.py")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+)=dict\(type="(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		types[m[1]] = m[2]
	}
	want := map[distros.InputKind]string{distros.StringInput: "str", distros.BoolInput: "bool", distros.StringsInput: "list"}
	ins := distros.Inputs()
	if len(ins) < 8 {
		t.Fatalf("only %d inputs", len(ins))
	}
	for _, in := range ins {
		opt := strings.ReplaceAll(in.Name, "-", "_")
		if got, ok := types[opt]; !ok || got != want[in.Kind] {
			t.Errorf("--%s: module option %s has type %q (present %v), want %q", in.Name, opt, got, ok, want[in.Kind])
		}
	}
	for _, opt := range []string{"kubeconfig", "controller_name", "root", "state_dir", "distro", "binary"} {
		if _, ok := types[opt]; !ok {
			t.Errorf("module option %s missing", opt)
		}
	}
}
