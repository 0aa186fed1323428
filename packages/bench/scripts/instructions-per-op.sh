#!/usr/bin/env bash
# Instructions per operation on one hot path, counted by callgrind: two runs of dist/profile.js that
# differ only in the number of measured operations; the difference in instructions divided by the
# difference in operations cancels startup, setup and warm-up. Instruction counts do not depend on
# the machine's load (wall-clock figures do), so this is how a saving is shown on a busy machine.
#
#   scripts/instructions-per-op.sh <path> <library> [small-ops] [large-ops]
#   scripts/instructions-per-op.sh l1-get-seq cachet 100000 300000
#
# Paths that allocate a lot (the Redis ones) need a young generation large enough that the two runs
# do not differ by a whole major GC: PROFILE_NODE_FLAGS="--min-semi-space-size=64 --max-semi-space-size=64".
# PROFILE_WARMUP sets the warm-up operations (see src/profile.ts).
set -euo pipefail
path=$1 lib=$2 small=${3:-20000} large=${4:-60000}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
count() {
  # --predictable: V8 compiles and collects on the main thread with no timing-based heuristics, and
  # --predictable-gc-schedule fixes heap growing and the memory reducer, so that the count does not
  # depend on how fast the process ran (two runs of the same work otherwise differ by up to 2x).
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --predictable --predictable-gc-schedule ${PROFILE_NODE_FLAGS:-} "$here/dist/profile.js" "$path" "$lib" "$1" >/dev/null 2>"$out/log.$1"
  grep -m1 -o 'Collected : [0-9]*' "$out/log.$1" | grep -o '[0-9]*'
}
a=$(count "$small")
b=$(count "$large")
echo "$path $lib: $(( (b - a) / (large - small) )) instructions/op (callgrind; $small vs $large ops: $a, $b)"
rm -rf "$out"
