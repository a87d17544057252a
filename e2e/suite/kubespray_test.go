package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubesprayTemplate is the controllerManager block of kubespray's kubeadm config template, verbatim
// (kubernetes-sigs/kubespray @46dbdd39 roles/kubernetes/control-plane/templates/
// kubeadm-config.v1beta4.yaml.j2, lines 354-406).
const kubesprayTemplate = "../testdata/kubespray-kubeadm-config.v1beta4.controllerManager.yaml.j2"

// kubesprayRender renders the template the way Ansible's template module does (Jinja2, trim_blocks),
// with kubespray's defaults for the block's other variables (roles/kubespray_defaults and
// roles/kubernetes/control-plane/defaults @46dbdd39) overlaid by the group_vars file.
const kubesprayRender = `
import sys, yaml, jinja2
defaults = {
  "kube_controller_node_monitor_grace_period": "40s", "kube_controller_node_monitor_period": "5s",
  "kube_pods_subnets": "10.233.64.0/18", "kube_service_subnets": "10.233.0.0/18",
  "kube_controller_manager_allocate_node_cidrs": True, "calico_ipam_host_local": False,
  "cilium_ipam_mode": "cluster-pool", "ipv4_stack": True, "ipv6_stack": False,
  "kube_network_node_prefix": 24, "kube_network_node_prefix_ipv6": 120, "kube_profiling": False,
  "kube_controller_terminated_pod_gc_threshold": 12500, "kube_controller_manager_bind_address": "::",
  "kube_controller_manager_leader_elect_lease_duration": "15s",
  "kube_controller_manager_leader_elect_renew_deadline": "10s",
  "kube_feature_gates": [], "kube_controller_feature_gates": [],
  "kube_kubeadm_controller_extra_args": {},
}
with open(sys.argv[2]) as f:
  defaults.update(yaml.safe_load(f) or {})
env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
with open(sys.argv[1]) as f:
  sys.stdout.write(env.from_string(f.read()).render(**defaults))
`

// TestKubesprayOracle: what `mirrorctl disable -f` writes into kubespray group_vars, rendered by
// kubespray's own template into a kubeadm ClusterConfiguration, makes real kubeadm generate a kcm
// command with mirroring off and every other controller as it was (kubeadm's default list kept: a
// controllers entry replaces it whole).
func TestKubesprayOracle(t *testing.T) {
	// Ansible's own Python first (Debian's ansible-core depends on python3-jinja2 and python3-yaml,
	// and .ci/run installs it), then whatever python3 is on PATH.
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import yaml, jinja2").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("python3 with yaml and jinja2 (Ansible's template engine) is not installed")
	}
	kubeadm := bin(t, set137, "kubeadm")
	mb := mirrorctlBin(t)
	fixture := readFile(t, repoFile(v1beta4Defaults))
	initDoc, clusterDoc := kubeadmDocs(t, fixture)
	if strings.Count(clusterDoc, "\ncontrollerManager: {}\n") != 1 {
		t.Fatalf("%s: expected `controllerManager: {}` in the ClusterConfiguration", v1beta4Defaults)
	}
	tmpl, err := filepath.Abs(kubesprayTemplate)
	if err != nil {
		t.Fatal(err)
	}
	kcm := func(t *testing.T, vars string) []string {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "vars.yml"), []byte(vars), 0o644)
		block := run(t, nil, python, "-c", kubesprayRender, tmpl, filepath.Join(dir, "vars.yml"))
		cc := strings.Replace(clusterDoc, "\ncontrollerManager: {}\n", "\n"+strings.TrimRight(block, "\n")+"\n", 1)
		cfg := filepath.Join(dir, "kubeadm.yaml")
		writeFile(t, cfg, []byte(initDoc+"\n---\n"+cc), 0o600)
		return podCommand(t, kubeadmManifest(t, kubeadm, cfg, "controller-manager"), "kube-controller-manager")
	}
	mirroringNames := []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}
	others := []struct {
		names []string
		off   bool
	}{
		{[]string{"bootstrapsigner", "bootstrap-signer-controller"}, true},
		{[]string{"tokencleaner", "token-cleaner-controller"}, true},
		{[]string{"nodeipam", "node-ipam-controller"}, false},
		{[]string{"endpoint", "endpoints-controller"}, false},
		{[]string{"endpointslice", "endpointslice-controller"}, false},
		{[]string{"garbagecollector", "garbage-collector-controller"}, false},
	}
	for _, c := range []string{"kubespray-sample-k8s-cluster", "kubespray-sample-k8s-cluster-kube-version", "kubespray-controllers-set", "kubespray-flow-dict"} {
		t.Run(c, func(t *testing.T) {
			in := readFile(t, repoFile("testdata/distros/files/"+c+"/input.yaml"))
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "k8s-cluster.yml"), []byte(in), 0o644)
			cmd := exec.Command(mb, "-o", "json", "disable", "--dry-run", "-f", "k8s-cluster.yml")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("mirrorctl: %v\n%s", err, out)
			}
			var res struct {
				Diff []struct{ After string } `json:"diff"`
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Diff) != 1 {
				t.Fatalf("result: %v\n%s", err, out)
			}
			before, after := kcm(t, in), kcm(t, res.Diff[0].After)
			if !controllerEnabled(before, mirroringNames, false) {
				t.Fatalf("before the edit mirroring is already off: %q", flagValues(before, "controllers"))
			}
			if controllerEnabled(after, mirroringNames, false) {
				t.Fatalf("kubeadm renders --controllers=%q from the edited group_vars: mirroring still on", flagValues(after, "controllers"))
			}
			for _, o := range others {
				if a, b := controllerEnabled(before, o.names, o.off), controllerEnabled(after, o.names, o.off); a != b {
					t.Errorf("%s: enabled %v before the edit, %v after", o.names[0], a, b)
				}
			}
			t.Logf("kubespray's template and kubeadm %s give --controllers=%q", k8sVersion(t, set137), flagValues(after, "controllers"))
		})
	}
}
