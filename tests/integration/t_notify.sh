#!/usr/bin/env bash
# t_notify.sh - every notification, with its effect as the kernel shows it,
# on both transports, sent from a handler and from a thread of the
# filesystem's own; poll(2), epoll and ioctl(2) round trips (notifyfs).
#
# notifyfs lets the kernel cache names, attributes and pages for an hour,
# so whatever changes through the mount can only come from a notification:
# a page read before inval_inode, the bytes of store, the page cache's bytes
# through retrieve, a LOOKUP again after inval_entry/expire/inc_epoch, a
# name gone and nlink 0 on an open file after delete, a FORGET after prune,
# a sleeping poll(2)/epoll_wait(2) woken, a held READ sent again by resend.
# Then passthrough's STATX (the source's birth time), its ioctls (chattr and
# lsattr reach the source; anything else is ENOTTY) and SYNCFS.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"
NOTIFYFS=${NOTIFYFS:-$T_ROOT/build/tests/integration/notifyfs}
[ -x "$NOTIFYFS" ] || t_skip_all "no notifyfs at $NOTIFYFS"

PROBE=${NOTIFY_PROBE:-$T_ROOT/build/tests/integration/notify_probe}
[ -x "$PROBE" ] || t_skip_all "no notify_probe at $PROBE"

# ctl MNT "WHERE COMMAND...": "ok", or the errno name the command failed with.
ctl() { "$PROBE" ctl "$1/ctl" "$2"; }

# state MNT KEY: notifyfs's value of KEY.
state() { sed -n "s/^$2 //p" "$1/ctl"; }

