#!/usr/bin/env bash
# Measures the kernel drops of tlstriage's live capture (-i lo) against
# tcpdump -w /dev/null when tcpreplay replays a generated capture, rewritten
# into 127.0.0.0/8 and ::1, on the loopback interface (issue #5: "no more
# kernel drops than tcpdump at the highest rate tcpreplay --topspeed
# reaches").
#
#   scripts/live_drops.sh [RUNS]     RUNS per tool and phase, alternating (default 3)
#
# Needs root (AF_PACKET sockets, injecting on lo); installs tcpreplay and
# tcpdump with apt-get when they are missing. Sends nothing anywhere but the
# loopback interface, and aborts before replaying if the rewritten file has
# an address outside 127.0.0.0/8 and ::1.
#
# Phases, each run alternating tcpdump and tlstriage:
#   none       tcpreplay --topspeed with no capture running: the replay ceiling.
#   topspeed   tcpreplay --topspeed while the tool captures: each tool gets
#              whatever rate the sender reaches beside it.
#   fixed:F    tcpreplay --pps=F x R for about FIXED_SECONDS, with R the median
#              rate tcpreplay --topspeed reached beside tcpdump and F 1, 1/2
#              and 1/4: both tools at the same rates, as far as the sender
#              reaches them beside the tool (the pps column says).
#
# Environment:
#   LIVE_DIR    work directory for the binaries and captures (default bench/live; git ignores bench/)
#   SESSIONS    handshake sessions in the generated capture (default 20000: 438 k packets)
#   LOOPS       tcpreplay --loop of the topspeed phases (default 2: 877 k packets, 3-9 s)
#   FIXED_PPS   R of the fixed phases (default: as above); 0 skips them
#   FIXED_SECONDS  length of one fixed run at its rate (default 3)
#
# Counting on lo: a capture bound to lo is offered every replayed packet
# twice, as it leaves (PACKET_OUTGOING) and as it comes back. tcpdump
# (libpcap) discards the outgoing copy in user space, after the kernel
# counted it: its "received" (the kernel's tp_packets, drops included) is
# about 2 x replayed and its "drops" count lost copies of either direction.
# tlstriage has the kernel leave the outgoing copy out
# (PACKET_IGNORE_OUTGOING, Linux 4.20 and later): its "received" is about
# 1 x replayed and its "drops" count incoming copies only. The "copies"
# column says which (received / replayed, rounded). "missed" = replayed -
# captured counts replayed packets absent from the tool's output, the
# measure comparable across the two. Other loopback traffic on the machine
# while a run lasts shows up as received - copies x replayed > 0 (the
# "extra" column).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
dir="${LIVE_DIR:-bench/live}"
sessions="${SESSIONS:-20000}"
loops="${LOOPS:-2}"
iface=lo

die() { echo "live_drops: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root: capturing and replaying on $iface needs CAP_NET_RAW"
have() { command -v "$1" >/dev/null 2>&1; }
if ! have tcpreplay || ! have tcprewrite || ! have tcpdump; then
	echo "live_drops: installing tcpreplay and tcpdump" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y tcpreplay tcpdump >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y tcpreplay tcpdump >/dev/null; }
fi
mkdir -p "$dir"
res="$dir/results.tsv"
: >"$res"

CGO_ENABLED=0 go build -o "$dir/tlstriage" ./cmd/tlstriage
go build -o "$dir/bigcap" ./internal/cmd/bigcap

# The capture, and its copy rewritten into 127.0.0.0/8 and ::1: the host
# part of every IPv4 address is kept (10.1.2.3 becomes 127.1.2.3,
# 192.0.2.11 becomes 127.0.2.11) and every IPv6 address becomes ::1 (the
# sessions keep their ports; two addresses may become one, which matters
# not here). Checksums are recomputed. The MACs need no
# change: the kernel's loopback frames have zero MACs, but the file's
# locally administered unicast ones (02:00:00:00:00:0x) make the loopback
# receive path mark the frames PACKET_OTHERHOST, which every capture sees
# and the IP stack discards without answering. (tcprewrite gives the ::1
# frames the multicast MAC 33:33:00:00:00:01; TCP discards those too.)
src="$dir/hs-$sessions.pcap"
lofile="$dir/hs-$sessions-lo.pcap"
[ -f "$src" ] || "$dir/bigcap" -kind handshake -sessions "$sessions" -o "$src"
if [ ! -f "$lofile" ] || [ "$src" -nt "$lofile" ]; then
	tcprewrite --fixcsum \
		--pnat='0.0.0.0/1:127.0.0.0/8,128.0.0.0/1:127.0.0.0/8,[::/1]:[::1/128],[8000::/1]:[::1/128]' \
		-i "$src" -o "$lofile.tmp"
	mv "$lofile.tmp" "$lofile"
fi

