package distros

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
)

func kitCase(t *testing.T, distro, name string) Options {
	t.Helper()
	dir := filepath.Join("..", "testdata", "distros", distro, name)
	r := kitRoot(t, filepath.Join(dir, "root"))
	return kitCaseOptions(t, dir, r)
}

// A managed node is refused with the change to make where the flags come from, ready to apply, and
// the refusal names the file that gave the manager away.
func TestManagedNodeRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		distro, dir, evidence, name string
		change                      []string // lines the change must hold, in order
	}{
		{"kubeadm", "capi-first-control-plane", capiSentinel, "cluster-api", []string{
			`kubectl patch kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io KCP -n NAMESPACE --type merge -p '{"spec":{"kubeadmConfigSpec":{"clusterConfiguration":{"controllerManager":{"extraArgs":{"controllers":"*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"}}}}}}'`,
			`kubectl patch kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io KCP -n NAMESPACE --type json -p '[{"op":"add","path":"/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs/-","value":{"name":"controllers","value":"*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"}}]'`,
		}},
		// After a reboot /run is empty: cloud-init's stored runcmd, the user data, or Ignition's script still say so.
		{"kubeadm", "capi-rebooted-cloud-init", "/var/lib/cloud/instance/scripts/runcmd", "cluster-api", nil},
		{"kubeadm", "capi-rebooted-userdata-only", "/var/lib/cloud/instance/user-data.txt", "cluster-api", nil},
		{"kubeadm", "kubespray-control-plane", "/etc/kubernetes/kubelet.env", "kubespray", []string{
			"kube_kubeadm_controller_extra_args:",
			`  controllers: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"`,
		}},
		{"kops", "node-manifest-refused", KopsNodeManifest, "kops", []string{
			"spec:", "  kubeControllerManager:", "    controllers:", `    - "*"`, `    - "-endpointslicemirroring"`,
		}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			t.Parallel()
			o := kitCase(t, c.distro, c.dir)
			o.Op = controllers.Disable
			_, err := mustGet(t, c.distro).Plan(o)
			var me *ManagedError
			if !errors.As(err, &me) {
				t.Fatalf("plan: %v, want a ManagedError", err)
			}
			if me.Manager.Name != c.name || !strings.HasPrefix(err.Error(), c.evidence+": ") || !strings.Contains(err.Error(), "--"+ManagedNodeInput.Name) {
				t.Errorf("manager %q, error %q", me.Manager.Name, err)
			}
			details := strings.Join(me.Details(), "\n")
			at := 0
			for _, l := range c.change {
				i := strings.Index(details[at:], l+"\n")
				if i < 0 {
					t.Fatalf("change lacks %q (after offset %d):\n%s", l, at, details)
				}
				at += i
			}
			if strings.Contains(details+err.Error(), "PRIVATE KEY") {
				t.Error("the refusal prints the user data")
			}
			// enable on a node where mirroring is on changes nothing, so nothing is refused.
			o.Op = controllers.Enable
			if p, err := mustGet(t, c.distro).Plan(o); err != nil || p.Manager == nil || p.Manager.Override {
				t.Errorf("enable (no change): %v, manager %+v", err, p)
			}
		})
	}
}

// The override edits the node and records the manager; status names it too.
func TestManagedNodeOverride(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ distro, dir, name string }{
		{"kubeadm", "capi-ignition-override", "cluster-api"},
		{"kubeadm", "kubespray-override", "kubespray"},
		{"kops", "node-manifest-override", "kops"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			t.Parallel()
			o := kitCase(t, c.distro, c.dir)
			o.Op = controllers.Disable
			a := mustGet(t, c.distro)
			p, err := a.Plan(o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Manager == nil || p.Manager.Name != c.name || !p.Manager.Override || !p.Changed() {
				t.Fatalf("plan: manager %+v, changed %v", p.Manager, p.Changed())
			}
			if !strings.Contains(strings.Join(p.Warnings, "\n"), "lost at its next rollout") {
				t.Errorf("no warning that the edit does not last: %q", p.Warnings)
			}
			s, err := a.Status(o)
			if err != nil {
				t.Fatal(err)
			}
			if s.Manager == nil || s.Manager.Name != c.name {
				t.Errorf("status: manager %+v", s.Manager)
			}
		})
	}
}

