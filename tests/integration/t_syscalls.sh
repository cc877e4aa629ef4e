#!/usr/bin/env bash
# t_syscalls.sh - the POSIX syscall suite on every furi filesystem over both
# transports, each run followed by proof, from the server's counters, that
# the transport it claims carried the requests.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
[ -x "$SYSCALLS" ] || t_skip_all "no syscalls binary at $SYSCALLS"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"

# run_fs LABEL TRANSPORT FEATURES FS [ARGS...] -- [-o OPTS]
run_fs() {
	local label=$1 transport=$2 features=$3 m other
	shift 3
	m=$(t_mkdir "$label")
	# allow_other: the permission tests run as other users.
	if ! furi_mount "$@" "$m" -o "transport=$transport,allow_other"; then
		t_not_ok "$label/mount" "furi mount $* failed"
		return
	fi
	run_syscalls "$label" "$m" --features "$features"
	if [ "$transport" == uring ]; then
		assert_eq "$label/transport" io_uring "$(furi_transport "$m")"
		assert_ge "$label/uring-requests" 1000 "$(furi_requests "$m" io_uring)"
		other=dev_fuse
	else
		assert_eq "$label/transport" dev_fuse "$(furi_transport "$m")"
		assert_eq "$label/no-uring-requests" 0 "$(furi_requests "$m" io_uring)"
		other=io_uring
	fi
	[ "$other" == dev_fuse ] &&
		assert_eq "$label/no-data-on-dev-fuse" 0 \
			"$(( $(furi_ops_count "$m" dev_fuse WRITE) + $(furi_ops_count "$m" dev_fuse READ) ))"
	assert_eq "$label/no-malformed" 0 "$(furi_chan_sum "$m" any malformed)"
	furi_umount "$m" || t_not_ok "$label/umount" "mount or server still there"
}

# memfs: everything but POSIX ACLs (it does not enable them).
run_fs memfs-uring uring -acl memfs
run_fs memfs-legacy legacy -acl memfs
# passthrough: every feature, ACLs included (the source, on the ext4 of /tmp
# under T_DIR, stores them and passthrough enables them).
run_fs passthrough-uring uring all passthrough "$(t_mkdir passthrough-uring-src)"
run_fs passthrough-legacy legacy all passthrough "$(t_mkdir passthrough-legacy-src)"
t_done
