#!/usr/bin/env bash
# t_passthrough.sh - furi's passthrough checked against its own source
# directory: a random workload (mirror_ops: creates, writes at random
# offsets, appends, truncates, renames, links, unlinks, xattrs, mmap writes,
# hole punching, copy_file_range) by several threads at once, in buffered,
# O_DIRECT, mmap and mixed modes, after which the mount and the source agree
# with the workload's model byte for byte, in names, sizes, modes, link
# counts and inode numbers. Over io_uring (with proof from the counters that
# the ring carried the data), /dev/fuse, the writeback cache and kernel
# passthrough, and with reads that bypass the source's page cache
# (source_direct_reads). Then what only a passthrough has: the caller's credentials on
# the source (as a non-root user, supplementary groups, setgid directories),
# inodes that stay right across forgets, the open file limit (mass unlinks
# and removed cwds included), the I/O class of the queue threads' disk
# requests, and the messages for a bad SOURCE_DIR.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
: "${MIRROR_OPS:=$T_ROOT/build/tests/integration/mirror_ops}"
[ -x "$MIRROR_OPS" ] || t_skip_all "no mirror_ops binary at $MIRROR_OPS"
[ -x "$SYSCALLS" ] || t_skip_all "no syscalls binary at $SYSCALLS"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"

OPS=1500
[ "${FURI_STRESS:-0}" == 1 ] && OPS=20000
SEED=${PT_SEED:-$RANDOM}
t_log "mirror_ops seed $SEED (PT_SEED=$SEED reproduces), $OPS operations per thread"

# mount_pt LABEL OPTS: a fresh source directory and mount under T_DIR; sets SRC and MNT.
mount_pt() {
	SRC=$(t_mkdir "$1-src") MNT=$(t_mkdir "$1")
	furi_mount passthrough "$SRC" "$MNT" -o "allow_other,$2"
}

# workload LABEL: mirror_ops in every mode, each in its own directory.
workload() {
	local label=$1 mode out
	for mode in buffered direct mmap mixed; do
		mkdir "$MNT/$mode" || { t_not_ok "$label/$mode" "mkdir failed"; continue; }
		out=$(timeout 600 "$MIRROR_OPS" -t 4 -n "$OPS" -s "$SEED" -m "$mode" \
			"$MNT/$mode" "$SRC/$mode" 2>&1)
		assert_contains "$label/mirror-$mode" "$out" "mirror_ops: OK" || t_log "$out"
	done
}

# tree_listing DIR: relative name, type, inode, links, mode, size of every entry.
tree_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %i %n %m %s\n' | sort)
}

# same_tree LABEL: the mount and the source list the same and hold the same bytes.
same_tree() {
	assert_eq "$1/same-listing" "$(tree_listing "$SRC")" "$(tree_listing "$MNT")"
	assert_cmd "$1/same-bytes" diff -r --no-dereference "$SRC" "$MNT"
}

data_ops() { echo $(( $(furi_ops_count "$MNT" "$1" READ) + $(furi_ops_count "$MNT" "$1" WRITE) )); }