# wait_state MNT KEY VALUE: until KEY is VALUE (20 s at most); 1 if never.
wait_state() {
	local deadline=$((SECONDS + 20))
	until [ "$(state "$1" "$2")" == "$3" ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.02
	done
}

# page_cache_attempt MNT WHERE N: inval_inode, store and retrieve on data,
# each seen through the page cache; "ok", or the first thing that differed.
# A drop_caches by anything else on the machine between two steps empties
# the page cache under the test, so the caller tries up to three times; a
# missing notification fails every attempt.
page_cache_attempt() {
	local m=$1 w=$2 v="version$(($3 + 1))" old got want
	old=$(cat "$m/data")
	[ "$(ctl "$m" "$w set_data $v")" == ok ] || { echo "set_data refused"; return; }
	got=$(cat "$m/data")
	[ "$got" == "$old" ] || { echo "not cached before inval_inode: '$got'"; return; }
	got=$(ctl "$m" "$w inval_inode 2 0 0")
	[ "$got" == ok ] || { echo "inval_inode: $got"; return; }
	got=$(cat "$m/data")
	[ "$got" == "$v" ] || { echo "after inval_inode: '$got', not the server's '$v'"; return; }
	got=$(ctl "$m" "$w store 2 0 STORED")
	[ "$got" == ok ] || { echo "store: $got"; return; }
	want="STORED${v:6}"
	got=$(cat "$m/data")
	[ "$got" == "$want" ] || { echo "after store: '$got', not '$want'"; return; }
	# retrieve: the page cache's bytes, not the server's, reach the callback.
	local before
	before=$(state "$m" retrieves)
	got=$(ctl "$m" "$w retrieve 2 0 100")
	[ "$got" == ok ] || { echo "retrieve: $got"; return; }
	wait_state "$m" retrieves $((before + 1)) || { echo "no NOTIFY_REPLY reached the callback"; return; }
	got=$(state "$m" retrieved)
	[ "$got" == "$want." ] || { echo "retrieved '$got', not '$want.'"; return; }
	echo ok
}

for transport in uring legacy; do
	for where in here thread; do
		p="$transport/$where"
		m=$(t_mkdir "$transport-$where")
		log="$T_DIR/notifyfs-$transport-$where.log"
		if ! t_start_server "$log" "$m" "$NOTIFYFS" "$m" "transport=$transport" "queue_depth=16"; then
			t_not_ok "$p/mount" "notifyfs did not mount: $(cat "$log"); status: $("$FURI" status "$m" 2>&1 | head -2)"
			continue
		fi
		want=$([ "$transport" == uring ] && echo io_uring || echo dev_fuse)
		assert_eq "$p/transport" "$want" "$(furi_transport "$m")"

		# inval_inode, store, retrieve on data's page cache.
		r=""
		for attempt in 1 2 3; do
			r=$(page_cache_attempt "$m" "$where" "$attempt")
			[ "$r" == ok ] && break
			t_log "$p: page cache attempt $attempt: $r"
		done
		assert_eq "$p/inval-inode-store-retrieve" ok "$r"

		# The kernel's refusal is the errno: it caches no inode 99.
		assert_eq "$p/inval-inode-uncached" ENOENT "$(ctl "$m" "$where inval_inode 99 0 0")"
		assert_eq "$p/store-uncached" ENOENT "$(ctl "$m" "$where store 99 0 x")"
		assert_eq "$p/retrieve-uncached" ENOENT "$(ctl "$m" "$where retrieve 99 0 1")"

		# inval_entry, expire_entry, inc_epoch: each makes the next stat look
		# up again. An open file keeps the name in the dcache meanwhile, even
		# through a drop_caches by something else on the machine.
		exec {pin}<"$m/victim"
		stat "$m/victim" >/dev/null
		assert_eq "$p/entry-cached" 1 "$(state "$m" lookups_victim)"
		assert_eq "$p/inval-entry" ok "$(ctl "$m" "$where inval_entry 1 victim")"
		stat "$m/victim" >/dev/null
		assert_eq "$p/inval-entry-looked-up-again" 2 "$(state "$m" lookups_victim)"
		assert_eq "$p/expire-entry" ok "$(ctl "$m" "$where expire_entry 1 victim")"
		stat "$m/victim" >/dev/null
		assert_eq "$p/expire-entry-looked-up-again" 3 "$(state "$m" lookups_victim)"
		assert_eq "$p/inc-epoch" ok "$(ctl "$m" "$where inc_epoch")"
		stat "$m/victim" >/dev/null
		assert_eq "$p/inc-epoch-looked-up-again" 4 "$(state "$m" lookups_victim)"
		exec {pin}<&-

		# delete: the cached name goes, and a file open on it has no links left.
		exec {vfd}<"$m/victim"
		assert_eq "$p/open-file-linked" 1 "$(stat -L -c %h "/proc/$$/fd/$vfd")"
		ctl "$m" "$where hide victim" >/dev/null
		assert_cmd "$p/hidden-name-still-cached" test -e "$m/victim"
		assert_eq "$p/delete" ok "$(ctl "$m" "$where delete 1 5 victim")"
		assert_fails "$p/delete-removed-cached-name" test -e "$m/victim"
		assert_eq "$p/delete-open-file-unlinked" 0 "$(stat -L -c %h "/proc/$$/fd/$vfd")"
		exec {vfd}<&-

		# prune: the kernel drops the unused name and forgets the inode.
		stat "$m/victim2" >/dev/null
		assert_eq "$p/victim2-looked-up" 1 "$(state "$m" nlookup_6)"
		assert_eq "$p/prune" ok "$(ctl "$m" "$where prune 6")"
		if wait_state "$m" nlookup_6 0; then t_ok "$p/prune-forgot-inode"
		else t_not_ok "$p/prune-forgot-inode" "no FORGET of inode 6 within 20 s"; fi

		# poll wake-up: a client asleep in poll(2), then one in epoll_wait(2)
		# (each gives up after 20 s and prints "timeout").
		for how in poll epoll; do
			ctl "$m" "$where unready" >/dev/null
			out="$T_DIR/$transport-$where-$how.out"
			"$PROBE" "$how" "$m/pollme" >"$out" 2>&1 &
			cpid=$!
			if wait_state "$m" poll_waiting 1; then
				assert_eq "$p/$how-wake" ok "$(ctl "$m" "$where poll")"
				wait "$cpid"
				assert_eq "$p/$how-woken" ready "$(cat "$out")"
			else
				t_not_ok "$p/$how-woken" "the kernel never asked for a wake-up"
				kill "$cpid" 2>/dev/null
				wait "$cpid"
			fi
		done

		# resend: the kernel hands a READ still held by the server to it again
		# (only requests given out on /dev/fuse; the ring's stay where they are).
		cat "$m/hold" >/dev/null &
		cpid=$!
		if wait_state "$m" hold_reads 1; then
			assert_eq "$p/resend" ok "$(ctl "$m" "$where resend")"
			if [ "$transport" == legacy ]; then
				if wait_state "$m" hold_reads 2; then t_ok "$p/resend-sent-read-again"
				else t_not_ok "$p/resend-sent-read-again" "hold_reads $(state "$m" hold_reads)"; fi
			fi
			ctl "$m" "here release" >/dev/null
			wait "$cpid"
			assert_eq "$p/held-read-answered" 0 "$?"
		else
			t_not_ok "$p/resend" "the READ of hold never came"
			kill "$cpid" 2>/dev/null
			wait "$cpid"
		fi

		if [ "$where" == here ]; then
			# ioctl round trip: data in and out; an unknown command is ENOTTY.
			assert_eq "$p/ioctl" "7 42
ENOTTY" "$("$PROBE" ioctl "$m/pollme")"
		fi
		if [ "$transport" == uring ]; then
			assert_ge "$p/retrieve-reply-on-ring" 1 "$(furi_ops_count "$m" io_uring NOTIFY_REPLY)"
			assert_eq "$p/no-data-on-dev-fuse" 0 "$(furi_ops_count "$m" dev_fuse READ)"
		fi
		assert_eq "$p/nothing-malformed" 0 "$(furi_chan_sum "$m" any malformed)"

		furi_umount "$m" || t_not_ok "$p/umount" "mount or server still there: $(tail -3 "$log"); threads: $(ps -L -o stat=,wchan:24=,comm= -p "$T_SERVER_PID" | tr '\n' ' ')"
		t_wait_pid_exit "$T_SERVER_PID" 10
		wait "$T_SERVER_PID"
		assert_eq "$p/server-exit-status" 0 "$?"
	done
done

# passthrough: statx birth time, the file attribute ioctls, syncfs.
src=$(t_mkdir pt-src)
for transport in uring legacy; do
	p="passthrough/$transport"
	m=$(t_mkdir "pt-$transport")
	echo data >"$src/f-$transport"
	mkdir "$src/d-$transport"
	if ! furi_mount passthrough "$src" "$m" -o "transport=$transport"; then
		t_not_ok "$p/mount" "furi mount passthrough failed"
		continue
	fi
	f=f-$transport d=d-$transport
	btime=$("$PROBE" btime "$src/$f")
	assert_ne "$p/source-has-btime" none "$btime"
	assert_eq "$p/statx-btime-of-source" "$btime" "$("$PROBE" btime "$m/$f")"
	assert_ge "$p/statx-request" 1 "$(furi_ops_count "$m" any STATX)"

	# chattr and lsattr (FS_IOC_SETFLAGS/GETFLAGS) and FS_IOC_FSGETXATTR reach the source.
	assert_cmd "$p/chattr-append" chattr +a "$m/$f"
	assert_eq "$p/append-on-source" 0x10 "$("$PROBE" xflags "$src/$f")"
	assert_eq "$p/fsgetxattr-through-mount" 0x10 "$("$PROBE" xflags "$m/$f")"
	assert_eq "$p/lsattr-through-mount" "$(lsattr "$src/$f" | cut -d' ' -f1)" \
		"$(lsattr "$m/$f" | cut -d' ' -f1)"
	assert_fails "$p/append-only-enforced" sh -c "echo x >'$m/$f'"
	assert_cmd "$p/chattr-clear" chattr -a "$m/$f"
	assert_eq "$p/cleared-on-source" 0x0 "$("$PROBE" xflags "$src/$f")"
	assert_cmd "$p/chattr-dir" chattr +A "$m/$d"
	assert_contains "$p/dir-flag-on-source" "$(lsattr -d "$src/$d" | cut -d' ' -f1)" A
	assert_eq "$p/other-ioctl-refused" "ENOTTY
ENOTTY" "$("$PROBE" ioctl "$m/$f")"

	# syncfs(2): the 6.18 kernel sends FUSE_SYNCFS only to virtiofs and fuseblk.
	assert_cmd "$p/syncfs" sync -f "$m/$f"
	if [ "$(furi_ops_count "$m" any SYNCFS)" -eq 0 ]; then
		t_skip "$p/syncfs-reaches-source" "this kernel sends no FUSE_SYNCFS to a fuse mount"
	else
		t_ok "$p/syncfs-reaches-source"
	fi
	assert_eq "$p/nothing-malformed" 0 "$(furi_chan_sum "$m" any malformed)"
	furi_umount "$m" || t_not_ok "$p/umount" "mount or server still there"
done
t_done
