package distros

// Nodes that something else manages: a tool that renders kube-controller-manager's flags from a source
// of truth elsewhere undoes a node edit at its next rollout, and the operator would believe mirroring
// is off until then. The adapters look for such a tool before they edit (the evidence below, each
// checked in the tool's own source), refuse by default with the change to make where the flags really
// come from, and edit anyway only with --i-understand-node-is-managed, recording the manager in the
// result. Rancher is the exception: its drop-in leaves ours in place until the machine is replaced, so
// it only warns.
//
// Cluster API (sigs.k8s.io/cluster-api@v1.11.0, kubeadm bootstrap provider):
//   - bootstrap/kubeadm/internal/cloudinit: cloud-init writes /run/kubeadm/kubeadm.yaml (first control
//     plane) or /run/kubeadm/kubeadm-join-config.yaml and runs "kubeadm init|join … && echo success >
//     /run/cluster-api/bootstrap-success.complete" (the bootstrap provider contract's sentinel). /run is
//     emptied at reboot; cloud-init keeps the user data (/var/lib/cloud/instance/user-data.txt, and
//     user-data.txt.i as processed) and writes runcmd to /var/lib/cloud/instance/scripts/runcmd
//     (cloud-init cc_runcmd: "<instance>/scripts/runcmd"), both holding the sentinel's path.
//   - bootstrap/kubeadm/internal/ignition/clc/clc.go: Ignition writes /etc/kubeadm.sh, which runs
//     kubeadm and writes the same sentinel.
//
// kubespray (kubernetes-sigs/kubespray@46dbdd39): roles/kubernetes/node/tasks/kubelet.yml writes
// /etc/kubernetes/kubelet.env (template kubelet.env.v1beta1.j2: KUBELET_ARGS="… --config=
// /etc/kubernetes/kubelet-config.yaml …", kube_config_dir's default) on every node; kubeadm's packages
// write neither (their kubelet reads /var/lib/kubelet/config.yaml). The
// control-plane role re-renders /etc/kubernetes/kubeadm-config.yaml at every run
// (kubeadm-setup.yml) from kube_kubeadm_controller_extra_args, and kubeadm-upgrade.yml rewrites the
// control-plane manifests from it ("kubeadm init phase control-plane all").
//
// kops (k8s.io/kops@v1.30.0 nodeup/pkg/model/kube_controller_manager.go): nodeup writes kcm's static pod
// as /etc/kubernetes/manifests/kube-controller-manager.manifest from the cluster spec
// (spec.kubeControllerManager.controllers); see kops.go.
//
// Rancher (rancher/rancher pkg/capr/planner/planner.go @00c105d2, ConfigYamlFileName): the planner has
// rancher-system-agent write /etc/rancher/{rke2,k3s}/config.yaml.d/50-rancher.yaml from the cluster's
// spec.rkeConfig.machineGlobalConfig and machineSelectorConfig.

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// ManagedNodeInput is --i-understand-node-is-managed.
var ManagedNodeInput = Input{Name: "i-understand-node-is-managed", Kind: BoolInput, Order: 60,
	Usage: "edit this node although Cluster API, kops or kubespray renders its kube-controller-manager flags (refused by default): the change is lost at that tool's next rollout; the JSON result names the manager (node_manager)"}

// ManagedError refuses to edit a managed node. Error is the one line; Details the change to make at the
// source of truth, printed before it.
type ManagedError struct {
	Manager *change.NodeManager
}

func (e *ManagedError) Error() string {
	return fmt.Sprintf("%s: this node is managed by %s, which renders kube-controller-manager's flags from %s and undoes a node edit at its next rollout; make the change there (printed above), or pass --%s to edit the node anyway",
		strings.SplitN(e.Manager.Evidence[0], " (", 2)[0], managerTitle(e.Manager.Name), e.Manager.SourceOfTruth, ManagedNodeInput.Name)
}

// Details are the lines of the change to make at the source of truth.
func (e *ManagedError) Details() []string { return e.Manager.Change }

func managerTitle(name string) string {
	switch name {
	case "cluster-api":
		return "Cluster API"
	case "kops":
		return "kops"
	case "kubespray":
		return "kubespray"
	case "rancher":
		return "Rancher"
	}
	return name
}

// nodeWarnings says when the Node could not be read for evidence.
func nodeWarnings(o Options) []string {
	if o.Node != nil && o.Node.Err != nil {
		return []string{fmt.Sprintf("Node %s: cannot read its annotations (%v): whether Cluster API manages it was told from the node's files only", o.Node.Name, o.Node.Err)}
	}
	return nil
}

