#!/usr/bin/env bash
# t_image.sh - `furi mount image`: a raw disk image exported as one regular
# file, on both transports. Data written through the export is the image's
# bytes; fsx (random reads, writes, truncations, punches, zero ranges, mmap)
# agrees with its reference copy with buffered and O_DIRECT clients and
# backends; read-only, growable and fixed-size semantics; SEEK_DATA and
# SEEK_HOLE from the image's own holes; no acknowledged write is lost when
# the server is killed (-9) or told to unmount under load; every bad input
# gets one line naming the cause and the fix, and leaves the image exactly as
# it was (sha256sum and stat before and after); an image that is not raw
# (qcow2, vmdk, vhdx, vpc, vdi signatures) or is empty is refused with the
# qemu-img convert command, unless -o format=raw. The transport is proven from
# `furi status --json` counters after each run.
#
# FSX_SEED, FSX_OPS: the fsx seed (printed; default fixed, so runs repeat)
# and operations per fsx run.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
: "${FSX:=$T_ROOT/build/tests/integration/fsx}"
[ -x "$FSX" ] || t_skip_all "no fsx at $FSX"
command -v python3 >/dev/null || t_skip_all "needs python3"
seed=${FSX_SEED:-20260611}
fsx_ops=${FSX_OPS:-3000}
small=queue_depth=16,max_write=128k
transports=legacy
if furi_uring_enabled; then
	transports="uring legacy"
else
	t_skip uring "enable_uring is N (scripts/setup turns it on): /dev/fuse only"
fi
t_log "fsx seed $seed, $fsx_ops operations per run"

# ---------------------------------------------------------------------------
# Helpers

# pyio OP PATH ARGS...: one system call, printing its result or the errno name.
#   pwrite PATH OFF LEN | openw PATH | seek PATH OFF data|hole
pyio() {
	python3 - "$@" <<'PY'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "pwrite":
        fd = os.open(path, os.O_WRONLY)
        print(os.pwrite(fd, b"w" * int(sys.argv[4]), int(sys.argv[3])))
    elif op == "openw":
        os.open(path, os.O_WRONLY)
        print("opened")
    elif op == "seek":
        fd = os.open(path, os.O_RDONLY)
        print(os.lseek(fd, int(sys.argv[3]), os.SEEK_DATA if sys.argv[4] == "data" else os.SEEK_HOLE))
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
}

# The image as the checks compare it: content, size, times, inode, mode.
# Before: hash, then stat (the hash's own read may set atime, once); after:
# stat first, so the hash cannot hide a change.
img_before() { echo "$(sha256sum <"$1" | cut -c1-64) $(stat -c '%s %X %Y %Z %i %a' "$1")"; }
img_after() {
	local s
	s=$(stat -c '%s %X %Y %Z %i %a' "$1")
	echo "$(sha256sum <"$1" | cut -c1-64) $s"
}

# t_file NAME: a fresh empty file under T_DIR (a file mountpoint); prints its path.
t_file() { : >"$T_DIR/$1" && echo "$T_DIR/$1"; }

server_pid() { "$FURI" status "$1" --json 2>/dev/null | jq -r '.pid // empty'; }

# prove_transport LABEL MNT uring|legacy: the counters show who carried the data.
prove_transport() {
	local label=$1 m=$2 js="$T_DIR/status.json"
	if ! furi_status_json "$m" "$js"; then
		t_not_ok "$label/status" "no status for $m"
		return 1
	fi
	if [ "$3" == uring ]; then
		assert_eq "$label/transport" io_uring "$(furi_json_get "$js" transport)"
		assert_ge "$label/uring-requests" 1 "$(furi_requests "$js" io_uring)"
		assert_ge "$label/uring-reads" 1 "$(furi_ops_count "$js" io_uring READ)"
		assert_eq "$label/no-data-on-dev-fuse" 0 \
			"$(( $(furi_ops_count "$js" dev_fuse READ) + $(furi_ops_count "$js" dev_fuse WRITE) ))"
	else
		assert_eq "$label/transport" dev_fuse "$(furi_json_get "$js" transport)"
		assert_eq "$label/no-uring-requests" 0 "$(furi_requests "$js" io_uring)"
		assert_ge "$label/dev-fuse-reads" 1 "$(furi_ops_count "$js" dev_fuse READ)"
	fi
}

