#!/usr/bin/env bash
# Builds the mirrorctl.mirrorctl collection (ansible-galaxy collection build),
# installs the tarball offline into a temp collections path, and runs its
# playbook, role and modules there, by FQCN, for real with ansible-playbook
# (connection: local) against temp roots laid out like kubeadm control-plane
# nodes, one root per inventory host; checks what Ansible reports against what
# is on disk. Also: the README's commands as written, ansible-doc, ansible-test
# sanity (the tests that run offline) and ansible-lint when installed.
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
# Only the collection installed from the tarball: never a copy in ~/.ansible or the system's.
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
unset ANSIBLE_CALLBACKS_ENABLED ANSIBLE_CALLBACK_WHITELIST ANSIBLE_ROLES_PATH ANSIBLE_LIBRARY ANSIBLE_COLLECTIONS_PATHS
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
# own copy of the binary, all on this machine. With NOSRC=1 the inventory names
# no mirrorctl_binary_src (the README's commands pass it with -e).
inventory() {
	local file=$1 h
	shift
	{
		echo "all:"
		echo "  vars:"
		echo "    ansible_connection: local"
		echo "    ansible_python_interpreter: $py"
		echo "    mirrorctl_become: false"
		[ "${NOSRC:-}" = 1 ] || echo "    mirrorctl_binary_src: $bin"
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

# play LOG INVENTORY [ansible-playbook args...]: runs the installed
# collection's playbook by its FQCN; prints the rc.
play() {
	local log=$1 inv=$2
	shift 2
	(cd "$work" && ansible-playbook -i "$inv" mirrorctl.mirrorctl.site \
		-e ansible_python_interpreter=$py "$@") >"$log" 2>&1
	echo $?
}
# adhoc_is LOG EXPR: EXPR (python, over r) holds for the result an ad-hoc run printed.
adhoc_is() {
	"$py" - "$1" "$2" <<-'EOF'
		import json, re, sys
		text = open(sys.argv[1]).read()
		m = re.search(r"^localhost \| (?:SUCCESS|CHANGED|FAILED!) => (\{.*?^\})", text, re.S | re.M)
		r = json.loads(m.group(1)) if m else {}
		ok = bool(r) and eval(sys.argv[2], {"r": r})
		if not ok:
		    print("    ad-hoc result: %s" % json.dumps(r, sort_keys=True)[:1500])
		sys.exit(0 if ok else 1)
	EOF
}
# adhoc LOG ARGS...: the installed module by FQCN, on localhost.
adhoc() {
	local log=$1
	shift
	(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py "$@") >"$log" 2>&1
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
		/^TASK \[/ { in_task = ($0 ~ /^TASK \[mirrorctl\.mirrorctl\.mirrorctl : Set the EndpointSlice mirroring controller/) ; next }
		/^PLAY RECAP/ || /^RUNNING HANDLER/ { in_task = 0 }
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
		    if line.startswith("TASK [") or line.startswith("RUNNING HANDLER ["):
		        in_task = line.startswith("TASK [mirrorctl.mirrorctl.mirrorctl : Set the EndpointSlice")
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
		    if line.startswith("TASK [") or line.startswith("RUNNING HANDLER ["):
		        in_task = line.startswith("TASK [mirrorctl.mirrorctl.mirrorctl : Set the EndpointSlice")
		    m = re.match(r"^(ok|changed): \[(.+?)\] => (\{.*\})$", line)
		    if in_task and m and m.group(2) == host:
		        snap = json.loads(m.group(3)).get("snapshot") or "none"
		print(snap)
	EOF
}

echo "mirrorctl: $bin ($("$bin" --version 2>/dev/null | head -n 1))"
echo "ansible:   $(ansible-playbook --version | head -n 1)"

# --- 1. the collection: build, offline install, documentation ---------------
version=$(sed -n 's/^version: *//p' "$ansible_dir/galaxy.yml")
tarball=$work/dist/mirrorctl-mirrorctl-$version.tar.gz
build_ok() { ansible-galaxy collection build "$ansible_dir" --output-path "$work/dist" >"$work/build.txt" 2>&1 && test -f "$tarball"; }
check "ansible-galaxy collection build makes $(basename "$tarball")" build_ok
install_ok() {
	ansible-galaxy collection install --offline "$tarball" -p "$work/collections" >"$work/install.txt" 2>&1 &&
		test -f "$work/collections/ansible_collections/mirrorctl/mirrorctl/plugins/modules/mirrorctl.py"
}
check "ansible-galaxy collection install --offline installs the tarball" install_ok
installed=$work/collections/ansible_collections/mirrorctl/mirrorctl
if [ ! -d "$installed" ]; then
	show_log "$work/build.txt"
	show_log "$work/install.txt"
	finish
fi
check "the tarball leaves out the tests" test ! -e "$installed/test"
for m in mirrorctl mirrorctl_info; do
	doc_ok() { ansible-doc "mirrorctl.mirrorctl.$m" >"$work/doc-$m.txt" 2>&1 && has "$work/doc-$m.txt" "OPTIONS" && has "$work/doc-$m.txt" "ATTRIBUTES"; }
	check "ansible-doc mirrorctl.mirrorctl.$m: options and attributes" doc_ok
done
roledoc_ok() { ansible-doc -t role mirrorctl.mirrorctl.mirrorctl >"$work/doc-role.txt" 2>&1 && has "$work/doc-role.txt" "mirrorctl_binary_src"; }
check "ansible-doc -t role mirrorctl.mirrorctl.mirrorctl documents the variables" roledoc_ok
syntax_ok() {
	(cd "$work" && ansible-playbook -i localhost, --syntax-check mirrorctl.mirrorctl.site) >"$work/syntax.txt" 2>&1 &&
		(cd "$work" && ansible-playbook -i localhost, --syntax-check "$ansible_dir/site.yml") >>"$work/syntax.txt" 2>&1
}
check "ansible-playbook --syntax-check: mirrorctl.mirrorctl.site and ansible/site.yml" syntax_ok

# ansible-test sanity on the installed collection: only the tests that need no
# download. The others build a virtualenv and pip-install pinned linters from
# PyPI (list and reasons: README.md, "Sanity tests").
sanity_offline_skip=(ansible-doc import pep8 pylint runtime-metadata validate-modules yamllint shellcheck pslint)
if command -v ansible-test >/dev/null 2>&1; then
	skips=()
	for t in "${sanity_offline_skip[@]}"; do skips+=(--skip-test "$t"); done
	sanity_ok() {
		(cd "$installed" && ansible-test sanity --python "$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
			--color no "${skips[@]}") >"$work/sanity.txt" 2>&1 && has "$work/sanity.txt" 'Running sanity test "compile"'
	}
	check "ansible-test sanity (offline tests) on the installed collection" sanity_ok
	[ "$failed" -eq 0 ] || show_log "$work/sanity.txt"
else
	skip "ansible-test not found"
fi
if command -v ansible-lint >/dev/null 2>&1; then
	lint_ok() { (cd "$ansible_dir" && NO_COLOR=1 ansible-lint --nocolor) >"$work/ansible-lint.txt" 2>&1; }
	check "ansible-lint (production profile) on the collection" lint_ok
	[ "$failed" -eq 0 ] || show_log "$work/ansible-lint.txt"
else
	skip "ansible-lint not found (apt-get install ansible-lint)"
fi

# --- 1b. check mode writes nothing, the binary included (issue 18 item 12) ----
f0=$failed
node cp1
node cp2
inventory "$work/inv-main.yml" cp1 cp2
log=$work/check-noinstall.log
rc=$(play "$log" "$work/inv-main.yml" --check --diff)
check "no binary yet: check mode fails" test "$rc" -ne 0
check "no binary yet: ...saying how to install it first" has "$log" "mirrorctl_install_only=true"
check "no binary yet: nothing installed" test ! -e "$work/nodebin/cp1/mirrorctl"
check "no binary yet: root byte-identical" same_tree "$work/roots/cp1" "$work/pristine/cp1"
log=$work/install-only.log
rc=$(play "$log" "$work/inv-main.yml" -e mirrorctl_install_only=true)
check "install only: exits 0" eq "$rc" 0
check "install only: the binary is the one given" cmp -s "$work/nodebin/cp1/mirrorctl" "$bin"
check "install only: the mirrorctl task did not run" eq "$(status "$log" cp1)" skipping
check "install only: roots byte-identical" same_tree "$work/roots/cp1" "$work/pristine/cp1"
# Another binary to install: check mode says so and leaves the node's alone.
cp "$bin" "$work/other-mirrorctl" && printf '\0' >>"$work/other-mirrorctl"
log=$work/check-other.log
rc=$(play "$log" "$work/inv-main.yml" --check -e mirrorctl_binary_src="$work/other-mirrorctl")
check "check, another binary: exits 0" eq "$rc" 0
check "check, another binary: says what it would install" has "$log" "check mode: would install $work/other-mirrorctl"
check "check, another binary: the node's binary untouched" cmp -s "$work/nodebin/cp1/mirrorctl" "$bin"
check "check, another binary: no binary written (recap changed counts the copy and the dry run only)" \
	eq "$(recap "$log" cp1 changed)" 2
NOSRC=1 inventory "$work/inv-nosrc.yml" cp1
log=$work/nosrc.log
rc=$(play "$log" "$work/inv-nosrc.yml" --check -e mirrorctl_version="$("$bin" -o json version | "$py" -c 'import json,sys; print(json.load(sys.stdin)["version"])')")
check "no binary_src, mirrorctl installed, version as required: check runs" eq "$rc/$(status "$log" cp1)" 0/changed
log=$work/badversion.log
rc=$(play "$log" "$work/inv-nosrc.yml" --check -e mirrorctl_version=v0.0.0-not-this)
check "version check: another version fails the node" test "$rc" -ne 0
check "version check: ...naming both versions" has "$log" "not v0.0.0-not-this (mirrorctl_version)"
NOSRC=1 inventory "$work/inv-nosrc2.yml" cp2
rm -f "$work/nodebin/cp2/mirrorctl"
log=$work/nosrc-missing.log
rc=$(play "$log" "$work/inv-nosrc2.yml")
check "no binary_src and none installed: fails" test "$rc" -ne 0
check "no binary_src and none installed: ...saying to set mirrorctl_binary_src" has "$log" "set mirrorctl_binary_src"
log=$work/badvar.log
rc=$(play "$log" "$work/inv-main.yml" --check -e mirrorctl_state=off)
check "argument_specs: a bad mirrorctl_state is refused before any task" has "$log" "mirrorctl_state must be one of"
rm -f "$work/nodebin/cp1/mirrorctl" "$work/nodebin/cp2/mirrorctl"
play "$work/install.log" "$work/inv-main.yml" -e mirrorctl_install_only=true >/dev/null
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 2. --check --diff: shows the diff, writes nothing -----------------------
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
	check "rerun: $h recap ok=5 (argument specs, stat, copy, version, mirrorctl)" eq "$(recap "$log" $h ok)" 5
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
	# disable added the controllers entry to the kubeadm config; enable takes it back.
	check "enable: $h kubeadm config is the original again, byte for byte" \
		cmp -s "$work/roots/$h/$kubeadm_cfg_rel" "$work/pristine/$h/$kubeadm_cfg_rel"
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
	-m mirrorctl.mirrorctl.mirrorctl -a "state=disabled plan=/nonexistent binary=$bin") >"$log" 2>&1
check "args: state and plan together are refused" has "$log" "mutually exclusive: state|plan"
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py \
	-m mirrorctl.mirrorctl.mirrorctl -a "binary=$bin") >"$log" 2>&1
check "args: one of state or plan is required" has "$log" "one of the following is required: state, plan"
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py \
	-m mirrorctl.mirrorctl.mirrorctl -a "state=enabled binary=$bin root=$work/roots/cp1 kubeadm_config=/$kubeadm_cfg_rel") >"$log" 2>&1
check "args: ad-hoc state=enabled on an enabled node is ok/unchanged" grep -q '^localhost | SUCCESS' "$log"
# No kubeadm config given (and none at the default path): mirrorctl warns that
# the manifest alone does not survive `kubeadm upgrade`; Ansible must show it.
node w1
(cd "$work" && ansible localhost -i localhost, -c local -e ansible_python_interpreter=$py --check \
	-m mirrorctl.mirrorctl.mirrorctl -a "state=disabled binary=$bin root=$work/roots/w1") >"$log" 2>&1
check "args: ad-hoc check run reports would-change" grep -q '^localhost | CHANGED' "$log"
check "args: mirrorctl's warnings are Ansible warnings" grep -q '^\[WARNING\]: .*kubeadm' "$log"
check "args: ad-hoc check run wrote nothing" same_tree "$work/roots/w1" "$work/pristine/w1"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 8. plan: apply a reviewed plan (issue 8) --------------------------------
# The help is read whole: with pipefail, grep -q closing the pipe early can kill mirrorctl with SIGPIPE
# and skip this section (it did, at random).
if "$bin" apply-plan --help >/dev/null 2>&1 && grep -q -- --save-plan <<<"$("$bin" disable --help 2>&1)"; then
	f0=$failed
	node pl1
	inventory "$work/inv-plan.yml" pl1
	# A node without mirrorctl: install it first, so check mode can run it.
	play "$work/plan-install.log" "$work/inv-plan.yml" -e mirrorctl_install_only=true >/dev/null
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


# --- 9. state: rolled_back ----------------------------------------------------
f0=$failed
node rb1
inventory "$work/inv-rb.yml" rb1
play "$work/rb-disable.log" "$work/inv-rb.yml" >/dev/null
cp -a "$work/roots/rb1" "$work/rb1-disabled"
log=$work/rb-check.log
rc=$(play "$log" "$work/inv-rb.yml" --check --diff -v -e mirrorctl_state=rolled_back)
check "rolled_back, check: exits 0, would change, ran rollback --dry-run" \
	result_is "$log" rb1 'r["changed"] is True and r["cmd"][-2:] == ["rollback", "--dry-run"]'
check "rolled_back, check: diff shows the mirroring entry going away" \
	grep -qE -- '^-    - --controllers=\*,bootstrapsigner,tokencleaner,-endpointslice' "$log"
check "rolled_back, check: nothing written" same_tree "$work/roots/rb1" "$work/rb1-disabled"
log=$work/rb.log
rc=$(play "$log" "$work/inv-rb.yml" -v -e mirrorctl_state=rolled_back)
check "rolled_back: exits 0 and changed, mirroring enabled" \
	result_is "$log" rb1 'r["changed"] is True and r["mirroring"] == "enabled" and r["snapshot"]'
check "rolled_back: manifest and kubeadm config as before the disable" \
	eval 'cmp -s "$work/roots/rb1/$manifest_rel" "$work/pristine/rb1/$manifest_rel" && cmp -s "$work/roots/rb1/$kubeadm_cfg_rel" "$work/pristine/rb1/$kubeadm_cfg_rel"'
log=$work/rb-again.log
rc=$(play "$log" "$work/inv-rb.yml" -e mirrorctl_state=rolled_back)
check "rolled_back again: ok, unchanged" eq "$rc/$(status "$log" rb1)" 0/ok
adhoc "$work/rb-args.log" -m mirrorctl.mirrorctl.mirrorctl -a "state=disabled snapshot=20260101T000000Z-000000 binary=$bin root=$work/roots/rb1"
check "snapshot without state=rolled_back is refused" has "$work/rb-args.log" "snapshot is only for state=rolled_back"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 10. mirrorctl_info: status as data ----------------------------------------
f0=$failed
log=$work/info.log
adhoc "$log" -m mirrorctl.mirrorctl.mirrorctl_info -a "binary=$bin root=$work/roots/cp1 kubeadm_config=/$kubeadm_cfg_rel"
info_is() { adhoc_is "$log" "$1"; }
want_version=$("$bin" -o json version | "$py" -c 'import json,sys; print(json.load(sys.stdin)["version"])')
check "info: ok, unchanged, mirroring enabled and the files agree" \
	info_is 'r["changed"] is False and r["mirroring"] == "enabled" and r["agree"] is True and r["distro"] == "kubeadm"'
check "info: both files, with their controllers" \
	info_is '[f["path"] for f in r["files"]] == ["/'"$manifest_rel"'", "/'"$kubeadm_cfg_rel"'"] and all(f["controllers"] for f in r["files"])'
check "info: the binary's version" info_is 'r["version"] == "'"$want_version"'"'
check "info: no ansible_facts (an _info module returns data)" info_is '"ansible_facts" not in r'
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 11. notes are not warnings; pending restart and the role's handler --------
f0=$failed
k3s_root=$work/roots/k3s1
mkdir -p "$k3s_root"
cp -a "$repo/testdata/distros/k3s/cis-sample/root/." "$k3s_root/"
cp -a "$k3s_root" "$work/pristine-k3s1"
log=$work/k3s-adhoc.log
adhoc "$log" --check -v -m mirrorctl.mirrorctl.mirrorctl -a "state=disabled binary=$bin root=$k3s_root"
check "k3s: check mode would change" grep -q '^localhost | CHANGED' "$log"
check "k3s: the 1.34+/1.37+ notes are no Ansible warnings" hasnt "$log" "[WARNING]: lint:"
check "k3s: ...they are in the result's notes" adhoc_is "$log" '[n for n in r["notes"] if "from 1.34 APIService" in n] and [n for n in r["notes"] if "from 1.37" in n]'
check "k3s: pending_restart is the restart k3s needs" adhoc_is "$log" 'r["pending_restart"] == ["systemctl", "restart", "k3s"]'
check "k3s: the real warning (version unknown) is an Ansible warning" grep -q '^\[WARNING\]: Kubernetes version unknown' "$log"
check "k3s: nothing written" same_tree "$k3s_root" "$work/pristine-k3s1"
adhoc "$work/k3s-restart.log" -m mirrorctl.mirrorctl.mirrorctl -a "state=disabled restart=true binary=$bin root=$k3s_root"
check "k3s: restart=true with another --root is mirrorctl's refusal" has "$work/k3s-restart.log" "--restart"
check "k3s: ...and nothing written" same_tree "$k3s_root" "$work/pristine-k3s1"
# The role on a k3s tree: changed, so the handler is notified; it must not restart this machine's
# k3s for a tree under another root.
{
	echo "all:"
	echo "  vars: {ansible_connection: local, ansible_python_interpreter: $py, mirrorctl_become: false, mirrorctl_binary_src: $bin}"
	echo "  children:"
	echo "    control_plane:"
	echo "      hosts:"
	echo "        k3s1: {mirrorctl_root: $k3s_root, mirrorctl_binary_dest: $work/nodebin/k3s1/mirrorctl}"
} >"$work/inv-k3s.yml"
mkdir -p "$work/nodebin/k3s1"
log=$work/k3s-role.log
rc=$(play "$log" "$work/inv-k3s.yml" -v)
check "k3s role: exits 0, changed" eq "$rc/$(status "$log" k3s1)" 0/changed
check "k3s role: the restart handler was notified" has "$log" "RUNNING HANDLER [mirrorctl.mirrorctl.mirrorctl : Restart the service that runs kube-controller-manager]"
check "k3s role: ...and skipped under another --root" \
	eval "sed -n '/^RUNNING HANDLER/,/^PLAY RECAP/p' '$log' | grep -q '^skipping: \[k3s1\]'"
check "k3s role: no Ansible warning from mirrorctl's notes" hasnt "$log" "[WARNING]: lint:"
# kubeadm 1.29: the notes do not apply, so none.
check "kubeadm 1.29: no consumer notes" \
	result_is "$work/run.log" cp1 'not [n for n in r["notes"] if "from 1.34" in n] and r["pending_restart"] is None'
# A kind config (per-distribution inputs): the module passes --kind-config and --kind-node-version.
kind_root=$work/roots/kind1
mkdir -p "$kind_root"
cp -a "$repo/testdata/distros/kind/controllers-set/root/." "$kind_root/"
log=$work/kind.log
adhoc "$log" --check -v -m mirrorctl.mirrorctl.mirrorctl -a "state=disabled binary=$bin root=$kind_root distro=kind kind_config=/home/op/kind.yaml kind_node_version=1.37.0"
check "kind: the per-distribution flags passed, mirroring off" \
	adhoc_is "$log" 'r["mirroring"] == "disabled" and r["cmd"][-4:] == ["--kind-config", "/home/op/kind.yaml", "--kind-node-version", "1.37.0"]'
check "kind 1.37: both consumer notes, as notes" \
	eval "grep -q 'from 1.37 the services/proxy' '$log' && ! grep -q '^\[WARNING\]: lint:' '$log'"
[ "$failed" -eq "$f0" ] || show_log "$log"

# The options that are plain flags: controller_name, lock_timeout, force (a check run on w1, untouched).
f0=$failed
log=$work/flags.log
adhoc "$log" --check -v -m mirrorctl.mirrorctl.mirrorctl -a "state=disabled binary=$bin root=$work/roots/w1 controller_name=endpointslicemirroring lock_timeout=5s force=true"
check "module: controller_name, lock_timeout and force become mirrorctl's flags" \
	adhoc_is "$log" 'r["cmd"][r["cmd"].index("--lock-timeout") + 1] == "5s" and "--force" in r["cmd"] and r["cmd"][r["cmd"].index("--controller-name") + 1] == "endpointslicemirroring"'
check "module: ...and the check run would disable mirroring" adhoc_is "$log" 'r["changed"] and r["mirroring"] == "disabled"'
check "module: ...and nothing was written" same_tree "$work/roots/w1" "$work/pristine/w1"
adhoc "$work/kc.log" -m mirrorctl.mirrorctl.mirrorctl_info -a "binary=$bin root=$work/roots/w1 kubeconfig=/etc/kubernetes/nope.conf"
check "info: kubeconfig is passed (mirrorctl's error names the file)" \
	eval "grep -q '^localhost | FAILED' '$work/kc.log' && grep -q 'nope.conf' '$work/kc.log'"
[ "$failed" -eq "$f0" ] || show_log "$log"

# --- 12. the README's commands, exactly as written, from a checkout's root ------
# ansible/README.md's sh block, run in a directory laid out like the repository
# root after `make build ansible-collection` (bin/mirrorctl and the tarball in
# bin/), with an inventory.yml there; only ANSIBLE_COLLECTIONS_PATH points
# somewhere temporary, so `ansible-galaxy collection install` installs there.
f0=$failed
readme_root=$work/readme-root
mkdir -p "$readme_root/bin"
cp "$bin" "$readme_root/bin/mirrorctl"
cp "$tarball" "$readme_root/bin/"
node rd1
node rd2
NOSRC=1 inventory "$readme_root/inventory.yml" rd1 rd2
mapfile -t readme_cmds < <(awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on && /^(ansible-galaxy|ansible-playbook) /' "$ansible_dir/README.md")
check "README: has the install, check and apply commands" test "${#readme_cmds[@]}" -ge 3
i=0
for cmd in "${readme_cmds[@]}"; do
	i=$((i + 1))
	log=$work/readme-$i.log
	(cd "$readme_root" && ANSIBLE_COLLECTIONS_PATH=$work/readme-collections bash -c "$cmd") >"$log" 2>&1
	rc=$?
	check "README: \`$cmd\` exits 0" eq "$rc" 0
	[ "$rc" -eq 0 ] || show_log "$log"
	case $cmd in
	*--check*) check "README: the --check run wrote nothing on rd1" same_tree "$work/roots/rd1" "$work/pristine/rd1" ;;
	*install_only*) check "README: the install-only run installed mirrorctl and wrote nothing else" \
		eval 'cmp -s "$work/nodebin/rd1/mirrorctl" "$bin" && same_tree "$work/roots/rd1" "$work/pristine/rd1"' ;;
	ansible-playbook*) check "README: the run disabled mirroring on rd1 and rd2" \
		eval "grep -q -- '-endpointslice' '$work/roots/rd1/$manifest_rel' && grep -q -- '-endpointslice' '$work/roots/rd2/$manifest_rel'" ;;
	esac