# --- io_uring: data on the ring, nothing on /dev/fuse ----------------------
if mount_pt uring transport=uring; then
	workload uring
	same_tree uring
	assert_eq uring/transport io_uring "$(furi_transport "$MNT")"
	assert_ge uring/ring-writes 1000 "$(furi_ops_count "$MNT" io_uring WRITE)"
	assert_ge uring/ring-reads 100 "$(furi_ops_count "$MNT" io_uring READ)"
	assert_ge uring/ring-bytes-in $((4 << 20)) "$(furi_chan_sum "$MNT" io_uring bytes_in)"
	assert_eq uring/no-data-on-dev-fuse 0 "$(data_ops dev_fuse)"
	assert_eq uring/no-malformed 0 "$(furi_chan_sum "$MNT" any malformed)"
	assert_eq uring/nothing-in-flight 0 "$(furi_chan_sum "$MNT" any in_flight)"
	# The server itself does no blocking data call: reads, writes, fsync and
	# fallocate all went to the ring (io_uring_enter) as SQEs.
	if command -v strace >/dev/null; then
		pid=$(furi_json_get "$MNT" pid)
		# -y names each call's file: the queue threads' scheduling guard
		# reads its own /proc/thread-self/schedstat, which is no data call.
		timeout 10 strace -f -qq -y -o "$T_DIR/strace.txt" \
			-e trace=pread64,pwrite64,preadv,pwritev,fsync,fdatasync,fallocate,io_uring_enter \
			-p "$pid" & st=$!
		sleep 1
		dd if=/dev/urandom of="$MNT/traced" bs=64k count=64 conv=fsync status=none
		dd if="$MNT/traced" of=/dev/null bs=4k iflag=direct status=none
		fallocate -l 8M "$MNT/traced2"
		sleep 0.5
		kill -INT "$st" 2>/dev/null
		wait "$st" 2>/dev/null
		sync_calls=$(grep -E '(^|[] ])(pread64|pwrite64|preadv|pwritev|fsync|fdatasync|fallocate)\(' "$T_DIR/strace.txt" |
			grep -vc 'schedstat>')
		assert_eq uring/no-blocking-data-syscalls 0 "$sync_calls"
		assert_contains uring/ring-enter-seen "$(cat "$T_DIR/strace.txt")" io_uring_enter
	else
		t_skip uring/no-blocking-data-syscalls "no strace"
	fi
	furi_umount "$MNT" || t_not_ok uring/umount "mount or server still there"
else
	t_not_ok uring/mount "furi mount passthrough failed"
fi

# --- /dev/fuse -------------------------------------------------------------
if mount_pt legacy transport=legacy; then
	workload legacy
	same_tree legacy
	assert_eq legacy/transport dev_fuse "$(furi_transport "$MNT")"
	assert_eq legacy/default-threads 16 "$(furi_json_get "$MNT" legacy_threads)"
	assert_ge legacy/dev-fuse-writes 1000 "$(furi_ops_count "$MNT" dev_fuse WRITE)"
	furi_umount "$MNT" || t_not_ok legacy/umount "mount or server still there"
else
	t_not_ok legacy/mount "furi mount passthrough failed"
fi

# --- the writeback cache: write-only opens, appends --------------------------
# The kernel reads through write-only handles to fill partial pages and
# places appends itself: mirror_ops opens O_WRONLY and O_APPEND on purpose.
for transport in uring legacy; do
	if mount_pt "wb-$transport" "transport=$transport,writeback_cache"; then
		workload "wb-$transport"
		same_tree "wb-$transport"
		furi_umount "$MNT" || t_not_ok "wb-$transport/umount" "mount or server still there"
	else
		t_not_ok "wb-$transport/mount" "furi mount passthrough -o writeback_cache failed"
	fi
done

# --- source_direct_reads: reads bypass the source's page cache --------------
# source_cached_after_read: bytes of an 8 MiB source file in the source's
# page cache after a cold buffered read of it through the mount.
source_cached_after_read() {
	dd if=/dev/urandom of="$SRC/cold" bs=1M count=8 status=none
	sync "$SRC/cold"
	dd if="$SRC/cold" iflag=nocache count=0 status=none	# drop its cached pages
	cat "$MNT/cold" >/dev/null
	fincore -b -n -o RES "$SRC/cold" | tr -d ' '
}

if ! command -v fincore >/dev/null; then
	t_skip source-direct-reads "no fincore (util-linux)"
else
	# The measurement discriminates: a default mount fills the source's cache.
	if mount_pt sdr-off transport=uring; then
		assert_ge sdr-off/source-cached $((8 << 20)) "$(source_cached_after_read)"
		furi_umount "$MNT" || t_not_ok sdr-off/umount "mount or server still there"
	else
		t_not_ok sdr-off/mount "furi mount passthrough failed"
	fi
	for transport in uring legacy; do
		l=sdr-$transport
		if mount_pt "$l" "transport=$transport,source_direct_reads"; then
			workload "$l"
			same_tree "$l"
			assert_eq "$l/source-not-cached" 0 "$(source_cached_after_read)"
			# Bytes still dirty in the source's cache reach an O_DIRECT read.
			dd if=/dev/urandom of="$SRC/cold" bs=4k count=300 seek=7 conv=notrunc status=none
			assert_cmd "$l/reads-dirty-source" cmp "$SRC/cold" "$MNT/cold"
			furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
		else
			t_not_ok "$l/mount" "furi mount passthrough -o source_direct_reads failed"
		fi
	done
