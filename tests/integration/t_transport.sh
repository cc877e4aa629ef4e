#!/usr/bin/env bash
# t_transport.sh - which transport carries the requests, proven from the
# server's own counters (libfuse's CI once ran its io_uring tests over
# /dev/fuse for months without noticing): io_uring by default, per-CPU
# routing, fewer threads than queues, /dev/fuse on request, and the
# fallbacks, each with the reason the user is told.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
param=/sys/module/fuse/parameters/enable_uring
[ -e "$param" ] || t_skip_all "this kernel has no FUSE-over-io_uring"
furi_uring_enabled || t_skip_all "enable_uring is N (scripts/setup turns it on)"
ncpu=$(nproc --all)
small=queue_depth=16,max_write=128k

# Twenty small files, a 1 MiB file written with fsync, reads and stats:
# at least 36 WRITE requests whatever the transport.
workload() {
	local m=$1 i
	mkdir -p "$m/d" || return 1
	for i in $(seq 1 20); do echo "line $i" >"$m/d/f$i" || return 1; done
	cat "$m"/d/f* >/dev/null || return 1
	dd if=/dev/zero of="$m/big" bs=64k count=16 conv=fsync status=none || return 1
	[ "$(cat "$m/d/f7")" == "line 7" ] || return 1
	stat "$m/big" >/dev/null
}

# --- default: io_uring, and nothing but INIT-time traffic on /dev/fuse ----
m=$(t_mkdir auto)
if furi_mount memfs "$m" -o "$small"; then
	assert_contains auto/mount-line-says-io_uring "$FURI_MOUNT_LINE" "io_uring: $ncpu queues"
	assert_cmd auto/workload workload "$m"
	assert_eq auto/transport io_uring "$(furi_transport "$m")"
	assert_eq auto/no-fallback-reason "" "$(furi_json_get "$m" fallback_reason)"
	assert_eq auto/queues-per-possible-cpu "$ncpu" "$(furi_json_get "$m" queues)"
	assert_eq auto/depth 16 "$(furi_json_get "$m" depth)"
	assert_ge auto/uring-writes 36 "$(furi_ops_count "$m" io_uring WRITE)"
	assert_ge auto/uring-lookups 1 "$(furi_ops_count "$m" io_uring LOOKUP)"
	assert_eq auto/no-dev-fuse-writes 0 "$(furi_ops_count "$m" dev_fuse WRITE)"
	assert_eq auto/no-dev-fuse-reads 0 "$(furi_ops_count "$m" dev_fuse READ)"
	assert_eq auto/no-dev-fuse-lookups 0 "$(furi_ops_count "$m" dev_fuse LOOKUP)"
	assert_eq auto/nothing-in-flight 0 "$(furi_chan_sum "$m" any in_flight)"
	human=$("$FURI" status "$m")
	assert_contains auto/status-human "$human" "transport: io_uring"
	assert_contains auto/status-human-threads "$human" "disk I/O class"
	assert_eq auto/status-human-queue-threads "$(furi_json_get "$m" threads)" \
		"$(grep -c '^furi-uring[0-9]* ' <<<"$human")"
	furi_umount "$m"
	assert_cmd auto/unmounted test ! -e "$m/big"
else
	t_not_ok auto/mount "furi mount memfs failed"
fi

# --- a request runs on the queue of the CPU its caller runs on ------------
m=$(t_mkdir routing)
if furi_mount memfs "$m" -o "$small"; then
	for cpu in $(seq 0 $((ncpu - 1))); do
		before=$(furi_status_json "$m")
		taskset -c "$cpu" dd if=/dev/zero of="$m/cpu$cpu" bs=4k count=50 oflag=direct status=none
		after=$(furi_status_json "$m")
		got=$(( $(jq -r ".channels[] | select(.name == \"queue$cpu\") | .ops.WRITE // 0" <<<"$after") -
			$(jq -r ".channels[] | select(.name == \"queue$cpu\") | .ops.WRITE // 0" <<<"$before") ))
		others=$(( $(jq -r "[.channels[] | select(.name != \"queue$cpu\") | .ops.WRITE // 0] | add" <<<"$after") -
			   $(jq -r "[.channels[] | select(.name != \"queue$cpu\") | .ops.WRITE // 0] | add" <<<"$before") ))
		assert_ge "routing/cpu$cpu-writes-on-queue$cpu" 50 "$got"
		assert_eq "routing/cpu$cpu-writes-elsewhere" 0 "$others"
	done
	furi_umount "$m"
