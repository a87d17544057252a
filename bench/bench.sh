#!/usr/bin/env bash
# Whole-process benchmarks of mirrorctl on a kubeadm node root, side by side
# in the same run with mikefarah/yq v4 doing the equivalent in-place edit of
# the --controllers entry; binary size and peak RSS; then `go test -bench`.
# Prints a table, checks the goals, and writes the figures with the machine
# into BENCHMARKS.md.
#
#   bash bench/bench.sh                      # builds mirrorctl like `make build`
#   MIRRORCTL_BIN=bin/mirrorctl bash bench/bench.sh
#
# Environment:
#   RUNS=100           timed runs per command (at least 20)
#   YQ_VERSION=v4.54.2 yq built from the Go module proxy, cached by version
#   BENCH_CACHE=~/.cache/mirrorctl-bench   where the yq binary is kept
#   BENCH_OUT=BENCHMARKS.md                 "" to print only
#   BENCH_GO=1         also run `go test -run '^$' -bench . -benchmem ./...`
#   BENCH_STRICT=0     1: exit 1 when a goal is missed
#   BENCH_TIMER=loop   time with the bash loop even when hyperfine is installed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-100}
# v4.54.2 declares go 1.26.0 and builds with the machine's Go 1.26; newer
# releases may need a newer Go.
yq_version=${YQ_VERSION:-v4.54.2}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mirrorctl-bench}
out=${BENCH_OUT-$repo/BENCHMARKS.md}
sample=$here/testdata/kube-controller-manager.yaml
manifest_rel=etc/kubernetes/manifests/kube-controller-manager.yaml
yq_expr='(.spec.containers[] | select(.name=="kube-controller-manager") | .command[] | select(test("^--controllers="))) = "--controllers=*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"'

if [ "$runs" -lt 20 ]; then
	echo "bench: RUNS=$runs: the goals are judged on a median of at least 20 runs" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mirrorctl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local # measure what the machine's Go builds, never a downloaded one

# --- binaries ----------------------------------------------------------------
bin=${MIRRORCTL_BIN:-}
if [ -z "$bin" ]; then
	bin=$work/mirrorctl
	echo "[build] mirrorctl (CGO_ENABLED=0 -trimpath -ldflags '-s -w', as make build)" >&2
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin" ./cmd/mirrorctl)
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

yq=$cache/yq-$yq_version/yq
if [ ! -x "$yq" ]; then
	echo "[build] github.com/mikefarah/yq/v4@$yq_version from the module proxy into $cache" >&2
	mkdir -p "$cache/yq-$yq_version"
	# Outside any module, so the project's go.mod plays no part.
	(cd "$work" && GOFLAGS=-mod=mod GOBIN="$cache/yq-$yq_version" go install "github.com/mikefarah/yq/v4@$yq_version")
fi

# --- the node: a kubeadm root, reset before every timed write ----------------
node=$work/node
pristine=$work/pristine.yaml
cp "$sample" "$pristine"
mkdir -p "$node/etc/kubernetes/manifests"
chmod 0700 "$node/etc/kubernetes/manifests"
reset=$work/reset
cat >"$reset" <<EOF
#!/bin/sh
# Back to the untouched node: original manifest, no snapshots, no lock.
rm -rf '$node/var/lib/mirrorctl'
cp '$pristine' '$node/$manifest_rel'
chmod 0600 '$node/$manifest_rel'
EOF
chmod +x "$reset"
"$reset"

# Sanity: each command does what it is timed for, once, before timing it.
sane() { # sane WHAT CMD...: run CMD quietly; on failure show its output and stop
	local what=$1
	shift
	"$@" >"$work/sanity.out" 2>&1 || { cat "$work/sanity.out" >&2; echo "bench: $what failed" >&2; exit 1; }
}
sane "mirrorctl disable --dry-run" "$bin" --root "$node" disable --dry-run
cmp -s "$pristine" "$node/$manifest_rel" || { echo "bench: disable --dry-run wrote the manifest" >&2; exit 1; }
sane "mirrorctl disable" "$bin" --root "$node" disable
grep -q -- '--controllers=\*,bootstrapsigner,tokencleaner,-endpointslice' "$node/$manifest_rel" ||
	{ echo "bench: mirrorctl disable did not make the edit" >&2; exit 1; }