# Every packet must be IPv4 from and to 127.0.0.0/8 or IPv6 from and to
# ::1; anything else (another address, a non-IP frame, a VLAN tag) aborts.
count() { tcpdump -nr "$lofile" --count "$@" 2>/dev/null | awk '/ packets$/ { print $1 }'; }
total=$(count)
outside=$(count 'not ((ip and src net 127.0.0.0/8 and dst net 127.0.0.0/8) or (ip6 and src host ::1 and dst host ::1))')
[ -n "$total" ] && [ -n "$outside" ] || die "$lofile: tcpdump --count failed"
[ "$total" -gt 0 ] || die "$lofile: no packets"
[ "$outside" -eq 0 ] || die "$lofile: $outside of $total packets have an address outside 127.0.0.0/8 and ::1: not replaying"
echo "live_drops: $lofile: $total packets, all between 127.0.0.0/8 addresses or ::1" >&2
tcpdump -enr "$lofile" -c 2 2>/dev/null | cut -c1-150 >&2
tcpdump -enr "$lofile" -c 1 ip6 2>/dev/null | cut -c1-150 >&2

ifindex=$(cat "/sys/class/net/$iface/ifindex")

# bound PID: reports whether PID holds a packet socket bound to $iface.
bound() {
	local fd link inode
	for fd in /proc/"$1"/fd/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		case "$link" in socket:*) ;; *) continue ;; esac
		inode=${link#socket:[}
		inode=${inode%]}
		awk -v i="$inode" -v x="$ifindex" 'NR > 1 && $9 == i && $5 == x { f = 1 } END { exit !f }' /proc/net/packet && return 0
	done
	return 1
}

# replay OUT [tcpreplay options]: replays the file on $iface and writes
# "pps Mbps packets" to OUT.
replay() {
	local out="$1" log="$dir/tcpreplay.log"
	shift
	tcpreplay -K "$@" -i "$iface" "$lofile" >"$log" 2>&1 || { cat "$log" >&2; die "tcpreplay failed"; }
	awk '/^Actual:/ { n = $2 } /^Rated:/ { mbps = $4; pps = $6 } /Failed packets:/ { f = $3 }
		END { if (f > 0) print "live_drops: tcpreplay: " f " packets failed" > "/dev/stderr"; print pps, mbps, n }' "$log" >"$out"
}

# run PHASE TOOL I [tcpreplay options]: one run; appends
# "phase tool i pps mbps replayed captured received drops cpu" to $res,
# cpu being the tool's CPU seconds (user + system) until the stop.
run() {
	local phase="$1" tool="$2" i="$3" err="$dir/$2.err" pid n ready=0 pps mbps replayed captured= received= drops= cpu
	shift 3
	if [ "$tool" = none ]; then
		replay "$dir/replay.out" "$@"
		read -r pps mbps replayed <"$dir/replay.out"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\n' "$phase" "$tool" "$i" "$pps" "$mbps" "$replayed" >>"$res"
		printf '%-9s %-9s run %s: %8.0f pps %7.1f Mbps, %d packets replayed\n' "$phase" "$tool" "$i" "$pps" "$mbps" "$replayed" >&2
		return
	fi
	case "$tool" in
	tcpdump) tcpdump -i "$iface" -w /dev/null 2>"$err" & ;;
	tlstriage) "$dir/tlstriage" -i "$iface" --json >/dev/null 2>"$err" & ;;
	esac
	pid=$!
	for n in $(seq 100); do # ready: the socket is bound (and tcpdump says it listens)
		if bound "$pid" && { [ "$tool" != tcpdump ] || grep -q 'listening on' "$err"; }; then
			ready=1
			break
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; die "$tool exited before capturing"; }
		sleep 0.1
	done
	[ "$ready" = 1 ] || { kill -INT "$pid"; die "$tool not ready after 10 s"; }
	sleep 0.5
	replay "$dir/replay.out" "$@"
	# tcpdump reads a TPACKET_V3 block once it is full or after its 1 s
	# timeout, tlstriage after 100 ms: wait for both.
	sleep 2
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat")
	kill -INT "$pid"
	wait "$pid" || true
	read -r pps mbps replayed <"$dir/replay.out"
	case "$tool" in
	tcpdump)
		captured=$(awk '/packets captured/ { print $1 }' "$err")
		received=$(awk '/packets received by filter/ { print $1 }' "$err")
		drops=$(awk '/packets dropped by kernel/ { print $1 }' "$err")
		;;
	tlstriage)
		read -r captured received drops < <(sed -n 's/.*capture on [^:]*: \([0-9]*\) packets captured, \([0-9]*\) received by the filter, \([0-9]*\) dropped by the kernel.*/\1 \2 \3/p' "$err") || true
		;;
	esac
	[ -n "$captured" ] && [ -n "$received" ] && [ -n "$drops" ] || { cat "$err" >&2; die "$tool: no counters on stderr"; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$tool" "$i" "$pps" "$mbps" "$replayed" "$captured" "$received" "$drops" "$cpu" >>"$res"
	printf '%-9s %-9s run %s: %8.0f pps %7.1f Mbps, %d replayed, %d captured, %d received, %d dropped by the kernel, %s s CPU\n' \
		"$phase" "$tool" "$i" "$pps" "$mbps" "$replayed" "$captured" "$received" "$drops" "$cpu" >&2
}