# ---------------------------------------------------------------------------
# Data written through the export is the image's bytes

data_case() {
	local t=$1 img="$T_DIR/data-$1.raw" exp want="$T_DIR/want-$1.raw" m
	head -c 8M /dev/urandom >"$img"
	cp "$img" "$want"
	head -c 1M /dev/urandom >"$T_DIR/chunk"
	m=$(t_file "data-$t.export")
	if ! furi_mount image "$img" "$m" -o "transport=$t,$small"; then
		t_not_ok "data-$t/mount" "furi mount image failed"
		return
	fi
	assert_contains "data-$t/mount-line" "$FURI_MOUNT_LINE" "image on $m"
	assert_eq "data-$t/regular-file" "regular file 8388608" "$(stat -c '%F %s' "$m")"
	assert_cmd "data-$t/read-equals-image" cmp "$m" "$img"
	# Buffered at 3 MiB, O_DIRECT at 5 MiB, a few unaligned bytes at 12345.
	dd if="$T_DIR/chunk" of="$m" bs=64k seek=48 conv=notrunc,fsync status=none
	dd if="$T_DIR/chunk" of="$want" bs=64k seek=48 conv=notrunc status=none
	dd if="$T_DIR/chunk" of="$m" bs=64k seek=80 oflag=direct conv=notrunc status=none
	dd if="$T_DIR/chunk" of="$want" bs=64k seek=80 conv=notrunc status=none
	printf 'furi image' | dd of="$m" bs=1 seek=12345 conv=notrunc status=none
	printf 'furi image' | dd of="$want" bs=1 seek=12345 conv=notrunc status=none
	assert_cmd "data-$t/buffered-write-in-image" cmp -i 0:3145728 -n 1048576 "$T_DIR/chunk" "$img"
	assert_cmd "data-$t/direct-write-in-image" cmp -i 0:5242880 -n 1048576 "$T_DIR/chunk" "$img"
	assert_cmd "data-$t/image-equals-expected" cmp "$img" "$want"
	assert_cmd "data-$t/export-equals-expected" cmp "$m" "$want"
	assert_ge "data-$t/statfs" 1 "$(stat -f -c %b "$m")"
	prove_transport "data-$t" "$m" "$t"
	furi_umount "$m" || t_not_ok "data-$t/umount" "mount or server still there"
	assert_cmd "data-$t/image-after-umount" cmp "$img" "$want"
}

for t in $transports; do data_case "$t"; done

# ---------------------------------------------------------------------------
# fsx against a reference copy: buffered and O_DIRECT backends and clients