done
[ "$failed" -eq "$f0" ] || true

# --- 13. endpoints_controller: the Endpoints controller too (issue 16 §3) ----
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
# Check mode needs mirrorctl on the node already (section 1b).
play "$work/ep-install.log" "$work/inv-ep2.yml" -e mirrorctl_install_only=true >/dev/null
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
# The modules on their own: enable passes --endpoints-controller and reports both controllers back on;
# mirrorctl_info reports the state and passes nothing (a status always reports it).
log=$work/ep1-enable.log
adhoc "$log" -v -m mirrorctl.mirrorctl.mirrorctl -a "state=enabled endpoints_controller=true binary=$bin root=$work/roots/ep1 kubeadm_config=/$kubeadm_cfg_rel"
check "endpoints: ad-hoc enable with endpoints_controller: changed, both controllers enabled" \
	adhoc_is "$log" 'r["changed"] and r["mirroring"] == "enabled" and r["endpoints_controller"] == "enabled" and "--endpoints-controller" in r["cmd"]'
check "endpoints: ...the manifest is the original again" cmp -s "$work/roots/ep1/$manifest_rel" "$work/pristine/ep1/$manifest_rel"
log=$work/ep1-info.log
adhoc "$log" -m mirrorctl.mirrorctl.mirrorctl_info -a "endpoints_controller=true binary=$bin root=$work/roots/ep2"
check "endpoints: mirrorctl_info reports the Endpoints controller, without passing the option" \
	adhoc_is "$log" 'r["endpoints_controller"] == "disabled" and "--endpoints-controller" not in r["cmd"]'
check "endpoints: a plain disable's result has no endpoints_controller" \
	result_is "$work/run.log" cp1 '"endpoints_controller" not in r'
[ "$failed" -eq "$f0" ] || show_log "$log"

finish