fi

# --- one thread serving every queue --------------------------------------
m=$(t_mkdir onethread)
if furi_mount memfs "$m" -o "$small,uring_threads=1"; then
	assert_eq onethread/threads 1 "$(furi_json_get "$m" threads)"
	assert_eq onethread/queues "$ncpu" "$(furi_json_get "$m" queues)"
	assert_cmd onethread/workload workload "$m"
	last=$((ncpu - 1))
	taskset -c "$last" dd if=/dev/zero of="$m/last" bs=4k count=20 oflag=direct status=none
	assert_ge onethread/last-queue-served 20 \
		"$(jq -r ".channels[] | select(.name == \"queue$last\") | .ops.WRITE // 0" <<<"$(furi_status_json "$m")")"
	assert_eq onethread/transport io_uring "$(furi_transport "$m")"
	furi_umount "$m"
fi

# --- -o sched_idle: which queue threads run as SCHED_IDLE ---------------
# policy is field 41 of /proc/PID/task/TID/stat (39th after the comm).
thread_policy() {	# TASKDIR: 0 SCHED_OTHER, 5 SCHED_IDLE
	sed 's/.*) //' "$1/stat" | awk '{print $39}'
}
idle_threads() {
	local t n=0
	for t in /proc/"$1"/task/*; do
		[ "$(thread_policy "$t")" = 5 ] && n=$((n + 1))
	done
	echo "$n"
}
named_thread() {	# PID NAME: the task directory of the thread named NAME
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm")" = "$2" ] && echo "$t"
	done
}
# Times the guard withdrew SCHED_IDLE, moving and polling: beside other work
# on a CPU (a CPU hog, a busy CI machine) the concessions are off for a while,
# so a check of them holds "or the guard withdrew them".
guard_backoffs() {	# MNT
	furi_status_json "$1" | jq '[.channels[].sched_backoffs // 0] | add'
}
for mode in auto never always; do
	m=$(t_mkdir "sched-$mode")
	furi_mount memfs "$m" -o "$small,sched_idle=$mode" || continue
	pid=$(furi_json_get "$m" pid)
	# One synchronous client: one request at a time on queue 0.
	taskset -c 0 dd if=/dev/zero of="$m/sync" bs=4k count=100 oflag=direct status=none
	n=$(idle_threads "$pid")
	case $mode in
	auto)	# the thread of CPU 0, unless other work there made the guard withdraw it
		if [ "$(guard_backoffs "$m")" -gt 0 ]; then
			t_log "guard withdrew SCHED_IDLE (other work on the CPUs)"
			assert_ge sched_idle/auto-guard-backoffs 1 "$(guard_backoffs "$m")"
		else
			assert_eq sched_idle/auto-cpu0-thread-idle 5 "$(thread_policy "$(named_thread "$pid" furi-uring0)")"
			assert_ge sched_idle/auto-idle-threads 1 "$n"
		fi ;;
	never) assert_eq sched_idle/never-none 0 "$n" ;;
	always) assert_eq sched_idle/always-every-queue-thread "$(furi_json_get "$m" threads)" "$n" ;;
	esac
	assert_eq "sched_idle/$mode-transport" io_uring "$(furi_transport "$m")"
	# furi status shows the same threads, classes and CPUs as /proc, and
	# every queue thread's disk I/O stays best-effort whatever its policy.
	threads_json=$(furi_status_json "$m" | jq -c '.server_threads')
	want=""
	for t in /proc/"$pid"/task/*; do
		name=$(cat "$t/comm")
		[[ $name == furi-* ]] || continue
		case $(thread_policy "$t") in 0) p=normal ;; 5) p=idle ;; *) p=other ;; esac
		want+="$name ${t##*/} $p $(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")"$'\n'
	done
	assert_eq "status/$mode-threads-as-proc" "$(printf '%s' "$want" | sort)" \
		"$(jq -r '.[] | "\(.name) \(.tid) \(.policy) \(.cpus)"' <<<"$threads_json" | sort)"
	assert_eq "status/$mode-queue-threads-io-best-effort" "$(furi_json_get "$m" threads)" \
		"$(jq '[.[] | select(.name | startswith("furi-uring")) | select(.io | startswith("best-effort"))] | length' <<<"$threads_json")"
	furi_umount "$m"
done

# --- -o pin: the CPUs queue thread 0 may run on --------------------------
# One client on CPU 0 with 64 I/Os in flight: with pin=auto the busy queue
# thread, alone busy, leaves CPU 0 for the other CPUs (not for all of them:
# beside its client it took turns with it); a later synchronous client brings
# it home. pin=always keeps it on CPU 0, pin=never never pins.
thread_cpus() {	# PID NAME: the Cpus_allowed_list of the thread named NAME
	awk '/^Cpus_allowed_list/ {print $2}' "$(named_thread "$1" "$2")/status"
}
cpus_without_0() {	# LIST: a Cpus_allowed_list without CPU 0, as the kernel prints it
	local list=$1 part cpus=() out="" i start prev
	for part in ${list//,/ }; do
		for ((i = ${part%-*}; i <= ${part#*-}; i++)); do [ "$i" -ne 0 ] && cpus+=("$i"); done
	done
	for i in "${cpus[@]}"; do
		if [ -n "${prev:-}" ] && [ "$i" -eq $((prev + 1)) ]; then prev=$i; continue; fi
		[ -n "${start:-}" ] && out+="$start$([ "$prev" -ne "$start" ] && echo "-$prev"),"
		start=$i prev=$i
	done
	[ -n "${start:-}" ] && out+="$start$([ "$prev" -ne "$start" ] && echo "-$prev")"
	echo "$out"
}
all_cpus=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)
away_cpus=$(cpus_without_0 "$all_cpus")
if [ "$ncpu" -lt 2 ] || [ "$(nproc)" -lt 2 ]; then
	t_skip pin/all "needs 2 online CPUs"
elif ! command -v fio >/dev/null; then
	t_skip pin/all "fio is not installed"
else
	for mode in auto always never; do
		m=$(t_mkdir "pin-$mode")
		furi_mount nullfs "$m" -o "transport=uring,pin=$mode" || continue
		pid=$(furi_json_get "$m" pid)
		taskset -c 0 fio --name=pin --filename="$m/f" --ioengine=io_uring --rw=randread \
			--bs=4k --direct=1 --iodepth=64 --time_based --runtime=3 --size=64M \
			--output-format=json >"$T_DIR/fio-pin-$mode.json" 2>&1 &
		fio_pid=$!
		t_track_pid "$fio_pid"
		seen=" " policies=" "
		while kill -0 "$fio_pid" 2>/dev/null; do
			cpus=$(thread_cpus "$pid" furi-uring0)
			case $seen in *" $cpus "*) ;; *) seen+="$cpus " ;; esac
			policy=$(thread_policy "$(named_thread "$pid" furi-uring0)")
			case $policies in *" $policy "*) ;; *) policies+="$policy " ;; esac
			sleep 0.1
		done
		wait "$fio_pid"
		assert_eq "pin/$mode-fio-ran" 0 $?
		taskset -c 0 dd if=/dev/zero of="$m/sync" bs=4k count=50 oflag=direct status=none
		sleep 0.01
		taskset -c 0 dd if=/dev/zero of="$m/sync" bs=4k count=50 oflag=direct status=none
		after=$(thread_cpus "$pid" furi-uring0)
		case $mode in
		auto)
			# sched_idle=auto too: 64 requests at once are served as SCHED_OTHER
			assert_contains sched_idle/auto-busy-thread-normal "$policies" " 0 "
			# It leaves while alone busy, unless other work on the CPUs made the guard keep it home.
			if [ "$(guard_backoffs "$m")" -eq 0 ]; then
				assert_contains pin/auto-busy-thread-left-cpu0 "$seen" " $away_cpus "
			else
				t_log "guard kept the thread home (other work on the CPUs)"
			fi
			assert_eq pin/auto-home-again 0 "$after" ;;
		always)
			assert_eq pin/always-stayed-on-cpu0 " 0 " "$seen"
			assert_eq pin/always-after 0 "$after" ;;
		never)
			assert_eq pin/never-pinned-never " $all_cpus " "$seen"
			assert_eq pin/never-after "$all_cpus" "$after" ;;
		esac
		assert_eq "pin/$mode-transport" io_uring "$(furi_transport "$m")"
		furi_umount "$m"
	done