# fsx_case LABEL TRANSPORT MOUNT_OPTS FSX_ARGS... : a growable run starts from
# an empty image, a fixed-size one (-F) from 1 MiB of random data.
fsx_case() {
	local label=$1 t=$2 opts=$3 img="$T_DIR/fsx.raw" m out rc
	shift 3
	rm -f "$img"
	if [[ " $* " == *" -F "* ]]; then head -c 1M /dev/urandom >"$img"; else : >"$img"; fi
	m=$(t_file "fsx.export")
	if ! furi_mount image "$img" "$m" -o "transport=$t,$small${opts:+,$opts}"; then
		t_not_ok "$label/mount" "furi mount image -o $opts failed"
		return
	fi
	out=$(timeout 600 "$FSX" -q -S "$seed" -N "$fsx_ops" -R "$T_DIR/fsx.ref" "$@" "$m" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		t_ok "$label/fsx"
	else
		t_not_ok "$label/fsx" "exit $rc (seed $seed)"
		echo "$out" | sed 's/^/# /'
	fi
	prove_transport "$label" "$m" "$t"
	furi_umount "$m" || t_not_ok "$label/umount" "mount or server still there"
	[ $rc -eq 0 ] && assert_cmd "$label/image-equals-reference" cmp "$T_DIR/fsx.ref" "$img"
}

for t in $transports; do
	fsx_case "fsx-$t-buffered" "$t" growable
	fsx_case "fsx-$t-buffered-odirect" "$t" growable -Z
	fsx_case "fsx-$t-direct" "$t" growable,direct
	fsx_case "fsx-$t-direct-odirect" "$t" growable,direct -Z
	fsx_case "fsx-$t-fixed" "$t" "" -F
	fsx_case "fsx-$t-fixed-direct-odirect" "$t" direct -F -Z
done

# ---------------------------------------------------------------------------
# Read-only: reads work, nothing writes; read-only exports share an image

img="$T_DIR/ro.raw"
head -c 4M /dev/urandom >"$img"
before=$(img_before "$img")
m=$(t_file ro.export)
m2=$(t_file ro2.export)
if furi_mount image "$img" "$m" -o ro; then
	assert_cmd ro/read cmp "$m" "$img"
	assert_eq ro/open-for-write EROFS "$(pyio openw "$m")"
	out=$(chmod u+w "$m" 2>&1)
	assert_contains ro/chmod-plus-w "$out" "Read-only file system"
	out=$(truncate -s 1M "$m" 2>&1)
	assert_contains ro/truncate "$out" "Read-only file system"
	out=$(fallocate -p -o 0 -l 4096 "$m" 2>&1)
	assert_contains ro/punch "$out" "Read-only file system"
	assert_eq ro/mode-has-no-write-bits 0 "$(( 0$(stat -c %a "$m") & 0222 ))"
	if furi_mount image "$img" "$m2" -o ro; then
		t_ok ro/second-read-only-export
		assert_cmd ro/second-reads cmp "$m2" "$img"
		furi_umount "$m2"
	else
		t_not_ok ro/second-read-only-export "a second -o ro export of the same image failed"
	fi
	out=$("$FURI" mount image "$img" "$m2" 2>&1)
	assert_contains ro/writable-refused-while-read-locked "$out" "holds a read lock"
	furi_umount "$m"
	assert_eq ro/image-unchanged "$before" "$(img_after "$img")"
else
	t_not_ok ro/mount "furi mount image -o ro failed"
fi

# ---------------------------------------------------------------------------
# Growable: writes past the end and truncation resize the image

img="$T_DIR/grow.raw"
head -c 1M /dev/urandom >"$img"
m=$(t_file grow.export)
if furi_mount image "$img" "$m" -o growable; then
	assert_eq grow/write-past-end 4096 "$(pyio pwrite "$m" 2097152 4096)"
	assert_eq grow/image-grew 2101248 "$(stat -c %s "$img")"
	assert_eq grow/export-grew 2101248 "$(stat -c %s "$m")"
	assert_cmd grow/truncate-down truncate -s 512K "$m"
	assert_eq grow/image-shrank 524288 "$(stat -c %s "$img")"
	assert_cmd grow/truncate-up truncate -s 3M "$m"
	assert_eq grow/image-regrew 3145728 "$(stat -c %s "$img")"
	assert_cmd grow/fallocate-extends fallocate -o 3M -l 1M "$m"
	assert_eq grow/image-preallocated 4194304 "$(stat -c %s "$img")"
	furi_umount "$m"
else
	t_not_ok grow/mount "furi mount image -o growable failed"
fi

# ---------------------------------------------------------------------------
# Fixed size (the default): nothing past the end, no resize

img="$T_DIR/fixed.raw"
head -c 1M /dev/urandom >"$img"
m=$(t_file fixed.export)
if furi_mount image "$img" "$m"; then
	assert_eq fixed/write-at-end ENOSPC "$(pyio pwrite "$m" 1048576 4096)"
	assert_eq fixed/write-across-end-is-short 100 "$(pyio pwrite "$m" 1048476 4096)"
	out=$(truncate -s 2M "$m" 2>&1)
	assert_contains fixed/truncate-refused "$out" "Operation not permitted"
	out=$(fallocate -o 1M -l 4096 "$m" 2>&1)
	assert_contains fixed/fallocate-past-end "$out" "No space left on device"
	assert_cmd fixed/fallocate-keep-size-past-end fallocate -n -o 1M -l 1M "$m"
	assert_cmd fixed/punch-inside fallocate -p -o 64K -l 64K "$m"
	assert_eq fixed/size-kept 1048576 "$(stat -c %s "$img")"
	assert_eq fixed/export-size-kept 1048576 "$(stat -c %s "$m")"
	assert_cmd fixed/punched-reads-zero cmp -n 65536 -i 65536:0 "$m" /dev/zero
	# chmod and chown are the export's, not the image file's.
	mode=$(stat -c %a "$img")
	assert_cmd fixed/chmod chmod 640 "$m"
	assert_eq fixed/chmod-shows 640 "$(stat -c %a "$m")"
	assert_eq fixed/image-mode-untouched "$mode" "$(stat -c %a "$img")"
	assert_cmd fixed/chown chown 65534:65534 "$m"
	assert_eq fixed/chown-shows "65534:65534" "$(stat -c %u:%g "$m")"
	assert_eq fixed/image-owner-untouched "0:0" "$(stat -c %u:%g "$img")"
	furi_umount "$m"
else
	t_not_ok fixed/mount "furi mount image failed"
fi

# ---------------------------------------------------------------------------
# SEEK_DATA / SEEK_HOLE come from the image's own holes

seek_case() {
	local t=$1 img="$T_DIR/sparse-$1.raw" m K=1024 M=1048576 w o want wh off exp
	truncate -s 16M "$img"
	dd if=/dev/urandom of="$img" bs=64k seek=64 count=16 conv=notrunc status=none	# 4M..5M
	dd if=/dev/urandom of="$img" bs=64k seek=192 count=1 conv=notrunc status=none	# 12M..12M+64K
	m=$(t_file "sparse-$t.export")
	if ! furi_mount image "$img" "$m" -o "transport=$t,$small"; then
		t_not_ok "seek-$t/mount" "furi mount image failed"
		return
	fi
	for w in "data 0 $((4 * M))" "hole $((4 * M)) $((5 * M))" "data $((5 * M)) $((12 * M))" \
		 "hole $((12 * M)) $((12 * M + 64 * K))" "data $((13 * M)) ENXIO" \
		 "hole $((13 * M)) $((13 * M))" "data $((16 * M)) ENXIO"; do
		read -r wh off exp <<<"$w"
		assert_eq "seek-$t/$wh-from-$off" "$exp" "$(pyio seek "$m" "$off" "$wh")"
	done
	# A hole punched through the export is seen through the export.
	o=$((4 * M + 256 * K))
	fallocate -p -o "$o" -l $((256 * K)) "$m"
	assert_eq "seek-$t/punched-hole" "$o" "$(pyio seek "$m" $((4 * M)) hole)"
	assert_eq "seek-$t/data-after-punch" $((o + 256 * K)) "$(pyio seek "$m" "$o" data)"
	want=$(pyio seek "$img" "$o" data)
	assert_eq "seek-$t/same-as-image" "$want" "$(pyio seek "$m" "$o" data)"
	assert_cmd "seek-$t/read" cmp "$m" "$img"
	furi_status_json "$m" "$T_DIR/seek.json"
	assert_ge "seek-$t/lseek-requests" 9 "$(furi_ops_count "$T_DIR/seek.json" any LSEEK)"
	prove_transport "seek-$t" "$m" "$t"
	furi_umount "$m"
}

for t in $transports; do seek_case "$t"; done

# ---------------------------------------------------------------------------
# No acknowledged write is lost: kill -9 the server, or unmount it, under load

# The writer puts record i (4 KiB of its number) at i*4 KiB, fsyncs every 8
# records and only then logs how many are acknowledged.
writer() {
	python3 - "$1" "$2" <<'PY'
import os, sys
path, log = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_WRONLY)
n = os.fstat(fd).st_size // 4096
with open(log, "w") as lg:
    for i in range(n):
        try:
            os.pwrite(fd, (b"%08d" % i) * 512, i * 4096)
            if i % 8 == 7:
                os.fsync(fd)
                lg.write("%d\n" % (i + 1))
                lg.flush()
        except OSError:
            break
PY
}

