#!/usr/bin/python
# -*- coding: utf-8 -*-
#
# A thin wrapper: every decision (what to edit, snapshots, locking, validation)
# is mirrorctl's. The module only maps options to flags and mirrorctl's JSON
# result to Ansible's result, so the two can never disagree about the node.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mirrorctl
short_description: Switch kube-controller-manager's EndpointSlice mirroring controller off or on
description:
  - Runs the C(mirrorctl) binary on the managed node with C(-o json) and returns its result.
  - C(state=disabled) runs C(mirrorctl disable), C(state=enabled) runs C(mirrorctl enable);
    C(plan) runs C(mirrorctl apply-plan FILE) to apply exactly a reviewed plan.
  - mirrorctl snapshots every file before it writes, writes atomically, and changes nothing
    when the node is already in the requested state, so the module is idempotent.
  - Every control-plane node must be changed (kube-controller-manager uses leader election);
    run it with C(serial) and stop on the first failure (see the role's C(site.yml)).
version_added: "0.1.0"
options:
  state:
    description:
      - Desired state of the EndpointSlice mirroring controller.
      - Mutually exclusive with I(plan); one of the two is required.
    type: str
    choices: [disabled, enabled]
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
      - Passed as C(--state-dir) (snapshots and lock; resolved under I(root)).
        mirrorctl's default is C(/var/lib/mirrorctl).
    type: path
  kubeadm_config:
    description:
      - kubeadm config files (or exported C(kubeadm-config) ConfigMaps) to change as well,
        each passed as C(--kubeadm-config). Node paths, resolved under I(root).
      - Ignored with I(plan), which names its own files.
    type: list
    elements: str
    default: []
  wait:
    description:
      - Passed as C(--wait), for example C(2m). How long mirrorctl waits for the new
        kube-controller-manager to come up. Not passed in check mode (nothing restarts).
      - Not with I(plan) (C(mirrorctl apply-plan) has no C(--wait)).
    type: str
  distro:
    description:
      - Passed as C(--distro) to skip detection, e.g. C(kubeadm).
      - Ignored with I(plan), which records its distribution.
    type: str
  endpoints_controller:
    description:
      - Passed as C(--endpoints-controller) - switch the Endpoints controller
        (C(endpoint) / C(endpoints-controller)) with the mirroring controller.
      - With I(state=disabled) mirrorctl refuses unless every kube-apiserver it can see is 1.37 or
        newer (older ones read Endpoints); see I(skip_apiserver_version_check).
      - Ignored with I(plan), which records it.
    type: bool
    default: false
  skip_apiserver_version_check:
    description:
      - Passed as C(--skip-apiserver-version-check) - switch the Endpoints controller off without
        checking the kube-apiserver versions (with a warning). Also applies to I(plan).
    type: bool
    default: false
notes:
  - Check mode is supported. mirrorctl runs with C(--dry-run), writes nothing at all,
    and C(changed) says whether it would change anything.
  - Diff mode is supported. C(diff) holds one entry per changed file, straight from mirrorctl.
  - Warnings from mirrorctl are shown as Ansible warnings.
  - C(MIRRORCTL_*) environment variables of the managed node are ignored; only the options count.
  - On failure C(msg) is mirrorctl's one-line error, which names the file and the problem;
    mirrorctl changes nothing on disk when it fails.
requirements:
  - the mirrorctl binary on the managed node
author:
  - mirrorctl authors
"""

EXAMPLES = r"""
- name: Turn the EndpointSlice mirroring controller off
  mirrorctl:
    state: disabled
    kubeadm_config:
      - /etc/kubernetes/kubeadm-config.yaml

- name: The KEP-4974 end state - the Endpoints controller off too (every kube-apiserver 1.37+)
  mirrorctl:
    state: disabled
    endpoints_controller: true

- name: Preview only (run the play with --check --diff)
  mirrorctl:
    state: disabled
  check_mode: true

- name: Apply a reviewed plan made with `mirrorctl disable --dry-run --save-plan`
  mirrorctl:
    plan: /var/tmp/mirrorctl-disable.plan
    plan_sha256: 3f2a0c...  # the digest cited in the change ticket
    binary: /usr/local/bin/mirrorctl
"""

RETURN = r"""
changed:
  description: Whether a file changed (in check mode, whether one would change).
  returned: always
  type: bool
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
  description: Id of the snapshot taken before writing; null when nothing was written.
  returned: success
  type: str
  sample: null
files:
  description: Every target file, as a node path, with its kind and whether it changed.
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/manifests/kube-controller-manager.yaml", "kind": "manifest", "changed": true}]
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
  description: What happens next on the node (for example the kubelet restarting kube-controller-manager).
  returned: success, when mirrorctl reports them
  type: list
  elements: str
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

import json
import os

from ansible.module_utils.basic import AnsibleModule


def build_command(binary, params, check_mode):
    # Global flags go before the command: mirrorctl's contract.
    cmd = [binary, "-o", "json"]
    if params["root"]:
        cmd += ["--root", params["root"]]
    if params["state_dir"]:
        cmd += ["--state-dir", params["state_dir"]]

    if params["plan"]:
        cmd.append("apply-plan")
    else:
        cmd.append("disable" if params["state"] == "disabled" else "enable")
    if check_mode:
        cmd.append("--dry-run")
    # A plan names its own target files and distribution.
    if not params["plan"]:
        for path in params["kubeadm_config"] or []:
            cmd += ["--kubeadm-config", path]
        if params["distro"]:
            cmd += ["--distro", params["distro"]]
        if params["endpoints_controller"]:
            cmd.append("--endpoints-controller")
    if params["skip_apiserver_version_check"]:
        cmd.append("--skip-apiserver-version-check")
    # Waiting for a restart that a dry run never causes would only add time.
    # (wait and plan are mutually exclusive.)
    if params["wait"] and not check_mode:
        cmd += ["--wait", params["wait"]]
    if params["plan"]:
        if params["plan_sha256"]:
            cmd += ["--expect-sha256", params["plan_sha256"]]
        cmd.append(params["plan"])
    return cmd


def error_line(stderr, stdout, rc):
    # mirrorctl logs "[phase] ..." lines to stderr before it fails; the error
    # itself is the last line.
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    if lines:
        return lines[-1]
    lines = [line.strip() for line in (stdout or "").splitlines() if line.strip()]
    if lines:
        return lines[-1]
    return "mirrorctl exited with status %d and printed nothing" % rc


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["disabled", "enabled"]),
            plan=dict(type="path"),
            plan_sha256=dict(type="str"),
            binary=dict(type="path"),
            root=dict(type="path"),
            state_dir=dict(type="path"),
            kubeadm_config=dict(type="list", elements="str", default=[]),
            wait=dict(type="str"),
            distro=dict(type="str"),
            endpoints_controller=dict(type="bool", default=False),
            skip_apiserver_version_check=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("state", "plan"), ("plan", "wait")],
        required_one_of=[("state", "plan")],
        required_by={"plan_sha256": "plan"},
        supports_check_mode=True,
    )
    params = module.params

    binary = params["binary"] or module.get_bin_path("mirrorctl", required=True)
    cmd = build_command(binary, params, module.check_mode)

    # mirrorctl reads every flag from MIRRORCTL_* variables too: a stray
    # MIRRORCTL_DRY_RUN in the host's environment would turn a real run into
    # a dry run that reports changed forever. The options are the whole input.
    for name in [n for n in os.environ if n.startswith("MIRRORCTL_")]:
        del os.environ[name]
    # NO_COLOR: stdout must be bare JSON whatever the host's terminal settings.
    rc, stdout, stderr = module.run_command(
        cmd, environ_update={"NO_COLOR": "1"}, check_rc=False
    )
    if rc != 0:
        module.fail_json(
            msg=error_line(stderr, stdout, rc),
            rc=rc,
            cmd=cmd,
            stdout=stdout,
            stderr=stderr,
            changed=False,
        )

    try:
        out = json.loads(stdout)
    except ValueError as e:
        module.fail_json(
            msg="mirrorctl printed no valid JSON: %s" % e,
            rc=rc,
            cmd=cmd,
            stdout=stdout,
            stderr=stderr,
            changed=False,
        )
    if not isinstance(out, dict) or not isinstance(out.get("changed"), bool):
        module.fail_json(
            msg="mirrorctl's JSON has no boolean 'changed'",
            cmd=cmd,
            stdout=stdout,
            changed=False,
        )

    result = dict(
        changed=out["changed"],
        mirroring=out.get("mirroring"),
        snapshot=out.get("snapshot"),
        files=out.get("files") or [],
        cmd=cmd,
    )
    for key in ("distro", "notes", "endpoints_controller"):
        if key in out:
            result[key] = out[key]
    warnings = [str(w) for w in (out.get("warnings") or [])]
    if warnings:
        # exit_json turns the 'warnings' list into Ansible warnings.
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
