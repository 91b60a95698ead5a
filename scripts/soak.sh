#!/usr/bin/env bash
# Soak run of tlstriage's live capture (issue 17): a bounded loop of TLS
# handshakes on the loopback interface, a fifth of them failing, for
# SOAK_MINUTES, captured by
#
#   tlstriage -i lo -q --metrics 127.0.0.1:METRICS_PORT -w DIR/failed.pcapng -C 10 -W 5 \
#       --json-file DIR/conns.ndjson --truststore DIR/ca.pem 'tcp portrange PORT-PORT+3'
#
# and, at the same time and with the same filter, by tcpdump -i lo -w /dev/null.
# Every 10 s it samples tlstriage's VmRSS (and, from /metrics, its Go heap,
# goroutines and counters) into DIR/rss.csv; every 60 s it rotates the NDJSON
# as logrotate does (mv conns.ndjson conns.ndjson.N, then SIGHUP). At the
# end it scrapes /metrics once (DIR/metrics.prom), stops tlstriage and
# tcpdump with SIGINT and writes the result (go run ./internal/cmd/soakreport)
# to standard output and DIR/result.md: the RSS slope, kernel drops against
# tcpdump's, and the failed handshakes as the generator, the metrics, the
# NDJSON pieces and the -w ring count them. Not run by CI.
#
#   sudo scripts/soak.sh                       # 30 minutes at 300 handshakes/s
#   sudo SOAK_MINUTES=3 scripts/soak.sh        # a short run
#   sudo nohup scripts/soak.sh > soak.log 2>&1 &   # in the background
#
# Needs root (AF_PACKET capture on lo), Go, tcpdump and curl. Listens and
# connects on 127.0.0.1 only.
#
# Environment:
#   SOAK_MINUTES    how long the generator makes handshakes (default 30)
#   SOAK_RATE       handshakes started per second (default 300)
#   SOAK_MIX        the generator's --mix (default ok=80,unknown_ca=7,mismatch=7,client_cert=6)
#   SOAK_TLS        the generator's --tls: 1.2, 1.3 or mixed (default mixed)
#   SOAK_SOURCES    client source addresses 127.0.0.1 upwards (default 1: every
#                   4-tuple comes back within minutes, as behind one proxy)
#   SOAK_DIR        work directory, emptied first (default bench/soak; git ignores bench/)
#   PORT            port of the first of the generator's four servers (default 8443: 8443-8446)
#   METRICS_PORT    port of tlstriage's --metrics on 127.0.0.1 (default 19464)
#   ROTATE_SECONDS  NDJSON rotation period (default 60)
#   SAMPLE_SECONDS  RSS sampling period (default 10)
#   WARMUP          RSS samples left out of the second slope (default 2m)
#   TLSTRIAGE       a tlstriage binary to run instead of building cmd/tlstriage
#                   (a diagnostic build, say; GODEBUG=gctrace=1 in the environment
#                   puts the collector's trace in tlstriage.err)
#   TCPDUMP_OPTS    extra tcpdump options (default none: its default buffer, as
#                   the issue asks; tlstriage's own default -B is 32 MiB)
#
# Files of SOAK_DIR: soak.env (settings, machine), rss.csv, metrics.prom,
# tlstriage.{out,err}, tcpdump.err, generator.{json,err,log}, conns.ndjson.N and
# conns.ndjson, failed.pcapng0..4, result.md.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${SOAK_MINUTES:-30}"
rate="${SOAK_RATE:-300}"
mix="${SOAK_MIX:-ok=80,unknown_ca=7,mismatch=7,client_cert=6}"
tlsv="${SOAK_TLS:-mixed}"
sources="${SOAK_SOURCES:-1}"
dir="${SOAK_DIR:-bench/soak}"
port="${PORT:-8443}"
mport="${METRICS_PORT:-19464}"
rotate_s="${ROTATE_SECONDS:-60}"
sample_s="${SAMPLE_SECONDS:-10}"
warmup="${WARMUP:-2m}"
iface=lo
filter="tcp portrange $port-$((port + 3))"