fi
# A source without O_DIRECT (ramfs): reads fall back to the buffered descriptor,
# and each open asks the source once, not once per read.
ram=$(t_mkdir sdr-ramfs-src)
if mount -t ramfs ramfs "$ram"; then
	SRC=$ram MNT=$(t_mkdir sdr-ramfs)
	head -c 1000000 /dev/urandom >"$SRC/f"
	if furi_mount passthrough "$SRC" "$MNT" -o source_direct_reads; then
		assert_cmd sdr-ramfs/reads-fall-back cmp "$SRC/f" "$MNT/f"
		if command -v strace >/dev/null; then
			pid=$(furi_json_get "$MNT" pid)
			timeout 10 strace -f -qq -e trace=openat -o "$T_DIR/sdr-ramfs.strace" -p "$pid" & st=$!
			sleep 1
			cat "$MNT/f" >/dev/null	# 1 MB: several READs through one open
			sleep 0.3
			kill -INT "$st" 2>/dev/null
			wait "$st" 2>/dev/null
			assert_eq sdr-ramfs/asked-once-per-open 1 "$(grep -c 'O_DIRECT.*EINVAL' "$T_DIR/sdr-ramfs.strace")"
		else
			t_skip sdr-ramfs/asked-once-per-open "no strace"
		fi
		furi_umount "$MNT" || t_not_ok sdr-ramfs/umount "mount or server still there"
	else
		t_not_ok sdr-ramfs/mount "furi mount passthrough of a ramfs failed"
	fi
	umount "$ram"
else
	t_skip sdr-ramfs "cannot mount a ramfs"
fi

# --- kernel passthrough: the kernel moves the data itself --------------------
if mount_pt kpt kernel_passthrough; then
	workload kpt
	same_tree kpt
	assert_eq kpt/no-data-requests 0 "$(data_ops any)"
	# HANDLE_KILLPRIV_V2 spares a GETXATTR(security.capability) per write.
	before=$(furi_ops_count "$MNT" any GETXATTR)
	dd if=/dev/zero of="$MNT/dio" bs=4k count=200 oflag=direct status=none
	assert_le kpt/no-getxattr-per-write 10 $(( $(furi_ops_count "$MNT" any GETXATTR) - before ))
	# A write by a user without CAP_FSETID still clears setuid.
	install -m 04777 /dev/null "$SRC/suid"
	(cd "$MNT" && setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		sh -c 'echo x >> suid') 2>/dev/null
	assert_eq kpt/write-clears-suid 777 "$(stat -c %a "$SRC/suid")"
	furi_umount "$MNT" || t_not_ok kpt/umount "mount or server still there"
else
	t_not_ok kpt/mount "furi mount passthrough -o kernel_passthrough failed"
fi

# --- the caller's credentials ------------------------------------------------
# as_nobody CMD...: run in the mount as uid/gid 65534 (GROUPS_OPT: setpriv's group option).
as_nobody() {
	(cd "$MNT" && setpriv --reuid=65534 --regid=65534 ${GROUPS_OPT:---clear-groups} -- "$@")
}

