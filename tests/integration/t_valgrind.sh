#!/usr/bin/env bash
# t_valgrind.sh - leak checks of a whole mount: start, a workload (create,
# write, read, rename, unlink, xattrs, a readdir of 1000 entries), unmount.
#
#  - /dev/fuse transport under valgrind memcheck: exit status 0 and no
#    definite or indirect leak (--errors-for-leak-kinds=definite,indirect
#    --error-exitcode=9), no memcheck error.
#  - io_uring transport under LeakSanitizer (the ASan+UBSan build, which
#    tests/run builds): exit status 0, no sanitizer report. Valgrind cannot
#    run it: valgrind (3.19 here) runs io_uring_enter as a non-blocking
#    syscall ("[sync]" in --trace-syscalls=yes), so a queue thread waiting
#    in io_uring_enter(GETEVENTS) keeps valgrind's big lock and no other
#    thread runs again: the INIT reply never goes out, the mount hangs,
#    and the process ignores SIGTERM (only SIGKILL ends it). Reproducer
#    without FUSE: one thread waits on its ring for a read of a pipe, and
#    the main thread, which would write to the pipe, never runs again.
#  - the teardown cases (umount, SIGTERM, SIGINT), a few cycles each on
#    io_uring under the ASan build: clean exit, no report.
#
# FURI_ASAN names the sanitizer build's furi (default build-asan/tools/furi).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
: "${FURI_ASAN:=$T_ROOT/build-asan/tools/furi}"
cycles=${FURI_VALGRIND_CYCLES:-3}
small=queue_depth=8,max_write=128k

# workload MNT: every step must succeed; prints what failed.
workload() {
	local m=$1 i n
	(
		set -e
		echo hello >"$m/a"
		[ "$(cat "$m/a")" = hello ]
		dd if=/dev/urandom of="$T_DIR/ref" bs=64k count=16 status=none
		dd if="$T_DIR/ref" of="$m/big" bs=64k conv=fsync status=none
		cmp "$T_DIR/ref" "$m/big"
		dd if="$T_DIR/ref" of="$m/big" bs=4k count=3 seek=5 conv=notrunc status=none
		truncate -s 100k "$m/big"
		mv "$m/a" "$m/b"
		[ ! -e "$m/a" ] && [ "$(cat "$m/b")" = hello ]
		ln "$m/b" "$m/hard"
		ln -s b "$m/sym"
		[ "$(readlink "$m/sym")" = b ]
		setfattr -n user.one -v 1 "$m/b"
		setfattr -n user.two -v "$(head -c 3000 /dev/zero | tr '\0' x)" "$m/b"
		[ "$(getfattr --absolute-names --only-values -n user.one "$m/b")" = 1 ]
		getfattr --absolute-names -d "$m/b" | grep -q user.two
		setfattr -x user.one "$m/b"
		! getfattr --absolute-names -n user.one "$m/b" 2>/dev/null
		chmod 600 "$m/b"
		touch -d @1000000000 "$m/b"
		[ "$(stat -c %a:%Y "$m/b")" = 600:1000000000 ]
		fallocate -l 1M "$m/falloc"
		[ "$(stat -c %s "$m/falloc")" = 1048576 ]
		df "$m" >/dev/null
		rm "$m/falloc"
		mkdir "$m/dir"
		for i in $(seq 1 1000); do : >"$m/dir/entry-$i"; done
		n=$(ls -f "$m/dir" | wc -l)
		[ "$n" -eq 1002 ] || { echo "readdir saw $n entries, not 1002"; exit 1; }
		[ "$(ls -l "$m/dir" | grep -c entry-)" -eq 1000 ]
		rm -r "$m/dir"
		rm "$m/b" "$m/hard" "$m/sym" "$m/big"
		[ -z "$(ls -A "$m")" ]
	) 2>&1
}

# wait_exit PID SECONDS: the child has exited (its status in WAIT_RC), or 1.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	wait "$pid"
	WAIT_RC=$?
	return 0
}