# check_acked IMAGE LOG: every acknowledged record is in the image.
check_acked() {
	python3 - "$1" "$2" <<'PY'
import sys
img, log = sys.argv[1], sys.argv[2]
lines = open(log).read().split()
n = int(lines[-1]) if lines else 0
data = open(img, "rb").read(n * 4096)
bad = [i for i in range(n) if data[i * 4096:(i + 1) * 4096] != (b"%08d" % i) * 512]
print("%d acknowledged, %d lost%s" % (n, len(bad), (" (first %d)" % bad[0]) if bad else ""))
sys.exit(1 if bad or n == 0 else 0)
PY
}

# wait_acked LOG N: at least N records acknowledged (10 s).
wait_acked() {
	local deadline=$((SECONDS + 10))
	until [ "$(tail -1 "$1" 2>/dev/null || echo 0)" -ge "$2" ] 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.02
	done
}

durable_case() {
	local label=$1 t=$2 opts=$3 how=$4 img="$T_DIR/durable.raw" log="$T_DIR/acked.log" m pid wpid out
	rm -f "$img" "$log"
	truncate -s 64M "$img"
	m=$(t_file durable.export)
	if ! furi_mount image "$img" "$m" -o "transport=$t,$small${opts:+,$opts}"; then
		t_not_ok "$label/mount" "furi mount image failed"
		return
	fi
	pid=$(server_pid "$m")
	writer "$m" "$log" &
	wpid=$!
	if ! wait_acked "$log" 256; then
		t_not_ok "$label/writer" "no progress"
	fi
	if [ "$how" == kill ]; then
		kill -KILL "$pid"
	else
		kill -TERM "$pid"	# the server unmounts lazily and serves the open file to its end
	fi
	if t_wait_pid_exit "$wpid" 60; then t_ok "$label/writer-ended"; else
		t_not_ok "$label/writer-ended" "writer still running"; kill -KILL "$wpid"; fi
	t_wait_pid_exit "$pid" 10 || t_not_ok "$label/server-exit" "server $pid still running"
	t_umount "$m"
	out=$(check_acked "$img" "$log")
	if [ $? -eq 0 ]; then t_ok "$label/no-acknowledged-write-lost"; else
		t_not_ok "$label/no-acknowledged-write-lost" "$out"; fi
	t_log "$label: $out"
}