fi

# Whether a busy thread stays home while another queue has clients (four QD1
# clients, two per CPU) depends on how the scheduler spaces the clients'
# requests: the benchmark's 4 jobs QD1 cells measure it (docs/BENCHMARKS.md),
# no pass/fail check does.

# --- a thread away from its client commits replies in slices -------------
# Away from the client's CPU the thread holds back the replies of a burst and
# commits them a slice at a time, taking the client's new requests between
# slices. No reply may be lost or land in another entry: random 4 KiB writes
# at QD64 from CPU 0, each block read back and checked by fio, and the mirror
# equal to its source byte for byte.
if [ "$ncpu" -ge 2 ] && [ "$(nproc)" -ge 2 ] && command -v fio >/dev/null; then
	src=$(t_mkdir away-src)
	m=$(t_mkdir away)
	if furi_mount passthrough "$src" "$m" -o transport=uring,pin=auto; then
		pid=$(furi_json_get "$m" pid)
		taskset -c 0 fio --name=away --filename="$m/f" --ioengine=io_uring --rw=randwrite \
			--bs=4k --direct=1 --iodepth=64 --size=64M --verify=crc32c --verify_fatal=1 \
			--verify_state_save=0 \
			--output-format=json >"$T_DIR/fio-away.json" 2>&1 &
		fio_pid=$!
		t_track_pid "$fio_pid"
		seen=" "
		while kill -0 "$fio_pid" 2>/dev/null; do
			cpus=$(thread_cpus "$pid" furi-uring0)
			case $seen in *" $cpus "*) ;; *) seen+="$cpus " ;; esac
			sleep 0.05
		done
		wait "$fio_pid"
		assert_eq away/slices-fio-verified 0 $?
		if [ "$(guard_backoffs "$m")" -eq 0 ]; then
			assert_contains away/slices-thread-was-away "$seen" " $away_cpus "
		else
			t_log "guard kept the thread home (other work on the CPUs)"
		fi
		assert_cmd away/slices-mirror-equals-source cmp "$src/f" "$m/f"
		# cmp's RELEASE goes out in the background: give it a moment.
		for _ in $(seq 20); do
			inflight=$(furi_status_json "$m" | jq '[.channels[].in_flight] | add')
			[ "$inflight" = 0 ] && break
			sleep 0.1
		done
		assert_eq away/slices-every-request-replied 0 "$inflight"
		assert_eq away/slices-transport io_uring "$(furi_transport "$m")"
		furi_umount "$m" || t_not_ok away/slices-umount "mount or server still there"
	else
		t_not_ok away/slices-mount "furi mount passthrough -o pin=auto failed"
	fi
