#!/usr/bin/env bash
# Runs ansible/site.yml for real with ansible-playbook (connection: local)
# against temp roots laid out like kubeadm control-plane nodes, one root per
# inventory host, and checks what Ansible reports against what is on disk.
#
#   bash ansible/test/run.sh                 # builds ./cmd/mirrorctl
#   MIRRORCTL_BIN=/path/mirrorctl bash ansible/test/run.sh
#   KEEP=1 bash ansible/test/run.sh          # keep the temp dir and logs
#
# Exit status is non-zero when any check fails; the last line is
# "N passed, M failed".
set -uo pipefail

if ! command -v ansible-playbook >/dev/null 2>&1; then
	echo "SKIP: ansible-playbook not found (apt-get install ansible-core)"
	exit 0
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ansible_dir=$(dirname "$here")
repo=$(dirname "$ansible_dir")
sample=$here/testdata/kube-controller-manager.yaml
manifest_rel=etc/kubernetes/manifests/kube-controller-manager.yaml
kubeadm_cfg_rel=etc/kubernetes/cluster-config.yaml
py=/usr/bin/python3 # the interpreter Ansible runs modules with; it is there when ansible-core is

work=$(mktemp -d "${TMPDIR:-/tmp}/mirrorctl-ansible.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
	echo "keeping $work"
else
	trap 'rm -rf "$work"' EXIT
fi

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }
check() { # check DESCRIPTION COMMAND...
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
finish() {
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit
}
show_log() { # on failure, the log is the evidence
	echo "---- $1 (last 60 lines)"
	tail -n 60 "$1"
	echo "----"
}

bin=${MIRRORCTL_BIN:-}
if [ -z "$bin" ]; then
	bin=$work/mirrorctl
	if ! (cd "$repo" && go build -tags urfave_cli_no_docs -o "$bin" ./cmd/mirrorctl); then
		fail "build ./cmd/mirrorctl"
		finish
	fi
fi
if [ ! -x "$bin" ] || [ -d "$bin" ]; then
	fail "MIRRORCTL_BIN=$bin: not an executable file"
	finish
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# Ansible writes temp files and reads config from the environment: keep both
# inside the test dir so the host's settings cannot change the outcome.
export ANSIBLE_CONFIG=$work/ansible.cfg
: >"$ANSIBLE_CONFIG"
export ANSIBLE_LOCAL_TEMP=$work/.ansible/tmp ANSIBLE_REMOTE_TEMP=$work/.ansible/remote
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOAD_CALLBACK_PLUGINS=1
export ANSIBLE_ROLES_PATH=$ansible_dir/roles ANSIBLE_LIBRARY=$ansible_dir/roles/mirrorctl/library
unset ANSIBLE_CALLBACKS_ENABLED ANSIBLE_CALLBACK_WHITELIST
for v in $(env | sed -n 's/^\(MIRRORCTL_[A-Z_]*\)=.*/\1/p'); do
	[ "$v" = MIRRORCTL_BIN ] || unset "$v"
done

# node NAME [malformed]: a kubeadm node root with the kcm manifest (0600 in a
# 0700 folder, as kubeadm writes them), a kubeadm ClusterConfiguration at a
# non-default path (so only mirrorctl_kubeadm_config finds it), and a pristine
# copy to compare bytes with.
node() {
	local name=$1 root=$work/roots/$1
	mkdir -p "$root/etc/kubernetes/manifests"
	chmod 0700 "$root/etc/kubernetes/manifests"
	if [ "${2:-}" = malformed ]; then
		# An unclosed flow sequence: a YAML parse error, not a missing flag.
		sed 's/^  containers:$/  containers: [/' "$sample" >"$root/$manifest_rel"
	else
		cp "$sample" "$root/$manifest_rel"
	fi
	chmod 0600 "$root/$manifest_rel"
	cat >"$root/$kubeadm_cfg_rel" <<-'EOF'
		apiVersion: kubeadm.k8s.io/v1beta4
		kind: ClusterConfiguration
		kubernetesVersion: v1.29.0
		clusterName: kubernetes
		controllerManager:
		  extraArgs:
		  - name: bind-address
		    value: 127.0.0.1
	EOF
	rm -rf "$work/pristine/$name"
	mkdir -p "$work/pristine"
	cp -a "$root" "$work/pristine/$name"
}

# inventory FILE HOST...: control_plane hosts, each with its own root and its
# own copy of the binary, all on this machine.
inventory() {
	local file=$1 h
	shift
	{
		echo "all:"
		echo "  vars:"
		echo "    ansible_connection: local"
		echo "    mirrorctl_become: false"
		echo "    mirrorctl_binary_src: $bin"
		echo "  children:"
		echo "    control_plane:"
		echo "      hosts:"
		for h in "$@"; do
			echo "        $h:"
			echo "          mirrorctl_root: $work/roots/$h"
			echo "          mirrorctl_binary_dest: $work/nodebin/$h/mirrorctl"
			echo "          mirrorctl_kubeadm_config: [/$kubeadm_cfg_rel]"
		done
	} >"$file"
	for h in "$@"; do mkdir -p "$work/nodebin/$h"; done
}

# play LOG INVENTORY [ansible-playbook args...]: runs site.yml; prints the rc.
play() {
	local log=$1 inv=$2
	shift 2
	(cd "$work" && ansible-playbook -i "$inv" "$ansible_dir/site.yml" \
		-e ansible_python_interpreter=$py "$@") >"$log" 2>&1
	echo $?
}

# recap LOG HOST FIELD: a number from the PLAY RECAP line of HOST.
recap() {
	sed -n "/^PLAY RECAP/,\$p" "$1" | awk -v h="$2" -v f="$3" '
		$1 == h { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}

# status LOG HOST: what the default callback said about HOST for the mirrorctl
# task (ok, changed, fatal, or nothing when the task never ran there). With
# serial: 1 the task header repeats once per batch.
status() {
	awk -v h="[$2]" '
		/^TASK \[/ { in_task = ($0 ~ /^TASK \[mirrorctl : Set the EndpointSlice mirroring controller/) ; next }
		/^PLAY RECAP/ { in_task = 0 }
		in_task && index($0, h) { split($1, s, ":"); print s[1] }' "$1"
}

same_tree() { diff -r "$1" "$2" >/dev/null; }
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }
eq() { [ "$1" = "$2" ]; }

# result_is LOG HOST EXPR: with -v the default callback prints the module's
# result as one line of JSON after "=> "; EXPR (python, over r) must hold for
# HOST's result of the mirrorctl task.
result_is() {
	"$py" - "$1" "$2" "$3" <<-'EOF'
		import json, re, sys
		log, host, expr = sys.argv[1:]
		r, in_task = {}, False
		for line in open(log):
		    if line.startswith("TASK ["):
		        in_task = line.startswith("TASK [mirrorctl : Set the EndpointSlice")
		    m = re.match(r"^(ok|changed|fatal): \[(.+?)\](?:: FAILED!)? => (\{.*\})$", line)
		    if in_task and m and m.group(2) == host:
		        r = json.loads(m.group(3))
		ok = bool(r) and eval(expr, {"r": r})
		if not ok:
		    print("    result for %s: %s" % (host, json.dumps(r, sort_keys=True)[:1500]))
		sys.exit(0 if ok else 1)
	EOF
}
snapshot_of() { # snapshot_of LOG HOST
	"$py" - "$1" "$2" <<-'EOF'
		import json, re, sys
		log, host = sys.argv[1:]
		snap, in_task = "none", False
		for line in open(log):
		    if line.startswith("TASK ["):
		        in_task = line.startswith("TASK [mirrorctl : Set the EndpointSlice")
		    m = re.match(r"^(ok|changed): \[(.+?)\] => (\{.*\})$", line)
		    if in_task and m and m.group(2) == host:
		        snap = json.loads(m.group(3)).get("snapshot") or "none"
		print(snap)
	EOF
}

echo "mirrorctl: $bin ($("$bin" --version 2>/dev/null | head -n 1))"
echo "ansible:   $(ansible-playbook --version | head -n 1)"

# --- 1. the module's own documentation parses (ansible-doc reads it) -------
doc_ok() { ansible-doc -M "$ansible_dir/roles/mirrorctl/library" mirrorctl >"$work/doc.txt" 2>&1 && has "$work/doc.txt" "OPTIONS"; }
check "ansible-doc parses the module documentation" doc_ok
syntax_ok() {
	(cd "$work" && ansible-playbook -i localhost, --syntax-check "$ansible_dir/site.yml") >"$work/syntax.txt" 2>&1
}
check "ansible-playbook --syntax-check site.yml" syntax_ok

# --- 2. --check --diff: shows the diff, writes nothing -----------------------
node cp1
node cp2
inventory "$work/inv-main.yml" cp1 cp2
log=$work/check.log
rc=$(play "$log" "$work/inv-main.yml" --check --diff)
check "check+diff: playbook exits 0" eq "$rc" 0
check "check+diff: cp1 would change" eq "$(status "$log" cp1)" changed
check "check+diff: cp2 would change" eq "$(status "$log" cp2)" changed
check "check+diff: cp1 root byte-identical, no state dir" same_tree "$work/roots/cp1" "$work/pristine/cp1"
check "check+diff: cp2 root byte-identical, no state dir" same_tree "$work/roots/cp2" "$work/pristine/cp2"
check "check+diff: diff header names the manifest" \
	grep -qE -- "^--- before: .*/$manifest_rel" "$log"
check "check+diff: diff removes the old --controllers entry" \
	has "$log" "-    - --controllers=*,bootstrapsigner,tokencleaner"
check "check+diff: diff adds the negative mirroring entry" \
	grep -qE -- '^\+    - --controllers=\*,bootstrapsigner,tokencleaner,-endpointslice(mirroring|-mirroring-controller)$' "$log"
check "check+diff: diff covers the kubeadm config given in kubeadm_config" \
	grep -qE -- "^\+\+\+ after: .*/$kubeadm_cfg_rel" "$log"
[ "$failed" -eq 0 ] || show_log "$log"

# --- 3. check mode, the module's result -------------------------------------
f0=$failed
log=$work/check-v.log
rc=$(play "$log" "$work/inv-main.yml" --check -v -e mirrorctl_wait=2m)
check "check result: playbook exits 0" eq "$rc" 0
check "check result: changed, mirroring disabled, no snapshot" \
	result_is "$log" cp1 'r["changed"] is True and r["mirroring"] == "disabled" and r["snapshot"] is None'
check "check result: ran mirrorctl with --dry-run, without --wait" \
	result_is "$log" cp1 '"--dry-run" in r["cmd"] and "--wait" not in r["cmd"]'
check "check result: files lists the manifest as a node path, changed" \
	result_is "$log" cp1 '{"path": "/'"$manifest_rel"'", "changed": True} in [{"path": f["path"], "changed": f["changed"]} for f in r["files"]]'
check "check result: no diff returned without --diff" result_is "$log" cp1 '"diff" not in r'
check "check result: still nothing written" same_tree "$work/roots/cp1" "$work/pristine/cp1"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 4. real run: changes, reports changed, snapshots ------------------------
f0=$failed
log=$work/run.log
rc=$(play "$log" "$work/inv-main.yml" -v)
check "run: playbook exits 0" eq "$rc" 0
for h in cp1 cp2; do
	check "run: $h task changed" eq "$(status "$log" $h)" changed
	check "run: $h recap changed=1 failed=0 (binary already installed)" \
		eq "$(recap "$log" $h changed)/$(recap "$log" $h failed)" 1/0
	check "run: $h mirroring disabled, snapshot id returned" \
		result_is "$log" $h 'r["mirroring"] == "disabled" and isinstance(r["snapshot"], str) and r["snapshot"]'
	check "run: $h manifest has the negative mirroring entry" \
		grep -qE -- '--controllers=\*,bootstrapsigner,tokencleaner,-endpointslice(mirroring|-mirroring-controller)$' \
		"$work/roots/$h/$manifest_rel"
	check "run: $h manifest differs from the original in exactly one line" \
		eq "$(diff "$work/pristine/$h/$manifest_rel" "$work/roots/$h/$manifest_rel" | grep -c '^[<>]')" 2
	check "run: $h kubeadm config changed too" \
		result_is "$log" $h '[f["changed"] for f in r["files"] if f["path"] == "/'"$kubeadm_cfg_rel"'"] == [True]'
	snap=$(snapshot_of "$log" $h)
	check "run: $h snapshot $snap exists under the state dir" \
		test -d "$work/roots/$h/var/lib/mirrorctl/snapshots/$snap"
done
[ "$failed" -eq "$f0" ] || show_log "$log"
for h in cp1 cp2; do
	rm -rf "$work/after1/$h"
	mkdir -p "$work/after1"
	cp -a "$work/roots/$h" "$work/after1/$h"
done

# --- 5. second run: ok, unchanged --------------------------------------------
f0=$failed
log=$work/rerun.log
rc=$(play "$log" "$work/inv-main.yml" --diff)
check "rerun: playbook exits 0" eq "$rc" 0
for h in cp1 cp2; do
	check "rerun: $h task ok (not changed)" eq "$(status "$log" $h)" ok
	check "rerun: $h recap changed=0 failed=0" eq "$(recap "$log" $h changed)/$(recap "$log" $h failed)" 0/0
	check "rerun: $h recap ok=3 (assert, copy, mirrorctl)" eq "$(recap "$log" $h ok)" 3
	check "rerun: $h root untouched (no new snapshot)" same_tree "$work/roots/$h" "$work/after1/$h"
done
check "rerun: no diff printed" hasnt "$log" "--- before:"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 5b. state=enabled reverses it -------------------------------------------
f0=$failed
log=$work/enable.log
rc=$(play "$log" "$work/inv-main.yml" --diff -v -e mirrorctl_state=enabled)
check "enable: playbook exits 0" eq "$rc" 0
for h in cp1 cp2; do
	check "enable: $h changed, mirroring enabled, new snapshot" \
		result_is "$log" $h 'r["changed"] is True and r["mirroring"] == "enabled" and r["snapshot"] and "enable" in r["cmd"]'
	check "enable: $h manifest is the original again, byte for byte" \
		cmp -s "$work/roots/$h/$manifest_rel" "$work/pristine/$h/$manifest_rel"
done
check "enable: diff shows the negative entry going away" \
	grep -qE -- '^-    - --controllers=\*,bootstrapsigner,tokencleaner,-endpointslice' "$log"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 6. a failing node stops the play (serial: 1, any_errors_fatal) ----------
f0=$failed
node bad1
node bad2 malformed
node bad3
inventory "$work/inv-fail.yml" bad1 bad2 bad3
# What mirrorctl itself says about bad2, on a throwaway copy.
cp -a "$work/roots/bad2" "$work/probe"
"$bin" --root "$work/probe" disable >/dev/null 2>"$work/probe.err"
want=$(grep -v '^\[' "$work/probe.err" | tail -n 1)
log=$work/fail.log
rc=$(play "$log" "$work/inv-fail.yml")
check "fail: playbook exits non-zero" test "$rc" -ne 0
check "fail: bad1 (first batch) changed" eq "$(status "$log" bad1)" changed
check "fail: bad2 task fatal" eq "$(status "$log" bad2)" fatal
check "fail: mirrorctl's error is one line naming the manifest" \
	grep -qF -- "/$manifest_rel" <<<"$want"
check "fail: Ansible's msg is mirrorctl's line" \
	grep -qF -- "\"msg\": \"${want//\"/\\\"}\"" "$log"
check "fail: bad2 root byte-identical (mirrorctl changed nothing)" \
	same_tree "$work/roots/bad2" "$work/pristine/bad2"
check "fail: bad3 never ran" eq "$(status "$log" bad3)" ""
check "fail: bad3 root byte-identical" same_tree "$work/roots/bad3" "$work/pristine/bad3"
check "fail: recap bad2 failed=1" eq "$(recap "$log" bad2 failed)" 1
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 7. module argument checks ----------------------------------------------
f0=$failed
log=$work/args.log
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py \
	-m mirrorctl -a "state=disabled plan=/nonexistent binary=$bin") >"$log" 2>&1
check "args: state and plan together are refused" has "$log" "mutually exclusive: state|plan"
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py \
	-m mirrorctl -a "binary=$bin") >"$log" 2>&1
check "args: one of state or plan is required" has "$log" "one of the following is required: state, plan"
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py \
	-m mirrorctl -a "state=enabled binary=$bin root=$work/roots/cp1 kubeadm_config=/$kubeadm_cfg_rel") >"$log" 2>&1