for transport in uring legacy; do
	label=creds-$transport
	mount_pt "$label" "transport=$transport" || { t_not_ok "$label/mount" "mount failed"; continue; }
	mkdir "$SRC/home" && chown 65534:65534 "$SRC/home"
	# The syscall suite run by a non-root user: every call as that user.
	pushd "$MNT/home" >/dev/null
	SYSCALLS=/usr/bin/setpriv run_syscalls "$label-nonroot" . \
		--reuid=65534 --regid=65534 --clear-groups -- "$SYSCALLS" --features all
	popd >/dev/null
	as_nobody touch home/mine
	assert_eq "$label/owner-is-caller" "65534:65534" "$(stat -c %u:%g "$SRC/home/mine")"
	assert_fails "$label/root-dir-refused" as_nobody touch made-by-nobody
	assert_eq "$label/nothing-made" "" "$(ls "$SRC" | grep made-by-nobody)"
	# A group directory: only supplementary group 65533 opens it, and the
	# setgid bit gives its group to what is created inside.
	mkdir -m 2770 "$SRC/grp" && chgrp 65533 "$SRC/grp"
	assert_fails "$label/group-dir-without-group" as_nobody touch grp/f
	GROUPS_OPT=--groups=65533 as_nobody touch grp/f
	assert_eq "$label/group-dir-with-supp-group" "65534:65533" "$(stat -c %u:%g "$SRC/grp/f" 2>&1)"
	GROUPS_OPT=--groups=65533 as_nobody mkdir grp/sub
	assert_eq "$label/setgid-dir-inherited" 65533 \
		"$(find "$SRC/grp/sub" -maxdepth 0 -perm -2000 -printf %G 2>&1)"
	# umask comes from the caller.
	(cd "$MNT" && umask 077 && setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		touch home/private)
	assert_eq "$label/caller-umask" 600 "$(stat -c %a "$SRC/home/private")"
	furi_umount "$MNT" || t_not_ok "$label/umount" "mount or server still there"
done

# --- the permission tests on the other data paths ---------------------------
for opts in kernel_passthrough writeback_cache; do
	label=perms-$opts
	mount_pt "$label" "$opts" || { t_not_ok "$label/mount" "mount failed"; continue; }
	run_syscalls "$label" "$MNT" -o 'perms*,*suid*,sticky*,setgid*,*acl*,chown*,truncate*'
	furi_umount "$MNT" || t_not_ok "$label/umount" "mount or server still there"
done

# --- inodes across forgets ----------------------------------------------------
if mount_pt forget transport=uring; then
	mkdir "$MNT/d" && echo data >"$MNT/f" && ln "$MNT/f" "$MNT/g" && mv "$MNT/g" "$MNT/d/h"
	ino=$(stat -c %i "$SRC/f")
	forgets=$(( $(furi_ops_count "$MNT" any FORGET) + $(furi_ops_count "$MNT" any BATCH_FORGET) ))
	# Dentries and inodes only: the kernel forgets them, then looks them up again.
	echo 2 >/proc/sys/vm/drop_caches
	assert_ge forget/forgets-sent $((forgets + 1)) \
		$(( $(furi_ops_count "$MNT" any FORGET) + $(furi_ops_count "$MNT" any BATCH_FORGET) ))
	assert_eq forget/links-same-inode "$ino 2 $ino 2" "$(stat -c '%i %h' "$MNT/d/h" "$MNT/f" | xargs)"
	mv "$MNT/d/h" "$MNT/h2" && rm "$MNT/f"
	echo 2 >/proc/sys/vm/drop_caches
	assert_eq forget/after-rename-unlink "$ino 1 data" "$(stat -c '%i %h' "$MNT/h2") $(cat "$MNT/h2")"
	same_tree forget
	# Every descriptor the kernel no longer needs is closed.
	pid=$(furi_json_get "$MNT" pid)
	assert_le forget/fds-released 40 "$(ls /proc/"$pid"/fd | wc -l)"
	# The open file limit is raised to the hard limit (to fs.nr_open when allowed).
	assert_eq forget/fd-limit-raised "$(awk '/Max open files/ {print $5}' /proc/"$pid"/limits)" \
		"$(awk '/Max open files/ {print $4}' /proc/"$pid"/limits)"
	assert_ge forget/fd-limit-at-least-ours "$(ulimit -Hn)" \
		"$(awk '/Max open files/ {print $4}' /proc/"$pid"/limits)"
	furi_umount "$MNT" || t_not_ok forget/umount "mount or server still there"
