#!/usr/bin/env bash
# t_passthrough_semantics.sh - what a call does through `furi mount
# passthrough` is what it does on the source, checked where the two used to
# differ, on both transports, as root and as uid 65534: execute-only files
# (exec allowed by the source without read permission, refused where the
# source refuses it); the mode right after a non-owner's write, truncate and
# fallocate of a setuid/setgid file, compared with the same call on a
# scratch file of the source's filesystem; atime per mount option against a
# bind mount with the same options; -o dirsync syncing the source's
# directories; file handles refused at once.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (to act as uid 65534)"
command -v setpriv >/dev/null || t_skip_all "setpriv (util-linux) is missing"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"

# as USER DIR CMD...: run CMD in DIR as uid/gid USER (0 or 65534), no
# supplementary groups (AS_GROUPS=--groups=G for some). The directory is
# entered as root: T_DIR is 0700.
# Through env: setpriv keeps root's capabilities until its own execve, so a
# program it runs directly is checked with CAP_DAC_OVERRIDE.
as() {
	local u=$1 dir=$2
	shift 2
	(cd "$dir" && setpriv --reuid="$u" --regid="$u" ${AS_GROUPS:---clear-groups} -- env "$@")
}

# mount_pt LABEL OPTS: a fresh source directory and mount; sets SRC and MNT.
# Small queues: these mounts move little data, and start faster so.
mount_pt() {
	SRC=$(t_mkdir "$1-src") MNT=$(t_mkdir "$1")
	chmod 755 "$SRC"
	furi_mount passthrough "$SRC" "$MNT" -o "allow_other,queue_depth=8,max_write=128k,$2"
}

# --- execute-only files --------------------------------------------------------
# A non-owner (or the owner) with execute but no read permission may run a
# program on the source; through the mount too. Where the source refuses
# (no execute bit for the caller, a noexec source), the mount refuses.
# exec_case LABEL MODE OWNER:GROUP USER: runs ./prog as USER on the source
# and on the mount; both must agree.
exec_case() {
	local label=$1 mode=$2 owner=$3 user=$4 want got p
	p=prog-$mode-${owner/:/.}
	install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" /bin/true "$SRC/$p"
	as "$user" "$SRC" "./$p" 2>/dev/null && want=runs || want=refused
	as "$user" "$MNT" "./$p" 2>/dev/null && got=runs || got=refused
	assert_eq "$label/$mode-$owner-as-$user-$want" "$want" "$got"
}

for tr in uring legacy; do
	l=exec-$tr
	mount_pt "$l" "transport=$tr" || { t_not_ok "$l/mount" "mount failed"; continue; }
	exec_case "$l" 0100 65534:0 65534	# the owner's x only
	exec_case "$l" 0010 0:65534 65534	# the group's x only
	exec_case "$l" 0001 0:0 65534		# others' x only
	exec_case "$l" 0711 0:0 65534
	exec_case "$l" 0644 0:0 65534		# no x: refused on both
	exec_case "$l" 0100 0:0 65534		# x for the owner only, not the caller
	exec_case "$l" 0100 65534:0 0		# root: any x bit will do
	# The exec-only program really ran through the mount, not just opened.
	printf '#!/bin/sh\necho ran\n' >"$SRC/script" && chmod 0705 "$SRC/script"
	assert_eq "$l/readable-script-runs" ran "$(as 65534 "$MNT" ./script 2>&1)"
	assert_eq "$l/exec-only-not-readable" refused \
		"$(as 65534 "$MNT" cat prog-0001-0.0 >/dev/null 2>&1 && echo read || echo refused)"
	furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
done
# A noexec source refuses exec; so does the mount of it.
noexec=$(t_mkdir noexec-src)
if t_mount_tmpfs "$noexec" size=16m,noexec,mode=755; then
	SRC=$noexec MNT=$(t_mkdir noexec)
	if furi_mount passthrough "$SRC" "$MNT" -o allow_other; then
		exec_case exec-noexec-source 0755 0:0 65534
		exec_case exec-noexec-source 0755 0:0 0
		furi_umount "$MNT" || t_not_ok exec-noexec-source/umount "mount or server still there"
	else
		t_not_ok exec-noexec-source/mount "mount failed"
	fi
	t_umount "$noexec"
else
	t_skip exec-noexec-source "cannot mount a tmpfs"
fi