check "args: ad-hoc state=enabled on an enabled node is ok/unchanged" grep -q '^localhost | SUCCESS' "$log"
# No kubeadm config given (and none at the default path): mirrorctl warns that
# the manifest alone does not survive `kubeadm upgrade`; Ansible must show it.
node w1
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py --check \
	-m mirrorctl -a "state=disabled binary=$bin root=$work/roots/w1") >"$log" 2>&1
check "args: ad-hoc check run reports would-change" grep -q '^localhost | CHANGED' "$log"
check "args: mirrorctl's warnings are Ansible warnings" grep -q '^\[WARNING\]: .*kubeadm' "$log"
check "args: ad-hoc check run wrote nothing" same_tree "$work/roots/w1" "$work/pristine/w1"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 8. plan: apply a reviewed plan (issue 8) --------------------------------
if "$bin" apply-plan --help >/dev/null 2>&1 && "$bin" disable --help 2>&1 | grep -q -- --save-plan; then
	f0=$failed
	node pl1
	inventory "$work/inv-plan.yml" pl1
	# Saved on the "controller", copied to the node by the role (mirrorctl_plan_src).
	plan=$work/plans/pl1.plan
	mkdir -p "$work/plans" "$work/nodeplans/pl1"
	if "$bin" --root "$work/roots/pl1" disable --dry-run --kubeadm-config "/$kubeadm_cfg_rel" \
		--save-plan "$plan" >/dev/null 2>"$work/plan.err"; then
		sum=$(sha256sum "$plan" | cut -d' ' -f1)
		planvars=(-e mirrorctl_plan_src="$plan" -e mirrorctl_plan="$work/nodeplans/pl1/disable.plan")
		# The same change made directly, on a copy, is what the plan must write.
		cp -a "$work/pristine/pl1" "$work/direct"
		"$bin" --root "$work/direct" disable --kubeadm-config "/$kubeadm_cfg_rel" >/dev/null 2>&1
		log=$work/plan-check.log
		rc=$(play "$log" "$work/inv-plan.yml" --check --diff "${planvars[@]}")
		check "plan: check mode exits 0 and would change" eq "$rc/$(status "$log" pl1)" 0/changed
		check "plan: check mode shows the planned diff" \
			grep -qE -- '^\+    - --controllers=\*,bootstrapsigner,tokencleaner,-endpointslice' "$log"
		check "plan: check mode wrote nothing" same_tree "$work/roots/pl1" "$work/pristine/pl1"
		log=$work/plan-badsum.log
		rc=$(play "$log" "$work/inv-plan.yml" "${planvars[@]}" -e mirrorctl_plan_sha256=0000000000000000000000000000000000000000000000000000000000000000)
		check "plan: a sha256 other than the plan's fails the task" eq "$(status "$log" pl1)" fatal
		check "plan: ...and writes nothing" same_tree "$work/roots/pl1" "$work/pristine/pl1"
		log=$work/plan.log
		rc=$(play "$log" "$work/inv-plan.yml" "${planvars[@]}" -e mirrorctl_plan_sha256="$sum")
		check "plan: apply (with the cited sha256) exits 0 and changed" eq "$rc/$(status "$log" pl1)" 0/changed
		check "plan: manifest equals a direct disable byte for byte" \
			cmp -s "$work/roots/pl1/$manifest_rel" "$work/direct/$manifest_rel"
		check "plan: kubeadm config equals a direct disable byte for byte" \
			cmp -s "$work/roots/pl1/$kubeadm_cfg_rel" "$work/direct/$kubeadm_cfg_rel"
		log=$work/plan-again.log
		rc=$(play "$log" "$work/inv-plan.yml" "${planvars[@]}")
		check "plan: applying the same plan again is ok/unchanged" eq "$rc/$(status "$log" pl1)" 0/ok
		# Drift after review: the plan must be refused and nothing written.
		node pl2
		inventory "$work/inv-plan2.yml" pl2
		"$bin" --root "$work/roots/pl2" disable --dry-run --kubeadm-config "/$kubeadm_cfg_rel" \
			--save-plan "$work/plans/pl2.plan" >/dev/null 2>&1
		echo "# edited after review" >>"$work/roots/pl2/$manifest_rel"
		cp -a "$work/roots/pl2" "$work/pl2-drifted"
		log=$work/plan-drift.log
		rc=$(play "$log" "$work/inv-plan2.yml" -e mirrorctl_plan="$work/plans/pl2.plan")
		check "plan: drifted node fails the task" eq "$(status "$log" pl2)" fatal
		check "plan: drift refusal names the manifest" grep -qF -- "/$manifest_rel" "$log"
		check "plan: drifted node untouched" same_tree "$work/roots/pl2" "$work/pl2-drifted"
	else
		fail "plan: mirrorctl disable --dry-run --save-plan: $(tail -n 1 "$work/plan.err")"
	fi
	[ "$failed" -eq "$f0" ] || show_log "$log"
