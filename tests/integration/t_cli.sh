#!/usr/bin/env bash
# t_cli.sh - the furi command on bad input: every failure is ONE line on
# stderr (nothing on stdout) naming the cause and the fix, with exit status
# 1 (failure) or 2 (usage); help is on stdout with status 0; nothing hangs
# (every command runs under a timeout); after each failed mount nothing is
# mounted and no process is left whose command line names the mountpoint.
# Also: mounting twice, on a dead mount, without /dev/fuse, relative and
# symlinked mountpoints, furi status on what is not a furi mount, and the
# mount(8) helper mount.fuse.furi (directly, and through mount(8) itself in
# a private mount namespace where /sbin shows the helper: /sbin is never
# touched).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
[ -x "$FURI" ] || t_skip_all "no furi binary at $FURI (build first)"
HELPER=${MOUNT_HELPER:-$(dirname "$FURI")/mount.fuse.furi}

# ---------------------------------------------------------------------------
# Helpers

# mount_fails NAME STATUS CAUSE FIX MNT [WORD] -- CMD...: assert_fails_with,
# then assert_left_clean on MNT (processes naming WORD, default MNT).
mount_fails() {
	local name=$1 status=$2 cause=$3 fix=$4 m=$5 word=$5
	shift 5
	if [ "$1" != "--" ]; then word=$1; shift; fi
	shift
	assert_fails_with "$name" "$status" "$cause" "$fix" "$@"
	assert_left_clean "$name" "$m" "$word"
}

# helps NAME MUST_CONTAIN... -- CMD...: exit 0, text on stdout containing
# every MUST_CONTAIN, nothing on stderr.
helps() {
	local name=$1 want=() w missing=""
	shift
	while [ "$1" != "--" ]; do want+=("$1"); shift; done
	shift
	t_run "$@"
	assert_eq "$name/exit-status" 0 "$RC"
	if [ -z "$ERR" ] && [ -n "$OUT" ]; then
		t_ok "$name/stdout-only"
	else
		t_not_ok "$name/stdout-only" "stdout ${#OUT} bytes, stderr: ${ERR:0:300}"
	fi
	for w in "${want[@]}"; do
		[[ "$OUT" == *"$w"* ]] || missing+="'$w' "
	done
	if [ -z "$missing" ]; then
		t_ok "$name/content"
	else
		t_not_ok "$name/content" "missing $missing"
	fi
}

server_pid() { "$FURI" status "$1" --json 2>/dev/null | jq -r '.pid // empty'; }

# ---------------------------------------------------------------------------
# Help, version, usage errors