fi

# --- one client creating files stays "one request at a time" --------------
# close() sends RELEASE in the background, so it reaches the queue beside the
# client's next LOOKUP; counted as a second client it made the thread
# SCHED_OTHER and unpinned it, and creates/s fell 4x.
if [ "$ncpu" -ge 2 ] && [ "$(nproc)" -ge 2 ]; then
	m=$(t_mkdir creates-quiet)
	if furi_mount nullfs "$m" -o transport=uring; then
		pid=$(furi_json_get "$m" pid)
		taskset -c 0 "$FURI" bench-meta creates --dir "$m/d" --count 60000 >"$T_DIR/creates.json" &
		bm_pid=$!
		t_track_pid "$bm_pid"
		sleep 0.3
		samples=0 normal=0 moved=0
		while kill -0 "$bm_pid" 2>/dev/null && [ $samples -lt 20 ]; do
			task=$(named_thread "$pid" furi-uring0)
			[ "$(thread_policy "$task")" = 5 ] || normal=$((normal + 1))
			[ "$(thread_cpus "$pid" furi-uring0)" = 0 ] || moved=$((moved + 1))
			samples=$((samples + 1))
			sleep 0.05
		done
		wait "$bm_pid"
		assert_eq creates-quiet/ran 0 $?
		assert_ge creates-quiet/samples 5 "$samples"
		if [ "$(guard_backoffs "$m")" -eq 0 ]; then
			assert_eq creates-quiet/thread-stayed-sched-idle 0 "$normal"
		else
			t_log "guard withdrew SCHED_IDLE (other work on the CPUs)"
		fi
		assert_eq creates-quiet/thread-stayed-on-cpu0 0 "$moved"
		furi_umount "$m"
	fi
fi