# --- setuid and setgid after a write, truncate or fallocate ----------------------
# The same call by the same caller on a scratch file of the source's
# filesystem says which bits go: setuid always, setgid when the file is
# group-executable or the caller is outside its group, none for root. The
# mode the mount shows right after the call (no attribute timeout waited
# out) and the source's must both be the scratch file's.
# NAME:COMMAND, the file's name appended to the command
CALLS=(
	"write:echo x >>"
	"truncate:truncate -s 10"
	"open-trunc::>"
	"fallocate:fallocate -l 16384"
	"punch-hole:fallocate -p -o 0 -l 4096"
	"zero-range:fallocate -z -o 0 -l 4096"
)
# privs_case LABEL MODE GROUP USER [SUPP_GROUP]: each call on a fresh file,
# made through the mount (so the kernel has its mode cached) and in the
# scratch directory; the calls of one caller run in one shell.
privs_case() {
	local label=$1 mode=$2 group=$3 user=$4 supp=${5:-} call d f script="" names=()
	local case=$mode-g$group-as-$user${supp:+-in-$supp} want mnt src i
	for call in "${CALLS[@]}"; do
		names+=("${call%%:*}")
		script+="${call#*:} ${call%%:*}; "
	done
	for d in "$MNT" "$SCRATCH"; do
		mkdir -m 777 "$d/$case"
		for f in "${names[@]}"; do
			f=$d/$case/$f
			head -c 8192 /dev/zero >"$f" && chown "0:$group" "$f" && chmod "$mode" "$f"
		done
		AS_GROUPS=${supp:+--groups=$supp} as "$user" "$d/$case" sh -c "$script" 2>/dev/null
	done
	want=($(cd "$SCRATCH/$case" && stat -c %a "${names[@]}"))
	mnt=($(cd "$MNT/$case" && stat -c %a "${names[@]}"))
	src=($(cd "$SRC/$case" && stat -c %a "${names[@]}"))
	for i in "${!names[@]}"; do
		assert_eq "$label/$case/${names[i]}" "${want[i]} ${want[i]}" "${mnt[i]} ${src[i]}"
	done
}

for variant in uring legacy writeback; do
	SCRATCH=$(t_mkdir "scratch-$variant") && chmod 755 "$SCRATCH"
	case $variant in
	writeback) o=writeback_cache ;;
	*) o=transport=$variant ;;
	esac
	l=privs-$variant
	# An hour's attribute timeout: a stale cached mode would show.
	mount_pt "$l" "$o,attr_timeout=3600" || { t_not_ok "$l/mount" "mount failed"; continue; }
	# Every case on io_uring; the other data paths take the first two.
	privs_case "$l" 6766 0 65534		# outside the group: setgid goes too
	[ $variant = writeback ] ||
		privs_case "$l" 6766 65533 65534 65533	# a supplementary group of the caller
	if [ $variant = uring ]; then
		privs_case "$l" 6776 65534 65534	# group-executable: setgid goes
		privs_case "$l" 6777 0 0		# root keeps both
	fi
	furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
done