else
	t_not_ok forget/mount "furi mount passthrough failed"
fi

# --- more cached inodes than descriptors ---------------------------------------
# Every cached inode holds a descriptor until 3/4 of the limit; past that,
# nodes keep a file handle. 3000 files under a limit of 1024, then the
# workload and the syscall suite (but its 600 files open at once).
SRC=$(t_mkdir fdlimit-src) MNT=$(t_mkdir fdlimit)
if prlimit --nofile=1024:1024 "$FURI" mount passthrough "$SRC" "$MNT" -o allow_other >/dev/null 2>&1; then
	t_track_mount "$MNT"
	mkdir "$MNT/many" && for i in $(seq 1 3000); do echo "$i" >"$MNT/many/f$i" || break; done
	assert_eq fdlimit/all-created 3000 "$(ls "$SRC/many" | wc -l)"
	assert_eq fdlimit/all-readable "$(seq 1 3000 | md5sum)" "$(for i in $(seq 1 3000); do cat "$MNT/many/f$i"; done | md5sum)"
	pid=$(furi_json_get "$MNT" pid)
	assert_le fdlimit/under-limit 1000 "$(ls /proc/"$pid"/fd | wc -l)"
	workload fdlimit
	run_syscalls fdlimit "$MNT" -x many_open_files
	same_tree fdlimit
	# Removing one name of a file that keeps another needs no descriptor: the
	# handle stays good. Pinned anyway, 300 such files past the budget would
	# hold 300 descriptors, more than this limit leaves.
	mkdir "$MNT/links" && for i in $(seq 1 300); do
		: >"$MNT/links/f$i" && ln "$MNT/links/f$i" "$MNT/links/l$i" || break
	done
	before=$(ls /proc/"$pid"/fd | wc -l)
	failed=0
	for i in $(seq 1 300); do rm "$MNT/links/f$i" 2>/dev/null || failed=$((failed + 1)); done
	assert_eq fdlimit/unlink-one-of-two-names 0 "$failed"
	assert_le fdlimit/unlink-one-of-two-names-no-descriptor $((before + 16)) "$(ls /proc/"$pid"/fd | wc -l)"
	assert_eq fdlimit/other-names-left 300 "$(ls "$MNT/links" | wc -l)"
	# A removed directory that is a process's cwd keeps a descriptor (the
	# kernel still knows it), but pins stop at 7/8 of the limit: 300 such
	# directories must leave the server descriptors for its calls.
	mkdir "$MNT/dirs" && for i in $(seq 1 300); do mkdir "$MNT/dirs/d$i" || break; done
	cwd_pids=()
	for i in $(seq 1 300); do
		(cd "$MNT/dirs/d$i" && exec sleep 300) &
		cwd_pids+=($!) && t_track_pid $!
	done
	for _ in $(seq 1 100); do	# every one in its directory before the rmdirs
		n=0
		for p in "${cwd_pids[@]}"; do
			[[ "$(readlink /proc/"$p"/cwd 2>/dev/null)" == */dirs/d* ]] && n=$((n + 1))
		done
		[ "$n" -eq 300 ] && break
		sleep 0.1
	done
	assert_eq fdlimit/cwds-held 300 "$n"
	failed=0
	for i in $(seq 1 300); do rmdir "$MNT/dirs/d$i" 2>/dev/null || failed=$((failed + 1)); done
	assert_eq fdlimit/rmdir-cwds 0 "$failed"
	assert_le fdlimit/pins-leave-room 960 "$(ls /proc/"$pid"/fd | wc -l)"
	assert_cmd fdlimit/calls-after-pins touch "$MNT/dirs/after"
	assert_eq fdlimit/list-after-pins after "$(ls "$MNT/dirs")"
	kill "${cwd_pids[@]}" 2>/dev/null
	wait "${cwd_pids[@]}" 2>/dev/null
	furi_umount "$MNT" || t_not_ok fdlimit/umount "mount or server still there"
