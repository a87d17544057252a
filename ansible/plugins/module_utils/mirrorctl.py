# -*- coding: utf-8 -*-
# Copyright: mirrorctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# What the mirrorctl and mirrorctl_info modules share: how the binary is found and run, and how its
# options become flags. Every decision about the node is mirrorctl's; the modules only map options to
# flags and mirrorctl's JSON to Ansible's result, so the two never disagree about a node.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# Options of both modules that select the node and its files. Each per-distribution input is one
# mirrorctl flag, named like the option with "-" for "_" (mirrorctl's distros' Inputs).
COMMON_ARGS = dict(
    binary=dict(type="path"),
    root=dict(type="path"),
    state_dir=dict(type="path"),
    distro=dict(type="str"),
    controller_name=dict(type="str", choices=["endpointslicemirroring", "endpointslice-mirroring-controller"]),
    kubeadm_config=dict(type="list", elements="str", default=[]),
    k0s_config=dict(type="str"),
    i_understand_k0s_ha_needs_mirroring=dict(type="bool", default=False),
    kind_config=dict(type="str"),
    kind_node_version=dict(type="str"),
    talos_config=dict(type="str"),
    talos_patch_out=dict(type="str"),
    talos_document=dict(type="bool", default=False),
    kops_spec=dict(type="str"),
    i_understand_node_is_managed=dict(type="bool", default=False),
    kubeconfig=dict(type="str"),
    endpoints_controller=dict(type="bool", default=False),
    skip_apiserver_version_check=dict(type="bool", default=False),
)

DISTRO_STRINGS = ("k0s_config", "kind_config", "kind_node_version", "talos_config", "talos_patch_out", "kops_spec")
DISTRO_BOOLS = ("i_understand_k0s_ha_needs_mirroring", "talos_document", "i_understand_node_is_managed")
# Overrides of a refusal to write: a status reads, so they are not passed to it.
WRITE_ONLY = ("i_understand_k0s_ha_needs_mirroring", "i_understand_node_is_managed")


def flag(option):
    return "--" + option.replace("_", "-")


def global_flags(params):
    # Global flags go before the command: every mirrorctl release takes them there.
    cmd = ["-o", "json"]
    if params.get("root"):
        cmd += ["--root", params["root"]]
    if params.get("state_dir"):
        cmd += ["--state-dir", params["state_dir"]]
    return cmd


def target_flags(params, status=False):
    # The flags that say which files are the node's targets (disable, enable, status).
    cmd = []
    for path in params.get("kubeadm_config") or []:
        cmd += ["--kubeadm-config", path]
    if params.get("distro"):
        cmd += ["--distro", params["distro"]]
    if params.get("controller_name"):
        cmd += ["--controller-name", params["controller_name"]]
    if params.get("kubeconfig"):
        cmd += ["--kubeconfig", params["kubeconfig"]]
    # A status reports the Endpoints controller's state always; only a change switches it.
    if params.get("endpoints_controller") and not status:
        cmd.append("--endpoints-controller")
    for name in DISTRO_STRINGS:
        if params.get(name):
            cmd += [flag(name), params[name]]
    for name in DISTRO_BOOLS:
        # A status reads; refusing an HA k0s node is a write-time decision.
        if params.get(name) and not (status and name in WRITE_ONLY):
            cmd.append(flag(name))
    return cmd


def error_line(stderr, stdout, rc):
    # The one-line error is the last line on stderr, after the "[phase] ..." log lines, as the operator
    # sees it; with -o json newer releases also print it on stdout as {"error": ...}, used when stderr
    # says nothing.
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    if lines:
        return lines[-1]
    try:
        out = json.loads(stdout or "")
        if isinstance(out, dict) and isinstance(out.get("error"), str):
            return out["error"]
    except ValueError:
        pass
    lines = [line.strip() for line in (stdout or "").splitlines() if line.strip()]
    if lines:
        return lines[-1]
    return "mirrorctl exited with status %d and printed nothing" % rc


def run(module, cmd):
    """Runs mirrorctl; returns (rc, parsed JSON or None, stdout, stderr)."""
    # mirrorctl reads every flag from MIRRORCTL_* variables too: a stray MIRRORCTL_DRY_RUN in the
    # host's environment would turn a real run into a dry run that reports changed forever. The
    # options are the whole input.
    for name in [n for n in os.environ if n.startswith("MIRRORCTL_")]:
        del os.environ[name]
    # NO_COLOR: stdout must be bare JSON whatever the host's terminal settings.
    rc, stdout, stderr = module.run_command(cmd, environ_update={"NO_COLOR": "1"}, check_rc=False)
    out = None
    if rc == 0:
        try:
            out = json.loads(stdout)
        except ValueError:
            out = None
    return rc, out, stdout, stderr


def binary(module):
    return module.params["binary"] or module.get_bin_path("mirrorctl", required=True)


def version(module, path):
    """The version the mirrorctl binary at path reports (`mirrorctl -o json version`), or None."""
    rc, out, dummy, dummy2 = run(module, [path, "-o", "json", "version"])
    if rc == 0 and isinstance(out, dict) and isinstance(out.get("version"), str):
        return out["version"]
    return None