helps help "Usage: furi COMMAND" "mount FS" "status MOUNTPOINT" "Exit status" -- "$FURI" --help
helps help-h "Usage: furi COMMAND" -- "$FURI" -h
helps help-cmd "Usage: furi COMMAND" "Filesystems:" -- "$FURI" help
t_run "$FURI" --version
assert_eq version/exit-status 0 "$RC"
if [[ "$OUT" =~ ^furi\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && [ -z "$ERR" ]; then
	t_ok version/one-line
else
	t_not_ok version/one-line "stdout '$OUT', stderr '$ERR'"
fi
helps help-mount "Usage: furi mount FS" "-o transport=auto|uring|legacy" "-o queue_depth=N" \
	"fusermount3" "mount -t fuse.furi" "source=" "Examples:" "Exit status" -- "$FURI" help mount
helps mount--help "Usage: furi mount FS" -- "$FURI" mount --help
helps help-status "Usage: furi status MOUNTPOINT" "--json" "Exit status" -- "$FURI" help status
helps status--help "Usage: furi status MOUNTPOINT" -- "$FURI" status --help

# Every filesystem `furi help` lists has its own page, and `furi help mount` names it.
fslist=$("$FURI" help | sed -n '/^Filesystems:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
[ -n "$fslist" ] && t_ok help/lists-filesystems || t_not_ok help/lists-filesystems "no 'Filesystems:' section"
mounthelp=$("$FURI" help mount)
for fs in $fslist; do
	helps "help-$fs" "Usage: furi mount $fs" -- "$FURI" help "$fs"
	assert_contains "help-mount/names-$fs" "$mounthelp" "furi mount $fs "
done

assert_fails_with noargs 2 "no command given" "see: furi help" "$FURI"
assert_fails_with unknown-command 2 "unknown command 'frobnicate'" "see: furi help" "$FURI" frobnicate
assert_fails_with help-unknown 2 "no help for 'frobnicate'" "memfs" "$FURI" help frobnicate
assert_fails_with mount-nofs 2 "no filesystem given" "see: furi help mount" "$FURI" mount
assert_fails_with mount-unknown-fs 2 "unknown filesystem 'frobfs'" "one of: memfs" "$FURI" mount frobfs "$T_DIR"
d=$(t_mkdir argcount)
assert_fails_with mount-no-mountpoint 2 "no mountpoint given for memfs" "expected furi mount memfs MOUNTPOINT" \
	"$FURI" mount memfs
assert_fails_with mount-too-many 2 "too many arguments for memfs" "see: furi help memfs" "$FURI" mount memfs "$d" "$d"
assert_fails_with mount-too-few 2 "too few arguments for passthrough" "furi mount passthrough SOURCE_DIR MOUNTPOINT" \
	"$FURI" mount passthrough "$d"
assert_fails_with mount-bad-flag 2 "unknown option '-x'" "see: furi help mount" "$FURI" mount memfs "$d" -x
assert_fails_with mount-bad-longflag 2 "unknown option '--frob'" "see: furi help mount" "$FURI" mount memfs "$d" --frob
assert_fails_with mount-o-novalue 2 "option '-o' needs a value" "see: furi help mount" "$FURI" mount memfs "$d" -o
mount_fails mount-unknown-opt 2 "unknown mount option 'bogus'" "see: furi help mount" "$d" -- \
	"$FURI" mount memfs "$d" -o bogus
mount_fails mount-queue-depth-0 2 "bad value for -o queue_depth: '0'" "expected a number from 1" "$d" -- \
	"$FURI" mount memfs "$d" -o queue_depth=0
mount_fails mount-max-write-abc 2 "bad value for -o max_write: 'abc'" "expected a number from 4096" "$d" -- \
	"$FURI" mount memfs "$d" -o max_write=abc
mount_fails mount-transport-foo 2 "bad value for -o transport: 'foo'" "expected auto, uring or legacy" "$d" -- \
	"$FURI" mount memfs "$d" -o transport=foo
mount_fails mount-flag-with-value 2 "-o allow_other takes no value" "see: furi help mount" "$d" -- \
	"$FURI" mount memfs "$d" -o allow_other=1
mount_fails mount-memfs-opt 2 "bad value for -o size: 'lots'" "see: furi help memfs" "$d" -- \
	"$FURI" mount memfs "$d" -o size=lots
assert_fails_with mount-empty-mountpoint 2 "the mountpoint is an empty string" "see: furi help memfs" \
	"$FURI" mount memfs ""
long="$T_DIR/$(printf 'x%.0s' $(seq 1 1100))"
assert_fails_with mount-long-mountpoint 2 "the mountpoint path is too long" "see: furi help mount" \
	"$FURI" mount memfs "$long"
assert_fails_with status-empty 2 "the mountpoint is an empty string" "see: furi help status" "$FURI" status ""
assert_fails_with status-long 2 "the mountpoint path is too long" "see: furi help status" "$FURI" status "$long"
mount_fails mount-fsname-space 1 "-o fsname=a b: commas, spaces and backslashes are not allowed" \
	"fix: a fsname without them" "$d" -- "$FURI" mount memfs "$d" -o "fsname=a b"
assert_fails_with status-noargs 2 "expected: furi status MOUNTPOINT" "see: furi help status" "$FURI" status
assert_fails_with status-bad-flag 2 "unknown option '-x'" "see: furi help status" "$FURI" status -x "$d"
assert_fails_with bench-bad-flag 2 "unknown option '--frob'" "see: furi help bench" "$FURI" bench --frob

# ---------------------------------------------------------------------------
# Mountpoints that cannot be used

m="$T_DIR/does-not-exist"
mount_fails missing-mountpoint 1 "mountpoint $m does not exist" "mkdir -p $m" "$m" -- \
	"$FURI" mount memfs "$m"
mount_fails missing-mountpoint-fg 1 "mountpoint $m does not exist" "mkdir -p $m" "$m" -- \
	"$FURI" mount memfs "$m" -f

f="$T_DIR/regular-file"
echo content >"$f"
mount_fails file-mountpoint 1 "mountpoint $f is a regular file; memfs needs a directory" \
	"mkdir a directory" "$f" -- "$FURI" mount memfs "$f"
assert_eq file-mountpoint/file-intact content "$(cat "$f")"

fifo="$T_DIR/fifo"
mkfifo "$fifo"
mount_fails fifo-mountpoint 1 "mountpoint $fifo is not a directory" "give an existing directory" "$fifo" -- \
	"$FURI" mount memfs "$fifo"
sock="$T_DIR/sock"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock" 2>/dev/null
if [ -S "$sock" ]; then
	mount_fails socket-mountpoint 1 "mountpoint $sock is not a directory" "give an existing directory" "$sock" -- \
		"$FURI" mount memfs "$sock"
else
	t_skip socket-mountpoint "cannot create a socket (python3 missing?)"
fi

# /dev/fuse missing: FURI_DEV_FUSE makes the library open another path.
m=$(t_mkdir nodev)
mount_fails no-dev-fuse 1 "/nonexistent/fuse is missing" "modprobe fuse" "$m" -- \
	env FURI_DEV_FUSE=/nonexistent/fuse "$FURI" mount memfs "$m"
mount_fails no-dev-fuse-fg 1 "/nonexistent/fuse is missing" "modprobe fuse" "$m" -- \
	env FURI_DEV_FUSE=/nonexistent/fuse "$FURI" mount memfs "$m" -f

# Mounting twice: the second fails, the first stays and works.
m=$(t_mkdir busy)
if furi_mount memfs "$m" -o transport=legacy; then
	pid=$(server_pid "$m")
	echo first >"$m/file"
	assert_fails_with busy 1 "$m is already a mountpoint (fuse.memfs)" "umount $m, or use another directory" \
		"$FURI" mount memfs "$m"
	assert_eq busy/first-still-mounted fuse.memfs "$(t_mount_fstype "$m")"
	assert_eq busy/one-mount 1 "$(awk -v m="$m" '$5 == m' /proc/self/mountinfo | wc -l)"
	assert_eq busy/first-still-serves first "$(cat "$m/file" 2>&1)"
	echo second >"$m/file2" && assert_eq busy/first-still-writes second "$(cat "$m/file2")"
	assert_eq busy/same-server "$pid" "$(server_pid "$m")"
	assert_eq busy/only-the-first-server "$pid" "$(t_procs_naming "$m" | tr '\n' ' ' | xargs)"
	furi_umount "$m"
	if t_pid_alive "$pid"; then t_not_ok busy/server-exits-at-umount "pid $pid still running"; else t_ok busy/server-exits-at-umount; fi
else
	t_not_ok busy/mount "first mount failed: $FURI_MOUNT_LINE"
fi

# A tmpfs: mounting on it fails; furi status says it is not FUSE.
m=$(t_mkdir tmpfs)
if t_mount_tmpfs "$m" size=1m; then
	assert_fails_with on-tmpfs 1 "$m is already a mountpoint (tmpfs)" "umount $m" "$FURI" mount memfs "$m"
	assert_eq on-tmpfs/no-server-left "" "$(t_procs_naming "$m")"
	assert_eq on-tmpfs/tmpfs-still-there tmpfs "$(t_mount_fstype "$m")"
	assert_fails_with status-tmpfs 1 "$m is a tmpfs mount, not a furi (FUSE) mount" "findmnt -t fuse" "$FURI" status "$m"
	t_umount "$m"
else
	t_not_ok on-tmpfs/setup "cannot mount a tmpfs on $m"
fi

# A dead FUSE mount (server SIGKILLed): mount and status both say so.
m=$(t_mkdir dead)
if furi_mount memfs "$m" -o transport=legacy; then
	pid=$(server_pid "$m")
	kill -KILL "$pid"
	t_wait_pid_exit "$pid" 10 || t_not_ok dead/server-killed "pid $pid survived SIGKILL"
	assert_fails_with dead-mount 1 "$m is a FUSE mount whose server has died" "umount $m" "$FURI" mount memfs "$m"
	assert_eq dead-mount/no-server-left "" "$(t_procs_naming "$m")"
	assert_fails_with status-dead 1 "is gone and the mount is dead" "umount $m" "$FURI" status "$m"
	assert_fails_with status-dead-json 1 "is gone and the mount is dead" "umount $m" "$FURI" status "$m" --json
	assert_eq dead/one-mount 1 "$(awk -v m="$m" '$5 == m' /proc/self/mountinfo | wc -l)"
	umount "$m" && t_untrack_mount "$m"
	assert_eq dead/umount-works "" "$(t_mount_fstype "$m")"
else
	t_not_ok dead/mount "mount failed: $FURI_MOUNT_LINE"
fi

# A hung server (SIGSTOPped): mounting on it again, directly or through a
# symlink, fails at once instead of waiting in stat() for an answer that never
# comes; furi status still answers (it sends no request).
m=$(t_mkdir hung)
ln -s hung "$T_DIR/hung-link"
if furi_mount memfs "$m" -o transport=legacy; then
	pid=$(server_pid "$m")
	kill -STOP "$pid"
	t_on_exit "kill -CONT $pid 2>/dev/null"
	sleep 1.5	# past the 1 s attribute timeout: any stat() now needs the server
	assert_fails_with hung 1 "$m is already a mountpoint (fuse.memfs)" "umount $m" "$FURI" mount memfs "$m"
	assert_fails_with hung-fg 1 "$m is already a mountpoint (fuse.memfs)" "umount $m" "$FURI" mount memfs "$m" -f
	assert_fails_with hung-link 1 "$m is already a mountpoint (fuse.memfs)" "umount $m" \
		"$FURI" mount memfs "$T_DIR/hung-link"
	assert_fails_with hung-helper 1 "$m is already a mountpoint (fuse.memfs)" "umount $m" \
		"$HELPER" memfs "$m" -o rw
	t_run "$FURI" status "$m" --json
	assert_eq hung/status-answers "0 $pid" "$RC $(jq -r .pid <<<"$OUT" 2>/dev/null)"
	t_run "$FURI" status "$T_DIR/hung-link"
	assert_eq hung/status-through-link 0 "$RC"
	kill -CONT "$pid"
	echo alive >"$m/f" && assert_eq hung/serves-after-SIGCONT alive "$(cat "$m/f")"
	furi_umount "$m"
else
	t_not_ok hung/mount "mount failed: $FURI_MOUNT_LINE"
fi

# The daemon dies before it reports (a shim makes openlog(), which only the
# forked server calls, raise SIGSEGV): the waiting parent says how it died
# and how to see more.
m=$(t_mkdir crash)
shim="$T_DIR/crash-shim.so"
if printf '#include <signal.h>\nvoid openlog(const char *i, int o, int f) { (void)i; (void)o; (void)f; raise(SIGSEGV); }\n' |
	cc -shared -fPIC -x c -o "$shim" - 2>/dev/null; then
	mount_fails daemon-crash 1 "the server exited during startup without a message (killed by signal 11" \
		"run the same furi mount with -f" "$m" -- env LD_PRELOAD="$shim" "$FURI" mount memfs "$m"
	# Later: after mount(2), at the first thread (during INIT). The dead
	# mount it leaves is taken down by the parent.
	printf '#include <pthread.h>\n#include <signal.h>\nint pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *x) { (void)t; (void)a; (void)f; (void)x; raise(SIGSEGV); return -1; }\n' |
		cc -shared -fPIC -x c -o "$shim" - 2>/dev/null
	mount_fails daemon-crash-mounted 1 "(killed by signal 11, Segmentation fault); its dead mount was taken down" \
		"run the same furi mount with -f" "$m" -- env LD_PRELOAD="$shim" "$FURI" mount memfs "$m"
else
	t_skip daemon-crash "no C compiler for the LD_PRELOAD shim"
fi

# A failure after the mount (io_uring required, a REGISTER refused): the
# mount is taken down again and the server exits.
if furi_uring_enabled; then
	m=$(t_mkdir uring-required)
	mount_fails uring-required 1 "io_uring was required (-o transport=uring) but" \
		"FUSE_IO_URING_CMD_REGISTER failed" "$m" -- \
		env FURI_FAULT=register:0 "$FURI" mount memfs "$m" -o transport=uring,queue_depth=4
	mount_fails uring-required-fg 1 "io_uring was required (-o transport=uring) but" \
		"FUSE_IO_URING_CMD_REGISTER failed" "$m" -- \
		env FURI_FAULT=register:0 "$FURI" mount memfs "$m" -f -o transport=uring,queue_depth=4
else
	t_skip uring-required "enable_uring is N"
fi

# ---------------------------------------------------------------------------
# Relative and symlinked mountpoints

mkdir -p "$T_DIR/rel-mnt"
cd "$T_DIR" || exit 1
furi_mount memfs rel-mnt -o transport=legacy
rc=$?
cd - >/dev/null || exit 1
if [ $rc -eq 0 ]; then
	assert_contains relative/line-absolute "$FURI_MOUNT_LINE" "memfs on $T_DIR/rel-mnt:"
	assert_eq relative/mounted-absolute fuse.memfs "$(t_mount_fstype "$T_DIR/rel-mnt")"
	t_run bash -c "cd '$T_DIR' && '$FURI' status rel-mnt --json"
	assert_eq relative/status-exit 0 "$RC"
	assert_eq relative/status-absolute "$T_DIR/rel-mnt" "$(jq -r .mountpoint <<<"$OUT" 2>/dev/null)"
	t_run bash -c "cd '$T_DIR/rel-mnt' && '$FURI' status . && '$FURI' status ../rel-mnt/"
	assert_eq relative/status-dot-forms 0 "$RC"
	assert_fails_with relative/busy 1 "$T_DIR/rel-mnt is already a mountpoint" "umount $T_DIR/rel-mnt" \
		bash -c "cd '$T_DIR' && exec '$FURI' mount memfs ./rel-mnt"
	furi_umount "$T_DIR/rel-mnt"
else
	t_not_ok relative/mount "furi mount memfs rel-mnt (relative) failed"
fi
mount_fails relative-missing 1 "mountpoint $T_DIR/rel-missing does not exist" "mkdir -p $T_DIR/rel-missing" \
	"$T_DIR/rel-missing" rel-missing -- bash -c "cd '$T_DIR' && exec '$FURI' mount memfs rel-missing"

mkdir -p "$T_DIR/real-dir"
ln -s real-dir "$T_DIR/link-dir"
if furi_mount memfs "$T_DIR/link-dir" -o transport=legacy; then
	t_untrack_mount "$T_DIR/link-dir"
	t_track_mount "$T_DIR/real-dir"
	assert_contains symlink/line-shows-real-path "$FURI_MOUNT_LINE" "on $T_DIR/real-dir:"
	assert_eq symlink/mounted-on-real-path fuse.memfs "$(t_mount_fstype "$T_DIR/real-dir")"
	pid=$(server_pid "$T_DIR/link-dir")
	assert_ne symlink/status-through-link "" "$pid"
	assert_eq symlink/status-through-real "$pid" "$(server_pid "$T_DIR/real-dir")"
	if [ -n "$pid" ]; then
		t_track_pid "$pid" 10
		# SIGTERM must unmount: the server once skipped it for a symlinked path.
		kill -TERM "$pid"
		if t_wait_pid_exit "$pid" 10; then t_ok symlink/sigterm-exits; else t_not_ok symlink/sigterm-exits "server still running 10 s after SIGTERM"; fi
		assert_eq symlink/sigterm-unmounts "" "$(t_mount_fstype "$T_DIR/real-dir")"
	fi
else
	t_not_ok symlink/mount "furi mount through a symlink failed: $FURI_MOUNT_LINE"
fi

# ---------------------------------------------------------------------------
# furi status on what is not a furi mount

# A FUSE mount without a status file (ours, with the file removed): the
# message must not tell the user to unmount a healthy mount of another server
# without saying when that is the fix.
m=$(t_mkdir nostatus)
if furi_mount memfs "$m" -o transport=legacy; then
	pid=$(server_pid "$m")
	majmin=$(awk -v m="$m" '$5 == m { split($3, d, ":"); print d[1] "-" d[2] }' /proc/self/mountinfo)
	rm -f "/run/furi/$majmin.status"
	assert_fails_with status-no-file 1 "$m is a FUSE mount (fuse.memfs, source memfs) without a furi status file" \
		"fix: for a dead mount, umount $m" "$FURI" status "$m"
	t_umount "$m"
	t_wait_pid_exit "$pid" 10 && t_ok status-no-file/server-exits || t_not_ok status-no-file/server-exits "pid $pid"
else
	t_not_ok status-no-file/mount "mount failed: $FURI_MOUNT_LINE"
fi

d=$(t_mkdir plain-dir)
assert_fails_with status-not-mountpoint 1 "$d is not a mountpoint" "findmnt -t fuse" "$FURI" status "$d"
assert_fails_with status-missing 1 "$T_DIR/nothing-here does not exist" "findmnt -t fuse" "$FURI" status "$T_DIR/nothing-here"
assert_fails_with status-relative-not-mountpoint 1 "$d is not a mountpoint" "findmnt -t fuse" \
	bash -c "cd '$T_DIR' && exec '$FURI' status plain-dir"

# ---------------------------------------------------------------------------
# mount(8)'s generic options: each accepted, each with its effect on the
# mount (per-mount flags and the superblock's, from mountinfo), on both
# transports.

# mount_opts MNT: "VFS-OPTS | SUPER-OPTS" of the mount on MNT, each ",a,b,".
mount_opts() {
	awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); print "," $6 ", | ," $(i + 3) "," }' \
		/proc/self/mountinfo
}

# opts_case LABEL OPTS WANT... : mount memfs with -o OPTS; each WANT is
# "+word" (in the mount's options) or "-word" (not there).
opts_case() {
	local label=$1 opts=$2 w got
	shift 2
	m=$(t_mkdir "opts-$label")
	if ! furi_mount memfs "$m" -o "$opts"; then
		t_not_ok "mount-opts/$label" "furi mount memfs -o $opts failed: $FURI_MOUNT_LINE"
		return
	fi
	got=$(mount_opts "$m")
	for w in "$@"; do
		case "$w" in
		+*) assert_contains "mount-opts/$label/${w#+}" "$got" ",${w#+}," ;;
		-*) assert_not_contains "mount-opts/$label/no-${w#-}" "$got" ",${w#-}," ;;
		esac
	done
	furi_umount "$m" || t_not_ok "mount-opts/$label/umount" "mount or server still there"
}