else
	t_not_ok fdlimit/mount "furi mount passthrough under a 1024 file limit failed"
fi

# --- backend I/O priority: a SCHED_IDLE queue thread's I/O is not idle-class --
# A thread with no I/O priority of its own submits block I/O at the class its
# CPU policy implies, and SCHED_IDLE implies idle-class I/O, which the disk's
# scheduler serves only when nothing else waits. The queue threads keep the
# best-effort class; the class of each request is read from the block layer's
# trace (block_rq_insert prints it), while the thread is SCHED_IDLE.
trace_events=/sys/kernel/tracing/events/block/block_rq_insert
if ! grep -q ioprio "$trace_events/format" 2>/dev/null || [ ! -d /sys/kernel/tracing/instances ]; then
	t_skip io-priority "no tracefs with an ioprio field in block_rq_insert"
elif mount_pt ioprio "transport=uring,sched_idle=always"; then
	dd if=/dev/urandom of="$SRC/f" bs=1M count=4 status=none && sync
	trace=/sys/kernel/tracing/instances/furi-t-$$
	mkdir "$trace" && t_on_exit "rmdir '$trace' 2>/dev/null"
	echo 1 >"$trace/events/block/block_rq_insert/enable"
	dd if="$MNT/f" of=/dev/null bs=4k count=256 iflag=direct status=none
	echo 0 >"$trace/events/block/block_rq_insert/enable"
	# "be,0,4 [furi-uring1]": class, level, hint and the inserting thread
	classes=$(grep -o '[a-z]*,[0-9]*,[0-9]* \[furi-uring[0-9]*\]' "$trace/trace" | cut -d, -f1 | sort | uniq -c)
	rmdir "$trace"
	pid=$(furi_json_get "$MNT" pid)
	assert_eq io-priority/threads-sched-idle "$(furi_json_get "$MNT" threads)" \
		"$(grep -l '^policy *: *5$' /proc/"$pid"/task/*/sched 2>/dev/null | wc -l)"
	if [ -z "$classes" ]; then
		t_skip io-priority/class "no block request from a queue thread (is $SRC on a block device?)"
	else
		t_log "block requests by class: $(echo $classes)"
		assert_contains io-priority/best-effort "$classes" " be"
		assert_not_contains io-priority/no-idle-class "$classes" " idle"
	fi
	furi_umount "$MNT" || t_not_ok io-priority/umount "mount or server still there"
else
	t_not_ok io-priority/mount "furi mount passthrough failed"
fi

# --- a bad SOURCE_DIR: one line with the fix --------------------------------
m=$(t_mkdir bad-mnt)
out=$("$FURI" mount passthrough "$T_DIR/missing" "$m" 2>&1)
assert_eq bad/missing-exit 1 $?
assert_contains bad/missing-message "$out" "does not exist (fix:"
touch "$T_DIR/afile"
out=$("$FURI" mount passthrough "$T_DIR/afile" "$m" 2>&1)
assert_eq bad/file-exit 1 $?
assert_contains bad/file-message "$out" "is not a directory (fix:"
mkdir -p "$T_DIR/outer/inner"
out=$("$FURI" mount passthrough "$T_DIR/outer" "$T_DIR/outer/inner" 2>&1)
assert_eq bad/inside-exit 1 $?
assert_contains bad/inside-message "$out" "is inside SOURCE_DIR"
# Unreadable: a directory a user may reach but not read (its parent is ours).
pub=$(mktemp -d /tmp/furi-pt-perm-XXXXXX) && chmod 755 "$pub" && t_on_exit "rm -rf '$pub'"
mkdir -m 700 "$pub/private" "$pub/mnt"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$FURI" mount passthrough "$pub/private" "$pub/mnt" 2>&1)
assert_eq bad/unreadable-exit 1 $?
assert_contains bad/unreadable-message "$out" "cannot read SOURCE_DIR"
assert_eq bad/nothing-mounted "" "$(t_mount_fstype "$m")$(t_mount_fstype "$pub/mnt")"
t_done
