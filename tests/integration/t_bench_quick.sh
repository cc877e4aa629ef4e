#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/t_bench_quick.sh - smoke test of `furi bench --quick`: the
# run succeeds, the report has every suite's table, the raw fio JSON, the
# TSV and the plots are there, every io_uring mount was verified as io_uring
# by `furi status` (none fell back), the throughput plots carry the /dev/fuse
# bars and `furi bench --replot` draws them again from results.tsv, and
# nothing stays mounted; and that
# bench/cpu_split.sh reports a split whose user part lies within the whole.
#
# It never compares a number: benchmark results are not pass/fail material.
# Needs root, fio, and FUSE-over-io_uring (it sets enable_uring to Y and
# restores it); gnuplot is optional (the plots are checked when present).
# Takes about two minutes.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

suites=(transport qemu rfc bufring meta)

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (mounts, drop_caches)"
command -v fio >/dev/null || t_skip_all "fio is not installed"
[ -x "$FURI" ] || t_skip_all "no furi binary at $FURI (build first)"
param=/sys/module/fuse/parameters/enable_uring
[ -e "$param" ] || modprobe fuse 2>/dev/null
[ -e "$param" ] || t_skip_all "this kernel has no FUSE-over-io_uring ($param)"
old_param=$(cat "$param")
if [ "$old_param" != "Y" ]; then
	echo Y >"$param" || t_skip_all "cannot enable FUSE-over-io_uring"
	t_on_exit "echo '$old_param' > '$param'"
fi

out="$T_DIR/bench-out"
log="$T_DIR/bench.log"
start=$(date +%s)
timeout 900 "$FURI" bench --quick --out "$out" >"$log" 2>&1
rc=$?
t_log "furi bench --quick took $(( $(date +%s) - start )) s; last lines:"
tail -3 "$log" | sed 's/^/# /'
assert_eq bench/exit-status 0 "$rc"

report="$out/report.md"
if [ -s "$report" ]; then t_ok bench/report-exists; else t_not_ok bench/report-exists "no $report"; fi
md=$(cat "$report" 2>/dev/null)
assert_contains bench/machine "$md" "| fio | fio-"
assert_contains bench/machine-enable-uring "$md" "| fuse enable_uring | Y |"
assert_contains bench/summary "$md" "## Summary"

# The section of one suite: from its heading to the next suite's.
section() {
	awk -v h="## Suite \`$1\`" 'index($0, h) == 1 { on = 1; print; next }
		/^## Suite / { on = 0 } on' "$report"
}

for s in "${suites[@]}"; do
	sec=$(section "$s")
	if [ -z "$sec" ]; then
		t_not_ok "bench/$s/section" "no '## Suite \`$s\`' in the report"
		continue
	fi
	t_ok "bench/$s/section"
	assert_contains "bench/$s/table" "$sec" "| fs | cell | unit | native | io_uring | /dev/fuse |"
	# At least one data row per filesystem block: "| memfs | ..." under the header.
	rows=$(grep -c '^| memfs | ' <<<"$sec")
	assert_ge "bench/$s/rows" 1 "$rows"
	# Every io_uring server of the suite: verified as io_uring, none fell back.
	uring_servers=$(grep -E '^\| [a-z]+ io_uring \|' <<<"$sec")
	if [ -z "$uring_servers" ]; then
		t_not_ok "bench/$s/io_uring-verified" "no io_uring server row"
	else
		bad=$(grep -v '| verified io_uring |' <<<"$uring_servers")
		if [ -z "$bad" ]; then
			t_ok "bench/$s/io_uring-verified"
		else
			t_not_ok "bench/$s/io_uring-verified" "$bad"
		fi
	fi
	assert_not_contains "bench/$s/no-fallback" "$sec" "allen back"
	assert_not_contains "bench/$s/all-mounted" "$sec" "NOT MOUNTED"
	assert_not_contains "bench/$s/no-failed-runs" "$sec" "Failed runs:"
	raw=$(find "$out/raw/$s" -name '*.json' 2>/dev/null | wc -l)
	assert_ge "bench/$s/raw-json" 1 "$raw"
done

# The raw fio JSON is fio's own output.
f=$(find "$out/raw/transport" -name 'memfs-io_uring-r1.json' | head -1)
if [ -n "$f" ] && grep -q '"fio version"' "$f"; then
	t_ok bench/raw-is-fio-json
else
	t_not_ok bench/raw-is-fio-json "no fio JSON for memfs io_uring under $out/raw/transport"
fi
assert_ge bench/results-tsv 2 "$(wc -l <"$out/results.tsv" 2>/dev/null || echo 0)"
if command -v gnuplot >/dev/null; then
	pngs=$(find "$out/plots" -name '*.png' 2>/dev/null | wc -l)
	assert_ge bench/plots "${#suites[@]}" "$pngs"
	# The throughput plots compare io_uring with the /dev/fuse bars, native
	# apart in its own panel; --replot draws them again from results.tsv alone.
	assert_contains bench/plot-has-dev-fuse-bars "$(cat "$out/plots/transport-throughput.gp" 2>/dev/null)" \
		"title '/dev/fuse'"
	rm -f "$out"/plots/*.png "$out"/plots/*.gp
	assert_cmd bench/replot "$FURI" bench --replot "$out"
	assert_eq bench/replot-pngs "$pngs" "$(find "$out/plots" -name '*.png' 2>/dev/null | wc -l)"
else
	t_skip bench/plots "gnuplot is not installed"
fi

# Nothing of this run stays mounted, its temporary directory is gone (other
# furi bench runs on the machine have their own directories).
run_dir=$(grep -o '/tmp/furi-bench\.[A-Za-z0-9]*' "$out/raw/furi.log" 2>/dev/null | head -1)
if [ -z "$run_dir" ]; then
	t_not_ok bench/nothing-mounted "no mountpoint of this run in $out/raw/furi.log"
else
	left=$(grep -c " $run_dir/" /proc/self/mountinfo)
	assert_eq bench/nothing-mounted 0 "$left"
fi
if [ -n "$run_dir" ] && [ -e "$run_dir" ]; then
	t_not_ok bench/tempdir-removed "$run_dir is still there"
else
	t_ok bench/tempdir-removed
fi

# bench/cpu_split.sh: one line with the split, the user part inside the whole,
# and its mount and directory gone.
split=$(FURI="$FURI" timeout 120 "$T_ROOT/bench/cpu_split.sh" nullfs 1 2>/dev/null)
assert_contains cpu-split/line "$split" "nullfs QD1:"
if [[ "$split" =~ ([0-9.]+)\ us\ CPU,\ ([0-9.]+)\ us\ of\ it\ in\ user ]]; then
	assert_cmd cpu-split/user-within-total awk -v c="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[2]}" \
		'BEGIN { exit !(c > 0 && u > 0 && u < c) }'
else
	t_not_ok cpu-split/user-within-total "no numbers in '$split'"
fi
assert_eq cpu-split/nothing-left 0 "$(grep -c ' /tmp/furi-cpu-split\.' /proc/self/mountinfo)"

t_done