// guardManaged applies the policy to a plan: no manager, or nothing to change, passes; otherwise a
// refusal, unless the operator overrides it, then the plan records the manager and says the edit does
// not last.
func guardManaged(o Options, p *change.Plan, m *change.NodeManager) error {
	if m == nil {
		return nil
	}
	p.Manager = m
	// The lines name mirrorctl's own command for the source of truth as written for disable.
	for i, l := range m.Change {
		m.Change[i] = strings.ReplaceAll(l, "`mirrorctl disable ", "`mirrorctl "+string(o.Op)+" ")
	}
	if !p.Changed() {
		return nil
	}
	if !o.Bool(ManagedNodeInput) {
		return &ManagedError{Manager: m}
	}
	m.Override = true
	p.Warnings = append(p.Warnings, fmt.Sprintf("%s manages this node (%s): this edit is lost at its next rollout; make the same change in %s", managerTitle(m.Name), strings.Join(m.Evidence, ", "), m.SourceOfTruth))
	return nil
}

// statusManaged says in a status that the node's files are not where the flags come from.
func statusManaged(s *change.Status, m *change.NodeManager) {
	if m == nil {
		return
	}
	s.Manager = m
	s.Warnings = append(s.Warnings, fmt.Sprintf("%s manages this node (%s): kube-controller-manager's flags come from %s", managerTitle(m.Name), strings.Join(m.Evidence, ", "), m.SourceOfTruth))
}

// fileHolds says whether a node file exists and contains s. A file mirrorctl cannot read as text (too
// big, binary: gzip-compressed user data) is no evidence either way.
func fileHolds(r nodefs.Root, path, s string) bool {
	f, err := r.ReadFile(path, true)
	return err == nil && f.Exists && bytes.Contains(f.Data, []byte(s))
}

// Cluster API: the bootstrap provider's sentinel, and what survives a reboot.
const capiSentinel = "/run/cluster-api/bootstrap-success.complete"

// Annotations Cluster API's Machine controller keeps on the Nodes of its machines
// (sigs.k8s.io/cluster-api@v1.11.0 api/core/v1beta2/common_types.go, util/annotations
// GetManagedAnnotations): the cluster, its namespace, and the Machine's owner (for control-plane
// machines, the KubeadmControlPlane).
const (
	capiClusterNameAnnotation      = "cluster.x-k8s.io/cluster-name"
	capiClusterNamespaceAnnotation = "cluster.x-k8s.io/cluster-namespace"
	capiOwnerKindAnnotation        = "cluster.x-k8s.io/owner-kind"
	capiOwnerNameAnnotation        = "cluster.x-k8s.io/owner-name"
)

// capiEvidence lists what shows Cluster API bootstrapped this node: files, and with --kubeconfig the
// Node's annotations. The /run/kubeadm files only add to other evidence: on their own they are any
// kubeadm config kept in /run.
func capiEvidence(r nodefs.Root, node *NodeInfo) []string {
	var ev []string
	if r.Exists(capiSentinel) {
		ev = append(ev, capiSentinel)
	}
	if node != nil {
		if c, ok := node.Annotations[capiClusterNameAnnotation]; ok {
			ev = append(ev, fmt.Sprintf("Node %s (annotation %s=%s)", node.Name, capiClusterNameAnnotation, c))
		}
	}
	for _, p := range []string{
		"/var/lib/cloud/instance/scripts/runcmd",
		"/var/lib/cloud/instance/user-data.txt.i",
		"/var/lib/cloud/instance/user-data.txt",
		"/etc/kubeadm.sh",
	} {
		// Only the sentinel's path is looked for: the user data holds the cluster's keys, and none of
		// it is printed.
		if fileHolds(r, p, capiSentinel) {
			ev = append(ev, p+" (writes "+capiSentinel+")")
		}
	}
	if len(ev) == 0 {
		return nil
	}
	for _, p := range []string{"/run/kubeadm/kubeadm.yaml", "/run/kubeadm/kubeadm-join-config.yaml"} {
		if r.Exists(p) {
			ev = append(ev, p)
		}
	}
	return ev
}

