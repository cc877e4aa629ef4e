#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/t_bench_quick.sh - smoke test of `furi bench --quick`: the
# run succeeds, the report has every suite's table, the raw fio JSON, the
# TSV and the plots are there, every io_uring mount was verified as io_uring
# by `furi status` (none fell back), the throughput plots carry the /dev/fuse
# bars and `furi bench --replot` draws them again from results.tsv, and
# nothing stays mounted; a run with --load idle,nice19 (and libfuse's
# passthrough_hp as a peer where its examples are built) reports per load and
# leaves no busy process, server or mount, nor does one stopped by SIGTERM;
# and that bench/cpu_split.sh reports a split whose user part lies within
# the whole.
#
# It never compares a number: benchmark results are not pass/fail material.
# Needs root, fio, and FUSE-over-io_uring (it sets enable_uring to Y and
# restores it); gnuplot is optional (the plots are checked when present).
# Takes about two and a half minutes.

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

# The busy processes whose pids a run logged (raw/load.log) that still run.
loads_left() {
	local p left=""
	for p in $(sed -n 's/.* pids //p' "$1/raw/load.log" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = furi-bench-load ] && left+=" $p"
	done
	echo "${left# }"
}

# The mounts left under the temporary directory of a run (named in its furi.log).
run_mounts_left() {
	local d
	d=$(grep -o '/tmp/furi-bench\.[A-Za-z0-9]*' "$1/raw/furi.log" 2>/dev/null | head -1)
	if [ -z "$d" ]; then echo "no mountpoint of the run in $1/raw/furi.log"; return; fi
	grep " $d/" /proc/self/mountinfo | awk '{print $5}'
	[ -e "$d" ] && echo "$d is still there"
}

# The pids of the libfuse servers in a report's servers table.
peer_pids() {
	awk -F' [|] ' '/^[|] [a-z]+ libfuse io_uring [|] verified/ { print $3 }' "$1/report.md" 2>/dev/null
}

# --load and --libfuse-examples: a passthrough run idle and beside nice-19
# busy processes, with libfuse's passthrough_hp when its examples are built
# here (LIBFUSE_EXAMPLES=DIR; CI machines have none: that part is skipped).
# The tables come per load with what each variant keeps under load, the TSV
# has the load, the peer mounted on io_uring (libfuse's own FUSE_INIT line
# says so), and no busy process, peer or mount is left.
libfuse_dir=${LIBFUSE_EXAMPLES:-}
peer=()
if [ -x "$libfuse_dir/memfs_ll" ] && [ -x "$libfuse_dir/passthrough_hp" ]; then
	peer=(--libfuse-examples "$libfuse_dir")
else
	t_skip bench-load/libfuse "no libfuse examples in $libfuse_dir (build them as docs/BENCHMARKS.md shows, then LIBFUSE_EXAMPLES=DIR)"
fi
src="$T_DIR/source"
mkdir -p "$src"
out2="$T_DIR/bench-load"
start=$(date +%s)
timeout 600 "$FURI" bench qemu --quick --fs passthrough --source "$src" --load idle,nice19 \
	"${peer[@]}" --out "$out2" >"$T_DIR/bench-load.log" 2>&1
rc=$?
t_log "furi bench qemu --load idle,nice19 took $(( $(date +%s) - start )) s"
assert_eq bench-load/exit-status 0 "$rc"
md2=$(cat "$out2/report.md" 2>/dev/null)
assert_contains bench-load/idle-tables "$md2" '### Load `idle`'
assert_contains bench-load/nice19-tables "$md2" '### Load `nice19`'
assert_contains bench-load/nice19-described "$md2" "at nice 19, started right before the sample and killed right after"
assert_contains bench-load/kept "$md2" "### Kept under load"
assert_ge bench-load/kept-rows 1 "$(grep -c '^| passthrough | .* | nice19 | [*0-9]' <<<"$md2")"
assert_contains bench-load/summary-per-load "$md2" "| qemu | passthrough | nice19 |"
assert_not_contains bench-load/no-failed-runs "$md2" "Failed runs:"
assert_ge bench-load/tsv-load 1 "$(grep -cP '\tpassthrough io_uring\tnice19\t1\tok\t' "$out2/results.tsv" 2>/dev/null)"
assert_ge bench-load/loads-logged 1 "$(sed -n 's/.* pids //p' "$out2/raw/load.log" 2>/dev/null | wc -w)"
assert_eq bench-load/no-load-left "" "$(loads_left "$out2")"
assert_eq bench-load/nothing-left "" "$(run_mounts_left "$out2")"
if [ ${#peer[@]} -gt 0 ]; then
	assert_contains bench-load/peer-verified "$md2" "| passthrough libfuse io_uring | verified io_uring (libfuse says io_uring=on"
	assert_contains bench-load/peer-columns "$md2" "| libfuse io_uring | io_uring ÷ /dev/fuse | io_uring ÷ libfuse io_uring |"
	p=$(peer_pids "$out2")
	if [ -z "$p" ]; then
		t_not_ok bench-load/peer-gone "no libfuse server pid in the report"
	elif t_pid_alive "$p"; then
		t_not_ok bench-load/peer-gone "libfuse server $p still runs"
	else
		t_ok bench-load/peer-gone
	fi
fi

# SIGTERM while a sample runs beside its load: furi bench stops, says it was
# interrupted (130), and leaves no busy process, server or mount behind.
out3="$T_DIR/bench-term"
"$FURI" bench qemu --quick --rounds 5 --fs memfs --load nice19 "${peer[@]}" --out "$out3" \
	>"$T_DIR/bench-term.log" 2>&1 &
bench_pid=$!
t_track_pid "$bench_pid"
for _ in $(seq 1200); do
	[ -s "$out3/raw/load.log" ] && break
	t_pid_alive "$bench_pid" || break
	sleep 0.05
done
if [ -s "$out3/raw/load.log" ]; then t_ok bench-term/load-ran; else t_not_ok bench-term/load-ran "no busy process logged in 60 s"; fi
kill -TERM "$bench_pid"
wait "$bench_pid"
assert_eq bench-term/exit-status 130 "$?"
assert_eq bench-term/no-load-left "" "$(loads_left "$out3")"
assert_eq bench-term/nothing-left "" "$(run_mounts_left "$out3")"
if [ ${#peer[@]} -gt 0 ]; then
	assert_contains bench-term/peer-verified "$(cat "$out3/report.md" 2>/dev/null)" \
		"| memfs libfuse io_uring | verified io_uring (libfuse says io_uring=on"
	p=$(peer_pids "$out3")
	if [ -n "$p" ] && ! t_pid_alive "$p"; then t_ok bench-term/peer-gone; else t_not_ok bench-term/peer-gone "libfuse server '$p' still runs or is unknown"; fi
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
