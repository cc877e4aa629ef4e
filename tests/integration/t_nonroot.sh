#!/usr/bin/env bash
# t_nonroot.sh - furi as an unprivileged user (uid 65534) through fusermount3:
# the mount, on io_uring, works and is the user's; furi status works as that
# user (status files in /tmp/furi-UID or $XDG_RUNTIME_DIR/furi) and as root;
# the user can create and read files; fusermount3 -u and SIGTERM end the
# server; with -o auto_unmount a kill -9 of the server leaves no mount
# (its watcher runs fusermount3 -u), without it the dead mount stays; payload
# buffers the memlock limit refuses to register are used unregistered,
# silently; a warning at start (-o max_readahead, which needs root) reaches
# the user's terminal. And the failures: no fusermount3 in PATH, and a
# /dev/fuse the user cannot open, each one line with the cause and the fix.
#
# fusermount3 (fuse3 3.14) opens /dev/fuse with the caller's fsuid, so users
# need /dev/fuse mode 0666, which udev sets. Without udev it stays 0600 and
# no user can mount: that case is checked first, then the script covers
# /dev/fuse with a 0666 node of the same device, in a private mount
# namespace of its own (the script re-runs itself under unshare -m), so the
# rest of the machine never sees the change. Mounts made in the namespace
# live and die with it.
if [ "$(id -u)" -eq 0 ] && [ -z "${T_NONROOT_NS:-}" ] &&
	unshare -m --propagation private true 2>/dev/null; then
	T_NONROOT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (to become uid 65534)"
[ -n "${T_NONROOT_NS:-}" ] || t_skip_all "needs a private mount namespace (unshare -m)"
command -v setpriv >/dev/null || t_skip_all "setpriv (util-linux) is missing"
FUSERMOUNT=$(command -v fusermount3) ||
	t_skip_all "fusermount3 is missing (package fuse3; scripts/setup installs it)"
[ -u "$FUSERMOUNT" ] || t_skip_all "$FUSERMOUNT is not setuid root"
[ -x "$FURI" ] || t_skip_all "no furi binary at $FURI (build first)"

U=65534
UPATH=$(dirname "$FUSERMOUNT"):/usr/bin:/bin
SDIR=/tmp/furi-$U	# the user's status directory without XDG_RUNTIME_DIR
small=queue_depth=16,max_write=128k

# as_user CMD...: run as uid/gid 65534, no supplementary groups, a clean
# environment: PATH with fusermount3 (an exported USER_PATH replaces it),
# XDG_RUNTIME_DIR only when XDG is exported. A script, so t_run can time it.
AS_USER="$T_DIR/as-user"
cat >"$AS_USER" <<SCRIPT
#!/bin/sh
exec setpriv --reuid=$U --regid=$U --clear-groups \\
	env -i PATH="\${USER_PATH:-$UPATH}" HOME=/ \${XDG:+XDG_RUNTIME_DIR=\$XDG} "\$@"
SCRIPT
chmod 755 "$AS_USER"
as_user() { "$AS_USER" "$@"; }
user_status() { as_user "$FURI" status "$1" --json 2>/dev/null; }

# The user must reach T_DIR: open the search bit of it and of tests/run's
# root above it, and put the modes back at exit.
for d in "$T_DIR" ${FURI_TEST_ROOT:+"$FURI_TEST_ROOT"}; do
	t_on_exit "chmod $(stat -c %a "$d") '$d'"
	chmod o+x "$d"
done
umnt() { local d; d=$(t_mkdir "$1") && chown $U:$U "$d" && echo "$d"; }

# --- without fusermount3: the message says to install it or be root -------
m=$(umnt nofusermount)
export USER_PATH=/nonexistent-bin
assert_fails_with no-fusermount3 1 \
	"cannot mount as a user without fusermount3" "apt install fuse3, or run as root" \
	"$AS_USER" "$FURI" mount memfs "$m"
unset USER_PATH
assert_left_clean no-fusermount3 "$m"

