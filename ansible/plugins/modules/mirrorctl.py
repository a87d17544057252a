#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mirrorctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# A thin wrapper: every decision (what to edit, snapshots, locking, validation) is mirrorctl's. The
# module only maps options to flags and mirrorctl's JSON result to Ansible's result, so the two can
# never disagree about the node.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mirrorctl
short_description: Switch kube-controller-manager's EndpointSlice mirroring controller off or on
description:
  - Runs the C(mirrorctl) binary on the managed node with C(-o json) and returns its result.
  - I(state=disabled) runs C(mirrorctl disable), I(state=enabled) runs C(mirrorctl enable),
    I(state=rolled_back) runs C(mirrorctl rollback) (the latest change, or I(snapshot));
    I(plan) runs C(mirrorctl apply-plan FILE) to apply exactly a reviewed plan.
  - mirrorctl snapshots every file before it writes, writes atomically, and changes nothing
    when the node is already in the requested state, so the module is idempotent.
  - Every control-plane node must be changed (kube-controller-manager uses leader election);
    run it with C(serial) and stop on the first failure (see the collection's C(mirrorctl.mirrorctl.site) playbook).
version_added: "0.1.0"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: mirrorctl runs with C(--dry-run), which writes nothing at all (no snapshot, no lock, no state dir).
  diff_mode:
    support: full
    details: one entry per changed file, straight from mirrorctl, with mirrorctl's headers.
  platform:
    support: full
    platforms: posix
options:
  state:
    description:
      - Desired state of the EndpointSlice mirroring controller, or C(rolled_back) to restore the
        files of a snapshot (C(mirrorctl rollback)).
      - Mutually exclusive with I(plan); one of the two is required.
    type: str
    choices: [disabled, enabled, rolled_back]
  snapshot:
    description:
      - With I(state=rolled_back), the snapshot id to restore (the C(snapshot) another run returned).
        Default is the latest change; rolling back twice changes nothing the second time.
    type: str
  force:
    description:
      - Passed as C(--force). With I(state=rolled_back), restore even files that changed since mirrorctl
        wrote them; otherwise rewrite a target with more than one hard link (its other names keep the old bytes).
    type: bool
    default: false
  plan:
    description:
      - Path on the managed node of a plan file saved by
        C(mirrorctl disable --dry-run --save-plan FILE); runs C(mirrorctl apply-plan FILE).
      - mirrorctl refuses the plan when any target file changed since the plan was made.
      - Mutually exclusive with I(state).
    type: path
  plan_sha256:
    description:
      - With I(plan), passed as C(--expect-sha256) - mirrorctl refuses any plan file but the one
        with this sha256 (the digest the change ticket cites).
    type: str
  binary:
    description:
      - Path of the mirrorctl binary on the managed node. Default is C(mirrorctl) found on C(PATH).
    type: path
  root:
    description:
      - Passed as C(--root). Every node path resolves under it, like a chroot
        (for mounted node images and tests). mirrorctl's default is C(/).
    type: path
  state_dir:
    description:
      - Passed as C(--state-dir) (snapshots; resolved under I(root)).
        mirrorctl's default is C(/var/lib/mirrorctl).
    type: path
  kubeadm_config:
    description:
      - kubeadm config files (or exported C(kubeadm-config) ConfigMaps) to change as well,
        each passed as C(--kubeadm-config). Node paths, resolved under I(root).
      - Ignored with I(plan), which names its own files, and with I(state=rolled_back).
    type: list
    elements: str
    default: []
  kubeconfig:
    description:
      - Passed as C(--kubeconfig). With I(state=disabled) or I(state=enabled), also edit the live
        C(kube-system/kubeadm-config) ConfigMap through it; with I(state=rolled_back), also restore the
        cluster objects the snapshot's run changed.
    type: str
  controller_name:
    description:
      - Passed as C(--controller-name). mirrorctl's default is chosen by the Kubernetes version
        (the alias below 1.28, the canonical name from 1.28); mirrorctl refuses a name the version does not know.
    type: str
    choices: [endpointslicemirroring, endpointslice-mirroring-controller]
  lock_timeout:
    description:
      - Passed as C(--lock-timeout), for example C(2m). How long mirrorctl waits for another run on the node.
        mirrorctl's default is 30s.
    type: str
  wait:
    description:
      - Passed as C(--wait), for example C(2m). How long mirrorctl waits for the new
        kube-controller-manager to come up healthy; it rolls back by itself otherwise.
        Not passed in check mode (nothing restarts).
      - On k3s, RKE2, k0s and MicroK8s the change takes effect only when the service restarts, so
        I(wait) needs I(restart=true) there (mirrorctl refuses it otherwise).
      - Also with I(plan) (C(mirrorctl apply-plan --wait)).
    type: str
  restart:
    description:
      - Passed as C(--restart). On k3s, RKE2, k0s and MicroK8s, restart the service after writing,
        inside mirrorctl's run (so I(wait) can check the result and roll back).
        mirrorctl refuses it with a I(root) other than C(/). Not passed in check mode.
        Not with I(plan) or I(state=rolled_back).
      - Without it the result's C(pending_restart) names the restart the change still needs.
    type: bool
    default: false
  distro:
    description:
      - Passed as C(--distro) to skip detection, e.g. C(kubeadm), C(k3s), C(kind).
      - Ignored with I(plan), which records its distribution.
    type: str
  k0s_config:
    description: Passed as C(--k0s-config) (k0s; default C(/etc/k0s/k0s.yaml)).
    type: str
  i_understand_k0s_ha_needs_mirroring:
    description: Passed as C(--i-understand-k0s-ha-needs-mirroring) (k0s; mirrorctl refuses an HA control plane otherwise).
    type: bool
    default: false
  kind_config:
    description: Passed as C(--kind-config) (kind; the cluster config to edit).
    type: str
  kind_node_version:
    description: Passed as C(--kind-node-version) (kind; the node image's Kubernetes version).
    type: str
  talos_config:
    description: Passed as C(--talos-config) (Talos; a machine config file to rewrite).
    type: str
  talos_patch_out:
    description: Passed as C(--talos-patch-out) (Talos; where to write a patch for C(talosctl patch mc)).
    type: str
  talos_document:
    description: Passed as C(--talos-document) (Talos v1.14+; the C(KubeControllerManagerConfig) form).
    type: bool
    default: false
  kops_spec:
    description: Passed as C(--kops-spec) (kops; the cluster spec to edit).
    type: str
  i_understand_node_is_managed:
    description:
      - Passed as C(--i-understand-node-is-managed). Edit a node whose kube-controller-manager flags Cluster API,
        kops or kubespray render from elsewhere (mirrorctl refuses by default, printing the change to make there);
        the change is lost at that tool's next rollout.
    type: bool
    default: false
  endpoints_controller:
    description:
      - Passed as C(--endpoints-controller) - switch the Endpoints controller
        (C(endpoint) / C(endpoints-controller)) with the mirroring controller.
      - With I(state=disabled) mirrorctl refuses unless every kube-apiserver it can see is 1.37 or
        newer (older ones read Endpoints); see I(skip_apiserver_version_check).
      - Ignored with I(plan), which records it, and with I(state=rolled_back).
    type: bool
    default: false
  skip_apiserver_version_check:
    description:
      - Passed as C(--skip-apiserver-version-check) - switch the Endpoints controller off without
        checking the kube-apiserver versions (with a warning). Also applies to I(plan).
        Not with I(state=rolled_back).
    type: bool
    default: false
notes:
  - mirrorctl's warnings (something to act on) are shown as Ansible warnings; its notes (worth knowing,
    nothing to fix, such as what reads EndpointSlices from 1.34) are returned in C(notes) only.
  - C(MIRRORCTL_*) environment variables of the managed node are ignored; only the options count.
  - On failure C(msg) is mirrorctl's one-line error, which names the file and the problem;
    mirrorctl changes nothing on disk when it fails.
requirements:
  - the mirrorctl binary on the managed node
seealso:
  - module: mirrorctl.mirrorctl.mirrorctl_info
author:
  - mirrorctl authors (@mirrorctl)
"""

EXAMPLES = r"""
- name: Turn the EndpointSlice mirroring controller off
  mirrorctl.mirrorctl.mirrorctl:
    state: disabled
    kubeadm_config:
      - /etc/kubernetes/kubeadm-config.yaml

- name: Turn it off on a k3s server and restart k3s, rolling back unless kube-controller-manager comes up healthy
  mirrorctl.mirrorctl.mirrorctl:
    state: disabled
    restart: true
    wait: 3m

- name: The KEP-4974 end state - the Endpoints controller off too (every kube-apiserver 1.37+)
  mirrorctl.mirrorctl.mirrorctl:
    state: disabled
    endpoints_controller: true

- name: Undo the last change on this node
  mirrorctl.mirrorctl.mirrorctl:
    state: rolled_back

- name: Apply a reviewed plan made with `mirrorctl disable --dry-run --save-plan`
  mirrorctl.mirrorctl.mirrorctl:
    plan: /var/tmp/mirrorctl-disable.plan
    plan_sha256: 3f2a0c...  # the digest cited in the change ticket
    binary: /usr/local/bin/mirrorctl
"""

RETURN = r"""
mirroring:
  description: State of the mirroring controller after the run (in check mode, after the run that would happen).
  returned: success
  type: str
  sample: disabled
endpoints_controller:
  description: State of the Endpoints controller after the run, when the run switched it (I(endpoints_controller) or a plan that does).
  returned: success, with endpoints_controller
  type: str
  sample: disabled
snapshot:
  description: Id of the snapshot taken before writing; null when nothing was written. Pass it as I(snapshot) to roll back.
  returned: success
  type: str
  sample: 20261125T093012Z-1a2b3c
files:
  description: Every target file, as a node path, with its kind and whether it changed.
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/manifests/kube-controller-manager.yaml", "kind": "static-pod-manifest", "changed": true}]
diff:
  description: Before and after of every changed file, in diff mode only.
  returned: diff mode
  type: list
  elements: dict
distro:
  description: The distribution adapter mirrorctl used.
  returned: success, when mirrorctl reports it
  type: str
  sample: kubeadm
notes:
  description:
    - What happens next on the node (for example the kubelet restarting kube-controller-manager), and
      what is worth knowing about the new state (for example what reads EndpointSlices from 1.34).
      Not warnings.
  returned: success
  type: list
  elements: str
pending_restart:
  description:
    - The command (argv) the change still needs to take effect, on k3s, RKE2, k0s and MicroK8s without
      I(restart); null when nothing changed or the kubelet applies it. The collection's role runs it from a handler.
  returned: success
  type: list
  elements: str
  sample: ["systemctl", "restart", "k3s"]
node_manager:
  description:
    - The tool that renders this node's kube-controller-manager flags from elsewhere (Cluster API, kops, kubespray,
      Rancher), as mirrorctl reports it - C(name), C(evidence), C(source_of_truth), C(change), C(override).
  returned: when mirrorctl found one
  type: dict