// capiManager is Cluster API with the change for a KubeadmControlPlane: controllers, the whole list
// (none when value is "": a status names the manager only). The object is named when the Node's
// annotations say which KubeadmControlPlane owns the machine, else KCP and NAMESPACE stand for it.
func capiManager(ev []string, node *NodeInfo, value string) *change.NodeManager {
	path := "/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs"
	m := &change.NodeManager{Name: "cluster-api", Evidence: ev,
		SourceOfTruth: "the KubeadmControlPlane (spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs)"}
	if value == "" {
		return m
	}
	kcp, ns, find := "KCP", "NAMESPACE", " (find the object: kubectl get kubeadmcontrolplanes -A)"
	if node != nil && node.Annotations[capiOwnerKindAnnotation] == "KubeadmControlPlane" && node.Annotations[capiOwnerNameAnnotation] != "" && node.Annotations[capiClusterNamespaceAnnotation] != "" {
		kcp, ns, find = node.Annotations[capiOwnerNameAnnotation], node.Annotations[capiClusterNamespaceAnnotation], ""
		m.SourceOfTruth = fmt.Sprintf("the KubeadmControlPlane %s/%s (spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs)", ns, kcp)
	}
	m.Change = []string{
		"on the management cluster" + find + ", set the whole list; Cluster API then replaces every control-plane machine (a rolling update):",
		fmt.Sprintf(`kubectl patch kubeadmcontrolplanes.v1beta1.controlplane.cluster.x-k8s.io %s -n %s --type merge -p '{"spec":{"kubeadmConfigSpec":{"clusterConfiguration":{"controllerManager":{"extraArgs":{"controllers":%q}}}}}}'`, kcp, ns, value),
		"where v1beta1 is no longer served (v1beta2: extraArgs is a list with unique names; this adds the item to an existing list without a controllers item):",
		fmt.Sprintf(`kubectl patch kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io %s -n %s --type json -p '[{"op":"add","path":"%s/-","value":{"name":"controllers","value":%q}}]'`, kcp, ns, path, value),
		"a Cluster with spec.topology (ClusterClass): change its KubeadmControlPlaneTemplate instead; a KubeadmControlPlane kept in Git: `mirrorctl disable -f FILE` edits the file",
	}
	return m
}

// kubespray: the kubelet environment file its node role writes, pointing the kubelet at the config
// file kubespray writes beside it (kubeadm's kubelet reads /var/lib/kubelet/config.yaml). Both together:
// KUBELET_ARGS alone is also the name hand-made kubelet units use.
const (
	kubesprayKubeletEnv    = "/etc/kubernetes/kubelet.env"
	kubesprayKubeletArgs   = "KUBELET_ARGS="
	kubesprayKubeletConfig = "--config=/etc/kubernetes/kubelet-config.yaml"
)

func kubesprayEvidence(r nodefs.Root) []string {
	f, err := r.ReadFile(kubesprayKubeletEnv, true)
	if err != nil || !f.Exists || !bytes.Contains(f.Data, []byte(kubesprayKubeletArgs)) || !bytes.Contains(f.Data, []byte(kubesprayKubeletConfig)) {
		return nil
	}
	return []string{kubesprayKubeletEnv + " (KUBELET_ARGS with " + kubesprayKubeletConfig + ")"}
}

func kubesprayManager(ev []string, value string) *change.NodeManager {
	m := &change.NodeManager{Name: "kubespray", Evidence: ev,
		SourceOfTruth: "the kubespray inventory (kube_kubeadm_controller_extra_args, rendered into " + KubeadmDefaultConfig + " at every playbook run)"}
	if value == "" {
		return m
	}
	m.Change = []string{
		"in the inventory's group_vars (e.g. group_vars/k8s_cluster/k8s-cluster.yml), the whole list (it replaces kubeadm's default):",
		"kube_kubeadm_controller_extra_args:",
		fmt.Sprintf("  controllers: %q", value),
		"then run upgrade-cluster.yml (or cluster.yml -e upgrade_cluster_setup=true), which rewrites the control-plane manifests from it; a group_vars file in Git: `mirrorctl disable -f FILE` edits the file",
	}
	return m
}

// kubeadmManager is the tool that renders a kubeadm node's flags, if any: Cluster API first (a
// kubespray inventory does not bootstrap through it), then kubespray. value is the whole controllers
// list to set there ("" for none).
func kubeadmManager(o Options, value string) *change.NodeManager {
	r := o.Root
	if ev := capiEvidence(r, o.Node); len(ev) > 0 {
		return capiManager(ev, o.Node, value)
	}
	if ev := kubesprayEvidence(r); len(ev) > 0 {
		return kubesprayManager(ev, value)
	}
	return nil
}

// rancherEvidence finds the drop-in rancher-system-agent writes for a Rancher-provisioned cluster.
func rancherEvidence(r nodefs.Root, configDir string) []string {
	p := configDir + "/config.yaml.d/50-rancher.yaml"
	if r.Exists(p) {
		return []string{p}
	}
	return nil
}

// rancherManager: the drop-in mirrorctl writes sorts after Rancher's and survives its rewrites, so the
// node edit holds until Rancher replaces the machine; the cluster's machine config must carry it for
// new machines.
func rancherManager(ev []string, entry string) *change.NodeManager {
	m := &change.NodeManager{Name: "rancher", Evidence: ev,
		SourceOfTruth: "the Rancher cluster (provisioning.cattle.io/v1 Cluster spec.rkeConfig.machineGlobalConfig, or machineSelectorConfig for the control-plane machines)",
	}
	if entry != "" {
		m.Change = []string{
			"so that machines Rancher creates get it too, add to the cluster's kube-controller-manager-arg list (keep the items it has):",
			"spec:",
			"  rkeConfig:",
			"    machineGlobalConfig:",
			"      kube-controller-manager-arg:",
			fmt.Sprintf("        - %q", entry),
		}
	}
	return m
}
