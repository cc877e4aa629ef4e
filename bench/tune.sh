#!/usr/bin/env bash
# bench/tune.sh [--rounds N] [--out FILE] - the measurements behind furi's
# transport defaults (queue_depth, max_write, max_background, spin_us).
#
# Each sweep mounts nullfs (no data kept: the transport alone) with one
# value at a time and runs the same fio job; the values of a sweep are
# interleaved round by round and each cell is the median of the rounds.
# Reports throughput, server CPU per request (utime+stime of the server over
# the run / requests it served) and the server's buffer memory.
# Needs root, fio, jq, and FUSE-over-io_uring enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
furi=${FURI:-$PWD/build/tools/furi}
rounds=3
out=docs/TUNING.md
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: bench/tune.sh [--rounds N] [--out FILE]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "tune.sh: run as root" >&2; exit 1; }
[ "$(cat /sys/module/fuse/parameters/enable_uring)" = Y ] ||
	{ echo "tune.sh: enable_uring is N (echo Y > /sys/module/fuse/parameters/enable_uring)" >&2; exit 1; }

work=$(mktemp -d /tmp/furi-tune.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
cleanup() {
	mountpoint -q "$mnt" && { umount "$mnt" || umount -l "$mnt"; }
	rm -rf "$work"
}
trap cleanup EXIT

# cell OPTS FIOARGS...: prints "value cpu_us_per_req buffer_MiB" for one run.
# value: IOPS, or MiB/s when the job's block size is 1 MiB.
cell() {
	local opts=$1 pid j0 j1 c0 c1 r0 r1 json val bs
	shift
	"$furi" mount nullfs "$mnt" -o "transport=uring,$opts" 2>/dev/null
	j0=$("$furi" status "$mnt" --json)
	[ "$(jq -r .transport <<<"$j0")" = io_uring ] || { echo "tune.sh: $opts: not on io_uring" >&2; exit 1; }
	pid=$(jq .pid <<<"$j0")
	fio --name=lay --filename="$mnt/f" --size=1G --rw=write --bs=1M --direct=1 \
		--output=/dev/null >/dev/null
	r0=$("$furi" status "$mnt" --json | jq '.requests.io_uring + .requests.dev_fuse')
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	json=$(fio --name=t --filename="$mnt/f" --size=1G --direct=1 --time_based --runtime=5 \
		--ramp_time=1 --group_reporting --output-format=json "$@" 2>/dev/null)
	c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	j1=$("$furi" status "$mnt" --json)
	r1=$(jq '.requests.io_uring + .requests.dev_fuse' <<<"$j1")
	bs=$(jq -r '.["global options"].bs // .jobs[0]["job options"].bs // "4k"' <<<"$json")
	if [ "$bs" = 1M ]; then
		val=$(jq '[.jobs[0].read.bw, .jobs[0].write.bw] | add / 1024 | floor' <<<"$json")
	else
		val=$(jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor' <<<"$json")
	fi
	echo "$val $(echo "scale=2; ($c1 - $c0) * 1000000 / $(getconf CLK_TCK) / ($r1 - $r0)" | bc) $(( $(jq .buffer_bytes <<<"$j1") >> 20 ))"
	umount "$mnt"
	while pgrep -f "furi mount nullfs $mnt" >/dev/null; do sleep 0.05; done
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# sweep TITLE UNIT "OPT=V1 OPT=V2 ..." FIOARGS...: one table.
sweep() {
	local title=$1 unit=$2 values=$3 v r line
	shift 3
	declare -A vals cpus mem
	for r in $(seq 1 "$rounds"); do
		for v in $values; do
			line=$(cell "$v" "$@")
			vals[$v]+="$(cut -d' ' -f1 <<<"$line") "
			cpus[$v]+="$(cut -d' ' -f2 <<<"$line") "
			mem[$v]=$(cut -d' ' -f3 <<<"$line")
			echo "tune: $title: $v round $r: $line" >&2
		done
	done
	{
		echo
		echo "### $title"
		echo
		echo "fio: \`$*\`"
		echo
		echo "| option | $unit (median of $rounds) | min-max | server CPU us/request | buffers MiB |"
		echo "|---|---|---|---|---|"
		for v in $values; do
			local sorted
			sorted=$(tr ' ' '\n' <<<"${vals[$v]}" | grep . | sort -n)
			echo "| \`$v\` | $(median <<<"$sorted") | $(head -1 <<<"$sorted")-$(tail -1 <<<"$sorted") | $(tr ' ' '\n' <<<"${cpus[$v]}" | grep . | median) | ${mem[$v]} |"
		done
	} >>"$work/tables.md"
}

: >"$work/tables.md"
sweep "Queue depth, one client at QD64" IOPS \
	"queue_depth=8 queue_depth=16 queue_depth=32 queue_depth=64 queue_depth=128" \
	--rw=randread --bs=4k --ioengine=io_uring --iodepth=64 --numjobs=1
sweep "Queue depth, four clients at QD64" IOPS \
	"queue_depth=32 queue_depth=64 queue_depth=128 queue_depth=256" \
	--rw=randread --bs=4k --ioengine=io_uring --iodepth=64 --numjobs=4
sweep "max_write, 1 MiB O_DIRECT reads at QD8" MiB/s \
	"max_write=128k max_write=256k max_write=512k max_write=1m" \
	--rw=read --bs=1M --ioengine=io_uring --iodepth=8 --numjobs=1
sweep "max_background, 4 KiB O_DIRECT random reads, 4 clients at QD64" IOPS \
	"max_background=12 max_background=32 max_background=128 max_background=512" \
	--rw=randread --bs=4k --ioengine=io_uring --iodepth=64 --numjobs=4
sweep "spin_us, one client at QD1" IOPS \
	"spin_us=0 spin_us=20 spin_us=50 uring_threads=1,nopin,spin_us=50" \
	--rw=randread --bs=4k --ioengine=psync --numjobs=1

{
	echo "# Tuning furi's io_uring transport"
	echo
	echo "The defaults of the transport options come from these measurements. Made"
	echo "with \`bench/tune.sh --rounds $rounds\` on $(uname -r), $(nproc) CPUs,"
	echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(date -u +%Y-%m-%d)."
	echo "nullfs keeps no data, so what is measured is the transport and the FUSE"
	echo "round trip; every value of a sweep ran interleaved with the others."
	cat "$work/tables.md"
} >"$out"
echo "tune.sh: wrote $out" >&2
