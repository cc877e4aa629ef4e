#!/usr/bin/env bash
# t_lib.sh - checks lib.sh itself: assertions print the right lines, the
# JSON helpers read the `furi status --json` shape, mounting outside T_DIR is
# refused, and the exit trap unmounts (also a busy mount) and kills what a
# script started. Needs no furi build; the cleanup checks need root.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

json=$T_DIR/status.json
cat >"$json" <<'JSON'
{"mountpoint": "/abs/path", "fs": "memfs", "pid": 1234, "state": "running", "transport": "io_uring",
 "transport_line": "io_uring: 2 queues", "fallback_reason": "",
 "proto": "7.45", "queues": 2, "threads": 2, "depth": 64, "payload_bytes": 1052672, "buffer_bytes": 134742016,
 "requests": {"io_uring": 123, "dev_fuse": 4},
 "channels": [
  {"name": "queue0", "transport": "io_uring", "cpu": 0, "requests": 61, "bytes_in": 1, "bytes_out": 2,
   "errors": 1, "in_flight": 0, "ops": {"LOOKUP": 3, "WRITE": 10}, "latency_us": {"p50": 4, "p90": 9, "p99": 20}},
  {"name": "queue1", "transport": "io_uring", "cpu": 1, "requests": 62, "bytes_in": 5, "bytes_out": 6,
   "errors": 2, "in_flight": 1, "ops": {"LOOKUP": 2}, "latency_us": {"p50": 4, "p90": 9, "p99": 20}},
  {"name": "dev_fuse", "transport": "dev_fuse", "cpu": -1, "requests": 4, "bytes_in": 7, "bytes_out": 8,
   "errors": 0, "in_flight": 0, "ops": {"INIT": 1, "LOOKUP": 1}, "latency_us": {"p50": 1, "p90": 1, "p99": 1}}
 ]}
JSON

assert_eq json_get_string io_uring "$(furi_json_get "$json" transport)"
assert_eq json_get_dotted 123 "$(furi_json_get "$json" requests.io_uring)"
assert_eq json_get_leading_dot 4 "$(furi_json_get "$json" .requests.dev_fuse)"
assert_eq json_get_array queue1 "$(furi_json_get "$json" 'channels[1].name')"
assert_eq json_get_filter 3 "$(furi_json_get "$json" '.channels | length')"
assert_eq json_get_stdin memfs "$(furi_json_get - fs <"$json")"
assert_cmd json_get_empty_value_exists furi_json_get "$json" fallback_reason
assert_fails json_get_missing_key furi_json_get "$json" no_such_key
assert_eq ops_count_uring 10 "$(furi_ops_count "$json" io_uring WRITE)"
assert_eq ops_count_sums_channels 5 "$(furi_ops_count "$json" io_uring LOOKUP)"
assert_eq ops_count_dev_fuse 1 "$(furi_ops_count "$json" dev_fuse LOOKUP)"
assert_eq ops_count_any 6 "$(furi_ops_count "$json" any LOOKUP)"
assert_eq ops_count_absent_is_zero 0 "$(furi_ops_count "$json" io_uring MKNOD)"
assert_eq ops_count_no_such_transport 0 "$(furi_ops_count "$json" nope WRITE)"
assert_eq requests_by_transport 4 "$(furi_requests "$json" dev_fuse)"
assert_eq chan_sum_errors 3 "$(furi_chan_sum "$json" io_uring errors)"
assert_eq channel_count 2 "$(furi_channel_count "$json" io_uring)"

# Assertions, run in subshells so their counts stay out of this script's.
assert_eq line_assert_eq_fail "not ok x: expected 'a', got 'b'" "$(assert_eq x a b)"
assert_eq line_assert_eq_ok "ok x" "$(assert_eq x a a)"
assert_eq line_assert_contains "ok x" "$(assert_contains x "hello world" "lo w")"
assert_contains line_assert_contains_fail "$(assert_contains x "hello" "xyz")" "not ok x: 'xyz' not found"
assert_eq line_assert_ge "ok x" "$(assert_ge x 3 10)"
assert_contains line_assert_ge_nonnumber "$(assert_ge x 3 abc)" "not ok x"
assert_contains line_assert_fails "$(assert_fails x true)" "not ok x"
assert_eq assert_status_fail 1 "$( (assert_eq x a b >/dev/null); echo $?)"

assert_fails refuses_mount_outside_tdir t_check_mountpoint /tmp
assert_fails refuses_mount_on_tdir t_check_mountpoint "$T_DIR"
assert_fails refuses_mount_via_dotdot t_check_mountpoint "$T_DIR/../x"
assert_cmd accepts_mount_under_tdir t_check_mountpoint "$T_DIR/m"

if [ "$(id -u)" -ne 0 ]; then
	t_skip cleanup_unmounts "needs root to mount"
	t_done
fi
# A script that mounts a tmpfs, keeps it busy from a tracked process and
# starts another one, then exits without cleaning up itself.
out=$(bash -c '
	. "$1"
	d=$(t_mkdir m)
	t_mount_tmpfs "$d" size=16m || exit 3
	echo x >"$d/f"
	sleep 1000 <"$d/f" & t_track_pid $!
	busy=$!
	sleep 1000 & t_track_pid $!
	echo "$T_DIR $d $busy $! $(t_mount_fstype "$d")"
	exit 7' _ "$T_LIB_DIR/lib.sh" 2>"$T_DIR/sub.err")
rc=$?
read -r sub_tdir sub_mnt pid1 pid2 fstype <<<"$out"
assert_eq cleanup_keeps_exit_status 7 "$rc"
assert_eq mount_fstype_seen tmpfs "$fstype"
assert_contains busy_mount_detached "$(cat "$T_DIR/sub.err")" "busy, detaching with umount -l"
assert_eq cleanup_unmounted "" "$(t_mount_fstype "$sub_mnt")"
assert_fails cleanup_killed_busy_pid t_pid_alive "$pid1"
assert_fails cleanup_killed_pid t_pid_alive "$pid2"
assert_fails cleanup_removed_tdir test -e "$sub_tdir"

# t_wait_unmounted: at once when nothing is mounted, a timeout while a mount
# stays, success once another process unmounts it.
d=$(t_mkdir wait-unmounted)
assert_cmd wait_unmounted_nothing_mounted t_wait_unmounted "$d" 0
if t_mount_tmpfs "$d" size=1m; then
	assert_fails wait_unmounted_times_out t_wait_unmounted "$d" 0
	(umount "$d") &
	assert_cmd wait_unmounted_after_umount t_wait_unmounted "$d" 20
	wait
	t_untrack_mount "$d"
else
	t_not_ok wait_unmounted_setup "cannot mount a tmpfs on $d"
fi
t_done