# The guard's verdict is a unit test (test_uring_sched); whether a SCHED_IDLE
# thread really waits beside other work is the scheduler's to decide (beside a
# busy loop on its own CPU it may or may not: a synchronous client there gives
# it turns), so the benchmark's --load runs measure it, no check here does.

# --- queues grow on demand ----------------------------------------------
# A queue starts with queue_start entries (default 4) and registers as many
# again while all of its entries are out of the kernel's hands, up to
# queue_depth. One client at QD64 on CPU 0: queue 0 grows (from the server's
# own counters in furi status) and every block written is read back right;
# queue_depth=8 stops it at 8; queue_start=queue_depth is today's fixed depth.
queue0_json() {	# MNT
	furi_status_json "$1" | jq -c '.channels[] | select(.name == "queue0")'
}
if command -v fio >/dev/null; then
	for variant in "grow:" "max8:queue_depth=8" "fixed:queue_start=64"; do
		name=${variant%%:*} opts=${variant#*:}
		m=$(t_mkdir "grow-$name")
		furi_mount memfs "$m" -o "transport=uring${opts:+,$opts}" || continue
		assert_eq "grow/$name-starts-with" "$(furi_json_get "$m" depth_start)" \
			"$(jq .entries <<<"$(queue0_json "$m")")"
		taskset -c 0 fio --name=grow --filename="$m/f" --ioengine=io_uring --rw=randwrite \
			--bs=4k --direct=1 --iodepth=64 --size=16M --verify=crc32c --verify_fatal=1 \
			--verify_state_save=0 --output-format=json >"$T_DIR/fio-grow-$name.json" 2>&1
		assert_eq "grow/$name-verified" 0 $?
		q0=$(queue0_json "$m")
		case $name in
		grow)	assert_ge grow/grew 1 "$(jq .growths <<<"$q0")"
			assert_ge grow/entries-above-start 5 "$(jq .entries <<<"$q0")"
			assert_le grow/entries-at-most-depth 64 "$(jq .entries <<<"$q0")"
			assert_ge grow/peak-seen 2 "$(jq .peak_in_use <<<"$q0")" ;;
		max8)	assert_eq grow/max8-stops-at-depth 8 "$(jq .entries <<<"$q0")" ;;
		fixed)	assert_eq grow/fixed-never-grows 0 "$(jq .growths <<<"$q0")"
			assert_eq grow/fixed-entries 64 "$(jq .entries <<<"$q0")" ;;
		esac
		assert_eq "grow/$name-transport" io_uring "$(furi_transport "$m")"
		furi_umount "$m"
	done
fi

# --- -o max_buffers stops growth, and says so ---------------------------
# 128 KiB entries, 4 a queue to start: the first entries of all queues take
# ncpu x 512 KiB; a budget of exactly that leaves no room to grow. A QD64
# client on CPU 0 then runs on queue 0's 4 entries, every block verified,
# and the server names the queue and the option.
if command -v fio >/dev/null; then
	m=$(t_mkdir budget)
	log="$T_DIR/budget.log"
	if furi_mount_fg "$log" memfs "$m" -o "transport=uring,max_write=128k,max_buffers=$((ncpu * 512))K"; then
		assert_contains budget/mount-line "$(head -5 "$log")" "(-o max_buffers)"
		taskset -c 0 fio --name=budget --filename="$m/f" --ioengine=io_uring --rw=randwrite \
			--bs=4k --direct=1 --iodepth=64 --size=8M --verify=crc32c --verify_fatal=1 \
			--verify_state_save=0 --output-format=json >"$T_DIR/fio-budget.json" 2>&1
		assert_eq budget/verified 0 $?
		q0=$(queue0_json "$m")
		assert_eq budget/queue0-stays-at-start 4 "$(jq .entries <<<"$q0")"
		assert_eq budget/queue0-never-grew 0 "$(jq .growths <<<"$q0")"
		assert_contains budget/says-which-queue-and-why "$(cat "$log")" \
			"queue 0 stays at 4 entries: -o max_buffers=$((ncpu * 512 * 1024)) is reached"
		furi_umount "$m"
		t_wait_pid_exit "$FURI_FG_PID" 10
	else
		t_not_ok budget/mount "furi mount -f memfs -o max_buffers failed: $(tail -3 "$log")"
	fi
fi