for t in $transports; do
	durable_case "kill9-$t-buffered" "$t" "" kill
	durable_case "kill9-$t-direct" "$t" direct kill
	durable_case "sigterm-$t-direct" "$t" direct term
done
durable_case "kill9-writethrough" "${transports%% *}" writethrough kill

# ---------------------------------------------------------------------------
# The directory form; the image as its own mountpoint

img="$T_DIR/dir.raw"
head -c 2M /dev/urandom >"$img"
d=$(t_mkdir dirform)
if furi_mount image "$img" "$d"; then
	assert_eq dir/listing dir.raw "$(ls "$d")"
	assert_cmd dir/read cmp "$d/dir.raw" "$img"
	assert_cmd dir/no-other-names test ! -e "$d/other"
	assert_eq dir/is-directory directory "$(stat -c %F "$d")"
	printf 'dirform' | dd of="$d/dir.raw" bs=1 seek=100 conv=notrunc status=none
	assert_eq dir/write-reaches-image dirform "$(dd if="$img" bs=1 skip=100 count=7 status=none)"
	out=$(touch "$d/new" 2>&1)
	assert_ne dir/no-new-files "" "$out"
	furi_umount "$d"
fi
if furi_mount image "$img" "$d" -o name=disk.img; then
	assert_eq dir/name-option disk.img "$(ls "$d")"
	assert_cmd dir/name-option-read cmp "$d/disk.img" "$img"
	furi_umount "$d"