# Lines of the edited file that are not in the original, for each tool.
lines_mirrorctl=$(diff "$pristine" "$node/$manifest_rel" | grep -c '^>' || true)
"$reset"
sane "yq -i" "$yq" -i "$yq_expr" "$node/$manifest_rel"
grep -q -- '--controllers=\*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller$' "$node/$manifest_rel" ||
	{ echo "bench: yq did not make the edit" >&2; exit 1; }
lines_yq=$(diff "$pristine" "$node/$manifest_rel" | grep -c '^>' || true)
"$reset"

# --- timing ------------------------------------------------------------------
# The three commands are timed in interleaved rounds (plan, write, yq, plan,
# ...), so that load from other processes falls on all of them alike rather
# than on whichever ran while a build was going on.
#
# time_round NAME PREPARE N CMD...: N timed runs after one warm-up run;
# appends wall times (ms) to $work/NAME.times and CPU (user+sys, ms) per run to
# $work/NAME.cpu. hyperfine when installed (-N: no shell in between);
# otherwise a bash loop over EPOCHREALTIME, which also times the fork/exec.
have_hyperfine=0
[ "${BENCH_TIMER:-}" != loop ] && command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1
child_cpu_ms() { # children's user+sys so far, from the `times` builtin (run in this shell, not a subshell)
	awk 'END {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
		printf "%.3f", t * 1000 }' "$work/times.txt"
}
time_round() {
	local name=$1 prepare=$2 n=$3
	shift 3
	if [ "$have_hyperfine" = 1 ]; then
		local cmdline="" a
		for a in "$@"; do cmdline+="${cmdline:+ }$(printf '%q' "$a")"; done
		local prep=()
		[ -n "$prepare" ] && prep=(--prepare "$prepare")
		hyperfine -N --style none --warmup 1 --runs "$n" "${prep[@]}" \
			--export-json "$work/$name.json" "$cmdline" >"$work/$name.hyperfine" 2>&1 ||
			{ cat "$work/$name.hyperfine" >&2; return 1; }
		python3 - "$work/$name.json" "$work/$name.times" "$work/$name.cpu" <<-'EOF'
			import json, sys
			r = json.load(open(sys.argv[1]))["results"][0]
			with open(sys.argv[2], "a") as f:
			    f.writelines("%.4f\n" % (t * 1000) for t in r["times"])
			with open(sys.argv[3], "a") as f:  # hyperfine reports the mean user and system time
			    f.writelines("%.4f\n" % ((r["user"] + r["system"]) * 1000) for _ in r["times"])
		EOF
	else
		local i t0 t1 c0 c1
		for ((i = 0; i <= n; i++)); do
			[ -n "$prepare" ] && "$prepare"
			times >"$work/times.txt"
			c0=$(child_cpu_ms)
			t0=$EPOCHREALTIME
			"$@" >/dev/null 2>&1
			t1=$EPOCHREALTIME
			times >"$work/times.txt"
			c1=$(child_cpu_ms)
			[ "$i" -eq 0 ] && continue # warm-up
			awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) * 1000 }' >>"$work/$name.times"
			awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/$name.cpu"
		done
	fi
}
# stats NAME: "median mean stddev min max cpu_mean" in ms.
stats() {
	sort -n "$work/$1.times" | awk -v cpu="$(awk '{ s += $1 } END { printf "%.2f", s / NR }' "$work/$1.cpu")" '
		{ v[NR] = $1; s += $1; ss += $1 * $1 }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			mean = s / NR; sd = sqrt((ss - NR * mean * mean) / (NR - 1))
			printf "%.2f %.2f %.2f %.2f %.2f %s\n", m, mean, sd, v[1], v[NR], cpu
		}'
}

