#!/usr/bin/env bash
# t_teardown.sh - every way a mount ends, on both transports, looped:
# umount, SIGTERM, SIGINT, SIGHUP, SIGKILL of the server (the mount answers
# ENOTCONN and can be unmounted), abort through the fusectl filesystem, and
# each of umount, SIGTERM, SIGKILL and abort while I/O is in flight, and an
# umount before the server answered INIT (an ordinary unmount). Nothing
# may hang: every wait has a deadline, and a timeout is a failure.
#
# FURI_CYCLES sets the cycles per case (default 20; 200 with FURI_STRESS=1).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"
if [ "${FURI_STRESS:-0}" = 1 ]; then cycles=${FURI_CYCLES:-200}; else cycles=${FURI_CYCLES:-20}; fi
opts=queue_depth=8,max_write=128k

fusectl=$(t_mkdir fusectl)
mount -t fusectl fusectl "$fusectl" && t_track_mount "$fusectl" ||
	t_log "cannot mount fusectl: the abort cases will fail"

# The connection id of a mount: its device minor (FUSE devices have major 0).
conn_of() {
	awk -v m="$1" '$5 == m { split($3, d, ":"); id = d[2] } END { print id }' /proc/self/mountinfo
}

server_pid() { "$FURI" status "$1" --json 2>/dev/null | jq -r '.pid // empty'; }

# wait_gone MNT PID: the mount is gone and the server has exited (10 s).
wait_gone() {
	local m=$1 pid=$2 deadline=$((SECONDS + 10))
	while t_is_mounted "$m" || t_pid_alive "$pid"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.02
	done
	t_untrack_mount "$m"
}

# Writers that keep I/O in flight; their PIDs in WRITERS.
start_writers() {
	local m=$1 i
	WRITERS=()
	for i in 1 2 3; do
		dd if=/dev/zero of="$m/load$i" bs=64k count=4000 oflag=direct status=none 2>/dev/null &
		WRITERS+=($!)
	done
	sleep 0.1
}

# stop_writers: they must end (by themselves or by SIGKILL) within 10 s.
stop_writers() {
	local pid deadline=$((SECONDS + 10)) ok=0
	for pid in "${WRITERS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${WRITERS[@]}"; do
		while t_pid_alive "$pid"; do
			[ $SECONDS -ge $deadline ] && { ok=1; break; }
			sleep 0.02
		done
		wait "$pid" 2>/dev/null
	done
	return $ok
}

# One cycle of a case: mount, do some I/O, end the mount the case's way,
# check. Prints nothing on success, one reason on failure.
cycle() {
	local case=$1 transport=$2 m=$3 pid conn out
	if ! out=$(furi_mount memfs "$m" -o "transport=$transport,$opts" 2>&1); then
		echo "mount failed: $out"; return 1
	fi
	pid=$(server_pid "$m")
	[ -n "$pid" ] || { echo "no server pid"; return 1; }
	echo data >"$m/file" && sync "$m/file" || { echo "write before teardown failed"; return 1; }
	local start=$SECONDS
	case $case in
	umount)
		umount "$m" || { echo "umount failed"; return 1; } ;;
	sigterm|sigint|sighup)
		kill -"${case#sig}" "$pid" ;;
	sigkill)
		kill -KILL "$pid"
		t_wait_pid_exit "$pid" 10 || { echo "server survived SIGKILL"; return 1; }
		# Requests caught in the dying ring may see ECONNABORTED first;
		# the connection must settle at ENOTCONN.
		until [[ "$(stat "$m" 2>&1)" == *"not connected"* ]]; do
			out=$(stat "$m" 2>&1)
			[[ "$out" == *"not connected"* || "$out" == *"connection abort"* ]] ||
				{ echo "stat after SIGKILL: $out"; return 1; }
			[ $SECONDS -ge $((start + 10)) ] && { echo "no ENOTCONN 10 s after SIGKILL: $out"; return 1; }
			sleep 0.05
		done
		out=$("$FURI" status "$m" 2>&1)
		[[ "$out" == *"is gone"* && "$out" == *"umount"* ]] ||
			{ echo "furi status after SIGKILL: $out"; return 1; }
		umount "$m" || { echo "umount of the dead mount failed"; return 1; } ;;
	abort)
		conn=$(conn_of "$m")
		echo 1 >"$fusectl/$conn/abort" || { echo "no fusectl connection $conn"; return 1; }
		out=$(stat "$m/file" 2>&1)
		# The server may have noticed and unmounted already.
		[[ "$out" == *"not connected"* || "$out" == *"abort"* ]] || ! t_is_mounted "$m" ||
			{ echo "stat after abort: $out"; return 1; } ;;
	umount-load)
		start_writers "$m"
		umount "$m" 2>/dev/null && { stop_writers; echo "umount succeeded with files open"; return 1; }
		umount -l "$m" || { stop_writers; echo "umount -l failed"; return 1; }
		stop_writers || { echo "writers hung after umount -l"; return 1; } ;;
	sigterm-load)
		start_writers "$m"
		kill -TERM "$pid"
		stop_writers || { echo "writers hung after SIGTERM"; return 1; } ;;
	sigkill-load)
		start_writers "$m"
		kill -KILL "$pid"
		stop_writers || { echo "writers hung after SIGKILL"; return 1; }
		t_wait_pid_exit "$pid" 10 || { echo "server survived SIGKILL"; return 1; }
		umount "$m" || { echo "umount of the dead mount failed"; return 1; } ;;
	abort-load)
		start_writers "$m"
		conn=$(conn_of "$m")
		echo 1 >"$fusectl/$conn/abort" || { stop_writers; echo "no fusectl connection"; return 1; }
		stop_writers || { echo "writers hung after abort"; return 1; } ;;
	esac
	wait_gone "$m" "$pid" || { echo "mount or server still there 10 s after $case"; return 1; }
}

