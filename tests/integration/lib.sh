# SPDX-License-Identifier: MIT
# tests/integration/lib.sh - helpers for integration test scripts (bash).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Sourcing creates T_DIR (mktemp -d /tmp/furi-XXXXXX, the prefix tests/run
# checks for leftover mounts) and installs an EXIT trap that undoes whatever
# the script mounted or started: mounts are unmounted (umount, then umount -l
# if still busy), processes are killed by the PID recorded when they were
# started, never by name. Mountpoints must be directories under T_DIR.
#
# A script prints one line per check, as tests/run counts them:
#   ok NAME | not ok NAME: why | skip NAME: why
# and ends with `t_done`, which prints a summary and exits 1 if any failed.
#
# Environment: FURI (furi binary), SYSCALLS (syscall test program); both
# default to the ones in build/ of this checkout. Sourcing sets -u and
# pipefail, not -e: a failed check must not stop the checks after it.

set -uo pipefail

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_ROOT=$(cd "$T_LIB_DIR/../.." && pwd)
: "${FURI:=$T_ROOT/build/tools/furi}"
: "${SYSCALLS:=$T_ROOT/build/tests/integration/syscalls}"
# Only the check counters of this script; run_syscalls adds its lines too.
T_PASSED=0 T_FAILED=0 T_SKIPPED=0
T_MOUNTS=()
T_PIDS=()
T_EXIT_HOOKS=()

# ---------------------------------------------------------------------------
# Results

t_ok() { echo "ok $1"; T_PASSED=$((T_PASSED + 1)); }
t_not_ok() { echo "not ok $1: $2"; T_FAILED=$((T_FAILED + 1)); }
t_skip() { echo "skip $1: $2"; T_SKIPPED=$((T_SKIPPED + 1)); }

# t_skip_all WHY: nothing in this script can run here; exit successfully.
t_skip_all() {
	t_skip "$(basename "$0" .sh)" "$1"
	exit 0
}

# t_done: summary line, exit status 1 if any check failed.
t_done() {
	echo "$(basename "$0" .sh): $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}

# t_log MSG...: a diagnostic line that tests/run does not count.
t_log() { echo "# $*"; }

# ---------------------------------------------------------------------------
# Assertions: each prints one result line and returns 0 (pass) or 1.

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [ "$2" == "$3" ]; then
		t_ok "$1"
	else
		t_not_ok "$1" "expected '$2', got '$3'"
		return 1
	fi
}

# assert_ne NAME UNEXPECTED ACTUAL
assert_ne() {
	if [ "$2" != "$3" ]; then
		t_ok "$1"
	else
		t_not_ok "$1" "got '$3', expected anything else"
		return 1
	fi
}

# assert_contains NAME HAYSTACK NEEDLE (fixed string)
assert_contains() {
	if [[ "$2" == *"$3"* ]]; then
		t_ok "$1"
	else
		t_not_ok "$1" "'$3' not found in '${2:0:300}'"
		return 1
	fi
}

# assert_not_contains NAME HAYSTACK NEEDLE
assert_not_contains() {
	if [[ "$2" != *"$3"* ]]; then
		t_ok "$1"
	else
		t_not_ok "$1" "'$3' unexpectedly found in '${2:0:300}'"
		return 1
	fi
}

# assert_ge NAME MIN ACTUAL (integers)
assert_ge() {
	if [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		t_ok "$1"
	else
		t_not_ok "$1" "expected >= $2, got '$3'"
		return 1
	fi
}

# assert_le NAME MAX ACTUAL (integers)
assert_le() {
	if [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$3" -le "$2" ]; then
		t_ok "$1"
	else
		t_not_ok "$1" "expected <= $2, got '$3'"
		return 1
	fi
}

# assert_cmd NAME CMD [ARGS...]: passes if the command exits 0.
assert_cmd() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		t_ok "$name"
	else
		t_not_ok "$name" "'$*' exited $rc: ${out:0:300}"
		return 1
	fi
}

# assert_fails NAME CMD [ARGS...]: passes if the command exits non-zero.
assert_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_not_ok "$name" "'$*' succeeded, expected failure: ${out:0:300}"
		return 1
	fi
	t_ok "$name"
}

