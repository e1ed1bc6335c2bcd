#!/bin/sh
# Run every fuzz target in the module for the given time each (default 30s),
# under a limit of address space per process (the fuzzer's workers
# included) and a wall-clock bound, so that a target that runs away fails
# instead of taking the machine with it. The limit is 4 GiB, not the
# hostile-disk corpus's 2 GiB: the fuzzing engine itself maps about 2 GiB
# (measured: under 2 GiB its workers fail to allocate and restart, a few
# inputs a second instead of hundreds).
set -eu
t=${1:-30s}
cd "$(dirname "$0")/.."
mem=$((4 << 30))
secs=$(echo "$t" | sed -n 's/^\([0-9]*\)s$/\1/p')
bound=$(( ${secs:-600} + 300 ))
limit() {
	if command -v prlimit >/dev/null 2>&1; then
		timeout "$bound" prlimit --as="$mem" "$@"
	else
		echo "fuzz.sh: prlimit (util-linux) is missing: running without a memory limit" >&2
		timeout "$bound" "$@"
	fi
}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cache=$(go env GOCACHE)/fuzz
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //') || true
	[ -n "$targets" ] || continue
	exe="$bin/$(echo "$pkg" | tr / _).test"
	# -fuzz at build time adds the coverage instrumentation that guides
	# the fuzzer.
	go test -c -o "$exe" -fuzz "^$(echo "$targets" | head -1)\$" "$pkg"
	for f in $targets; do
		echo "== $pkg $f"
		(cd "$dir" && limit "$exe" -test.run '^$' -test.fuzz "^$f\$" -test.fuzztime "$t" -test.fuzzcachedir "$cache/$pkg")
	done
done