warnings:
  description: mirrorctl's warnings (also shown as Ansible warnings).
  returned: when mirrorctl warned
  type: list
  elements: str
cmd:
  description: The mirrorctl command line that ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mirrorctl.mirrorctl.plugins.module_utils.mirrorctl import (
    COMMON_ARGS,
    binary,
    error_line,
    global_flags,
    run,
    target_flags,
)


def build_command(path, params, check_mode):
    cmd = [path] + global_flags(params)
    if params["plan"]:
        cmd.append("apply-plan")
    elif params["state"] == "rolled_back":
        cmd.append("rollback")
    else:
        cmd.append("disable" if params["state"] == "disabled" else "enable")
    if check_mode:
        cmd.append("--dry-run")
    if params["lock_timeout"]:
        cmd += ["--lock-timeout", params["lock_timeout"]]
    if params["force"]:
        cmd.append("--force")
    if params["plan"]:
        # A plan names its own target files, distribution and inputs.
        if params["plan_sha256"]:
            cmd += ["--expect-sha256", params["plan_sha256"]]
    elif params["state"] == "rolled_back":
        if params["kubeconfig"]:
            cmd += ["--kubeconfig", params["kubeconfig"]]
    else:
        cmd += target_flags(params)
    if params["skip_apiserver_version_check"] and params["state"] != "rolled_back":
        # apply-plan takes it too: the cluster may have changed since the plan was made.
        cmd.append("--skip-apiserver-version-check")
    # A dry run restarts nothing: waiting for it would only add time.
    if not check_mode and params["state"] != "rolled_back":
        if params["restart"]:
            cmd.append("--restart")
        if params["wait"]:
            cmd += ["--wait", params["wait"]]
    if params["plan"]:
        cmd.append(params["plan"])
    elif params["state"] == "rolled_back" and params["snapshot"]:
        cmd.append(params["snapshot"])
    return cmd