# ---------------------------------------------------------------------------
# Temp dir, mounts, processes, cleanup

# tests/run gives every script a root (FURI_TEST_ROOT) so it can tell
# leftovers of this run from anything else on the machine.
T_DIR=$(mktemp -d "${FURI_TEST_ROOT:-/tmp}/furi-XXXXXX") ||
	{ echo "not ok lib.sh: mktemp failed"; exit 1; }

# t_mkdir NAME: a fresh directory under T_DIR; prints its path.
t_mkdir() {
	local d="$T_DIR/$1"
	mkdir -p "$d" && echo "$d"
}

# The mountpoint field of /proc/self/mountinfo escapes space, tab, \n, \.
t_mountinfo_unescape() { printf '%b' "$1"; }

# t_mount_fstype DIR: the fstype of the top mount on DIR, or nothing.
t_mount_fstype() {
	local dir fs mp type
	dir=$(realpath -m "$1")
	fs=""
	while read -r _ _ _ _ mp _ rest; do
		mp=$(t_mountinfo_unescape "$mp")
		if [ "$mp" == "$dir" ]; then
			# After the optional fields (maybe none) comes "- fstype source opts".
			type=" $rest"
			type=${type#* - }
			fs=${type%% *}
		fi
	done </proc/self/mountinfo
	echo "$fs"
}

# t_is_mounted DIR: something is mounted on DIR.
t_is_mounted() { [ -n "$(t_mount_fstype "$1")" ]; }

# t_is_fuse_mounted DIR: a FUSE filesystem is mounted on DIR.
t_is_fuse_mounted() { [[ "$(t_mount_fstype "$1")" == fuse* ]]; }

# Mounting outside T_DIR is refused: the suite must never shadow real paths.
t_check_mountpoint() {
	local dir
	dir=$(realpath -m "$1")
	case "$dir/" in
	"$T_DIR"/?*/) return 0 ;;
	esac
	echo "lib.sh: refusing to mount on $1: not under $T_DIR" >&2
	return 1
}

# t_track_mount DIR: unmount DIR at exit.
t_track_mount() { T_MOUNTS+=("$(realpath -m "$1")"); }

# t_track_pid PID [GRACE]: at exit, after unmounting, give PID GRACE seconds
# (default 0) to exit by itself, then SIGTERM, then SIGKILL. Only PIDs this
# script started belong here. The process's start time is kept with it: once
# it exits, its PID may go to someone else's process, which must never get
# our signals (other test runs share the machine).
t_pid_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
t_track_pid() { T_PIDS+=("$1:${2:-0}:$(t_pid_start "$1")"); }

# t_on_exit CMD...: run CMD at exit, before unmounting.
t_on_exit() { T_EXIT_HOOKS+=("$*"); }

# t_untrack_mount DIR
t_untrack_mount() {
	local dir m keep=()
	dir=$(realpath -m "$1")
	for m in "${T_MOUNTS[@]}"; do
		[ "$m" == "$dir" ] || keep+=("$m")
	done
	T_MOUNTS=("${keep[@]}")
}

# t_mount_tmpfs DIR [OPTS]: mount a tmpfs on DIR (under T_DIR) and track it.
t_mount_tmpfs() {
	t_check_mountpoint "$1" || return 1
	mkdir -p "$1"
	mount -t tmpfs -o "${2:-size=2g}" furi-test-tmpfs "$1" || return 1
	t_track_mount "$1"
}

# t_umount DIR: unmount; if busy, retry for a while, then detach lazily.
# Returns 0 once nothing is mounted on DIR.
t_umount() {
	local dir=$1 i
	t_is_mounted "$dir" || { t_untrack_mount "$dir"; return 0; }
	for i in 1 2 3 4 5 6 7 8 9 10; do
		umount "$dir" 2>/dev/null && break
		t_is_mounted "$dir" || break
		sleep 0.2
	done
	if t_is_mounted "$dir"; then
		echo "# lib.sh: $dir busy, detaching with umount -l" >&2
		umount -l "$dir" 2>/dev/null
	fi
	if t_is_mounted "$dir"; then
		echo "# lib.sh: could not unmount $dir" >&2
		return 1
	fi
	t_untrack_mount "$dir"
}