fi
cp "$img" "$T_DIR/self.raw"
if furi_mount image "$T_DIR/self.raw" "$T_DIR/self.raw"; then
	assert_cmd self/export-over-its-own-image cmp "$T_DIR/self.raw" "$img"
	furi_umount "$T_DIR/self.raw"
	assert_cmd self/image-back-after-umount cmp "$T_DIR/self.raw" "$img"
fi

# ---------------------------------------------------------------------------
# Bad input: one line with the cause and the fix; the image untouched

# bad NAME NEEDLE IMAGE MOUNTPOINT [ARGS...]: furi mount image fails with
# exit status 1 and one line containing NEEDLE and a fix, mounts nothing and
# leaves IMAGE (if it is a file) as it was. BAD_AS runs furi as another user.
bad() {
	local name=$1 needle=$2 img=$3 mnt=$4 before="" after="" out rc
	shift 4
	[ -f "$img" ] && before=$(img_before "$img")
	out=$(${BAD_AS:-} "$FURI" mount image "$img" "$mnt" "$@" 2>&1)
	rc=$?
	[ -f "$img" ] && after=$(img_after "$img")
	t_log "bad/$name: $out"
	assert_eq "bad/$name/exit-status" 1 "$rc"
	assert_contains "bad/$name/cause" "$out" "$needle"
	assert_contains "bad/$name/fix" "$out" "(fix: "
	assert_eq "bad/$name/one-line" 1 "$(wc -l <<<"$out")"
	assert_eq "bad/$name/image-unchanged" "$before" "$after"
	if [ -n "$(t_mount_fstype "$mnt")" ] && [ "$name" != already-mounted ]; then
		t_not_ok "bad/$name/not-mounted" "something is mounted on $mnt"
		t_track_mount "$mnt"
	fi
}

img="$T_DIR/bad.raw"
head -c 1M /dev/urandom >"$img"
mp=$(t_file bad.export)
bad missing-image "does not exist" "$T_DIR/nope.raw" "$mp"
bad directory-image "is a directory" "$(t_mkdir imgdir)" "$mp"
bad missing-mountpoint "mountpoint $T_DIR/nomp does not exist" "$img" "$T_DIR/nomp"
mkfifo "$T_DIR/fifo"
bad fifo-mountpoint "is a FIFO" "$img" "$T_DIR/fifo"
mknod "$T_DIR/chr" c 1 3
bad chardev-mountpoint "is a character device" "$img" "$T_DIR/chr"
bad fifo-image "is a FIFO, not a regular file" "$T_DIR/fifo" "$mp"
bad growable-ro "contradict" "$img" "$mp" -o growable,ro
bad name-on-file "-o name=" "$img" "$mp" -o name=x

