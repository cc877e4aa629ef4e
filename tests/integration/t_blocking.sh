#!/usr/bin/env bash
# t_blocking.sh - handlers that may block (furi_ops.may_block) run on helper
# threads: a handler asleep in a system call does not hold up the other
# requests of its CPU, on either transport.
#  - blockfs: a READ that sleeps in its handler until released; meanwhile
#    1000 GETATTRs from the same CPU are answered.
#  - passthrough whose source holds another FUSE mount with its server
#    stopped (SIGSTOP): `ls` there hangs in the source call; lookups of
#    other names from the same CPU are answered, and a signal to the hung
#    client ends its call with EINTR while the source call is still stuck.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"
BLOCKFS=${BLOCKFS:-$T_ROOT/build/tests/integration/blockfs}
[ -x "$BLOCKFS" ] || t_skip_all "no blockfs at $BLOCKFS"
command -v taskset >/dev/null || t_skip_all "no taskset"

# wait_for DESC SECONDS CMD...: poll until CMD succeeds; 1 on timeout.
wait_for() {
	local deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}
in_flight_ge() { [ "$(furi_chan_sum "$1" any in_flight)" -ge "$2" ]; }

# stat_many N PATH...: stat N times (each PATH in turn) from CPU 0, prints "done";
# killed after 20 s if the mount is stuck.
stat_many() {
	taskset -c 0 timeout -s KILL 20 python3 - "$@" <<'PY'
import os, sys
n, paths = int(sys.argv[1]), sys.argv[2:]
for i in range(n):
    os.stat(paths[i % len(paths)])
print("done")
PY
}

for transport in uring legacy; do
	m=$(t_mkdir "blk-$transport")
	log="$T_DIR/blockfs-$transport.log"
	# One /dev/fuse worker: without offloading, the blocked read would hold it.
	t_start_server "$log" "$m" "$BLOCKFS" "$m" "transport=$transport" "threads=1"
	pid=$T_SERVER_PID
	if ! t_is_fuse_mounted "$m"; then
		t_not_ok "$transport/mount" "blockfs did not mount: $(cat "$log")"
		continue
	fi
	taskset -c 0 cat "$m/block" >"$T_DIR/block-$transport.out" 2>&1 &
	reader=$!
	if ! wait_for reader 10 in_flight_ge "$m" 1; then
		t_not_ok "$transport/read-blocks" "the READ of block never reached the handler"
	fi
	getattrs=$(furi_ops_count "$m" any GETATTR)
	assert_eq "$transport/1000-getattrs-while-a-handler-blocks" done "$(stat_many 1000 "$m/f")"
	assert_ge "$transport/getattrs-reached-the-server" $((getattrs + 1000)) \
		"$(furi_ops_count "$m" any GETATTR)"
	# Ordering, not timing: the read is still in its handler.
	assert_cmd "$transport/reader-still-blocked" t_pid_alive "$reader"
	assert_ge "$transport/read-still-in-flight" 1 "$(furi_chan_sum "$m" any in_flight)"
	echo go >"$m/release"
	wait "$reader"
	assert_eq "$transport/read-completes-when-released" "released" \
		"$(cat "$T_DIR/block-$transport.out")"
	assert_eq "$transport/nothing-in-flight" 0 "$(furi_chan_sum "$m" any in_flight)"
	assert_ge "$transport/helper-thread" 1 "$(grep -l '^furi-block' /proc/"$pid"/task/*/comm 2>/dev/null | wc -l)"
	furi_umount "$m" || t_not_ok "$transport/umount" "mount or server still there"
	t_wait_pid_exit "$pid" 10
	wait "$pid"
	assert_eq "$transport/server-exit-status" 0 "$?"
done

# Backend I/O on the ring that never completes by itself (a read of an empty
# pipe): a signal to the client cancels it (ASYNC_CANCEL), the request
# answers EINTR, and the entry serves on.
m=$(t_mkdir pipe-uring)
if BLOCKFS_INLINE=1 t_start_server "$T_DIR/pipe.log" "$m" "$BLOCKFS" "$m" transport=uring; then
	assert_eq "ring-io/interrupted-read-gets-EINTR" "-1 4" "$(t_interrupted_call read "$m/pipe")"
	assert_eq "ring-io/healthy-after" hello "$(cat "$m/f")"
	assert_eq "ring-io/nothing-in-flight" 0 "$(furi_chan_sum "$m" any in_flight)"
	furi_umount "$m" || t_not_ok "ring-io/umount" "blockfs still mounted"
else
	t_not_ok "ring-io/mount" "blockfs did not mount: $(cat "$T_DIR/pipe.log")"
fi

# passthrough over a source whose subdirectory is a FUSE mount with a stopped server.
src=$(t_mkdir pt-src)
m=$(t_mkdir pt-mnt)
mkdir -p "$src/sub"
for i in $(seq 1 50); do : >"$src/other$i"; done
if furi_mount memfs "$src/sub" && furi_mount passthrough "$src" "$m"; then
	inner=$("$FURI" status "$src/sub" --json | jq -r .pid)
	: >"$src/sub/inside"
	t_on_exit "kill -CONT $inner 2>/dev/null"
	kill -STOP "$inner"
	# The LOOKUP of "sub" hangs in the source's stat; the client is interrupted.
	assert_eq "pt/interrupted-client-gets-EINTR" "-1 4" "$(t_interrupted_call access "$m/sub/inside")"
	assert_ge "pt/source-call-still-stuck" 1 "$(grep -l '^furi-block' /proc/"$(furi_json_get "$m" pid)"/task/*/comm | wc -l)"
	taskset -c 0 ls "$m/sub" >"$T_DIR/ls.out" 2>&1 &
	lister=$!
	wait_for lister 10 in_flight_ge "$m" 1 ||
		t_not_ok "pt/ls-reaches-the-stuck-source" "no request in flight"
	paths=()
	for i in $(seq 1 50); do paths+=("$m/other$i"); done
	assert_eq "pt/lookups-of-other-names-while-the-source-hangs" done \
		"$(stat_many 50 "${paths[@]}")"
	assert_cmd "pt/ls-still-hung" t_pid_alive "$lister"
	kill -CONT "$inner"
	wait "$lister"
	assert_eq "pt/ls-completes-after-SIGCONT" inside "$(cat "$T_DIR/ls.out")"
	assert_eq "pt/healthy-after" inside "$(ls "$m/sub")"
	# The stuck calls finish; their late replies are dropped, nothing stays in flight.
	if wait_for drained 10 [ "$(furi_chan_sum "$m" any in_flight)" -eq 0 ]; then
		t_ok "pt/nothing-in-flight"
	else
		t_not_ok "pt/nothing-in-flight" "$(furi_chan_sum "$m" any in_flight) still in flight"
	fi
	furi_umount "$m" || t_not_ok "pt/umount" "passthrough still mounted"
	furi_umount "$src/sub" || t_not_ok "pt/umount-inner" "memfs still mounted"
else
	t_not_ok "pt/mount" "memfs or passthrough did not mount"
fi
t_done