else
	skip "plan: this mirrorctl has no apply-plan command or --save-plan flag yet"
fi

# --- 9. endpoints_controller: the Endpoints controller too (issue 16 §3) -----
f0=$failed
# apiserver NAME VERSION: the node gets kube-apiserver's manifest as real kubeadm writes it.
apiserver() {
	cp "$repo/testdata/kubeadm/$2/kube-apiserver.yaml" "$work/roots/$1/etc/kubernetes/manifests/kube-apiserver.yaml"
	rm -rf "$work/pristine/$1"
	cp -a "$work/roots/$1" "$work/pristine/$1"
}
node ep1
apiserver ep1 v1.37
node ep2
apiserver ep2 v1.36
inventory "$work/inv-ep1.yml" ep1
inventory "$work/inv-ep2.yml" ep2
log=$work/ep1.log
rc=$(play "$log" "$work/inv-ep1.yml" -v -e mirrorctl_endpoints_controller=true)
check "endpoints: 1.37 node exits 0, changed" eq "$rc/$(status "$log" ep1)" 0/changed
check "endpoints: result says both controllers disabled, ran --endpoints-controller" \
	result_is "$log" ep1 'r["mirroring"] == "disabled" and r["endpoints_controller"] == "disabled" and "--endpoints-controller" in r["cmd"]'