# --- access times follow the mount's options -------------------------------------
# Each read, exec and listing through the mount (as uid 65534) must touch
# the source's atime exactly when the same on a bind mount of a scratch
# directory with the same options does. Files start with an atime of 2000
# (every mode but noatime updates it) or an hour ahead (only strictatime
# does: relatime updates an atime that is not newer than mtime and ctime
# and less than a day old).
# atime_probe DIR: "y" or "n" per probe, whether its atime moved.
atime_probe() {
	local d=$1 p before out=""
	for p in old future dir prog; do
		case $p in
		future) touch -a -d '+1 hour' "$d/$p" ;;
		*) touch -a -d '2000-01-01' "$d/$p" ;;
		esac
	done
	before=$(stat -c %X "$d/old" "$d/future" "$d/dir" "$d/prog" | xargs)
	echo "$before" >"$T_DIR/atime-before"
}
atime_touches() {	# DIR: read, exec and list as 65534, as a program would
	as 65534 "$1" sh -c 'cat old future >/dev/null; ls dir >/dev/null; ./prog'
}
atime_moved() {	# DIR: which of the four moved since atime_probe
	local after
	after=($(stat -c %X "$1/old" "$1/future" "$1/dir" "$1/prog"))
	local before=($(cat "$T_DIR/atime-before")) i out=""
	for i in 0 1 2 3; do
		[ "${after[i]}" != "${before[i]}" ] && out+=y || out+=n
	done
	echo "$out"
}
# atime_case TRANSPORT OPTS (OPTS "" for the default)
atime_case() {
	local tr=$1 o=$2 l ref want got
	l=atime-$tr-${o:-default}
	l=${l//,/-}
	mount_pt "$l" "transport=$tr${o:+,$o}" || { t_not_ok "$l/mount" "mount failed"; return; }
	ref=$(t_mkdir "$l-ref") && scratch=$(t_mkdir "$l-scratch") && chmod 755 "$scratch"
	mount --bind "$scratch" "$ref" && t_track_mount "$ref" &&
		mount -o "remount,bind${o:+,$o}" "$ref" || { t_not_ok "$l/reference" "bind mount failed"; return; }
	for d in "$SRC" "$ref"; do
		echo data >"$d/old" && echo data >"$d/future" && mkdir -m 755 "$d/dir" &&
			touch "$d/dir/entry" && install -m 0711 /bin/true "$d/prog"
	done
	atime_probe "$ref"; atime_touches "$ref"; want=$(atime_moved "$ref")
	atime_probe "$SRC"; atime_touches "$MNT"; got=$(atime_moved "$SRC")
	assert_eq "$l/old-future-dir-exec-as-65534" "$want" "$got"
	t_umount "$ref"
	furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
}
for o in "" noatime strictatime nodiratime; do
	atime_case uring "$o"
done
atime_case legacy strictatime

# --- dirsync: directory changes reach the source's disk before the reply --------
# With -o dirsync (or sync), as on a local filesystem mounted so, each
# mkdir, create, rename (both parents), link, unlink and symlink syncs the
# source directory it changed: 7 fsyncs of the server (strace); none without.
# traced_fsyncs MNT: the server's fsync calls while the ops run.
traced_fsyncs() {
	local m=$1 pid st t attached
	pid=$(furi_json_get "$m" pid)
	strace -f -qq -e trace=fsync -o "$T_DIR/fsync.strace" -p "$pid" 2>/dev/null & st=$!
	for _ in $(seq 200); do	# every thread traced before the first op
		attached=1
		for t in /proc/"$pid"/task/*; do
			[ "$(awk '/^TracerPid/ {print $2}' "$t/status" 2>/dev/null)" != 0 ] || attached=0
		done
		[ $attached = 1 ] && break
		sleep 0.05
	done
	mkdir "$m/d" && touch "$m/f" && mkdir "$m/e" && mv "$m/f" "$m/d/g" &&
		ln "$m/d/g" "$m/h" && rm "$m/h" && ln -s x "$m/s"
	kill -INT "$st" && wait "$st"
	grep -c 'fsync(' "$T_DIR/fsync.strace"
}
if ! command -v strace >/dev/null; then
	t_skip dirsync "no strace"
else
	for c in uring:dirsync uring: legacy:dirsync; do	# TRANSPORT:OPTION
		tr=${c%%:*} o=${c#*:}
		l=dirsync-$tr${o:+-$o}
		mount_pt "$l" "transport=$tr${o:+,$o}" || { t_not_ok "$l/mount" "mount failed"; continue; }
		# mkdir e: its parent synced once more, so 8 with dirsync.
		assert_eq "$l/fsyncs" "$([ -n "$o" ] && echo 8 || echo 0)" "$(traced_fsyncs "$MNT")"
		furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
	done
fi

# --- file handles -------------------------------------------------------------------
# Node ids do not outlive the kernel's inode, so a handle of the mount could
# not be resolved after an eviction: the mount says so at INIT
# (NO_EXPORT_SUPPORT) and name_to_handle_at fails at once (EOPNOTSUPP, which
# Python names ENOTSUP), for files and
# directories, instead of giving handles that later answer ESTALE. The
# helper is checked on the source, whose handles survive drop_caches.
HANDLES=$T_DIR/handles.py
cat >"$HANDLES" <<'PY'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 128)]
fh, mnt_id = FH(128), ctypes.c_int()
if libc.name_to_handle_at(-100, sys.argv[1].encode(), ctypes.byref(fh), ctypes.byref(mnt_id), 0):
    print("name_to_handle_at:" + errno.errorcode[ctypes.get_errno()]); sys.exit()
open("/proc/sys/vm/drop_caches", "w").write("2")
mfd = os.open(sys.argv[2], os.O_RDONLY)
fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_RDONLY)
print("open_by_handle_at:" + ("ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()]))
PY
if ! command -v python3 >/dev/null; then
	t_skip handles "no python3"
else
	for tr in uring legacy; do
		l=handles-$tr
		mount_pt "$l" "transport=$tr" || { t_not_ok "$l/mount" "mount failed"; continue; }
		mkdir "$SRC/d" && echo x >"$SRC/d/f"
		assert_eq "$l/source-survives-drop-caches" "open_by_handle_at:ok" "$(python3 "$HANDLES" "$SRC/d/f" "$SRC")"
		assert_eq "$l/file-refused" "name_to_handle_at:ENOTSUP" "$(python3 "$HANDLES" "$MNT/d/f" "$MNT")"
		assert_eq "$l/dir-refused" "name_to_handle_at:ENOTSUP" "$(python3 "$HANDLES" "$MNT/d" "$MNT")"
		furi_umount "$MNT" || t_not_ok "$l/umount" "mount or server still there"
	done
fi

t_done