# t_pid_alive PID: running (a zombie has exited: a daemon's zombie waits for
# init to reap it, which can take seconds).
t_pid_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# t_wait_pid_exit PID SECONDS: 0 once PID is gone, 1 on timeout.
t_wait_pid_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while t_pid_alive "$pid"; do
		[ "$2" -eq 0 ] || [ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
	# Reap it if it is our child; harmless otherwise.
	wait "$pid" 2>/dev/null
	return 0
}

# t_wait_unmounted DIR SECONDS: 0 once nothing is mounted on DIR (another
# process unmounts it), 1 on timeout.
t_wait_unmounted() {
	local deadline=$((SECONDS + $2))
	while t_is_mounted "$1"; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# t_stop_pid PID: SIGTERM, then SIGKILL if it does not go.
t_stop_pid() {
	local pid=$1
	t_pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	t_wait_pid_exit "$pid" 5 && return 0
	echo "# lib.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null
	t_wait_pid_exit "$pid" 5
}

t_cleanup() {
	local rc=$? i hook
	trap - EXIT
	for hook in "${T_EXIT_HOOKS[@]}"; do
		eval "$hook" || true
	done
	# Newest first: a mount made inside another goes before it.
	for ((i = ${#T_MOUNTS[@]} - 1; i >= 0; i--)); do
		t_umount "${T_MOUNTS[i]}" || true
	done
	# A FUSE server exits once its mount is gone; it gets a grace period.
	# A PID whose process started at another time is not ours any more.
	local pid grace start
	for i in "${T_PIDS[@]}"; do
		IFS=: read -r pid grace start <<<"$i"
		[ -n "$start" ] && [ "$(t_pid_start "$pid")" != "$start" ] && continue
		t_wait_pid_exit "$pid" "$grace" || t_stop_pid "$pid"
	done
	# Never delete through a mount that is still there.
	if grep -q " $T_DIR/" /proc/self/mountinfo; then
		echo "# lib.sh: mounts left under $T_DIR; not removing it" >&2
	else
		rm -rf --one-file-system "$T_DIR"
	fi
	exit $rc
}
trap t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# furi mounts

# furi_mount FS [ARGS...] MOUNTPOINT [-o OPTS]... : `furi mount` in the
# background (it daemonizes), tracking the mount and the server's PID.
# FURI_MOUNT_LINE gets the line furi prints (which transport and why).
# Returns furi's exit status.
furi_mount() {
	local a mnt="" out rc pid
	for a in "$@"; do
		[[ "$a" == -* ]] && break
		mnt=$a
	done
	[ -n "$mnt" ] || { echo "furi_mount: no mountpoint in: $*" >&2; return 2; }
	t_check_mountpoint "$mnt" || return 2
	out=$("$FURI" mount "$@" 2>&1)
	rc=$?
	FURI_MOUNT_LINE=${out#furi: }
	[ $rc -eq 0 ] || { echo "# furi mount $*: exit $rc: $out" >&2; return $rc; }
	t_track_mount "$mnt"
	pid=$("$FURI" status "$mnt" --json 2>/dev/null | jq -r '.pid // empty')
	if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then
		t_track_pid "$pid" 10
	else
		# Without a PID the exit trap can only unmount, not wait for the server.
		echo "# furi_mount: no status for $mnt right after mounting" >&2
	fi
	return 0
}

# furi_mount_fg LOG FS [ARGS...] MOUNTPOINT [-o OPTS]... : `furi mount -f`
# as our own background child, output in LOG, for sanitizer builds whose
# reports must be seen. Waits until the mount is up (or the server died).
# FURI_FG_PID gets the PID.
furi_mount_fg() {
	local log=$1 a mnt="" deadline
	shift
	for a in "$@"; do
		[[ "$a" == -* ]] && break
		mnt=$a
	done
	[ -n "$mnt" ] || { echo "furi_mount_fg: no mountpoint in: $*" >&2; return 2; }
	t_check_mountpoint "$mnt" || return 2
	"$FURI" mount "$@" -f >"$log" 2>&1 &
	FURI_FG_PID=$!
	t_track_pid "$FURI_FG_PID" 10
	t_track_mount "$mnt"
	deadline=$((SECONDS + ${FURI_MOUNT_TIMEOUT:-20}))
	until t_is_fuse_mounted "$mnt"; do
		if ! t_pid_alive "$FURI_FG_PID"; then
			wait "$FURI_FG_PID"
			echo "# furi mount -f $*: exited $?: $(tail -3 "$log")" >&2
			return 1
		fi
		[ $SECONDS -ge "$deadline" ] && { echo "# furi mount -f $*: not mounted after ${FURI_MOUNT_TIMEOUT:-20} s" >&2; return 1; }
		sleep 0.05
	done
	# Mounted is not yet serving: the status file appears after INIT.
	until "$FURI" status "$mnt" --json >/dev/null 2>&1; do
		t_pid_alive "$FURI_FG_PID" || return 1
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# t_start_server LOG MOUNTPOINT CMD [ARGS...]: a test server of our own
# (asyncfs, notifyfs) in the background, its output in LOG; tracks its PID
# (T_SERVER_PID) and the mount, and waits until it serves (its status file
# is there). Returns 1 if it died or was not mounted within 20 s.
t_start_server() {
	local log=$1 mnt=$2 deadline
	shift 2
	"$@" >"$log" 2>&1 &
	T_SERVER_PID=$!
	t_track_pid "$T_SERVER_PID" 10
	t_track_mount "$mnt"
	deadline=$((SECONDS + 20))
	until "$FURI" status "$mnt" --json >/dev/null 2>&1; do
		t_pid_alive "$T_SERVER_PID" && [ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
	t_is_fuse_mounted "$mnt"
}

# furi_umount MOUNTPOINT: unmount and wait for the server to exit.
# Returns 1 if the mount or the server is still there. Prefer it to a bare
# umount between mounts: a server still exiting can remove the status file
# of the next mount when that one reuses the device number.
furi_umount() {
	local mnt=$1 pid
	pid=$("$FURI" status "$mnt" --json 2>/dev/null | jq -r '.pid // empty')
	t_umount "$mnt" || return 1
	[ -z "$pid" ] || t_wait_pid_exit "$pid" 10
}

# furi_uring_enabled: the kernel allows FUSE over io_uring.
furi_uring_enabled() {
	[ "$(cat /sys/module/fuse/parameters/enable_uring 2>/dev/null)" == "Y" ]
}

# ---------------------------------------------------------------------------
# `furi status --json`

# furi_status_json MOUNTPOINT [FILE]: the JSON status; to FILE if given.
furi_status_json() {
	if [ $# -ge 2 ]; then
		"$FURI" status "$1" --json >"$2"
	else
		"$FURI" status "$1" --json
	fi
}

# Status JSON from a mountpoint (asks furi) or a file holding it.
_furi_json_src() {
	if [ -d "$1" ]; then
		"$FURI" status "$1" --json
	else
		cat -- "$1"
	fi
}

# furi_json_get FILE KEY: one value from status JSON (FILE may be "-" for
# stdin, or a mountpoint). KEY is a jq path with or without the leading dot:
# transport, requests.io_uring, channels[0].name, .channels | length.
# Strings print raw. A missing key prints nothing and returns 1.
furi_json_get() {
	local src=$1 key=$2
	[[ "$key" == .* ]] || key=".$key"
	{ if [ "$src" == "-" ]; then cat; else _furi_json_src "$src"; fi; } |
		jq -r "($key) as \$v | if \$v == null then (\"furi_json_get: no key $2\\n\" | halt_error(1)) else \$v end"
}

# furi_ops_count MNT TRANSPORT OPNAME: sum of ops[OPNAME] over the channels
# of TRANSPORT (io_uring, dev_fuse, or "any"). MNT may also be a JSON file.
# Opcodes not seen yet are absent from ops and count as 0.
furi_ops_count() {
	_furi_json_src "$1" | jq -r --arg t "$2" --arg op "$3" \
		'[.channels[] | select($t == "any" or .transport == $t) | (.ops[$op] // 0)] | add // 0'
}

# furi_chan_sum MNT TRANSPORT FIELD: sum of a numeric channel field
# (requests, bytes_in, bytes_out, errors, in_flight, ...) over TRANSPORT.
furi_chan_sum() {
	_furi_json_src "$1" | jq -r --arg t "$2" --arg f "$3" \
		'[.channels[] | select($t == "any" or .transport == $t) | (.[$f] // 0)] | add // 0'
}

# furi_requests MNT TRANSPORT: requests carried by TRANSPORT (.requests).
furi_requests() {
	_furi_json_src "$1" | jq -r --arg t "$2" '.requests[$t] // 0'
}

# furi_transport MNT: io_uring or dev_fuse.
furi_transport() { furi_json_get "$1" transport; }

# furi_channel_count MNT TRANSPORT: channels of that transport.
furi_channel_count() {
	_furi_json_src "$1" | jq -r --arg t "$2" \
		'[.channels[] | select($t == "any" or .transport == $t)] | length'
}

# ---------------------------------------------------------------------------
# The syscall suite

# run_syscalls LABEL DIR [SYSCALLS OPTIONS...]: runs the syscall tests on DIR
# and re-prints each result as "ok LABEL/NAME" (etc.) so tests/run counts
# every test. Sets SC_PASSED, SC_FAILED, SC_SKIPPED from the summary and
# returns 0 only if the program exited 0 with no failure. A run that ends
# without a summary (crash, hang) is itself one failure.
run_syscalls() {
	local label=$1 dir=$2 line rc summary="" n_ok=0 n_fail=0 n_skip=0 rcfile
	shift 2
	SC_PASSED=0 SC_FAILED=0 SC_SKIPPED=0
	rcfile="$T_DIR/syscalls-$label.$$.rc"
	echo 255 >"$rcfile"
	# Lines are passed on as they come, so a run killed from outside still
	# shows how far it got.
	while IFS= read -r line; do
		case "$line" in
		"ok "*) echo "ok $label/${line#ok }"; n_ok=$((n_ok + 1)) ;;
		"not ok "*) echo "not ok $label/${line#not ok }"; n_fail=$((n_fail + 1)) ;;
		"skip "*) echo "skip $label/${line#skip }"; n_skip=$((n_skip + 1)) ;;
		"syscalls: "*) summary=$line ;;
		*) echo "# $label: $line" ;;
		esac
	done < <(timeout --kill-after=10 "${SYSCALLS_TIMEOUT:-900}" "$SYSCALLS" "$@" "$dir" 2>&1
		echo $? >"$rcfile")
	rc=$(cat "$rcfile")
	rm -f "$rcfile"
	T_PASSED=$((T_PASSED + n_ok)) T_FAILED=$((T_FAILED + n_fail)) T_SKIPPED=$((T_SKIPPED + n_skip))
	if [[ "$summary" =~ ^syscalls:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		SC_PASSED=${BASH_REMATCH[1]} SC_FAILED=${BASH_REMATCH[2]} SC_SKIPPED=${BASH_REMATCH[3]}
	fi
	if [ -z "$summary" ]; then
		t_not_ok "$label" "syscalls exited $rc without a summary"
		return 1
	fi
	if [[ "$summary" == *"(aborted)"* ]]; then
		t_log "$label: $summary"
		return 1
	fi
	if [ "$SC_PASSED" -ne $n_ok ] || [ "$SC_FAILED" -ne $n_fail ] || [ "$SC_SKIPPED" -ne $n_skip ]; then
		t_not_ok "$label" "summary '$summary' disagrees with $n_ok/$n_fail/$n_skip result lines"
		return 1
	fi
	t_log "$label: $summary"
	[ "$rc" -eq 0 ] && [ "$SC_FAILED" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Commands that must fail cleanly (t_cli.sh, t_nonroot.sh)

# t_interrupted_call read|access PATH: read(2) of PATH (opened first) or
# access(2) of it, from CPU 0, interrupted by a signal 0.5 s after it starts
# (no SA_RESTART, so an interrupted call returns EINTR); prints
# "<result> <errno>". Killed after 20 s if nothing ends it.
t_interrupted_call() {
	taskset -c 0 timeout -s KILL 20 python3 - "$1" "$2" <<'PY'
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGALRM, lambda *a: None)
if sys.argv[1] == "read":
    fd = os.open(sys.argv[2], os.O_RDONLY)
    buf = ctypes.create_string_buffer(4096)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    r = libc.read(fd, buf, 4096)
else:
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    r = libc.access(sys.argv[2].encode(), os.F_OK)
print(r, ctypes.get_errno())
PY
}

# t_run CMD...: run CMD under a timeout (T_RUN_TIMEOUT, default 30 s); sets
# RC, OUT (stdout), ERR (stderr) and ERR_LINES. A timeout shows as RC 124
# (137 when it had to be killed).
t_run() {
	local o="$T_DIR/.t_run.out" e="$T_DIR/.t_run.err"
	timeout -k 5 "${T_RUN_TIMEOUT:-30}" "$@" >"$o" 2>"$e"
	RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	ERR_LINES=$(wc -l <"$e")
	# A last line without its newline still counts.
	[ -s "$e" ] && [ "$(tail -c1 "$e" | od -An -c | tr -d ' ')" != '\n' ] &&
		ERR_LINES=$((ERR_LINES + 1))
	rm -f "$o" "$e"
}

# assert_fails_with NAME STATUS CAUSE FIX CMD...: CMD exits STATUS with
# exactly one line on stderr containing CAUSE and FIX (fixed strings), and
# nothing on stdout. Four results: NAME/exit-status, /one-line, /cause, /fix.
assert_fails_with() {
	local name=$1 status=$2 cause=$3 fix=$4
	shift 4
	t_run "$@"
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		t_not_ok "$name/exit-status" "timed out after ${T_RUN_TIMEOUT:-30} s: $*"
	else
		assert_eq "$name/exit-status" "$status" "$RC"
	fi
	if [ "$ERR_LINES" -eq 1 ] && [ -n "$ERR" ] && [ -z "$OUT" ]; then
		t_ok "$name/one-line"
	else
		t_not_ok "$name/one-line" "stderr has $ERR_LINES lines, stdout ${#OUT} bytes: ${ERR:0:400}"
	fi
	assert_contains "$name/cause" "$ERR" "$cause"
	assert_contains "$name/fix" "$ERR" "$fix"
}

# t_procs_naming WORD: PIDs (zombies excluded) whose command line contains WORD.
t_procs_naming() {
	local p cmd state
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		{ [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ]; } && continue
		cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
		[[ "$cmd" == *"$1"* ]] || continue
		state=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
		[ "$state" = Z ] || [ -z "$state" ] || echo "$p"
	done
}

# assert_left_clean NAME MNT [WORD]: nothing is mounted on MNT and no
# process names WORD (default MNT) in its command line. What is found is
# tracked, so the exit trap still cleans it up.
assert_left_clean() {
	local name=$1 m=$2 word=${3:-$2} fs pids p
	fs=$(t_mount_fstype "$m")
	if [ -n "$fs" ]; then
		t_not_ok "$name/nothing-mounted" "$fs is mounted on $m"
		t_track_mount "$m"
	else
		t_ok "$name/nothing-mounted"
	fi
	pids=$(t_procs_naming "$word")
	if [ -z "$pids" ]; then
		t_ok "$name/no-server-left"
	else
		t_not_ok "$name/no-server-left" "still running: $(ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)" 2>/dev/null)"
		for p in $pids; do t_track_pid "$p"; done
	fi
}
