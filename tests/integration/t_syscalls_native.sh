#!/usr/bin/env bash
# t_syscalls_native.sh - runs the syscall suite on kernel filesystems, the
# reference behaviour every furi filesystem is measured against. A failure
# here is a bug in the suite, not in furi. Each fs runs with the features it
# really has: tmpfs has no FALLOC_FL_ZERO_RANGE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x "$SYSCALLS" ] || t_skip_all "no syscalls binary at $SYSCALLS"

# The filesystem of /tmp, if it is one whose behaviour is known.
case "$(stat -f -c %T "$T_DIR")" in
ext2/ext3) run_syscalls native-ext4 "$(t_mkdir ext4)" ;;
xfs) run_syscalls native-xfs "$(t_mkdir xfs)" ;;
tmpfs) run_syscalls native-tmpfs-tmp "$(t_mkdir tmp)" --features -zero_range ;;
*) t_skip native-tmp "/tmp is $(stat -f -c %T "$T_DIR"), not a reference filesystem" ;;
esac

if [ "$(id -u)" -eq 0 ]; then
	mnt=$(t_mkdir tmpfs)
	if t_mount_tmpfs "$mnt" size=2g; then
		run_syscalls native-tmpfs "$mnt" --features -zero_range
	else
		t_not_ok native-tmpfs "mount -t tmpfs failed"
	fi
else
	t_skip native-tmpfs "needs root to mount a tmpfs"
fi
t_done
