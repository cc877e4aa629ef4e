#!/usr/bin/env bash
# t_request_timeout.sh - -o request_timeout=SECS (FUSE 7.43): the kernel
# aborts a connection whose server leaves a request unanswered, so the
# caller gets an error instead of hanging; without the option it waits.
# Two blockfs mounts hold a READ each; the one with the option is aborted
# while the other's READ is still waiting (ordering, no timing). The
# kernel checks every 15 s, so this takes 15-30 s.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
BLOCKFS=${BLOCKFS:-$T_ROOT/build/tests/integration/blockfs}
[ -x "$BLOCKFS" ] || t_skip_all "no blockfs at $BLOCKFS"
[ -r /proc/sys/fs/fuse/max_request_timeout ] || t_skip_all "this kernel has no FUSE request timeouts"

export BLOCKFS_HOLD_S=90	# longer than the kernel can take to abort
timed=$(t_mkdir timed)
untimed=$(t_mkdir untimed)
t_start_server "$T_DIR/timed.log" "$timed" "$BLOCKFS" "$timed" request_timeout=1 ||
	t_not_ok mount "blockfs did not mount: $(cat "$T_DIR/timed.log")"
timed_pid=$T_SERVER_PID
t_start_server "$T_DIR/untimed.log" "$untimed" "$BLOCKFS" "$untimed" ||
	t_not_ok mount "blockfs did not mount: $(cat "$T_DIR/untimed.log")"
untimed_pid=$T_SERVER_PID

cat "$timed/block" >"$T_DIR/timed.out" 2>&1 &
timed_reader=$!
cat "$untimed/block" >"$T_DIR/untimed.out" 2>&1 &
untimed_reader=$!

deadline=$((SECONDS + 60))
while t_pid_alive "$timed_reader" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if t_pid_alive "$timed_reader"; then
	t_not_ok aborted "the READ is still waiting after 60 s"
else
	wait "$timed_reader"
	assert_ne "reader-failed" 0 "$?"
	assert_contains "reader-got-connection-aborted" "$(cat "$T_DIR/timed.out")" \
		"Software caused connection abort"
	assert_fails "mount-is-dead" stat "$timed/f"
	assert_cmd "server-ended" t_wait_pid_exit "$timed_pid" 20
fi
assert_cmd "without-the-option-still-waiting" t_pid_alive "$untimed_reader"
echo go >"$untimed/release"
wait "$untimed_reader"
assert_eq "without-the-option-answered" released "$(cat "$T_DIR/untimed.out")"
furi_umount "$untimed" || t_not_ok umount "blockfs still mounted"
t_umount "$timed"
t_done
