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
# touched), with an fstab of our own (mount -T) holding every filesystem:
# mount -a twice is harmless, no utab entry is left, /proc/mounts lines
# mount back, umount -a -t fuse.furi unmounts them. The mount identity
# (type fuse.furi, source FS or FS:SOURCE), findmnt -t fuse.furi, the list
# of every furi mount (furi status without an argument, which the hints
# name), and furi status's error split (answers, failures) by opcode and
# errno, thread placement labels and --watch (SIGINT included).
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

helps help "Usage: furi COMMAND" "mount FS" "status [MOUNTPOINT]" "Exit status" -- "$FURI" --help
helps help-h "Usage: furi COMMAND" -- "$FURI" -h
helps help-cmd "Usage: furi COMMAND" "Filesystems:" -- "$FURI" help
t_run "$FURI" --version
assert_eq version/exit-status 0 "$RC"
if [[ "$(head -1 <<<"$OUT")" =~ ^furi\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && [ -z "$ERR" ]; then
	t_ok version/first-line
else
	t_not_ok version/first-line "stdout '$OUT', stderr '$ERR'"
fi
helps help-mount "Usage: furi mount FS" "-o transport=auto|uring|legacy" "-o queue_depth=N" \
	"fusermount3" "mount -t fuse.furi" "source=" "Examples:" "Exit status" -- "$FURI" help mount
helps mount--help "Usage: furi mount FS" -- "$FURI" mount --help
helps help-status "Usage: furi status [MOUNTPOINT]" "--json" "--watch" "answer" "pin=auto" "Exit status" -- "$FURI" help status
helps status--help "Usage: furi status [MOUNTPOINT]" -- "$FURI" status --help

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
assert_fails_with status-two-args 2 "expected: furi status [MOUNTPOINT]" "see: furi help status" "$FURI" status /a /b
assert_fails_with status-bad-flag 2 "unknown option '-x'" "see: furi help status" "$FURI" status -x "$d"
assert_fails_with bench-bad-flag 2 "unknown option '--frob'" "see: furi help bench" "$FURI" bench --frob
assert_fails_with bench-replot-no-results 1 "cannot read $T_DIR/no-run/results.tsv" \
	"fix: give the --out DIR of a furi bench run" "$FURI" bench --replot "$T_DIR/no-run"
assert_fails_with bench-replot-and-suite 2 "--replot DIR takes no suite" "see: furi help bench" \
	"$FURI" bench --replot "$T_DIR" transport
assert_fails_with bench-bad-load 2 "--load: unknown load 'busy' (known: idle, nice19, nice0)" \
	"see: furi help bench" "$FURI" bench --load idle,busy
assert_fails_with bench-load-twice 2 "--load: 'nice19' is given twice" "see: furi help bench" \
	"$FURI" bench --load nice19,idle,nice19
assert_fails_with bench-no-libfuse-dir 2 "--libfuse-examples $T_DIR/no-libfuse: No such file or directory" \
	"give the directory of libfuse's built examples" "$FURI" bench --libfuse-examples "$T_DIR/no-libfuse"
mkdir -p "$T_DIR/empty-examples"
assert_fails_with bench-no-libfuse-example 1 "--libfuse-examples $T_DIR/empty-examples: no executable memfs_ll there" \
	"build libfuse's examples as docs/BENCHMARKS.md shows" "$FURI" bench --libfuse-examples "$T_DIR/empty-examples" --out "$T_DIR/no-report" transport

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
	assert_fails_with busy 1 "$m is already a mountpoint (fuse.furi)" "umount $m, or use another directory" \
		"$FURI" mount memfs "$m"
	assert_eq busy/first-still-mounted fuse.furi "$(t_mount_fstype "$m")"
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
	assert_fails_with status-tmpfs 1 "$m is a tmpfs mount, not a furi (FUSE) mount" "furi status with no argument lists furi mounts" "$FURI" status "$m"
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
	assert_fails_with hung 1 "$m is already a mountpoint (fuse.furi)" "umount $m" "$FURI" mount memfs "$m"
	assert_fails_with hung-fg 1 "$m is already a mountpoint (fuse.furi)" "umount $m" "$FURI" mount memfs "$m" -f
	assert_fails_with hung-link 1 "$m is already a mountpoint (fuse.furi)" "umount $m" \
		"$FURI" mount memfs "$T_DIR/hung-link"
	assert_fails_with hung-helper 1 "$m is already a mountpoint (fuse.furi)" "umount $m" \
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
# -d / -o debug: every request and its reply on stderr, as libfuse's -d
# (unique, opcode, nodeid, key arguments, the queue or /dev/fuse thread, then
# the result), in the foreground. Timeouts 0: each stat is a LOOKUP and a GETATTR.

# traced_replies LOG OPCODE NEEDLE: the reply lines of the OPCODE requests
# whose line contains NEEDLE (fixed string).
traced_replies() {
	local u
	for u in $(grep -E "^furi: unique: [0-9]+, opcode: $2 \(" "$1" | grep -F -- "$3" |
		sed -E 's/^furi: unique: ([0-9]+),.*/\1/'); do
		grep -m1 "^furi:    unique: $u, " "$1"
	done
}

# debug_case LABEL TRANSPORT WHERE FLAGS...: WHERE is what the request lines
# say about the channel ("on queue", "on dev_fuse").
debug_case() {
	local label=$1 t=$2 where=$3 m log pid unanswered
	shift 3
	m=$(t_mkdir "$label")
	log="$T_DIR/$label.log"
	if ! furi_mount_fg "$log" memfs "$m" "$@" \
		-o "transport=$t,queue_depth=4,entry_timeout=0,attr_timeout=0"; then
		t_not_ok "$label/mount" "$(tail -3 "$log")"
		return
	fi
	pid=$FURI_FG_PID
	echo traced >"$m/f"
	stat "$m/f" >/dev/null
	cat "$m/f" >/dev/null
	stat "$m/missing" >/dev/null 2>&1
	furi_umount "$m"
	if t_wait_pid_exit "$pid" 10; then t_ok "$label/exits-at-umount"; else t_not_ok "$label/exits-at-umount" "pid $pid"; fi
	assert_contains "$label/foreground-line" "$(cat "$log")" "furi: memfs on $m: "
	assert_contains "$label/write-request" "$(grep -E '^furi: unique: [0-9]+, opcode: WRITE \(16\), nodeid: 2,' "$log")" \
		"$where"
	assert_contains "$label/write-args" "$(grep -F 'opcode: WRITE (16)' "$log")" "offset 0, size 7"
	assert_contains "$label/write-reply" "$(traced_replies "$log" WRITE "size 7")" "success, outsize: 24, written: 7"
	assert_contains "$label/lookup-found" "$(traced_replies "$log" LOOKUP 'name "f"')" "success, outsize: 144, nodeid: 2"
	assert_contains "$label/lookup-missing" "$(traced_replies "$log" LOOKUP 'name "missing"')" \
		"error: -2 (No such file or directory), outsize: 16"
	assert_contains "$label/getattr" "$(traced_replies "$log" GETATTR "nodeid: 2,")" "success, outsize: 120"
	assert_contains "$label/read" "$(traced_replies "$log" READ "offset 0")" "success, outsize: 23"
	# Every request but FORGET has exactly one reply, and uniques are unique.
	unanswered=$(awk '
		/^furi: unique: [0-9]+, opcode: / { u = $3; sub(",", "", u); if ($5 !~ /FORGET/) { req[u]++ } }
		/^furi:    unique: [0-9]+, / { u = $3; sub(",", "", u); rep[u]++ }
		END { for (u in req) if (req[u] != 1 || rep[u] != 1) print u; for (u in rep) if (!(u in req)) print u }' "$log" | head -5 | xargs)
	assert_eq "$label/one-reply-per-request" "" "$unanswered"
	assert_ge "$label/requests-traced" 8 "$(grep -c '^furi: unique: [0-9]*, opcode: ' "$log")"
}

if furi_uring_enabled; then
	debug_case debug-uring uring "on queue" -d
else
	t_skip debug-uring "enable_uring is N"
fi
debug_case debug-legacy legacy "on dev_fuse (furi-fuse" -o debug

# ---------------------------------------------------------------------------
# libfuse's option names: aliases where the meaning is furi's too, one line
# naming furi's option (or why there is none) where it is not.

m=$(t_mkdir libfuse-names)
if furi_mount memfs "$m" -s -o transport=legacy,clone_fd,kernel_cache; then
	assert_eq libfuse-s/one-dev-fuse-thread 1 "$(furi_json_get "$m" legacy_threads)"
	furi_umount "$m"
else
	t_not_ok libfuse-s/mount "$FURI_MOUNT_LINE"
fi
if furi_mount memfs "$m" -o transport=legacy,max_threads=3; then
	assert_eq libfuse-max-threads/workers 3 "$(furi_json_get "$m" legacy_threads)"
	furi_umount "$m"
else
	t_not_ok libfuse-max-threads/mount "$FURI_MOUNT_LINE"
fi
if furi_uring_enabled; then
	if furi_mount memfs "$m" -s -o io_uring,io_uring_q_depth=8; then
		assert_eq libfuse-io_uring/transport io_uring "$(furi_json_get "$m" transport)"
		assert_eq libfuse-io_uring_q_depth/depth 8 "$(furi_json_get "$m" depth)"
		assert_eq libfuse-s/one-uring-thread 1 "$(furi_json_get "$m" threads)"
		furi_umount "$m"
	else
		t_not_ok libfuse-io_uring/mount "$FURI_MOUNT_LINE"
	fi
	# -o io_uring is -o transport=uring: io_uring or fail, never a silent fallback.
	mount_fails libfuse-io_uring-required 1 "io_uring was required (-o transport=uring) but" \
		"FUSE_IO_URING_CMD_REGISTER failed" "$m" -- \
		env FURI_FAULT=register:0 "$FURI" mount memfs "$m" -o io_uring,queue_depth=4
else
	t_skip libfuse-io_uring "enable_uring is N"
fi
src=$(t_mkdir libfuse-src)
if furi_mount passthrough "$src" "$m" -o kernel_cache,direct_io,transport=legacy; then
	t_ok libfuse-passthrough-kernel_cache-direct_io
	furi_umount "$m"
else
	t_not_ok libfuse-passthrough-kernel_cache-direct_io "$FURI_MOUNT_LINE"
fi
mount_fails libfuse-max_idle_threads 2 "-o max_idle_threads is libfuse's" "fix: -o threads=N" "$m" -- \
	"$FURI" mount memfs "$m" -o max_idle_threads=10
mount_fails libfuse-umask 2 "-o umask is libfuse's" "fix: leave it out and chmod the files" "$m" -- \
	"$FURI" mount memfs "$m" -o umask=022
mount_fails libfuse-allow_root 2 "-o allow_root is libfuse's" "fix: -o allow_other" "$m" -- \
	"$FURI" mount memfs "$m" -o allow_root
mount_fails libfuse-direct_io-memfs 2 "-o direct_io (libfuse's: no page cache for the files) is an option of passthrough; memfs has no such mode" \
	"fix: leave it out" "$m" -- "$FURI" mount memfs "$m" -o direct_io

# -V: furi's version, the protocol furi speaks, the kernel's (as its INIT
# said in the -d log above) and liburing's.
t_run "$FURI" -V
assert_eq version-V/exit-status 0 "$RC"
assert_eq version-V/first-line "furi $(sed -n 's/^#define FURI_VERSION_STRING "\(.*\)"/\1/p' "$T_ROOT/include/furi/furi.h")" \
	"$(head -1 <<<"$OUT")"
kernel_proto=$(sed -n 's/^furi: INIT: kernel \([0-9]*\.[0-9]*\),.*/\1/p' "$T_DIR/debug-legacy.log" | head -1)
assert_contains version-V/kernel-protocol "$OUT" "; this kernel: ${kernel_proto:-?}"
assert_contains version-V/furi-protocol "$OUT" "FUSE protocol: furi speaks 7.31 to 7.45"
assert_contains version-V/liburing "$OUT" "liburing $(pkg-config --modversion liburing 2>/dev/null || echo '?')"
t_run "$FURI" --version
assert_eq version-long/same-as-V "$(head -1 <<<"$OUT")" "$("$FURI" -V | head -1)"

# ---------------------------------------------------------------------------
# Warnings the background server logs at start reach furi mount's terminal
# (not only syslog), before the line saying which transport serves.

m=$(t_mkdir warn-clamp)
limit=$(cat /proc/sys/fs/fuse/max_pages_limit 2>/dev/null || echo 256)
if [ "$limit" -lt 4096 ]; then
	t_run "$FURI" mount memfs "$m" -o "max_write=$(( (limit + 1) * 4096 )),queue_depth=4"
	assert_eq warn-max-write-clamped/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		pid=$(server_pid "$m")
		[ -n "$pid" ] && t_track_pid "$pid" 10
		assert_contains warn-max-write-clamped/warning "$ERR" \
			"furi: max_write $(( (limit + 1) * 4096 )) is above the kernel's limit of $((limit * 4)) KiB"
		assert_contains warn-max-write-clamped/fix "$ERR" "fix: sysctl -w fs.fuse.max_pages_limit="
		assert_eq warn-max-write-clamped/then-the-mount-line "2 memfs on $m:" \
			"$ERR_LINES $(sed -n '2s/^furi: \(memfs on [^:]*:\).*/\1/p' <<<"$ERR")"
		assert_eq warn-max-write-clamped/applied $((limit * 4096)) "$(furi_json_get "$m" max_write)"
		furi_umount "$m"
	else
		t_not_ok warn-max-write-clamped/mounted "nothing mounted: ${ERR:0:300}"
	fi
else
	t_skip warn-max-write-clamped "fs.fuse.max_pages_limit ($limit) is above what -o max_write accepts"
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
	assert_eq relative/mounted-absolute fuse.furi "$(t_mount_fstype "$T_DIR/rel-mnt")"
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
	assert_eq symlink/mounted-on-real-path fuse.furi "$(t_mount_fstype "$T_DIR/real-dir")"
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
	assert_fails_with status-no-file 1 "$m is a FUSE mount (fuse.furi, source memfs) without a furi status file" \
		"fix: for a dead mount, umount $m" "$FURI" status "$m"
	t_umount "$m"
	t_wait_pid_exit "$pid" 10 && t_ok status-no-file/server-exits || t_not_ok status-no-file/server-exits "pid $pid"
else
	t_not_ok status-no-file/mount "mount failed: $FURI_MOUNT_LINE"
fi

# ---------------------------------------------------------------------------
# Mount identity: type fuse.furi and source FS or FS:SOURCE, as standard
# tools see them; furi status without an argument lists every furi mount
# (the hint furi's messages give), with fs, source, transport and pid.

id_m=$(t_mkdir id-memfs) id_p=$(t_mkdir id-pt) id_i=$(t_mkdir id-img) id_src=$(t_mkdir id-src)
truncate -s 4M "$T_DIR/id.raw"
if furi_mount memfs "$id_m" -o transport=legacy && furi_mount passthrough "$id_src" "$id_p" -o transport=legacy &&
	furi_mount image "$T_DIR/id.raw" "$id_i" -o transport=legacy; then
	in_mounts() { awk -v m="$1" '$2 == m {print $3, $1}' /proc/self/mounts; }
	assert_eq identity/memfs "fuse.furi memfs" "$(in_mounts "$id_m")"
	assert_eq identity/passthrough "fuse.furi passthrough:$id_src" "$(in_mounts "$id_p")"
	assert_eq identity/image "fuse.furi image:$T_DIR/id.raw" "$(in_mounts "$id_i")"
	assert_eq identity/findmnt-type "$(printf '%s\n' "$id_m" "$id_p" "$id_i" | sort)" \
		"$(findmnt -rn -t fuse.furi -o TARGET | grep -F "$T_DIR/id-" | sort)"
	t_run "$FURI" status
	assert_eq list/exit-status 0 "$RC"
	for m in "$id_m" "$id_p" "$id_i"; do
		row=$(awk -v m="$m" '$1 == m' <<<"$OUT")
		assert_contains "list/${m##*/}-pid" "$row" " $(server_pid "$m") "
		assert_contains "list/${m##*/}-transport" "$row" " dev_fuse "
	done
	assert_contains list/memfs-fs "$(awk -v m="$id_m" '$1 == m {print $2, $NF}' <<<"$OUT")" "memfs -"
	assert_contains list/passthrough-source "$(awk -v m="$id_p" '$1 == m {print $2, $NF}' <<<"$OUT")" "passthrough $id_src"
	assert_contains list/image-source "$(awk -v m="$id_i" '$1 == m {print $2, $NF}' <<<"$OUT")" "image $T_DIR/id.raw"
	t_run "$FURI" status --json
	assert_eq list-json/passthrough "passthrough $id_src dev_fuse $(server_pid "$id_p") running" \
		"$(jq -r --arg m "$id_p" '.mounts[] | select(.mountpoint == $m) | "\(.fs) \(.source) \(.transport) \(.pid) \(.state)"' <<<"$OUT" 2>&1)"
	assert_eq list-json/source-of-memfs "" "$(jq -r --arg m "$id_m" '.mounts[] | select(.mountpoint == $m) | .source' <<<"$OUT" 2>&1)"
	# A dead server's mount is listed as dead, with the same facts.
	pid=$(server_pid "$id_m")
	kill -KILL "$pid" && t_wait_pid_exit "$pid" 10
	t_run "$FURI" status --json
	assert_eq list-json/dead "memfs $pid dead" \
		"$(jq -r --arg m "$id_m" '.mounts[] | select(.mountpoint == $m) | "\(.fs) \(.pid) \(.state)"' <<<"$OUT" 2>&1)"
	assert_eq list/exit-status-with-dead 0 "$RC"
	for m in "$id_m" "$id_p" "$id_i"; do furi_umount "$m"; done
	assert_eq list/gone-after-umount "" "$("$FURI" status | grep -F "$T_DIR/id-")"
else
	t_not_ok identity/mount "mount failed: $FURI_MOUNT_LINE"
fi

# ---------------------------------------------------------------------------
# furi status: error replies by opcode and errno, answers apart from
# failures; threads labelled with their queues, home CPUs and placement;
# --watch rates, ending on SIGINT with the interval it cut short.

m=$(t_mkdir errs)
if furi_mount memfs "$m" -o transport=legacy,size=1M; then
	for i in 1 2 3; do stat "$m/missing$i" >/dev/null 2>&1; done
	getfattr -n user.nothing "$m" >/dev/null 2>&1
	dd if=/dev/zero of="$m/big" bs=64k count=32 status=none 2>/dev/null	# past size=1M: ENOSPC
	j=$(furi_status_json "$m")
	by() { jq -r --arg op "$1" --arg e "$2" '.errors.by[] | select(.opcode == $op and .errno == $e) | "\(.count >= '"$3"') \(.expected)"' <<<"$j" 2>&1; }
	assert_eq errors/lookup-enoent-answer "true true" "$(by LOOKUP ENOENT 3)"
	assert_eq errors/getxattr-enodata-answer "true true" "$(by GETXATTR ENODATA 1)"
	assert_eq errors/write-enospc-failure "true false" "$(by WRITE ENOSPC 1)"
	assert_eq errors/split-adds-up "true" "$(jq '.errors.expected >= 4 and .errors.failed >= 1 and
		([.channels[] | .errors] | add) == .errors.expected + .errors.failed' <<<"$j" 2>&1)"
	t_run "$FURI" status "$m"
	assert_contains errors/human-columns "$OUT" " answers failures "
	assert_contains errors/human-answer "$OUT" "LOOKUP ENOENT"
	assert_contains errors/human-failure "$(grep 'WRITE ENOSPC' <<<"$OUT")" "failure"
	assert_contains errors/human-queue-cpu "$OUT" "for cpu"
	furi_umount "$m"
else
	t_not_ok errors/mount "mount failed: $FURI_MOUNT_LINE"
fi

if furi_uring_enabled; then
	m=$(t_mkdir pin-always)
	if furi_mount memfs "$m" -o "pin=always,queue_depth=4,max_write=64k"; then
		j=$(furi_status_json "$m")
		# Thread N serves queue N (CPU N's requests) and is pinned there: home.
		assert_eq placement/serves-own-queue "" "$(jq -r '.server_threads[] | select(.name | startswith("furi-uring")) |
			select(.serves != ("queue" + (.name | ltrimstr("furi-uring"))) or .home_cpus != (.name | ltrimstr("furi-uring"))) | .name' <<<"$j" 2>&1)"
		assert_eq placement/home "" "$(jq -r '.server_threads[] | select(.name | startswith("furi-uring")) |
			select(.placement != "home" or .cpus != .home_cpus) | "\(.name) \(.cpus) \(.placement)"' <<<"$j" 2>&1)"
		assert_eq placement/dev-fuse-workers "" "$(jq -r '.server_threads[] | select(.name | startswith("furi-fuse")) |
			select(.serves != "dev_fuse" or .placement != "unpinned") | .name' <<<"$j" 2>&1)"
		t_run "$FURI" status "$m"
		assert_contains placement/human-header "$OUT" "home cpus may run on placement"
		furi_umount "$m"
	else
		t_not_ok placement/mount "mount failed: $FURI_MOUNT_LINE"
	fi
else
	t_skip placement "enable_uring is N"
fi

m=$(t_mkdir watch)
if furi_mount memfs "$m" -o transport=legacy; then
	t_run "$FURI" status "$m" --watch=1 --count=2 --json
	assert_eq watch/exit-status 0 "$RC"
	assert_eq watch/two-reports "2 2" "$(jq -s 'length, ([.[] | select(.requests_per_s >= 0 and .interval_s > 0)] | length)' <<<"$OUT" 2>&1 | xargs)"
	t_run "$FURI" status "$m" --watch=1 --count=1
	assert_contains watch/human "$OUT" "requests/s by opcode:"
	"$FURI" status "$m" --watch=3600 --json >"$T_DIR/watch.out" 2>"$T_DIR/watch.err" &
	wpid=$!
	t_track_pid "$wpid"
	for i in $(seq 200); do grep -q "watching" "$T_DIR/watch.err" && break; sleep 0.05; done
	for i in $(seq 20); do : >"$m/w$i"; done
	kill -INT "$wpid"
	for i in $(seq 200); do t_pid_alive "$wpid" || break; sleep 0.05; done
	wait "$wpid"
	assert_eq watch/sigint-exit-status 0 "$?"
	assert_eq watch/sigint-reports-cut-interval "20 true" \
		"$(jq -r '"\(.ops.CREATE.count) \(.cut_short)"' "$T_DIR/watch.out" 2>&1)"
	assert_fails_with watch-count-alone 2 "--count needs --watch" "see: furi help status" "$FURI" status "$m" --count=2
	assert_fails_with watch-zero 2 "bad value for --watch: '0'" "see: furi help status" "$FURI" status "$m" --watch=0
	assert_fails_with watch-no-mount 2 "--watch needs a MOUNTPOINT" "see: furi help status" "$FURI" status --watch
	furi_umount "$m"
else
	t_not_ok watch/mount "mount failed: $FURI_MOUNT_LINE"
fi

d=$(t_mkdir plain-dir)
assert_fails_with status-not-mountpoint 1 "$d is not a mountpoint" "furi status with no argument lists furi mounts" "$FURI" status "$d"
assert_fails_with status-missing 1 "$T_DIR/nothing-here does not exist" "furi status with no argument lists furi mounts" "$FURI" status "$T_DIR/nothing-here"
assert_fails_with status-relative-not-mountpoint 1 "$d is not a mountpoint" "furi status with no argument lists furi mounts" \
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

	# The source as /proc/mounts shows it: FS:ARG, shown back as given.
	t_run "$HELPER" "passthrough:$src" "$m" -o transport=legacy
	assert_eq helper-colon-source/exit-status 0 "$RC"
	if t_is_fuse_mounted "$m"; then
		t_track_mount "$m"
		assert_eq helper-colon-source/serves-source from-source "$(cat "$m/hello" 2>&1)"
		assert_eq helper-colon-source/proc-mounts "fuse.furi passthrough:$src" \
			"$(awk -v m="$m" '$2 == m {print $3, $1}' /proc/self/mounts)"
		furi_umount "$m"
	else
		t_not_ok helper-colon-source/mounted "nothing mounted: $ERR"
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
		assert_contains mount8/mounts "$out" "fstype=fuse.furi"
		assert_contains mount8/serves "$out" "read=through-mount8"
		assert_not_contains mount8/umount "$out" "umount failed"
		assert_not_contains mount8/server-exits "$out" "still running"
		assert_contains mount8/bad-option-message "$out" "furi: unknown mount option 'bogus' (see: furi help mount)"
		assert_contains mount8/bad-option-status "$out" "bad rc=2"
		assert_contains mount8/nothing-left "$out" "after=[]"
		assert_eq mount8/not-in-our-namespace "" "$(t_mount_fstype "$m")"
		assert_eq mount8/sbin-untouched "" "$(ls /sbin/mount.fuse.furi 2>/dev/null | grep -F "$sbin")"

		# An fstab of our own (mount -T; /etc/fstab is never read) with
		# every filesystem and both source forms: mount -a twice is harmless,
		# no utab entry outlives its mount, the /proc/mounts lines written
		# back as fstab lines mount the same again, and umount -a -t
		# fuse.furi takes them all down. /run/mount (utab) is a tmpfs of the
		# namespace, so the machine's utab is never touched either.
		f_mem=$(t_mkdir fstab-memfs) f_pt=$(t_mkdir fstab-pt) f_img=$(t_mkdir fstab-img) f_null=$(t_mkdir fstab-null)
		fsrc=$(t_mkdir fstab-src)
		truncate -s 4M "$T_DIR/fstab.raw"
		f_opt=$(t_mkdir fstab-pt-opt)
		cat >"$T_DIR/fstab" <<FSTAB
memfs $f_mem fuse.furi transport=legacy,size=16M,nofail 0 0
passthrough:$fsrc $f_pt fuse.furi transport=legacy,threads=2,x-furi-test=1 0 0
image:$T_DIR/fstab.raw $f_img fuse.furi transport=legacy 0 0
nullfs $f_null fuse.furi defaults,transport=legacy 0 0
passthrough $f_opt fuse.furi source=$fsrc,transport=legacy,threads=2,x-furi-test=2 0 0
FSTAB
		out=$(timeout -k 5 120 unshare -m --propagation private bash -c '
			sbin=$1 fstab=$2 furi=$3
			shift 3
			mnts=("$@")
			trap '\''for m in "${mnts[@]}"; do umount -l "$m" 2>/dev/null; done'\'' EXIT
			mount --bind "$sbin" /sbin && mount -t tmpfs furi-test-utab /run/mount || { echo "setup failed"; exit 1; }
			pids() { for m in "${mnts[@]}"; do echo "pid $("$furi" status "$m" --json 2>/dev/null | jq -r .pid)"; done; }
			mounted() { for m in "${mnts[@]}"; do echo "$1 $m $(awk -v m="$m" "\$2 == m {print \$3, \$1}" /proc/self/mounts | tr "\n" " ")"; done; }
			unmount_each() {
				for m in "${mnts[@]}"; do
					p=$("$furi" status "$m" --json | jq -r .pid)
					umount "$m" || echo "umount $m failed"
					for i in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
				done
			}
			mount -T "$fstab" -a 2>&1; echo "first rc=$?"
			pids
			mount -T "$fstab" -a 2>&1; echo "second rc=$?"
			mounted after-second
			# All but the last (its source= form shows as "passthrough" alone).
			for m in "${mnts[@]:0:4}"; do awk -v m="$m" "\$2 == m { \$4 = \$4 \",transport=legacy\"; print }" /proc/self/mounts; done >"$fstab.back"
			unmount_each
			echo "utab after umount=[$(cat /run/mount/utab 2>/dev/null)]"
			mount -T "$fstab.back" -a 2>&1; echo "back rc=$?"
			pids
			mount -T "$fstab.back" -a 2>&1; echo "back-second rc=$?"
			mounted after-back
			others=$(findmnt -rn -t fuse.furi -o TARGET | grep -cvxF -f <(printf "%s\n" "${mnts[@]}"))
			if [ "$others" = 0 ]; then
				umount -a -t fuse.furi; echo "umount-a rc=$?"
				echo "left=[$(findmnt -rn -t fuse.furi -o TARGET)]"
			else
				echo "umount-a skipped: $others fuse.furi mounts of others in this namespace"
				unmount_each
			fi
		' _ "$sbin" "$T_DIR/fstab" "$FURI" "$f_mem" "$f_pt" "$f_img" "$f_null" "$f_opt" 2>&1)
		for pid in $(awk '$1 == "pid" && $2 ~ /^[0-9]+$/ {print $2}' <<<"$out"); do t_track_pid "$pid" 10; done
		assert_contains fstab/first "$out" "first rc=0"
		assert_contains fstab/second-harmless "$out" "second rc=0"
		assert_not_contains fstab/second-mounts-nothing "$out" "is already a mountpoint"
		for when in after-second after-back; do
			assert_contains "fstab/$when-memfs" "$out" "$when $f_mem fuse.furi memfs "$'\n'
			assert_contains "fstab/$when-passthrough" "$out" "$when $f_pt fuse.furi passthrough:$fsrc "$'\n'
			assert_contains "fstab/$when-image" "$out" "$when $f_img fuse.furi image:$T_DIR/fstab.raw "$'\n'
			assert_contains "fstab/$when-nullfs" "$out" "$when $f_null fuse.furi nullfs "$'\n'
		done
		assert_contains fstab/after-second-passthrough-source-option "$out" "after-second $f_opt fuse.furi passthrough "$'\n'
		assert_contains fstab/no-stale-utab "$out" "utab after umount=[]"
		assert_contains fstab/proc-mounts-lines-mount-back "$out" "back rc=0"
		assert_contains fstab/proc-mounts-lines-harmless-twice "$out" "back-second rc=0"
		if [[ "$out" == *"umount-a skipped"* ]]; then
			t_skip fstab/umount-a "other fuse.furi mounts were in the namespace"
		else
			assert_contains fstab/umount-a "$out" "umount-a rc=0"
			assert_contains fstab/umount-a-leaves-none "$out" "left=[]"
		fi
		assert_not_contains fstab/no-failure "$out" "failed"
		for m in "$f_mem" "$f_pt" "$f_img" "$f_null" "$f_opt"; do
			assert_eq "fstab/not-in-our-namespace-${m##*/}" "" "$(t_mount_fstype "$m")"
		done
	else
		t_skip mount8 "unshare -m is not available"
	fi
fi
t_done