for transport in uring legacy; do
	for case in umount sigterm sigint sighup sigkill abort umount-load sigterm-load sigkill-load abort-load; do
		m=$(t_mkdir "$transport-$case")
		failed=""
		for i in $(seq 1 "$cycles"); do
			why=$(cycle "$case" "$transport" "$m")
			rc=$?
			if [ $rc -ne 0 ] || [ -n "$why" ]; then
				failed="cycle $i: $why"
				t_is_mounted "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
				break
			fi
		done
		if [ -z "$failed" ]; then
			t_ok "$transport/$case ($cycles cycles)"
		else
			t_not_ok "$transport/$case" "$failed"
		fi
	done
done

# -o auto_unmount. The watcher is another process, so the mount's end is
# polled for (20 s at most), never waited for with a sleep.

# mount_watched MNT: memfs with -o auto_unmount on $transport; sets pid and
# watcher (the auto_unmount_pid furi status shows).
mount_watched() {
	furi_mount memfs "$1" -o "transport=$transport,$opts,auto_unmount" || return 1
	pid=$(server_pid "$1")
	watcher=$("$FURI" status "$1" --json | jq -r '.auto_unmount_pid // 0')
}

for transport in uring legacy; do
	m=$(t_mkdir "$transport-auto-unmount")
	if mount_watched "$m"; then
		if [ "$watcher" -gt 1 ] && t_pid_alive "$watcher"; then
			t_ok "$transport/auto_unmount-watcher"
		else
			t_not_ok "$transport/auto_unmount-watcher" "no watcher process (auto_unmount_pid '$watcher')"
		fi
		echo data >"$m/file"
		kill -KILL "$pid"
		t_wait_pid_exit "$pid" 10 || t_not_ok "$transport/auto_unmount-sigkill" "server survived SIGKILL"
		if t_wait_unmounted "$m" 20; then
			t_ok "$transport/auto_unmount-sigkill-unmounts"
			t_untrack_mount "$m"
		else
			t_not_ok "$transport/auto_unmount-sigkill-unmounts" "still mounted 20 s after SIGKILL: $(stat "$m" 2>&1)"
		fi
		[ "$watcher" -gt 1 ] && { t_wait_pid_exit "$watcher" 10 && t_ok "$transport/auto_unmount-watcher-exits" ||
			t_not_ok "$transport/auto_unmount-watcher-exits" "pid $watcher still running"; }
	else
		t_not_ok "$transport/auto_unmount-mount" "$FURI_MOUNT_LINE"
	fi
done

# The watcher does not depend on the transport: these once, on /dev/fuse.
transport=legacy
m=$(t_mkdir "$transport-auto-unmount-umount")
# An ordinary umount: the server and its watcher both end.
if mount_watched "$m"; then
	umount "$m"
	if wait_gone "$m" "$pid" && t_wait_pid_exit "$watcher" 10; then
		t_ok "$transport/auto_unmount-umount-ends-both"
	else
		t_not_ok "$transport/auto_unmount-umount-ends-both" "server $pid or watcher $watcher still running"
	fi
else
	t_not_ok "$transport/auto_unmount-umount-mount" "$FURI_MOUNT_LINE"
fi