# wait_serving MNT PID SECONDS: mounted, and the status says running.
wait_serving() {
	local m=$1 pid=$2 deadline=$(($SECONDS + $3))
	until [ "$("$FURI" status "$m" --json 2>/dev/null | jq -r .state)" = running ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

# sanitizer_clean NAME LOG: no ASan/LSan/UBSan report in LOG (nor LSan's
# "has encountered a fatal error" when it cannot stop the threads).
sanitizer_clean() {
	local hits
	hits=$(grep -E "Sanitizer|runtime error:" "$2" | head -3)
	if [ -z "$hits" ]; then t_ok "$1"; else t_not_ok "$1" "$hits"; fi
}

# --- valgrind over /dev/fuse -------------------------------------------------
# vg_run NAME FS [ARGS...]: mount under memcheck, workload, umount, verdict.
vg_run() {
	local name=$1 m log vgpid out
	shift
	m=$(t_mkdir "vg-$name")
	log="$T_DIR/valgrind-$name.log"
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
		--show-leak-kinds=definite,indirect --num-callers=30 \
		"$FURI" mount "$@" "$m" -f -o "transport=legacy,threads=2,$small" >"$log" 2>&1 &
	vgpid=$!
	t_track_pid "$vgpid" 30
	t_track_mount "$m"
	if ! wait_serving "$m" "$vgpid" 60; then
		t_not_ok "$name/mounted" "not serving after 60 s: $(tail -5 "$log")"
		return 1
	fi
	assert_eq "$name/transport" dev_fuse "$("$FURI" status "$m" --json | jq -r .transport)"
	out=$(workload "$m")
	assert_eq "$name/workload" "" "$out"
	assert_ge "$name/requests-served" 2000 "$("$FURI" status "$m" --json | jq -r .requests.dev_fuse)"
	umount "$m" && t_untrack_mount "$m"
	if ! wait_exit "$vgpid" 60; then
		t_not_ok "$name/exit" "valgrind'ed server still running 60 s after umount"
		return 1
	fi
	assert_eq "$name/exit-status" 0 "$WAIT_RC" ||
		t_log "$(grep -A12 -E 'definitely lost in|indirectly lost in|Invalid|uninitialised' "$log" | head -40)"
	if grep -q "All heap blocks were freed" "$log" ||
		{ grep -q "definitely lost: 0 bytes" "$log" && grep -q "indirectly lost: 0 bytes" "$log"; }; then
		t_ok "$name/no-leaks"
	else
		t_not_ok "$name/no-leaks" "$(grep -E 'definitely lost|indirectly lost' "$log" | head -2)"
	fi
	assert_contains "$name/no-errors" "$(grep 'ERROR SUMMARY' "$log")" "ERROR SUMMARY: 0 errors"
}

# asan_run NAME FS [ARGS...]: the same under the ASan build, default transport.
asan_run() {
	local name=$1 m log apid out
	shift
	m=$(t_mkdir "asan-$name")
	log="$T_DIR/asan-$name.log"
	"$FURI_ASAN" mount "$@" "$m" -f -o "$small" >"$log" 2>&1 &
	apid=$!
	t_track_pid "$apid" 30
	t_track_mount "$m"
	if ! wait_serving "$m" "$apid" 30; then
		t_not_ok "$name/mounted" "not serving after 30 s: $(tail -5 "$log")"
		return 1
	fi
	assert_eq "$name/transport" "$want_transport" "$("$FURI" status "$m" --json | jq -r .transport)"
	out=$(workload "$m")
	assert_eq "$name/workload" "" "$out"
	assert_ge "$name/requests-on-$want_transport" 2000 \
		"$("$FURI" status "$m" --json | jq -r ".requests.$want_transport")"
	umount "$m" && t_untrack_mount "$m"
	if ! wait_exit "$apid" 30; then
		t_not_ok "$name/exit" "ASan server still running 30 s after umount"
		return 1
	fi
	assert_eq "$name/exit-status" 0 "$WAIT_RC"
	sanitizer_clean "$name/no-sanitizer-report" "$log"
}

if ! command -v valgrind >/dev/null; then
	t_skip valgrind "valgrind is not installed (scripts/setup installs it)"
else
	vg_run valgrind-memfs memfs
	vg_run valgrind-passthrough passthrough "$(t_mkdir vg-src)"
fi

# --- LeakSanitizer over io_uring ---------------------------------------------
if [ ! -x "$FURI_ASAN" ]; then
	t_skip asan "no sanitizer build at $FURI_ASAN (tests/run builds build-asan)"
	t_done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=exitcode=23
want_transport=io_uring
furi_uring_enabled || { want_transport=dev_fuse; t_log "enable_uring is N: the ASan runs use /dev/fuse"; }
asan_run asan-memfs memfs
asan_run asan-passthrough passthrough "$(t_mkdir asan-src)"

# --- teardown cycles under the ASan build --------------------------------------
for how in umount sigterm sigint; do
	m=$(t_mkdir "asan-$how")
	failed=""
	for i in $(seq 1 "$cycles"); do
		log="$T_DIR/asan-$how-$i.log"
		"$FURI_ASAN" mount memfs "$m" -f -o "$small" >"$log" 2>&1 &
		pid=$!
		t_track_pid "$pid" 30
		t_track_mount "$m"
		wait_serving "$m" "$pid" 30 || { failed="cycle $i: not serving: $(tail -3 "$log")"; break; }
		echo "cycle $i" >"$m/f" && [ "$(cat "$m/f")" = "cycle $i" ] ||
			{ failed="cycle $i: I/O failed"; break; }
		case $how in
		umount) umount "$m" ;;
		sigterm) kill -TERM "$pid" ;;
		sigint) kill -INT "$pid" ;;
		esac
		wait_exit "$pid" 30 || { failed="cycle $i: still running 30 s after $how"; break; }
		[ "$WAIT_RC" -eq 0 ] || { failed="cycle $i: exit status $WAIT_RC: $(grep -m1 -E 'ERROR|runtime error' "$log")"; break; }
		t_is_mounted "$m" && { failed="cycle $i: still mounted after $how"; break; }
		t_untrack_mount "$m"
		grep -qE "Sanitizer|runtime error:" "$log" &&
			{ failed="cycle $i: $(grep -m1 -E 'Sanitizer|runtime error' "$log")"; break; }
	done
	if [ -z "$failed" ]; then
		t_ok "asan-teardown/$how ($cycles cycles, exit 0, no report)"
	else
		t_not_ok "asan-teardown/$how" "$failed"
	fi
done
t_done
