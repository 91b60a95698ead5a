#!/usr/bin/env bash
# Times tlstriage on big generated captures against the read floor, tcpdump
# and tshark (when installed), in one run on one machine, and prints a
# table of medians: seconds, MB/s, handshakes/s, peak RSS and the ratio to
# tlstriage's time.
#
#   scripts/bench.sh [RUNS]      RUNS per tool and file, alternating (default 3)
#
# The captures are made by internal/cmd/bigcap into bench/ (git ignores it)
# when missing: bulk-200m.pcap and bulk-2g.pcap (TLS sessions with about
# 100 KB of application data each) and hs-200k.pcap (200,000 short
# connections). Environment:
#
#   BENCH_DIR     where the captures and binaries go (default bench)
#   BENCH_FILES   which captures (default "bulk-200m bulk-2g hs-200k")
#   TSHARK_RUNS   runs of tshark per file (default 1: minutes per GB);
#                 0 skips it. Install it with
#                 DEBIAN_FRONTEND=noninteractive apt-get install -y tshark
#   JOBS          also time tlstriage -j JOBS (default: the number of
#                 cores, when above 1)
#   BASELINE      a git revision (a commit, a tag, main~3) to time in the
#                 same run, alternating with the working tree: its rows are
#                 tlstriage@REV and tlstriage-j@REV, for before and after
#                 tables
#
# Page cache: the files are read once before timing, so every tool reads
# from memory; on a machine with less free memory than the files, the
# numbers include the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
dir="${BENCH_DIR:-bench}"
files="${BENCH_FILES:-bulk-200m bulk-2g hs-200k}"
tshark_runs="${TSHARK_RUNS:-1}"
jobs="${JOBS:-$(nproc)}"
mkdir -p "$dir"

CGO_ENABLED=0 go build -o "$dir/tlstriage" ./cmd/tlstriage
baseline="${BASELINE:-}"
if [ -n "$baseline" ]; then
	rev=$(git rev-parse --short "$baseline^{commit}")
	wt="$(mktemp -d)"
	git worktree add -q --detach "$wt" "$rev"
	out="$(cd "$dir" && pwd)/tlstriage@$rev"
	(cd "$wt" && CGO_ENABLED=0 go build -o "$out" ./cmd/tlstriage)
	git worktree remove --force "$wt"
	baseline="$rev"
fi
go build -o "$dir/bigcap" ./internal/cmd/bigcap
for f in $files; do
	[ -f "$dir/$f.pcap" ] && continue
	case "$f" in
	bulk-200m) args=(-kind bulk -size 200M) ;;
	bulk-2g) args=(-kind bulk -size 2G) ;;
	hs-200k) args=(-kind handshake -sessions 200000) ;;
	hs-20k) args=(-kind handshake -sessions 20000) ;;
	*) echo "bench: unknown capture $f" >&2; exit 2 ;;
	esac
	"$dir/bigcap" "${args[@]}" -o "$dir/$f.pcap" -roots "$dir/roots.pem"
done

have() { command -v "$1" >/dev/null 2>&1; }
# -j exists once flows are sharded across workers.
if "$dir/tlstriage" --help 2>/dev/null | grep -q -- '--jobs'; then
	one=(-j 1)
else
	one=()
	jobs=1
fi

# timed TOOL FILE OUT: runs a tool on FILE under /usr/bin/time, output to
# /dev/null, "seconds maxrss-KiB" to OUT.
timed() {
	local f="$2"
	local cmd
	case "$1" in
	read-floor) cmd=(dd "if=$f" of=/dev/null bs=1M status=none) ;;
	tlstriage) cmd=("$dir/tlstriage" -r "$f" --json "${one[@]}") ;;
	tlstriage-j) cmd=("$dir/tlstriage" -r "$f" --json -j "$jobs") ;;
	tlstriage@*) cmd=("$dir/$1" -r "$f" --json "${one[@]}") ;;
	tlstriage-j@*) cmd=("$dir/tlstriage@${1#tlstriage-j@}" -r "$f" --json -j "$jobs") ;;
	tcpdump) cmd=(tcpdump -nr "$f" 'tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16') ;;
	tshark) cmd=(tshark -r "$f" -n -Y 'tls.handshake.type == 1 || tls.handshake.type == 11' -T fields
		-e frame.number -e ip.src -e tcp.srcport -e tls.handshake.extensions_server_name
		-e tls.handshake.ciphersuite -e x509sat.printableString -e x509ce.dNSName) ;;
	esac
	/usr/bin/time -f "%e %M" -o "$3" "${cmd[@]}" >/dev/null 2>&1 || true
}

tools="read-floor tlstriage"
[ -n "$baseline" ] && tools="$tools tlstriage@$baseline"
[ "$jobs" -gt 1 ] && tools="$tools tlstriage-j"
[ "$jobs" -gt 1 ] && [ -n "$baseline" ] && tools="$tools tlstriage-j@$baseline"
have tcpdump && tools="$tools tcpdump"
have tshark && [ "$tshark_runs" -gt 0 ] && tools="$tools tshark"

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
have tshark && echo "# $(tshark --version 2>/dev/null | head -1)"
have tcpdump && echo "# $(tcpdump --version 2>&1 | head -1)"

results="$(mktemp)"
trap 'rm -f "$results" "$results.t"' EXIT
for f in $files; do
	path="$dir/$f.pcap"
	size=$(stat -c %s "$path")
	cat "$path" >/dev/null # page cache
	# Handshakes: the TLS connections tlstriage counts.
	sessions=$("$dir/tlstriage" -r "$path" --json 2>&1 >/dev/null | sed -n 's/.* \([0-9]*\) TLS connections.*/\1/p' || true)
	for run in $(seq "$runs"); do
		for t in $tools; do
			if [ "$t" = tshark ] && [ "$run" -gt "$tshark_runs" ]; then
				continue
			fi
			timed "$t" "$path" "$results.t"
			read -r secs rss < <(tail -1 "$results.t")
			echo "$f $t $secs $rss $size $sessions" >>"$results"
		done
	done
done

awk '
function median(arr, n,    i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
	return (n % 2) ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
{
	k = $1 " " $2
	if (!(k in n)) { order[++keys] = k }
	n[k]++; secs[k, n[k]] = $3; if ($4 > rss[k]) rss[k] = $4
	size[$1] = $5; sess[$1] = $6
}
END {
	printf "%-10s %-20s %5s %9s %9s %13s %10s %9s\n", "capture", "tool", "runs", "median s", "MB/s", "handshakes/s", "peak MiB", "x tlstr."
	for (i = 1; i <= keys; i++) {
		split(order[i], p, " ")
		m = n[order[i]]
		for (j = 1; j <= m; j++) a[j] = secs[order[i], j]
		med[order[i]] = median(a, m)
	}
	for (i = 1; i <= keys; i++) {
		split(order[i], p, " ")
		f = p[1]; t = p[2]; s = med[order[i]]
		base = med[f " tlstriage"]
		mbs = (s > 0) ? size[f] / 1e6 / s : 0
		hs = (s > 0 && t !~ /read-floor|tcpdump/) ? sprintf("%13.0f", sess[f] / s) : sprintf("%13s", "-")
		ratio = (base > 0) ? sprintf("%9.2f", s / base) : sprintf("%9s", "-")
		printf "%-10s %-20s %5d %9.2f %9.0f %s %10.1f %s\n", f, t, n[order[i]], s, mbs, hs, rss[order[i]] / 1024, ratio
	}
}' "$results"