for tr in uring legacy; do
	opts_case "$tr-defaults" "transport=$tr" +nosuid +nodev +relatime +rw -noexec -sync
	opts_case "$tr-restrictive" "transport=$tr,nosuid,nodev,noexec,ro,sync,dirsync,noatime,lazytime,nosymfollow,silent,iversion,nomand" \
		+nosuid +nodev +noexec +ro +noatime +nosymfollow +sync +dirsync +lazytime -relatime
	opts_case "$tr-permissive" "transport=$tr,suid,dev,exec,rw,async,strictatime,nodiratime,loud,noiversion,nolazytime,symfollow,mand" \
		-nosuid -nodev -noexec +rw +nodiratime -relatime -noatime -sync -lazytime -nosymfollow
	opts_case "$tr-undone" "transport=$tr,noatime,atime,nodiratime,diratime,strictatime,nostrictatime,norelatime,ro,rw,noexec,exec,sync,async" \
		+relatime -noatime -nodiratime +rw -noexec -sync
done
m=$(t_mkdir opts-remount)
mount_fails furi-remount 2 "-o remount changes a mounted filesystem" "fix: mount -o remount,OPTS MOUNTPOINT" "$m" -- \
	"$FURI" mount memfs "$m" -o remount

# ---------------------------------------------------------------------------
# mount.fuse.furi, the mount(8) helper