# The watcher takes down only the server's own mount: held (SIGSTOP) while
# its server dies and the dead mount is replaced by a tmpfs, then let go, it
# leaves the tmpfs alone.
m=$(t_mkdir "$transport-auto-unmount-replaced")
if mount_watched "$m"; then
	if [ "$watcher" -gt 1 ] && kill -STOP "$watcher"; then
		t_on_exit "kill -CONT $watcher 2>/dev/null"
		kill -KILL "$pid"
		t_wait_pid_exit "$pid" 10
		umount "$m" && t_untrack_mount "$m"
		t_mount_tmpfs "$m" size=1m
		kill -CONT "$watcher"
		t_wait_pid_exit "$watcher" 10 || t_not_ok "$transport/auto_unmount-replaced-watcher-exits" "pid $watcher"
		assert_eq "$transport/auto_unmount-leaves-other-mount" tmpfs "$(t_mount_fstype "$m")"
		t_umount "$m"
	else
		t_not_ok "$transport/auto_unmount-replaced" "no watcher to hold (auto_unmount_pid '$watcher')"
	fi
else
	t_not_ok "$transport/auto_unmount-replaced-mount" "$FURI_MOUNT_LINE"
fi

# Without auto_unmount the dead mount stays, answering ENOTCONN.
m=$(t_mkdir "$transport-no-auto-unmount")
if furi_mount memfs "$m" -o "transport=$transport,$opts"; then
	pid=$(server_pid "$m")
	assert_eq "$transport/no-auto_unmount-no-watcher" 0 "$("$FURI" status "$m" --json | jq -r '.auto_unmount_pid')"
	kill -KILL "$pid"
	t_wait_pid_exit "$pid" 10
	deadline=$((SECONDS + 20))
	until [[ "$(stat "$m" 2>&1)" == *"not connected"* ]] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	assert_contains "$transport/no-auto_unmount-enotconn" "$(stat "$m" 2>&1)" "not connected"
	assert_eq "$transport/no-auto_unmount-stays" fuse.furi "$(t_mount_fstype "$m")"
	umount "$m" && t_untrack_mount "$m"
else
	t_not_ok "$transport/no-auto_unmount-mount" "$FURI_MOUNT_LINE"
fi

# --- an unmount before the server has answered INIT ---------------------------
# An ordinary unmount: furi mount exits 0 with its one line and no error, and
# the server is gone. umount -c: a canonicalizing umount would stat the
# mount, which waits for INIT. With FURI_FAULT=init_after_umount the server
# reads INIT only after the unmount, so every cycle meets the race; without
# it, whichever comes first: 50 cycles in all, over both transports.
# init_race TRANSPORT [FAULT]: one cycle; prints what went wrong, if anything.
init_race() {
	local m=$1 out="$T_DIR/init-race.out" pid rc deadline=$((SECONDS + 20))
	FURI_FAULT=${3:-} "$FURI" mount memfs "$m" -o "$opts,transport=$2" >"$out" 2>&1 &
	pid=$!
	until grep -q " $m .* - fuse" /proc/self/mountinfo; do
		kill -0 "$pid" 2>/dev/null || break
		[ $SECONDS -ge $deadline ] && { echo "not mounted after 20 s"; kill "$pid"; wait "$pid"; return 1; }
	done
	timeout 10 umount -c "$m" || echo "umount -c failed"
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] || echo "furi mount exited $rc"
	[ "$(wc -l <"$out")" -eq 1 ] && grep -q "^furi: memfs on $m: " "$out" ||
		echo "output: $(head -c 300 "$out")"
	! grep -Eqi "cannot|error|fail" "$out" || echo "error output: $(head -c 300 "$out")"
	[ -z "${3:-}" ] || grep -q "unmounted before it served a request" "$out" ||
		echo "the race was not met: $(head -c 300 "$out")"
	! grep -q " $m " /proc/self/mountinfo || { umount -l "$m"; echo "still mounted"; }
	! pgrep -f -- "$m" >/dev/null || echo "server left: $(pgrep -af -- "$m")"
}
for transport in uring legacy; do
	for fault in init_after_umount ""; do
		label=$transport/umount-before-init${fault:+-forced}
		m=$(t_mkdir "init-$transport${fault:+-forced}")
		n=$([ -n "$fault" ] && echo 5 || echo 20)
		failed=""
		for i in $(seq 1 "$n"); do
			why=$(init_race "$m" "$transport" "$fault")
			[ -z "$why" ] || { failed="cycle $i: $why"; break; }
		done
		if [ -z "$failed" ]; then t_ok "$label ($n cycles)"; else t_not_ok "$label" "$failed"; fi
	done
done
t_done