check "endpoints: the manifest switches the Endpoints controller off" \
	grep -qE -- '--controllers=\*,bootstrapsigner,tokencleaner,-endpointslice(mirroring|-mirroring-controller),-endpoints?(-controller)?$' \
	"$work/roots/ep1/$manifest_rel"
check "endpoints: the warning that other control-plane nodes were not checked is an Ansible warning" \
	grep -q 'other control-plane nodes were not checked' "$log"
log=$work/ep2.log
rc=$(play "$log" "$work/inv-ep2.yml" --check -e mirrorctl_endpoints_controller=true)
check "endpoints: 1.36 apiserver fails the task" eq "$(status "$log" ep2)" fatal
check "endpoints: the refusal names the apiserver manifest and its version" \
	grep -qF -- "runs Kubernetes 1.36 (/etc/kubernetes/manifests/kube-apiserver.yaml" "$log"
check "endpoints: refused node untouched" same_tree "$work/roots/ep2" "$work/pristine/ep2"
log=$work/ep2-skip.log
rc=$(play "$log" "$work/inv-ep2.yml" -v -e mirrorctl_endpoints_controller=true -e mirrorctl_skip_apiserver_version_check=true)
check "endpoints: skip_apiserver_version_check proceeds" eq "$rc/$(status "$log" ep2)" 0/changed
check "endpoints: ...with mirrorctl's warning as an Ansible warning" \
	grep -q '^\[WARNING\]: --skip-apiserver-version-check: the kube-apiserver versions were not' "$log"
[ "$failed" -eq "$f0" ] || show_log "$log"

finish