// A kubeadm config kept in /run without Cluster API's sentinel or bootstrap script is no evidence.
func TestRunKubeadmAloneIsNotClusterAPI(t *testing.T) {
	t.Parallel()
	o := kitCase(t, "kubeadm", "plain-kubeadm-run-kubeadm-only")
	o.Op = controllers.Disable
	p, err := mustGet(t, "kubeadm").Plan(o)
	if err != nil || p.Manager != nil {
		t.Fatalf("plan: %v, manager %+v", err, p)
	}
}

// Rancher rewrites only its own drop-in, so the node edit holds until the machine is replaced: a
// warning naming the cluster field, and the manager recorded, but no refusal.
func TestRancherProvisionedWarns(t *testing.T) {
	t.Parallel()
	o := kitCase(t, "rke2", "rancher-provisioned")
	o.Op = controllers.Disable
	p, err := mustGet(t, "rke2").Plan(o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Manager == nil || p.Manager.Name != "rancher" || !p.Manager.Override {
		t.Fatalf("manager %+v", p.Manager)
	}
	w := strings.Join(p.Warnings, "\n")
	if !strings.Contains(w, "machineGlobalConfig") || !strings.Contains(w, "50-rancher.yaml") {
		t.Errorf("warnings: %s", w)
	}
	if got := strings.Join(p.Manager.Change, "\n"); !strings.Contains(got, `- "controllers-=-endpointslicemirroring"`) {
		t.Errorf("change: %s", got)
	}
}

// With --kubeconfig, Cluster API's Node annotations are evidence too (no file needed), and they name
// the KubeadmControlPlane, so the patch line is complete. A Node that cannot be read is said, and the
// files still decide.
func TestClusterAPINodeAnnotations(t *testing.T) {
	t.Parallel()
	o := kitCase(t, "kubeadm", "plain-kubeadm-run-kubeadm-only")
	o.Op = controllers.Disable
	o.Node = &NodeInfo{Name: "cp-0", Annotations: map[string]string{
		capiClusterNameAnnotation:      "capi-quickstart",
		capiClusterNamespaceAnnotation: "team-a",
		capiOwnerKindAnnotation:        "KubeadmControlPlane",
		capiOwnerNameAnnotation:        "capi-quickstart-control-plane",
		"cluster.x-k8s.io/machine":     "capi-quickstart-control-plane-7x2kq",
	}}
	_, err := mustGet(t, "kubeadm").Plan(o)
	var me *ManagedError
	if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), "Node cp-0: ") {
		t.Fatalf("plan: %v", err)
	}
	if d := strings.Join(me.Details(), "\n"); !strings.Contains(d, "kubectl patch kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io capi-quickstart-control-plane -n team-a --type merge") || strings.Contains(d, "KCP") {
		t.Errorf("change:\n%s", d)
	}
	o.Node = &NodeInfo{Name: "cp-0", Err: errors.New("nodes \"cp-0\" is forbidden")}
	p, err := mustGet(t, "kubeadm").Plan(o)
	if err != nil || p.Manager != nil || !strings.Contains(strings.Join(p.Warnings, "\n"), "cannot read its annotations") {
		t.Errorf("unreadable Node: %v, %+v", err, p)
	}
}

// KUBELET_ARGS alone is what hand-made kubelet units use too: not kubespray without its config path.
func TestKubeletEnvAloneIsNotKubespray(t *testing.T) {
	t.Parallel()
	o := kitCase(t, "kubeadm", "plain-kubeadm-run-kubeadm-only")
	kitWrite(t, o.Root, "/etc/kubernetes/kubelet.env", "KUBELET_ARGS=\"--config=/var/lib/kubelet/config.yaml\"\n")
	o.Op = controllers.Disable
	if p, err := mustGet(t, "kubeadm").Plan(o); err != nil || p.Manager != nil {
		t.Fatalf("plan: %v, manager %+v", err, p)
	}
}
