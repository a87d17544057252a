#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mirrorctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Reads only: `mirrorctl status` as Ansible data, so a play can decide from what the node says.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mirrorctl_info
short_description: Read whether kube-controller-manager's EndpointSlice mirroring controller is on, per file
description:
  - Runs C(mirrorctl -o json status) on the managed node and returns what it says, and the version of the
    mirrorctl binary there (C(mirrorctl -o json version)). Changes nothing; takes no lock.
  - Like every C(_info) module it returns data, not C(ansible_facts) - C(register) the result, or
    C(ansible.builtin.set_fact) what you need from it.
version_added: "0.1.0"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: it only reads, so check mode runs it as usual.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  binary:
    description: Path of the mirrorctl binary on the managed node. Default is C(mirrorctl) found on C(PATH).
    type: path
  root:
    description: Passed as C(--root) (every node path resolves under it). mirrorctl's default is C(/).
    type: path
  state_dir:
    description: Passed as C(--state-dir) (an interrupted change is found there).
    type: path
  distro:
    description: Passed as C(--distro) to skip detection.
    type: str
  controller_name:
    description: Passed as C(--controller-name).
    type: str
    choices: [endpointslicemirroring, endpointslice-mirroring-controller]
  kubeadm_config:
    description: kubeadm config files to read as well, each passed as C(--kubeadm-config).
    type: list
    elements: str
    default: []
  kubeconfig:
    description: Passed as C(--kubeconfig) - also read the live C(kube-system/kubeadm-config) ConfigMap.
    type: str
  k0s_config:
    description: Passed as C(--k0s-config).
    type: str
  i_understand_k0s_ha_needs_mirroring:
    description: Accepted for symmetry with M(mirrorctl.mirrorctl.mirrorctl); a status reads, so it is not passed.
    type: bool
    default: false
  kind_config:
    description: Passed as C(--kind-config).
    type: str
  kind_node_version:
    description: Passed as C(--kind-node-version).
    type: str
  talos_config:
    description: Passed as C(--talos-config).
    type: str
  talos_patch_out:
    description: Passed as C(--talos-patch-out).
    type: str
  talos_document:
    description: Passed as C(--talos-document).
    type: bool
    default: false
  kops_spec:
    description: Passed as C(--kops-spec).
    type: str
  i_understand_node_is_managed:
    description: Accepted for symmetry with M(mirrorctl.mirrorctl.mirrorctl); a status reads, so it is not passed.
    type: bool
    default: false
  endpoints_controller:
    description:
      - Accepted for symmetry with M(mirrorctl.mirrorctl.mirrorctl); not passed - a status always reports the
        Endpoints controller's state (C(endpoints_controller) in the result).
    type: bool
    default: false
  skip_apiserver_version_check:
    description: Accepted for symmetry with M(mirrorctl.mirrorctl.mirrorctl); a status reads, so it is not passed.
    type: bool
    default: false
requirements:
  - the mirrorctl binary on the managed node
seealso:
  - module: mirrorctl.mirrorctl.mirrorctl
author:
  - mirrorctl authors (@mirrorctl)
"""

EXAMPLES = r"""
- name: Read the node's state
  mirrorctl.mirrorctl.mirrorctl_info:
    kubeadm_config: [/etc/kubernetes/kubeadm-config.yaml]
  register: mirroring

- name: Stop where the files disagree
  ansible.builtin.assert:
    that: mirroring.agree
    fail_msg: "{{ mirroring.files }}"
"""

RETURN = r"""
mirroring:
  description: C(enabled), C(disabled), C(mixed) (the files disagree) or C(unknown).
  returned: always
  type: str
  sample: disabled
endpoints_controller:
  description: The Endpoints controller's state, like I(mirroring) - C(enabled), C(disabled), C(mixed) or C(unknown).
  returned: always
  type: str
  sample: enabled
agree:
  description: Whether every file says the same, of both controllers.
  returned: always
  type: bool
distro:
  description: The distribution adapter mirrorctl used.
  returned: always
  type: str
  sample: kubeadm
files:
  description: Per file - path, kind, mirroring, the effective C(--controllers), endpoints_controller, the Kubernetes version, a note.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/manifests/kube-controller-manager.yaml", "kind": "static-pod-manifest",
            "mirroring": "disabled", "controllers": "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller",
            "version": "1.29"}]
interrupted:
  description: An interrupted change (its snapshot), or null.
  returned: always
  type: dict
node_manager:
  description: The tool that renders this node's kube-controller-manager flags from elsewhere, or null.
  returned: always
  type: dict
status_warnings:
  description: mirrorctl's warnings about the node (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
version:
  description: What the mirrorctl binary on the node reports as its version (C(mirrorctl -o json version)).
  returned: always
  type: str
  sample: v0.4.0
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
    version,
)


def main():
    module = AnsibleModule(argument_spec=dict(COMMON_ARGS), supports_check_mode=True)
    path = binary(module)
    cmd = [path] + global_flags(module.params) + ["status"] + target_flags(module.params, status=True)
    rc, out, stdout, stderr = run(module, cmd)
    if rc != 0:
        module.fail_json(msg=error_line(stderr, stdout, rc), rc=rc, cmd=cmd, stdout=stdout, stderr=stderr)
    if not isinstance(out, dict) or "mirroring" not in out:
        module.fail_json(msg="mirrorctl printed no status object", cmd=cmd, stdout=stdout, stderr=stderr)
    warnings = [str(w) for w in (out.get("warnings") or [])]
    for w in warnings:
        module.warn(w)
    module.exit_json(
        changed=False,
        mirroring=out.get("mirroring"),
        endpoints_controller=out.get("endpoints_controller"),
        agree=out.get("agree"),
        distro=out.get("distro"),
        files=out.get("files") or [],
        interrupted=out.get("interrupted"),
        node_manager=out.get("node_manager"),
        status_warnings=warnings,
        version=version(module, path),
        cmd=cmd,
    )


if __name__ == "__main__":
    main()