# --- memory follows what a mount serves --------------------------------
# Payload buffers are reserved, not touched; an entry pins the head of its
# buffer only at its first backend I/O. Read from /proc, not furi's count:
# an idle mount at the default 64 entries of 1 MiB a queue holds a few MiB
# and pins nothing (it held queues x 64 MiB, all of it pinned); passthrough
# at QD64 4 KiB pins 64 KiB per entry in use, not 1 MiB; memfs never pins.
proc_kib() {	# PID FIELD
	awk -v f="$2:" '$1 == f {print $2}' /proc/"$1"/status
}
mem_src=$(t_mkdir mem-src)
for fs in memfs passthrough; do
	m=$(t_mkdir "mem-$fs")
	if [ $fs = memfs ]; then furi_mount memfs "$m" || continue
	else furi_mount passthrough "$mem_src" "$m" || continue; fi
	pid=$(furi_json_get "$m" pid)
	buffers_kib=$(( $(furi_json_get "$m" buffer_bytes) / 1024 ))
	assert_ge "memory/$fs-buffers-reserved-kib" $((ncpu * 64 * 1024)) "$buffers_kib"
	assert_le "memory/$fs-idle-rss-kib" 16384 "$(proc_kib "$pid" VmRSS)"
	assert_eq "memory/$fs-idle-pinned-kib" 0 "$(proc_kib "$pid" VmPin)"
	assert_eq "memory/$fs-status-shows-pinned" 0 "$(furi_json_get "$m" pinned_bytes)"
	assert_ge "memory/$fs-status-shows-resident" 1 "$(furi_json_get "$m" resident_bytes)"
	if command -v fio >/dev/null; then
		fio --name=mem --filename="$m/f" --ioengine=io_uring --rw=randrw --bs=4k --direct=1 \
			--iodepth=64 --size=16M --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
			--output-format=json >"$T_DIR/fio-mem-$fs.json" 2>&1
		assert_eq "memory/$fs-qd64-verified" 0 $?
		pinned=$(proc_kib "$pid" VmPin)
		if [ $fs = memfs ]; then
			assert_eq memory/memfs-qd64-pinned-kib 0 "$pinned"
		else
			# 64 KiB for each entry that ran backend I/O: at most all of them.
			assert_le memory/passthrough-qd64-pinned-kib $((ncpu * 64 * 64)) "$pinned"
			assert_ge memory/passthrough-qd64-pinned-some 64 "$pinned"
			assert_cmd memory/passthrough-mirror-equals-source cmp "$mem_src/f" "$m/f"
		fi
	fi
	furi_umount "$m"
done

# --- -o max_readahead above the kernel's 128 KiB reaches the mount's bdi ---
m=$(t_mkdir readahead)
if furi_mount memfs "$m" -o "max_readahead=1M"; then
	dev=$(awk -v m="$m" '$5 == m {print $3}' /proc/self/mountinfo)
	assert_eq readahead/bdi-read_ahead_kb 1024 "$(cat "/sys/class/bdi/$dev/read_ahead_kb")"
	dd if=/dev/zero of="$m/f" bs=1M count=16 status=none
	echo 3 >/proc/sys/vm/drop_caches
	before=$(furi_ops_count "$m" any READ)
	dd if="$m/f" of=/dev/null bs=1M status=none
	# 16 MiB read sequentially: 1 MiB READs, not 128 KiB ones (that would be 128).
	assert_le readahead/reads-for-16MiB 20 $(( $(furi_ops_count "$m" any READ) - before ))
	furi_umount "$m"
fi

# --- /dev/fuse when asked ---------------------------------------------------
m=$(t_mkdir legacy)
if furi_mount memfs "$m" -o transport=legacy,threads=3; then
	assert_contains legacy/mount-line "$FURI_MOUNT_LINE" "/dev/fuse: 3 threads"
	assert_cmd legacy/workload workload "$m"
	assert_eq legacy/transport dev_fuse "$(furi_transport "$m")"
	assert_contains legacy/reason "$(furi_json_get "$m" fallback_reason)" "transport=legacy"
	assert_eq legacy/no-uring-requests 0 "$(furi_requests "$m" io_uring)"
	assert_ge legacy/dev-fuse-writes 36 "$(furi_ops_count "$m" dev_fuse WRITE)"
	furi_umount "$m"
fi