# peak_rss NAME PREPARE CMD...: the largest max RSS in KiB over 5 runs.
peak_rss() {
	local name=$1 prepare=$2 i kb max=0
	shift 2
	for i in 1 2 3 4 5; do
		[ -n "$prepare" ] && "$prepare"
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -v "$@" >/dev/null 2>"$work/$name.rss"
			kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/$name.rss")
		else
			kb=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@")
		fi
		[ "${kb:-0}" -gt "$max" ] && max=$kb
	done
	echo "$max"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
load1=${load_start%% *}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

echo "[bench] $runs runs each, node root $node, load average $load_start" >&2
rounds=5
per_round=$(((runs + rounds - 1) / rounds))
for ((r = 1; r <= rounds; r++)); do
	time_round plan "" "$per_round" "$bin" --root "$node" disable --dry-run
	time_round write "$reset" "$per_round" "$bin" --root "$node" disable
	time_round yq "$reset" "$per_round" "$yq" -i "$yq_expr" "$node/$manifest_rel"
	echo "$(wc -l <"$work/plan.times") $(wc -l <"$work/yq.times")" >>"$work/rounds"
done
# The plan/yq ratio of each round's medians: how much the verdict moves with the machine's noise.
round_ratios=$(python3 - "$work/plan.times" "$work/yq.times" "$work/rounds" <<-'EOF'
	import statistics, sys
	plan = [float(l) for l in open(sys.argv[1])]
	yq = [float(l) for l in open(sys.argv[2])]
	p0 = y0 = 0
	rs = []
	for line in open(sys.argv[3]):
	    p1, y1 = map(int, line.split())
	    rs.append(statistics.median(plan[p0:p1]) / statistics.median(yq[y0:y1]))
	    p0, y0 = p1, y1
	print("%.2f–%.2f" % (min(rs), max(rs)))
	EOF
)
"$reset"
runs=$((rounds * per_round))
rss_plan=$(peak_rss plan "" "$bin" --root "$node" disable --dry-run)
rss_write=$(peak_rss write "$reset" "$bin" --root "$node" disable)
rss_yq=$(peak_rss yq "$reset" "$yq" -i "$yq_expr" "$node/$manifest_rel")
# Go package initialisation before main: the least noisy of 5 runs.
init_best="" init_top=""
for i in 1 2 3 4 5; do
	GODEBUG=inittrace=1 "$bin" --root "$node" disable --dry-run 2>"$work/init.txt" >/dev/null || true
	total=$(awk '/^init / { t += $5 } END { printf "%.1f", t }' "$work/init.txt")
	if [ -z "$init_best" ] || le "$total" "$init_best"; then
		init_best=$total
		init_pkgs=$(grep -c '^init ' "$work/init.txt" || true)
		init_top=$(awk '/^init / { print $5, $2 }' "$work/init.txt" | sort -rn | awk 'NR <= 3' |
			awk '{ printf "%s`%s` %.1f ms", (NR > 1 ? ", " : ""), $2, $1 }')
	fi
done
size_mirrorctl=$(stat -c %s "$bin")
size_yq=$(stat -c %s "$yq")

read -r plan_med plan_mean plan_sd plan_min plan_max plan_cpu < <(stats plan)
read -r write_med write_mean write_sd write_min write_max write_cpu < <(stats write)
read -r yq_med yq_mean yq_sd yq_min yq_max yq_cpu < <(stats yq)

# --- goals -------------------------------------------------------------------
verdict() { if le "$1" "$2"; then echo met; else echo MISSED; fi; }
plan_vs_yq=$(ratio "$plan_med" "$yq_med")
write_vs_plan=$(ratio "$write_med" "$plan_med")
size_mb=$(awk -v b="$size_mirrorctl" 'BEGIN { printf "%.1f", b / 1e6 }')
yq_mb=$(awk -v b="$size_yq" 'BEGIN { printf "%.1f", b / 1e6 }')
rss_max=$((rss_plan > rss_write ? rss_plan : rss_write))
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
g_plan=$(verdict "$plan_vs_yq" 1.0)
g_write=$(verdict "$write_vs_plan" 2.0)
g_size=$(verdict "$size_mirrorctl" 30000000)
g_rss=$(verdict "$rss_max" $((40 * 1024)))

# --- machine -----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)
method="bash loop over EPOCHREALTIME"
[ "$have_hyperfine" = 1 ] && method="$(hyperfine --version) -N"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- 2>/dev/null || commit="$commit (work tree with changes)"

report=$work/report.md
{
	echo "# Benchmarks"
	echo
	echo "Latest figures from \`make bench\` (\`bench/bench.sh\`), written by the script; rerun it to refresh."
	echo
	echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $commit."
	echo
	echo "| machine | |"
	echo "|---|---|"
	echo "| CPU | ${cpu:-unknown} |"
	echo "| nproc | $(nproc) |"
	echo "| load average at start (1/5/15 min) | $load_start |"
	echo "| kernel | $(uname -sr) |"
	echo "| Go | $(go version | sed 's/^go version //') |"
	echo "| mirrorctl | \`$("$bin" --version 2>/dev/null | sed -n 1p)\` |"
	echo "| yq | \`$("$yq" --version 2>/dev/null | sed -n 1p)\` |"
	echo "| timing | $method; $runs runs per command in $rounds interleaved rounds (plan, write, yq), one warm-up run each round; whole process; peak RSS: max of 5 runs of \`/usr/bin/time -v\` |"
	echo
	if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
		echo "**The machine was busy** (load average $load1 on $(nproc) CPUs when the run started): wall-clock times"
		echo "are inflated and noisy; the CPU column (user+sys per run) is the steadier comparison."
		echo
	fi
	echo "Node: a kubeadm root with the v1.29.0 kubeadm-generated \`/$manifest_rel\` (\`bench/testdata/\`); every"
	echo "write run starts from the original file with no snapshots (reset outside the timed region)."
	echo
	echo "| command | median | mean ± σ | min … max | CPU (user+sys) | peak RSS |"
	echo "|---|---:|---:|---:|---:|---:|"
	echo "| \`mirrorctl disable --dry-run\` (plan) | $plan_med ms | $plan_mean ± $plan_sd ms | $plan_min … $plan_max ms | $plan_cpu ms | $(mib "$rss_plan") MiB |"
	echo "| \`mirrorctl disable\` (write: lock, snapshot, atomic rewrite) | $write_med ms | $write_mean ± $write_sd ms | $write_min … $write_max ms | $write_cpu ms | $(mib "$rss_write") MiB |"
	echo "| \`yq -i\` of the \`--controllers\` entry | $yq_med ms | $yq_mean ± $yq_sd ms | $yq_min … $yq_max ms | $yq_cpu ms | $(mib "$rss_yq") MiB |"
	echo
	echo "| goal | target | measured | |"
	echo "|---|---|---|---|"
	echo "| plan vs yq (medians) | ≤ 1.0× | ${plan_vs_yq}× (rounds: ${round_ratios}×) | $g_plan |"
	echo "| write vs plan (medians) | ≤ 2× | ${write_vs_plan}× | $g_write |"
	echo "| binary size | ≤ 30 MB | $size_mb MB ($size_mirrorctl bytes; yq: $yq_mb MB) | $g_size |"
	echo "| peak RSS (plan, write) | ≤ 40 MiB | $(mib "$rss_max") MiB | $g_rss |"
	echo
	echo "For reference, CPU time (user+sys) ratios, steadier on a busy machine: plan vs yq"
	echo "$(ratio "$plan_cpu" "$yq_cpu")×, write vs plan $(ratio "$write_cpu" "$plan_cpu")×. Go package initialisation"
	echo "before \`main\` (\`GODEBUG=inittrace=1\`, best of 5): $init_best ms in $init_pkgs packages; largest: $init_top."
	echo
	echo "Lines of the edited manifest that differ from the original ($(wc -l <"$pristine") lines): mirrorctl $lines_mirrorctl,"
	echo "yq $lines_yq (yq re-serialises the whole document: sequence indentation changes throughout). The yq"
	echo "command is the bare edit: no snapshot, lock, validation, kubeadm config or atomic write."
	echo
	echo "yq command, for reference:"
	echo
	echo '```'
	echo "yq -i '$yq_expr' /$manifest_rel"
	echo '```'
} >"$report"

if [ "${BENCH_GO:-1}" = 1 ] && grep -rqs --include='*_test.go' '^func Benchmark' "$repo"; then
	echo "[bench] go test -run '^\$' -bench . -benchmem ./..." >&2
	if (cd "$repo" && go test -run '^$' -bench . -benchmem ./...) >"$work/gobench.txt" 2>&1; then
		{
			echo
			echo "## \`go test -bench\`"
			echo
			echo '```'
			grep -E '^(Benchmark|goos|goarch|pkg|cpu)' "$work/gobench.txt"
			echo '```'
		} >>"$report"
	else
		cat "$work/gobench.txt" >&2
		echo "bench: go test -bench failed" >&2
		exit 1
	fi
fi

cat "$report"
if [ -n "$out" ]; then
	cp "$report" "$out"
	echo >&2
	echo "[bench] wrote $out" >&2
fi

missed=0
for g in "$g_plan" "$g_write" "$g_size" "$g_rss"; do [ "$g" = met ] || missed=$((missed + 1)); done
if [ "$missed" -gt 0 ]; then
	echo "bench: $missed goal(s) missed" >&2
	[ "${BENCH_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