# --- /dev/fuse the user cannot open ----------------------------------------
if [ "$(( 0$(stat -L -c %a /dev/fuse) & 6 ))" -ne 6 ]; then
	m=$(umnt devperm)
	assert_fails_with dev-fuse-0600 1 \
		"fusermount3 could not mount $m: failed to open /dev/fuse: Permission denied" \
		"chmod 0666 /dev/fuse" "$AS_USER" "$FURI" mount memfs "$m"
	assert_left_clean dev-fuse-0600 "$m"
	# Now a 0666 node of the same device over /dev/fuse, in this namespace only.
	dev=$(t_mkdir dev)
	t_mount_tmpfs "$dev" size=64k,mode=755 &&
		mknod -m 0666 "$dev/fuse" c "$(( 0x$(stat -L -c %t /dev/fuse) ))" "$(( 0x$(stat -L -c %T /dev/fuse) ))" &&
		mount --bind "$dev/fuse" /dev/fuse ||
		{ t_not_ok setup/dev-fuse-0666 "cannot cover /dev/fuse with a 0666 node"; t_done; }
	t_on_exit "umount /dev/fuse"
	t_log "/dev/fuse is 0600 on this machine; covered by a 0666 node in this script's mount namespace"
else
	t_skip dev-fuse-0600 "/dev/fuse is already readable and writable by all"
fi