# --- a REGISTER the kernel refuses: the mount must still work -------------
# FURI_FAULT makes the last queue's REGISTER carry a bad iovec count, so the
# real kernel fails it and falls back to /dev/fuse (fc->io_uring = 0).
m=$(t_mkdir regfail)
last=$((ncpu - 1))
# Default depth and max_write: the buffers would hold ~64 MiB per queue.
if FURI_FAULT=register:$last furi_mount memfs "$m"; then
	assert_contains regfail/mount-line "$FURI_MOUNT_LINE" "REGISTER failed on queue $last"
	assert_cmd regfail/workload-over-dev-fuse timeout 30 bash -c "$(declare -f workload); workload $m"
	assert_eq regfail/transport dev_fuse "$(furi_transport "$m")"
	assert_eq regfail/no-uring-requests 0 "$(furi_requests "$m" io_uring)"
	assert_ge regfail/dev-fuse-writes 36 "$(furi_ops_count "$m" dev_fuse WRITE)"
	assert_ge regfail/legacy-threads 2 "$(furi_json_get "$m" legacy_threads)"
	# The ring can never serve: its threads and buffers are gone, not idle
	# until unmount (from /proc, not from furi's own count).
	pid=$(furi_json_get "$m" pid)
	assert_eq regfail/no-queue-threads-left 0 \
		"$(grep -l '^furi-uring' /proc/"$pid"/task/*/comm 2>/dev/null | wc -l)"
	assert_le regfail/rss-without-ring-buffers-kib 16384 \
		"$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)"
	assert_eq regfail/status-no-queues 0 "$(furi_json_get "$m" queues)"
	furi_umount "$m"
	assert_cmd regfail/unmounted bash -c "! grep -q ' $m ' /proc/self/mountinfo"
else
	t_not_ok regfail/mount "the mount failed instead of falling back"
fi
m=$(t_mkdir regfail-required)
out=$(FURI_FAULT=register:$last "$FURI" mount memfs "$m" -o "$small,transport=uring" 2>&1)
rc=$?
assert_eq regfail-required/exit-status 1 "$rc"
assert_contains regfail-required/message "$out" "io_uring was required (-o transport=uring) but FUSE_IO_URING_CMD_REGISTER failed"
assert_eq regfail-required/not-mounted "" "$(t_mount_fstype "$m")"
[ -n "$(t_mount_fstype "$m")" ] && t_track_mount "$m"

# --- enable_uring=N: the reason and the fix are spelled out ---------------
t_on_exit "echo Y > $param"
echo N >"$param"
m=$(t_mkdir disabled)
if furi_mount memfs "$m" -o "$small"; then
	assert_contains disabled/mount-line "$FURI_MOUNT_LINE" "echo Y > /sys/module/fuse/parameters/enable_uring"
	assert_eq disabled/transport dev_fuse "$(furi_transport "$m")"
	assert_contains disabled/reason "$(furi_json_get "$m" fallback_reason)" "enable_uring is off"
	assert_cmd disabled/workload workload "$m"
	furi_umount "$m"
fi
m=$(t_mkdir disabled-required)
out=$("$FURI" mount memfs "$m" -o transport=uring 2>&1)
rc=$?
assert_eq disabled-required/exit-status 1 "$rc"
assert_contains disabled-required/message "$out" "enable_uring is off"
[ -n "$(t_mount_fstype "$m")" ] && t_track_mount "$m"
echo Y >"$param"

# --- io_uring disabled by sysctl ------------------------------------------
if [ -e /proc/sys/kernel/io_uring_disabled ]; then
	old=$(cat /proc/sys/kernel/io_uring_disabled)
	t_on_exit "echo $old > /proc/sys/kernel/io_uring_disabled"
	echo 2 >/proc/sys/kernel/io_uring_disabled
	m=$(t_mkdir sysctl)
	if furi_mount memfs "$m" -o "$small"; then
		echo "$old" >/proc/sys/kernel/io_uring_disabled
		assert_eq sysctl/transport dev_fuse "$(furi_transport "$m")"
		assert_contains sysctl/reason "$(furi_json_get "$m" fallback_reason)" "kernel.io_uring_disabled=2"
		assert_cmd sysctl/workload workload "$m"
		furi_umount "$m"
	fi
	echo "$old" >/proc/sys/kernel/io_uring_disabled
else
	t_skip sysctl "no kernel.io_uring_disabled on this kernel"
fi
t_done