if [ ! -x "$HELPER" ]; then
	t_skip helper "no mount.fuse.furi at $HELPER (build first)"
else
	m=$(t_mkdir helper)
	t_run "$HELPER" memfs "$m" -o rw,transport=legacy
	assert_eq helper/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		pid=$(server_pid "$m")
		[ -n "$pid" ] && t_track_pid "$pid" 10
		assert_eq helper/transport-option-passed dev_fuse "$("$FURI" status "$m" --json | jq -r .transport)"
		echo via-helper >"$m/f" && assert_eq helper/works via-helper "$(cat "$m/f")"
		furi_umount "$m"
	else
		t_not_ok helper/mounted "nothing mounted on $m: $ERR"
	fi

	# mount(8)'s own options are dropped; fs options and source= pass.
	t_run "$HELPER" memfs "$m" -n -v -o rw,nosuid,nodev,defaults,noauto,nofail,_netdev,x-systemd.automount,comment=x,size=64M
	assert_eq helper-mount8-opts/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		assert_eq helper-mount8-opts/size-passed 65536 "$(df -k --output=size "$m" | tail -1 | tr -d ' ')"
		furi_umount "$m"
	else
		t_not_ok helper-mount8-opts/mounted "nothing mounted: $ERR"
	fi

	src=$(t_mkdir hsrc)
	echo from-source >"$src/hello"
	t_run "$HELPER" passthrough "$m" -o "source=$src,transport=legacy"
	assert_eq helper-source/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		assert_eq helper-source/serves-source from-source "$(cat "$m/hello" 2>&1)"
		furi_umount "$m"
	else
		t_not_ok helper-source/mounted "nothing mounted: $ERR"
	fi

	mount_fails helper-bad-opt 2 "unknown mount option 'bogus'" "see: furi help mount" "$m" -- \
		"$HELPER" memfs "$m" -o bogus
	# mount(8)'s generic flags go through to the mount.
	t_run "$HELPER" memfs "$m" -o rw,noatime,noexec
	assert_eq helper-noatime/exit-status 0 "$RC"
	opts=$(awk -v m="$m" '$2 == m {print $4}' /proc/mounts)
	assert_contains helper-noatime/noatime ",$opts," ",noatime,"
	assert_contains helper-noatime/noexec ",$opts," ",noexec,"
	t_is_mounted "$m" && { t_track_mount "$m"; furi_umount "$m"; }
	# -o remount through the helper changes the generic flags of the mount in place.
	if t_run "$HELPER" memfs "$m" -o nosuid,nodev && t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		pid=$(server_pid "$m")
		echo before >"$m/f"
		t_run "$HELPER" memfs "$m" -o remount,ro,noatime,noexec
		assert_eq helper-remount/exit-status 0 "$RC"
		got=$(mount_opts "$m")
		for w in ro noatime noexec nosuid nodev; do
			assert_contains "helper-remount/$w" "$got" ",$w,"
		done
		assert_fails helper-remount/read-only sh -c "echo after >'$m/f'"
		assert_eq helper-remount/same-server "$pid" "$(server_pid "$m")"
		t_run "$HELPER" memfs "$m" -o remount,rw,relatime
		got=$(mount_opts "$m")
		assert_contains helper-remount/rw-again "$got" ",rw,"
		assert_contains helper-remount/relatime "$got" ",relatime,"
		assert_contains helper-remount/noexec-kept "$got" ",noexec,"
		assert_cmd helper-remount/writable sh -c "echo after >'$m/f'"
		assert_fails_with helper-remount-furi-opt 1 "-o size=1M cannot change by remount" "fix: umount $m" \
			"$HELPER" memfs "$m" -o remount,size=1M
		furi_umount "$m"
	else
		t_not_ok helper-remount/mounted "nothing mounted: $ERR"
	fi
	assert_fails_with helper-no-mountpoint 2 "no mountpoint given" "see: furi help mount" "$HELPER" memfs
	assert_fails_with helper-no-args 2 "no filesystem given" "see: furi help mount" "$HELPER"
	assert_fails_with helper-bad-flag 2 "unknown option '-q'" "see: furi help mount" "$HELPER" memfs "$m" -q
	mount_fails helper-namespace 1 "-N 1: mounting in another namespace is not supported" "nsenter" "$m" -- \
		"$HELPER" memfs "$m" -N 1
	mount_fails helper-missing-source 1 "SOURCE_DIR $T_DIR/no-such-src does not exist" "fix:" "$m" -- \
		"$HELPER" passthrough "$m" -o "source=$T_DIR/no-such-src"
	mount_fails helper-unknown-fs 2 "unknown filesystem 'frobfs'" "one of: memfs" "$m" -- "$HELPER" frobfs "$m"
	t_run "$HELPER" memfs "$m" -f -o rw
	assert_eq helper-fake/exit-status 0 "$RC"
	assert_eq helper-fake/nothing-mounted "" "$(t_mount_fstype "$m")"

	# Through mount(8): it looks for /sbin/mount.fuse.furi. In a private mount
	# namespace /sbin is covered by a directory holding the helper, so the
	# real /sbin is never changed; the mount lives and dies in that namespace.
	if command -v unshare >/dev/null && unshare -m --propagation private true 2>/dev/null; then
		sbin=$(t_mkdir sbin)
		ln -s "$HELPER" "$sbin/mount.fuse.furi"
		m=$(t_mkdir mount8)
		out=$(timeout -k 5 60 unshare -m --propagation private bash -c '
			sbin=$1 m=$2 furi=$3
			mount --bind "$sbin" /sbin || { echo "bind failed"; exit 1; }
			mount -t fuse.furi -o transport=legacy,size=32M memfs "$m" 2>&1 || { echo "mount rc=$?"; exit 1; }
			echo "fstype=$(findmnt -n -o FSTYPE "$m")"
			pid=$("$furi" status "$m" --json | jq -r .pid)
			echo through-mount8 >"$m/f" && echo "read=$(cat "$m/f")"
			umount "$m" || echo "umount failed"
			for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$pid" 2>/dev/null && { echo "server $pid still running"; kill -TERM "$pid"; }
			mount -t fuse.furi -o bogus memfs "$m" 2>&1; echo "bad rc=$?"
			echo "after=[$(findmnt -n -o FSTYPE "$m")]"
		' _ "$sbin" "$m" "$FURI" 2>&1)
		assert_contains mount8/mounts "$out" "fstype=fuse.memfs"
		assert_contains mount8/serves "$out" "read=through-mount8"
		assert_not_contains mount8/umount "$out" "umount failed"
		assert_not_contains mount8/server-exits "$out" "still running"
		assert_contains mount8/bad-option-message "$out" "furi: unknown mount option 'bogus' (see: furi help mount)"
		assert_contains mount8/bad-option-status "$out" "bad rc=2"
		assert_contains mount8/nothing-left "$out" "after=[]"
		assert_eq mount8/not-in-our-namespace "" "$(t_mount_fstype "$m")"
		assert_eq mount8/sbin-untouched "" "$(ls /sbin/mount.fuse.furi 2>/dev/null | grep -F "$sbin")"
	else
		t_skip mount8 "unshare -m is not available"
	fi
fi
t_done