# --- the mount works, on io_uring, and is the user's ----------------------
m=$(umnt mnt)
assert_eq as-user/uid "$U" "$(as_user id -u)"
t_run "$AS_USER" "$FURI" mount memfs "$m" -o "$small"
assert_eq mount/exit-status 0 "$RC"
assert_eq mount/one-line-no-warning 1 "$ERR_LINES"
if t_is_fuse_mounted "$m"; then
	t_track_mount "$m"
	json=$(user_status "$m")
	pid=$(jq -r '.pid // empty' <<<"$json")
	[ -n "$pid" ] && t_track_pid "$pid" 10
	assert_contains mount/line "$ERR" "memfs on $m: "
	assert_contains mount/mountinfo-user-id "$(grep -F " $m " /proc/self/mountinfo)" "user_id=$U,group_id=$U"
	assert_eq mount/server-uid "$U" "$(ps -o uid= -p "$pid" | tr -d ' ')"
	assert_eq status-as-user/mountpoint "$m" "$(jq -r .mountpoint <<<"$json")"
	assert_eq status-as-user/state running "$(jq -r .state <<<"$json")"
	majmin=$(awk -v m="$m" '$5 == m { split($3, d, ":"); print d[1] "-" d[2] }' /proc/self/mountinfo)
	assert_eq status-file/in-user-dir "$U" "$(stat -c %u "$SDIR/$majmin.status" 2>&1)"
	assert_eq status-as-root/finds-user-file "$pid" "$("$FURI" status "$m" --json 2>/dev/null | jq -r .pid)"
	if furi_uring_enabled; then
		assert_contains mount/line-io_uring "$ERR" "io_uring: "
		assert_eq status-as-user/transport io_uring "$(jq -r .transport <<<"$json")"
	else
		t_skip mount/line-io_uring "enable_uring is N"
	fi

	# The user's files: create, write, read, rename, list, remove.
	assert_cmd files/create-write-read as_user bash -c "
		set -e
		echo hello >'$m/f'
		[ \"\$(cat '$m/f')\" = hello ]
		mkdir '$m/d'
		dd if=/dev/urandom of='$m/d/big' bs=64k count=16 status=none
		cp '$m/d/big' '$m/d/copy'
		cmp '$m/d/big' '$m/d/copy'
		mv '$m/f' '$m/d/g'
		[ \"\$(ls '$m/d' | tr '\n' ' ')\" = 'big copy g ' ]
		rm '$m/d/copy'"
	assert_eq files/owned-by-user "$U" "$(as_user stat -c %u "$m/d/g" 2>&1)"
	# Without allow_other the kernel keeps everyone else out, root included.
	assert_fails files/root-kept-out ls "$m"

	json=$(user_status "$m")
	if furi_uring_enabled; then
		assert_ge counters/io_uring-requests 20 "$(jq -r '.requests.io_uring' <<<"$json")"
		assert_ge counters/io_uring-writes 16 \
			"$(jq -r '[.channels[] | select(.transport == "io_uring") | (.ops.WRITE // 0)] | add' <<<"$json")"
		assert_eq counters/no-dev_fuse-writes 0 \
			"$(jq -r '[.channels[] | select(.transport == "dev_fuse") | (.ops.WRITE // 0)] | add' <<<"$json")"
	fi
	assert_eq counters/nothing-in-flight 0 "$(jq -r '[.channels[].in_flight] | add' <<<"$json")"

	# fusermount3 -u as the user: the mount goes, the server exits, its status file too.
	assert_cmd umount/fusermount3-u as_user fusermount3 -u "$m"
	if t_wait_pid_exit "$pid" 10; then t_ok umount/server-exits; else t_not_ok umount/server-exits "pid $pid still running 10 s after fusermount3 -u"; fi
	assert_eq umount/unmounted "" "$(t_mount_fstype "$m")"
	assert_cmd umount/status-file-removed test ! -e "$SDIR/$majmin.status"
	t_untrack_mount "$m"
else
	t_not_ok mount/mounted "nothing mounted on $m: ${ERR:0:300}"
fi

# --- SIGTERM from the user unmounts (fusermount3 -u -z) and exits -------------
# The mount asks for a readahead window only root may set: the server's
# warning reaches the user's terminal before furi mount returns.
m=$(umnt sigterm)
t_run "$AS_USER" "$FURI" mount memfs "$m" -o "$small,max_readahead=1M"
if [ "$RC" -eq 0 ] && t_is_fuse_mounted "$m"; then
	t_track_mount "$m"
	assert_contains readahead-warning/on-terminal "$ERR" \
		"furi: -o max_readahead=1048576: cannot set /sys/class/bdi/"
	assert_contains readahead-warning/then-the-mount-line "$(tail -1 <<<"$ERR")" "furi: memfs on $m: "
	pid=$(user_status "$m" | jq -r '.pid // empty')
	[ -n "$pid" ] && t_track_pid "$pid" 10
	as_user kill -TERM "$pid"
	if t_wait_pid_exit "$pid" 10; then t_ok sigterm/server-exits; else t_not_ok sigterm/server-exits "pid $pid still running"; fi
	assert_eq sigterm/unmounted "" "$(t_mount_fstype "$m")"
	t_untrack_mount "$m"
else
	t_not_ok sigterm/mount "as_user furi mount failed"
fi

# --- -o auto_unmount: a watcher process holding a pipe to the server runs
# fusermount3 -u -z once the server dies (kill -9 included); without it the
# dead mount stays (ENOTCONN) until someone unmounts it. Polled, 20 s at most.
for auto in auto_unmount none; do
	m=$(umnt "sigkill-$auto")
	o=$small
	[ "$auto" = none ] || o="$small,$auto"
	if as_user "$FURI" mount memfs "$m" -o "$o" 2>/dev/null && t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		json=$(user_status "$m")
		pid=$(jq -r '.pid // empty' <<<"$json")
		watcher=$(jq -r '.auto_unmount_pid // 0' <<<"$json")
		[ -n "$pid" ] && t_track_pid "$pid" 10
		if [ "$auto" = none ]; then
			assert_eq "sigkill-$auto/no-watcher" 0 "$watcher"
		else
			assert_eq "sigkill-$auto/watcher" furi-unmount "$(cat "/proc/$watcher/comm" 2>&1)"
		fi
		as_user kill -KILL "$pid"
		t_wait_pid_exit "$pid" 10
		if [ "$auto" = none ]; then
			deadline=$((SECONDS + 20))
			until [[ "$(as_user stat "$m" 2>&1)" == *"not connected"* ]] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
			assert_contains "sigkill-$auto/enotconn" "$(as_user stat "$m" 2>&1)" "not connected"
			assert_eq "sigkill-$auto/stays" fuse.furi "$(t_mount_fstype "$m")"
			as_user fusermount3 -u -z "$m"
		elif t_wait_unmounted "$m" 20; then
			t_ok "sigkill-$auto/unmounted"
			t_wait_pid_exit "$watcher" 10 && t_ok "sigkill-$auto/watcher-exits" ||
				t_not_ok "sigkill-$auto/watcher-exits" "pid $watcher still running"
		else
			t_not_ok "sigkill-$auto/unmounted" "still mounted 20 s after kill -9: $(as_user stat "$m" 2>&1)"
		fi
		t_wait_unmounted "$m" 20 && t_untrack_mount "$m"
	else
		t_not_ok "sigkill-$auto/mount" "as_user furi mount -o $o failed"
	fi
done

# --- XDG_RUNTIME_DIR: the status file goes there ------------------------------
m=$(umnt xdg)
xdg=$(umnt xdg-runtime)
chmod 700 "$xdg"
export XDG=$xdg
if as_user "$FURI" mount memfs "$m" -o "$small" 2>/dev/null && t_is_fuse_mounted "$m"; then
	t_track_mount "$m"
	pid=$(user_status "$m" | jq -r '.pid // empty')
	[ -n "$pid" ] && t_track_pid "$pid" 10
	assert_ne xdg/status-as-user "" "$pid"
	majmin=$(awk -v m="$m" '$5 == m { split($3, d, ":"); print d[1] "-" d[2] }' /proc/self/mountinfo)
	assert_cmd xdg/status-file-there test -f "$xdg/furi/$majmin.status"
	as_user fusermount3 -u "$m"
	t_wait_pid_exit "$pid" 10 && t_ok xdg/server-exits || t_not_ok xdg/server-exits "pid $pid still running"
	t_untrack_mount "$m"
else
	t_not_ok xdg/mount "as_user furi mount with XDG_RUNTIME_DIR failed"
fi
unset XDG

# --- mount(8)'s generic options through fusermount3: those it takes by name
# reach the mount; the others are refused with the reason, not by fusermount3's
# "unknown option".
m=$(umnt opts)
t_run "$AS_USER" "$FURI" mount memfs "$m" -o "$small,transport=legacy,noatime,noexec,sync,dirsync,ro,nosuid,nodev,relatime,noatime"
assert_eq user-opts/exit-status 0 "$RC"
if t_is_fuse_mounted "$m"; then
	t_track_mount "$m"
	pid=$(user_status "$m" | jq -r '.pid // empty')
	got=$(awk -v m="$m" '$5 == m { for (i = 7; $i != "-"; i++); print "," $6 "," $(i + 3) "," }' /proc/self/mountinfo)
	for w in ro noatime noexec nosuid nodev sync dirsync; do
		assert_contains "user-opts/$w" "$got" ",$w,"
	done
	as_user fusermount3 -u "$m"
	[ -n "$pid" ] && t_wait_pid_exit "$pid" 10
	t_untrack_mount "$m"
else
	t_not_ok user-opts/mounted "nothing mounted: ${ERR:0:300}"
fi
assert_fails_with user-opts-strictatime 1 "-o strictatime,nodiratime: fusermount3 cannot set it on a user's mount" \
	"fix: mount as root" "$AS_USER" "$FURI" mount memfs "$m" -o "$small,strictatime,nodiratime"
assert_left_clean user-opts-strictatime "$m"

# --- memlock: registering payload buffers as fixed buffers counts against
# RLIMIT_MEMLOCK without CAP_IPC_LOCK. Nothing is registered before backend
# I/O, each entry then registers only the head it uses, and an entry the
# kernel refuses does unregistered I/O, silently; the data path of a
# file-backed filesystem (passthrough: furi_io_* on the ring) must still
# move the right bytes.
limit_kib=$(as_user bash -c 'ulimit -l')
m=$(umnt fixed)
src=$(umnt fixed-src)
log="$T_DIR/fixed.log"
if furi_uring_enabled && [ "$limit_kib" != unlimited ]; then
	as_user "$FURI" mount passthrough "$src" "$m" -d >"$log" 2>&1 &
	fgpid=$!
	t_track_pid "$fgpid" 10
	t_track_mount "$m"
	deadline=$((SECONDS + 20))
	# The status file exists from before INIT; "running" comes after it.
	until [ "$(user_status "$m" | jq -r .state)" = running ]; do
		t_pid_alive "$fgpid" && [ $SECONDS -lt $deadline ] || break
		sleep 0.05
	done
	json=$(user_status "$m")
	buf_kib=$(( $(jq -r '.buffer_bytes // 0' <<<"$json") / 1024 ))
	t_log "memlock limit ${limit_kib} KiB, payload buffers ${buf_kib} KiB"
	assert_eq fixed/transport io_uring "$(jq -r .transport <<<"$json")" ||
		t_log "fallback: $(jq -r .fallback_reason <<<"$json"); log: $(head -c 600 "$log")"
	# Nothing pinned before backend I/O, whatever the buffers reserved (which
	# exceed the memlock limit: registered up front, they were refused).
	srv=$(jq -r .pid <<<"$json")
	assert_eq fixed/idle-pinned-kib 0 "$(awk '/^VmPin:/ {print $2}' /proc/"$srv"/status)"
	assert_le fixed/idle-rss-kib 16384 "$(awk '/^VmRSS:/ {print $2}' /proc/"$srv"/status)"
	assert_cmd fixed/data-path as_user bash -c "
		set -e
		dd if=/dev/urandom of='$src/in' bs=128k count=24 status=none
		cmp '$src/in' '$m/in'
		dd if='$src/in' of='$m/out' bs=128k status=none conv=fsync
		cmp '$src/in' '$src/out'"
	# The entries that ran backend I/O registered their heads, within the limit.
	assert_le fixed/pinned-within-memlock-kib "$limit_kib" "$(awk '/^VmPin:/ {print $2}' /proc/"$srv"/status)"
	json=$(user_status "$m")
	assert_ge fixed/reads-on-io_uring 1 "$(jq -r '[.channels[] | select(.transport == "io_uring") | (.ops.READ // 0)] | add' <<<"$json")"
	assert_ge fixed/writes-on-io_uring 1 "$(jq -r '[.channels[] | select(.transport == "io_uring") | (.ops.WRITE // 0)] | add' <<<"$json")"
	as_user fusermount3 -u "$m"
	t_wait_pid_exit "$fgpid" 10 && t_ok fixed/server-exits || t_not_ok fixed/server-exits "pid $fgpid still running"
	t_untrack_mount "$m"
	# Silent without -d: the background mount printed exactly one line.
	t_run "$AS_USER" "$FURI" mount passthrough "$src" "$m"
	assert_eq fixed/silent 1 "$ERR_LINES"
	t_is_fuse_mounted "$m" && { t_track_mount "$m"; pid=$(user_status "$m" | jq -r '.pid // empty'); as_user fusermount3 -u "$m"; [ -n "$pid" ] && t_wait_pid_exit "$pid" 10; t_untrack_mount "$m"; }
else
	t_skip fixed "io_uring is off or the memlock limit is unlimited"
fi

# --- RLIMIT_MEMLOCK 0: the kernel (6.x) counts the rings themselves against
# it for users without CAP_IPC_LOCK, and io_uring_setup fails with ENOMEM.
# The mount must still work over /dev/fuse, and the reason must name the
# limit and the fix (not the queue buffers).
m=$(umnt memlock0)
if furi_uring_enabled && command -v prlimit >/dev/null; then
	t_run "$AS_USER" prlimit --memlock=0 "$FURI" mount memfs "$m" -o "$small"
	assert_eq memlock0/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		json=$(user_status "$m")
		pid=$(jq -r '.pid // empty' <<<"$json")
		[ -n "$pid" ] && t_track_pid "$pid" 10
		assert_eq memlock0/falls-back dev_fuse "$(jq -r .transport <<<"$json")"
		assert_cmd memlock0/works as_user bash -c "echo x >'$m/x' && [ \"\$(cat '$m/x')\" = x ]"
		reason=$(jq -r .fallback_reason <<<"$json")
		if [[ "$reason" == *MEMLOCK* || "$reason" == *memlock* || "$reason" == *"ulimit -l"* ]]; then
			t_ok memlock0/reason-names-the-limit
		else
			t_not_ok memlock0/reason-names-the-limit "reason: '$reason'"
		fi
		as_user fusermount3 -u "$m"
		[ -n "$pid" ] && t_wait_pid_exit "$pid" 10
		t_untrack_mount "$m"
	else
		t_not_ok memlock0/mounted "nothing mounted: ${ERR:0:300}"
	fi
else
	t_skip memlock0 "io_uring is off or prlimit is missing"
fi
t_done