echo "live_drops: $(nproc) cores, kernel $(uname -r), $(tcpreplay -V 2>&1 | head -1), $(tcpdump --version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$runs"); do
	run none none "$i" --topspeed --loop "$loops"
done
for i in $(seq "$runs"); do
	run topspeed tcpdump "$i" --topspeed --loop "$loops"
	run topspeed tlstriage "$i" --topspeed --loop "$loops"
done
fixed="${FIXED_PPS:-$(awk -F'\t' '$1 == "topspeed" && $2 == "tcpdump" { print $4 }' "$res" | sort -g |
	awk '{ a[NR] = $1 } END { printf "%d", a[int((NR + 1) / 2)] }')}"
rates=""
if [ "$fixed" -gt 0 ]; then
	for f in 1 2 4; do
		pps=$((fixed / f))
		limit=$((pps * ${FIXED_SECONDS:-3}))
		label="fixed:1"
		[ "$f" = 1 ] || label="fixed:1/$f"
		rates="$rates $label=$pps"
		for i in $(seq "$runs"); do
			run "$label" tcpdump "$i" --pps="$pps" --pps-multi=10 --loop=0 --limit="$limit"
			run "$label" tlstriage "$i" --pps="$pps" --pps-multi=10 --loop=0 --limit="$limit"
		done
	done
fi

# The table: medians over the runs of each phase and tool, each column on
# its own. drop% = drops / received (the copies the kernel offered);
# missed% = (replayed - captured) / replayed; copies = received / replayed,
# rounded (2: outgoing copies counted, 1: left out); extra = received -
# copies x replayed;
# cpu_s = the capturing tool's CPU seconds.
echo
echo "loopback replay of $(basename "$lofile") ($total packets; topspeed: x $loops; target pps:$rates); $runs runs each, medians"
awk -F'\t' '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0 || a[1] == "-") return "-"
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function num(v) { return v == "-" ? "-" : sprintf("%.0f", v) }
function add(k, c, v) { col[k, c] = col[k, c] (col[k, c] == "" ? "" : " ") v }
{
	k = $1 "\t" $2
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	nrun[k]++
	add(k, "pps", $4); add(k, "mbps", $5); add(k, "replayed", $6)
	if ($7 == "-") { add(k, "captured", "-"); add(k, "received", "-"); add(k, "drops", "-"); add(k, "droppct", "-"); add(k, "missedpct", "-"); add(k, "copies", "-"); add(k, "extra", "-"); add(k, "cpu", "-"); next }
	add(k, "captured", $7); add(k, "received", $8); add(k, "drops", $9); add(k, "cpu", $10)
	add(k, "droppct", $8 > 0 ? 100 * $9 / $8 : 0)
	add(k, "missedpct", 100 * ($6 - $7) / $6)
	copies = $8 >= 1.5 * $6 ? 2 : 1
	add(k, "copies", copies)
	add(k, "extra", $8 - copies * $6)
}
END {
	printf "%-9s %-9s %4s %9s %7s %9s %9s %9s %9s %7s %8s %6s %7s %6s\n", "phase", "tool", "runs", "pps", "Mbps", "replayed", "captured", "received", "drops", "drop%", "missed%", "copies", "extra", "cpu_s"
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, p, "\t")
		d = median(col[k, "droppct"]); m = median(col[k, "missedpct"])
		c = median(col[k, "cpu"])
		printf "%-9s %-9s %4d %9.0f %7.1f %9.0f %9s %9s %9s %7s %8s %6s %7s %6s\n", p[1], p[2], nrun[k],
			median(col[k, "pps"]), median(col[k, "mbps"]), median(col[k, "replayed"]),
			num(median(col[k, "captured"])), num(median(col[k, "received"])), num(median(col[k, "drops"])),
			d == "-" ? "-" : sprintf("%.2f", d), m == "-" ? "-" : sprintf("%.2f", m), num(median(col[k, "copies"])),
			num(median(col[k, "extra"])), c == "-" ? "-" : sprintf("%.2f", c)
	}
}' "$res"
echo "(per run: $res)"
# The criterion of issue #5, on the topspeed medians; the replayed packets
# missing from each tool's output as well, since tcpdump's drops count
# copies tlstriage is not offered.
awk -F'\t' '$1 == "topspeed" { d[$2] = d[$2] " " $9; m[$2] = m[$2] " " ($6 - $7) }
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	t = median(d["tlstriage"]); c = median(d["tcpdump"])
	printf "criterion (topspeed, median kernel drops): tlstriage %d, tcpdump %d: %s (median packets missed: tlstriage %d, tcpdump %d)\n",
		t, c, t <= c ? "met" : "NOT met", median(m["tlstriage"]), median(m["tcpdump"])
}' "$res"