# Not raw: a container format's signature (written here byte by byte, as
# qemu-img would) or an empty fixed-size image is refused with the
# qemu-img convert command; -o format=raw exports each as it is.
# fmt_image NAME: prints the path of a 1 MiB file starting with NAME's magic.
fmt_image() {
	local f="$T_DIR/fmt-$1.img"
	case $1 in
	qcow2) printf 'QFI\xfb\x00\x00\x00\x03' ;;
	vmdk) printf 'KDMV\x01\x00\x00\x00' ;;
	vmdk-descriptor) printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\ncreateType="monolithicFlat"\n' ;;
	vhdx) printf 'vhdxfile' ;;
	vpc) printf 'conectix' ;;
	vdi) printf '<<< Oracle VM VirtualBox Disk Image >>>\n%024d\x7f\x10\xda\xbe' 0 ;;
	esac >"$f"
	truncate -s 1M "$f"
	echo "$f"
}
for fmt in qcow2 vmdk vmdk-descriptor vhdx vpc vdi; do
	qfmt=${fmt%-descriptor}
	f=$(fmt_image "$fmt")
	bad "format-$fmt" "image $f is a $qfmt image, not raw" "$f" "$mp"
	out=$("$FURI" mount image "$f" "$mp" 2>&1)
	assert_contains "bad/format-$fmt/convert-command" "$out" "fix: qemu-img convert -f $qfmt -O raw $f $f.raw"
	if furi_mount image "$f" "$mp" -o format=raw; then
		assert_cmd "format-raw-forces/$fmt" cmp "$mp" "$f"
		furi_umount "$mp"
	else
		t_not_ok "format-raw-forces/$fmt" "-o format=raw did not mount it: $FURI_MOUNT_LINE"
	fi
done
: >"$T_DIR/empty.img"
bad empty-image "image $T_DIR/empty.img is empty (0 bytes)" "$T_DIR/empty.img" "$mp"
if furi_mount image "$T_DIR/empty.img" "$mp" -o format=raw; then
	assert_eq format-raw-forces/empty 0 "$(stat -c %s "$mp")"
	furi_umount "$mp"
else
	t_not_ok format-raw-forces/empty "$FURI_MOUNT_LINE"
fi
t_run "$FURI" mount image "$T_DIR/fmt-qcow2.img" "$mp" -o format=qcow2
assert_eq format-other/usage-error 2 "$RC"
assert_contains format-other/says-raw-only "$ERR" "-o format=qcow2: furi exports raw images only (fix: qemu-img convert -f qcow2 -O raw"

# Locked: by a running writable export, and by another program's POSIX lock.
m=$(t_file locked.export)
if furi_mount image "$img" "$m"; then
	bad locked-by-export "is in use: another export" "$img" "$mp"
	bad locked-by-export-ro "is in use" "$img" "$mp" -o ro
	assert_cmd bad/locked/holder-still-serves cmp "$m" "$img"
	bad already-mounted "already a mountpoint" "$T_DIR/data-${transports%% *}.raw" "$m"
	furi_umount "$m"
fi
python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True); time.sleep(60)' "$img" >"$T_DIR/lock.out" &
locker=$!
t_track_pid "$locker"
for _ in $(seq 100); do grep -q locked "$T_DIR/lock.out" && break; sleep 0.05; done
bad locked-by-program "holds a write lock" "$img" "$mp"
kill "$locker"; wait "$locker" 2>/dev/null

# Unreadable: furi run as nobody on a root-owned 0600 image.
# The test root is 0700, so nobody needs a directory of its own it can reach.
u=$(mktemp -d /tmp/furi-img-perm-XXXXXX) && chmod 755 "$u" && t_on_exit "rm -rf '$u'"
cp "$img" "$u/img.raw"
chmod 600 "$u/img.raw"
: >"$u/mp"
chown 65534:65534 "$u/mp"
BAD_AS="setpriv --reuid=65534 --regid=65534 --clear-groups" \
	bad unreadable "cannot open image $u/img.raw for reading and writing: Permission denied" "$u/img.raw" "$u/mp"
BAD_AS="setpriv --reuid=65534 --regid=65534 --clear-groups" \
	bad unreadable-ro "for reading: Permission denied" "$u/img.raw" "$u/mp" -o ro

t_done