die() { echo "soak: $*" >&2; exit 1; }
log() { echo "soak: $(date -u +%H:%M:%S) $*" >&2; }
[ "$(id -u)" = 0 ] || die "run as root: capturing on $iface needs CAP_NET_RAW"
for t in go tcpdump curl; do command -v "$t" >/dev/null || die "$t is missing"; done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
rm -f "$dir"/{soak.env,rss.csv,metrics.prom,tlstriage.out,tlstriage.err,tcpdump.err,generator.json,generator.err,generator.log,result.md,ca.pem} \
	"$dir"/conns.ndjson "$dir"/conns.ndjson.* "$dir"/failed.pcapng*

log "building into $dir"
if [ -n "${TLSTRIAGE:-}" ]; then
	cp "$TLSTRIAGE" "$dir/tlstriage"
else
	CGO_ENABLED=0 go build -o "$dir/tlstriage" ./cmd/tlstriage
fi
go build -o "$dir/handshakes" ./internal/cmd/handshakes
go build -o "$dir/soakreport" ./internal/cmd/soakreport

gen_pid= tt_pid= td_pid=
cleanup() {
	local p
	for p in $gen_pid $tt_pid $td_pid; do
		kill -0 "$p" 2>/dev/null && kill -INT "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# The generator first: its servers listen and it writes the CA the client
# trusts (tlstriage's truststore), then waits for SIGUSR1.
"$dir/handshakes" --rate "$rate" --duration "${minutes}m" --mix "$mix" --tls "$tlsv" --sources "$sources" \
	--port "$port" --ca-out "$dir/ca.pem" --log "$dir/generator.log" --wait-usr1 >"$dir/generator.json" 2>"$dir/generator.err" &
gen_pid=$!
for _ in $(seq 100); do
	grep -q 'waiting for SIGUSR1' "$dir/generator.err" && break
	kill -0 "$gen_pid" 2>/dev/null || { cat "$dir/generator.err" >&2; die "the generator exited"; }
	sleep 0.1
done
grep -q 'waiting for SIGUSR1' "$dir/generator.err" || die "the generator is not ready after 10 s"

"$dir/tlstriage" -i "$iface" -q --metrics "127.0.0.1:$mport" -w "$dir/failed.pcapng" -C 10 -W 5 \
	--json-file "$dir/conns.ndjson" --truststore "$dir/ca.pem" "$filter" >"$dir/tlstriage.out" 2>"$dir/tlstriage.err" &
tt_pid=$!
# shellcheck disable=SC2086 # TCPDUMP_OPTS is split on purpose
tcpdump -i "$iface" -w /dev/null ${TCPDUMP_OPTS:-} "$filter" 2>"$dir/tcpdump.err" &
td_pid=$!
for _ in $(seq 100); do
	if grep -q 'listening on' "$dir/tlstriage.err" && grep -q 'listening on' "$dir/tcpdump.err" &&
		curl -sf -o /dev/null "http://127.0.0.1:$mport/metrics"; then
		break
	fi
	kill -0 "$tt_pid" 2>/dev/null || { cat "$dir/tlstriage.err" >&2; die "tlstriage exited"; }
	kill -0 "$td_pid" 2>/dev/null || { cat "$dir/tcpdump.err" >&2; die "tcpdump exited"; }
	sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$mport/metrics" || die "tlstriage's /metrics does not answer after 10 s"
sleep 1

{
	echo "SOAK_MINUTES=$minutes"
	echo "SOAK_RATE=$rate"
	echo "SOAK_MIX=$mix"
	echo "SOAK_TLS=$tlsv"
	echo "SOAK_SOURCES=$sources"
	echo "tlstriage=tlstriage -i $iface -q --metrics 127.0.0.1:$mport -w failed.pcapng -C 10 -W 5 --json-file conns.ndjson --truststore ca.pem '$filter'"
	echo "tcpdump=tcpdump -i $iface -w /dev/null ${TCPDUMP_OPTS:+$TCPDUMP_OPTS }'$filter'"
	echo "rotation=mv conns.ndjson conns.ndjson.N; kill -HUP, every ${rotate_s} s"
	echo "machine=$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -g | awk '/^Mem:/ { print $2 " GiB memory" }'), kernel $(uname -r)"
	echo "versions=$("$dir/tlstriage" --version 2>&1 | head -1); $(tcpdump --version 2>&1 | head -1); $(go version)"
	echo "start=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "load at start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$dir/soak.env"

# sample T: appends one line to rss.csv.
sample() {
	local rss m
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$tt_pid/status" 2>/dev/null || true)
	m=$(curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" 2>/dev/null | awk '
		/^go_memstats_heap_inuse_bytes / { h = $2 }
		/^go_goroutines / { g = $2 }
		/^tlstriage_packets_total / { p = $2 }
		/^tlstriage_handshakes_total[{ ]/ { s += $NF; hs = 1 }
		END { printf "%s,%s,%s,%s", h, g, p, hs ? s : "" }' || true)
	[ -n "$m" ] || m=",,,"
	echo "$1,$rss,$m" >>"$dir/rss.csv"
}

echo "t_s,rss_kib,heap_inuse_bytes,goroutines,packets,handshakes" >"$dir/rss.csv"
log "tlstriage (pid $tt_pid), tcpdump (pid $td_pid) capturing '$filter'; $rate handshakes/s for $minutes min"
kill -USR1 "$gen_pid"
t0=$(date +%s)
sample 0
next_sample=$sample_s
next_rotate=$rotate_s
piece=0
while kill -0 "$gen_pid" 2>/dev/null; do
	now=$(($(date +%s) - t0))
	if [ "$now" -ge "$next_rotate" ]; then
		piece=$((piece + 1))
		mv "$dir/conns.ndjson" "$dir/conns.ndjson.$piece" || log "no conns.ndjson to rotate"
		kill -HUP "$tt_pid"
		next_rotate=$((next_rotate + rotate_s))
	fi
	if [ "$now" -ge "$next_sample" ]; then
		sample "$now"
		next_sample=$((next_sample + sample_s))
		if [ $((now % 300)) -lt "$sample_s" ]; then
			log "$now s: $(tail -1 "$dir/rss.csv")"
		fi
	fi
	kill -0 "$tt_pid" 2>/dev/null || { tail "$dir/tlstriage.err" >&2; die "tlstriage exited during the run"; }
	if [ -n "$td_pid" ] && ! kill -0 "$td_pid" 2>/dev/null; then
		# Not the script's doing: a signal from outside (a shared machine).
		log "tcpdump exited at $now s: its counts cover only the start of the run"
		echo "tcpdump exited early=at $now s of the run, not stopped by the script: its counts cover only that part" >>"$dir/soak.env"
		wait "$td_pid" || true
		td_pid=
	fi
	sleep 1
done
wait "$gen_pid" || die "the generator failed: $(tail -3 "$dir/generator.err")"
gen_pid=
log "generator done: $(tr -d ' \n' <"$dir/generator.json" | grep -o '"total":{[^}]*}')"

# Connections are reported 1 s (closed in full) to 5 s (reset) of capture
# time after their last packet: give them 10 s, still sampling.
end=$(($(date +%s) - t0 + 10))
while [ "$(($(date +%s) - t0))" -lt "$end" ]; do
	sleep 1
	now=$(($(date +%s) - t0))
	if [ "$now" -ge "$next_sample" ]; then
		sample "$now"
		next_sample=$((next_sample + sample_s))
	fi
done
sample "$(($(date +%s) - t0))"
curl -sf "http://127.0.0.1:$mport/metrics" >"$dir/metrics.prom" || die "scraping /metrics failed"
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }
{
	echo "tlstriage CPU seconds=$(cpu "$tt_pid")"
	[ -z "$td_pid" ] || echo "tcpdump CPU seconds=$(cpu "$td_pid")"
	echo "load at end=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$dir/soak.env"
kill -INT "$tt_pid"
wait "$tt_pid" || true # exit status 1: some handshakes failed
tt_pid=
if [ -n "$td_pid" ]; then
	kill -INT "$td_pid"
	wait "$td_pid" || true
	td_pid=
fi
echo "end=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/soak.env"
log "stopped; $piece rotations; result:"
"$dir/soakreport" --warmup "$warmup" "$dir"
