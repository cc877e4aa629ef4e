#!/usr/bin/env bash
# bench/cpu_split.sh [FS] [QD] [OPTS] - where a queue thread's CPU goes: per
# FUSE request, the server's CPU time, the part of it spent in user space
# (furi and the filesystem) and its voluntary context switches, during one
# fio job of 4 KiB O_DIRECT random reads at queue depth QD (defaults:
# nullfs, 64) over io_uring. The rest of the CPU time is the kernel's:
# delivering requests, copying replies, completing the client's I/O.
#
# Counters: run time from /proc/PID/task/*/schedstat (ns), utime from
# .../stat (clock ticks), context switches from .../status, requests from
# `furi status --json`; read 1.5 s into an 8 s run and 5 s later.
# Needs root, fio, jq, and FUSE-over-io_uring enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
furi=${FURI:-$PWD/build/tools/furi}
fs=${1:-nullfs} qd=${2:-64} opts=${3:-}
[ "$(id -u)" = 0 ] || { echo "cpu_split.sh: run as root" >&2; exit 1; }

work=$(mktemp -d /tmp/furi-cpu-split.XXXXXX)
mnt=$work/m
mkdir "$mnt"
cleanup() {
	mountpoint -q "$mnt" && { umount "$mnt" || umount -l "$mnt"; }
	rm -rf "$work"
}
trap cleanup EXIT

"$furi" mount "$fs" "$mnt" -o "transport=uring${opts:+,$opts}" >/dev/null
pid=$("$furi" status "$mnt" --json | jq .pid)
fio --name=fill --filename="$mnt/f" --rw=write --bs=1M --size=256M >/dev/null

# snap: voluntary switches, run ns, user ticks, io_uring requests
snap() {
	local csw=0 run_ns=0 user=0 t
	for t in /proc/"$pid"/task/*; do
		csw=$((csw + $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")))
		run_ns=$((run_ns + $(awk '{print $1}' "$t/schedstat")))
		user=$((user + $(awk '{print $14}' "$t/stat")))	# comm has no spaces
	done
	echo "$csw $run_ns $user $("$furi" status "$mnt" --json | jq .requests.io_uring)"
}

fio --name=split --filename="$mnt/f" --ioengine=io_uring --rw=randread --bs=4k --direct=1 \
	--iodepth="$qd" --time_based --runtime=8 --size=256M --output-format=json >"$work/fio.json" &
fio_pid=$!
sleep 1.5
read -r csw1 run1 user1 req1 < <(snap)
sleep 5
read -r csw2 run2 user2 req2 < <(snap)
wait "$fio_pid"
req=$((req2 - req1))
hz=$(getconf CLK_TCK)
awk -v fs="$fs" -v qd="$qd" -v req="$req" -v csw=$((csw2 - csw1)) -v run=$((run2 - run1)) \
    -v user=$((user2 - user1)) -v hz="$hz" -v iops="$(jq '.jobs[0].read.iops' "$work/fio.json")" \
	'BEGIN { printf "%s QD%s: %.0f IOPS, per request: %.2f us CPU, %.2f us of it in user space, %.3f context switches\n",
		 fs, qd, iops, run / 1000 / req, user * 1e6 / hz / req, csw / req }'