def main():
    argument_spec = dict(COMMON_ARGS)
    argument_spec.update(
        state=dict(type="str", choices=["disabled", "enabled", "rolled_back"]),
        snapshot=dict(type="str"),
        force=dict(type="bool", default=False),
        plan=dict(type="path"),
        plan_sha256=dict(type="str"),
        lock_timeout=dict(type="str"),
        wait=dict(type="str"),
        restart=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("state", "plan")],
        required_one_of=[("state", "plan")],
        required_by={"plan_sha256": "plan"},
        supports_check_mode=True,
    )
    params = module.params
    if params["snapshot"] and params["state"] != "rolled_back":
        module.fail_json(msg="snapshot is only for state=rolled_back")
    if params["restart"] and (params["plan"] or params["state"] == "rolled_back"):
        # apply-plan and rollback have no --restart: a plan holds files only.
        module.fail_json(msg="restart is for state=disabled or state=enabled")

    cmd = build_command(binary(module), params, module.check_mode)
    rc, out, stdout, stderr = run(module, cmd)
    if rc != 0:
        module.fail_json(msg=error_line(stderr, stdout, rc), rc=rc, cmd=cmd, stdout=stdout, stderr=stderr, changed=False)
    if not isinstance(out, dict) or not isinstance(out.get("changed"), bool):
        module.fail_json(msg="mirrorctl printed no JSON object with a boolean 'changed'", cmd=cmd, stdout=stdout, stderr=stderr, changed=False)

    result = dict(
        changed=out["changed"],
        mirroring=out.get("mirroring"),
        snapshot=out.get("snapshot"),
        files=out.get("files") or [],
        notes=[str(n) for n in (out.get("notes") or [])],
        pending_restart=out.get("pending_restart"),
        cmd=cmd,
    )
    for key in ("distro", "node_manager", "endpoints_controller"):
        if out.get(key) is not None:
            result[key] = out[key]
    warnings = [str(w) for w in (out.get("warnings") or [])]
    if warnings:
        # exit_json turns the 'warnings' list into Ansible warnings; notes are not among them.
        result["warnings"] = warnings
    if module._diff:
        result["diff"] = [
            dict(
                before_header=d.get("before_header", ""),
                after_header=d.get("after_header", ""),
                before=d.get("before", ""),
                after=d.get("after", ""),
            )
            for d in (out.get("diff") or [])
        ]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
