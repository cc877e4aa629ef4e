#!/usr/bin/env bash
# t_async.sh - replies from other threads and interrupts, on both transports.
# asyncfs answers every request from a worker pool, out of order: on
# io_uring that exercises the queue thread's reply list and eventfd wake-up,
# on /dev/fuse the hand-over of detached request buffers. A read of its
# "block" file waits until the kernel interrupts it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"
ASYNCFS=${ASYNCFS:-$T_ROOT/build/tests/integration/asyncfs}
[ -x "$ASYNCFS" ] || t_skip_all "no asyncfs at $ASYNCFS"

for transport in uring legacy; do
	m=$(t_mkdir "$transport")
	log="$T_DIR/asyncfs-$transport.log"
	t_start_server "$log" "$m" "$ASYNCFS" "$m" "transport=$transport" "queue_depth=16"
	pid=$T_SERVER_PID
	if ! t_is_fuse_mounted "$m"; then
		t_not_ok "$transport/mount" "asyncfs did not mount: $(cat "$log")"
		continue
	fi
	want=$([ "$transport" == uring ] && echo io_uring || echo dev_fuse)
	assert_eq "$transport/transport" "$want" "$(furi_transport "$m")"

	# Eight writers and readers at once, each checking its own data.
	for i in $(seq 1 8); do
		head -c $((300000 + i * 4097)) /dev/urandom >"$T_DIR/src$i"
	done
	pids=()
	for i in $(seq 1 8); do
		( cp "$T_DIR/src$i" "$m/f$i" && cmp -s "$T_DIR/src$i" "$m/f$i" ) &
		pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	assert_eq "$transport/parallel-copies-verified" 0 "$bad"
	assert_eq "$transport/listing" 8 "$(ls "$m" | grep -c '^f')"
	truncate -s 1000 "$m/f1"
	assert_eq "$transport/truncate" 1000 "$(stat -c %s "$m/f1")"
	assert_cmd "$transport/truncated-data" cmp -s <(head -c 1000 "$T_DIR/src1") "$m/f1"
	rm "$m/f2"
	assert_eq "$transport/unlink" 7 "$(ls "$m" | grep -c '^f')"

	# Interrupts come through /dev/fuse whichever transport carries the READ.
	touch "$m/block"
	out=$(t_interrupted_call read "$m/block")
	assert_eq "$transport/read-interrupted-with-EINTR" "-1 4" "$out"
	assert_ge "$transport/interrupt-on-dev-fuse" 1 "$(furi_ops_count "$m" dev_fuse INTERRUPT)"
	assert_eq "$transport/nothing-in-flight" 0 "$(furi_chan_sum "$m" any in_flight)"
	if [ "$transport" == uring ]; then
		assert_eq "$transport/no-data-on-dev-fuse" 0 \
			"$(( $(furi_ops_count "$m" dev_fuse WRITE) + $(furi_ops_count "$m" dev_fuse READ) ))"
		assert_ge "$transport/uring-reads" 8 "$(furi_ops_count "$m" io_uring READ)"
	fi
	furi_umount "$m" || t_not_ok "$transport/umount" "mount or server still there"
	t_wait_pid_exit "$pid" 10
	wait "$pid"
	assert_eq "$transport/server-exit-status" 0 "$?"
done
t_done
