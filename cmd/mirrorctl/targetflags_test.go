package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/distros"
)

// The distribution flags are generated from the adapters' inputs; these are the flags, help texts
// and environment variables operators, Ansible and systemd units already use, in the order help and
// the man page list them.
// A `WORD` in a usage is the value's name in help (urfave/cli's rule): one per flag, a placeholder.
var wantTargetFlags = []string{
	"string distro=auto MIRRORCTL_DISTRO: distribution `NAME`: auto or one of k0s, k3s, kind, kops, kubeadm, managed, microk8s, rke2, talos (auto: named by a --kind-config, --talos-config, --talos-patch-out or --kops-spec given, else detected under --root)",
	"strings kubeadm-config MIRRORCTL_KUBEADM_CONFIG: kubeadm config `FILE` or exported kubeadm-config ConfigMap to edit too (repeatable; default: /etc/kubernetes/kubeadm-config.yaml when present)",
	"string k0s-config MIRRORCTL_K0S_CONFIG: k0s: config `FILE` (default /etc/k0s/k0s.yaml)",
	"bool i-understand-k0s-ha-needs-mirroring MIRRORCTL_I_UNDERSTAND_K0S_HA_NEEDS_MIRRORING: k0s: disable mirroring even on an HA control plane, whose default/kubernetes Endpoints depend on it",
	"string kind-config MIRRORCTL_KIND_CONFIG: kind: cluster config `FILE` to edit",
	"string kind-node-version MIRRORCTL_KIND_NODE_VERSION: kind: Kubernetes `VERSION` of the node image (picks the kubeadm extraArgs shape)",
	"string talos-config MIRRORCTL_TALOS_CONFIG: Talos: machine config `FILE` to rewrite",
	"string talos-patch-out MIRRORCTL_TALOS_PATCH_OUT: Talos: write a machine-config patch to `FILE`, for talosctl patch mc --patch @FILE",
	"bool talos-document MIRRORCTL_TALOS_DOCUMENT: Talos: emit the v1.14+ KubeControllerManagerConfig document form",
	"string kops-spec MIRRORCTL_KOPS_SPEC: kops: cluster spec `FILE` to edit",
	"bool i-understand-node-is-managed MIRRORCTL_I_UNDERSTAND_NODE_IS_MANAGED: edit this node although Cluster API, kops or kubespray renders its kube-controller-manager flags (refused by default): the change is lost at that tool's next rollout; the JSON result names the manager (node_manager)",
}

func describeFlag(f cli.Flag) string {
	switch f := f.(type) {
	case *cli.StringFlag:
		v := ""
		if f.Value != "" {
			v = "=" + f.Value
		}
		return fmt.Sprintf("string %s%s %s: %s", f.Name, v, strings.Join(f.EnvVars, ","), f.Usage)
	case *cli.BoolFlag:
		return fmt.Sprintf("bool %s %s: %s", f.Name, strings.Join(f.EnvVars, ","), f.Usage)
	case *cli.StringSliceFlag:
		return fmt.Sprintf("strings %s %s: %s", f.Name, strings.Join(f.EnvVars, ","), f.Usage)
	}
	return fmt.Sprintf("%T %v", f, f.Names())
}

func TestTargetFlagsAreTheAdaptersInputs(t *testing.T) {
	t.Parallel()
	app := newApp(io.Discard, io.Discard)
	for _, name := range []string{"disable", "enable", "status", "distros"} {
		c := app.Command(name)
		if c == nil || len(c.Flags) < len(wantTargetFlags) {
			t.Fatalf("%s: no command or too few flags", name)
		}
		var got []string
		for _, f := range c.Flags[:len(wantTargetFlags)] {
			got = append(got, describeFlag(f))
		}
		if !reflect.DeepEqual(got, wantTargetFlags) {
			t.Errorf("%s: target flags\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(wantTargetFlags, "\n"))
		}
	}
}

// baseOptions carries every input's flag into Options, where its adapter reads it.
func TestBaseOptionsCarriesEveryInput(t *testing.T) {
	t.Parallel()
	args := []string{"x"}
	want := distros.Values{}
	for _, in := range distros.Inputs() {
		switch in.Kind {
		case distros.StringInput:
			args = append(args, "--"+in.Name, "/"+in.Name)
			want[in.Name] = "/" + in.Name
		case distros.BoolInput:
			args = append(args, "--"+in.Name)
			want[in.Name] = true
		case distros.StringsInput:
			args = append(args, "--"+in.Name, "/a", "--"+in.Name, "/b")
			want[in.Name] = []string{"/a", "/b"}
		}
	}
	var got distros.Options
	app := &cli.App{Flags: append(targetFlags(true), &cli.StringFlag{Name: "controller-name"}), Action: func(c *cli.Context) error {
		var err error
		got, err = baseOptions(c, &globals{root: t.TempDir(), stderr: io.Discard}, "")
		return err
	}}
	if err := app.Run(append(args, "--controller-name", "n")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Inputs, want) || got.ControllerName != "n" {
		t.Errorf("inputs %v controller %q, want %v", got.Inputs, got.ControllerName, want)
	}
}
