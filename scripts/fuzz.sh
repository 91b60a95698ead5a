#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time.
#
#   scripts/fuzz.sh [PER_TARGET]      e.g. scripts/fuzz.sh 5s (the default)
#
# go test -fuzz takes one package and one target per run, so each target is
# a run of its own: PER_TARGET of fuzzing plus a few seconds to start the
# workers and replay the seed corpus and the cached corpus. The first run of
# a package also builds its instrumented test binary; the builds are
# cached. With 20 targets in 9 packages, 5s per target keeps the whole stage
# under the 5-minute CI budget on 2 cores. FUZZ_BUDGET (seconds, default
# 270) stops starting new targets once the next one would overrun it, so
# more targets or a slow machine cannot blow the budget; the targets left
# out are listed.
#
# -fuzzminimizetime (FUZZMINIMIZE, default 3s) bounds how long a run spends
# minimising a new input, so that short runs fuzz rather than minimise.
#
# A failure prints the test output; the failing input is in the package's
# testdata/fuzz/FuzzX/ directory: minimise it, fix the bug, and commit the
# input as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
per_target="${1:-5s}"
budget="${FUZZ_BUDGET:-270}"

# Packages and their targets, from the test files (no go list per package).
mapfile -t found < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' . |
	grep -v '/testdata/' | sort)
if [ "${#found[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
ran=0
skipped=()
declare -A done_pkg
for file in "${found[@]}"; do
	dir=$(dirname "$file")
	[ -n "${done_pkg[$dir]:-}" ] && continue
	done_pkg[$dir]=1
	for target in $(grep -ohE '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' "$dir"/*_test.go |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | sort -u); do
		elapsed=$((SECONDS - start))
		if [ "$ran" -gt 0 ] && [ $((elapsed + elapsed / ran)) -gt "$budget" ]; then
			skipped+=("$dir $target")
			continue
		fi
		t0=$SECONDS
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$per_target" -fuzzminimizetime "${FUZZMINIMIZE:-3s}" "$dir" >"$log" 2>&1; then
			# The fuzzing engine sometimes ends a run with "context deadline
			# exceeded" and no failing input when the machine is
			# overloaded (its workers stall): that is no finding, run again.
			if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
				echo "fuzz: $dir $target: engine timed out without a finding, running again" >&2
				go test -run '^$' -fuzz "^${target}\$" -fuzztime "$per_target" -fuzzminimizetime "${FUZZMINIMIZE:-3s}" "$dir" >"$log" 2>&1 && {
					ran=$((ran + 1))
					echo "fuzz: $dir $target ok ($((SECONDS - t0))s)"
					continue
				}
			fi
			cat "$log"
			echo "fuzz: $dir $target FAILED" >&2
			exit 1
		fi
		ran=$((ran + 1))
		echo "fuzz: $dir $target ok ($((SECONDS - t0))s)"
	done
done
echo "fuzz: $ran targets in $((SECONDS - start))s"
if [ "${#skipped[@]}" -gt 0 ]; then
	echo "fuzz: warning: over the ${budget}s budget, not run:" >&2
	printf '  %s\n' "${skipped[@]}" >&2
fi
