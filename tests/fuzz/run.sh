#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fuzz/run.sh DIR: replays each fuzz target's corpus (seeds and every
# crash reproducer, so a fixed crash stays fixed), then fuzzes it for
# FUZZ_SECONDS seconds. New inputs go to a scratch directory, not into the
# committed corpus; a crash leaves its reproducer in tests/fuzz/artifacts/
# and fails the run. Each target runs in a fresh network namespace of its
# own: libslirp opens real sockets for what the fuzzed frames ask for.
set -u
dir=$(cd "${1:?usage: run.sh DIR-OF-FUZZ-BINARIES}" && pwd)
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
max_len=${FUZZ_MAX_LEN:-8192}
scratch=$(mktemp -d /tmp/s4n-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p artifacts
failed=()
for bin in "$dir"/fuzz_*; do
    [ -x "$bin" ] || { echo "fuzz: no fuzz_* binaries in $dir"; exit 1; }
    target=${bin##*/fuzz_}
    corpus=corpus/$target
    mkdir -p "$scratch/$target"
    echo "== $target: replaying $(ls "$corpus" | wc -l) corpus inputs"
    if ! unshare --net "$bin" -runs=0 "$corpus" >"$scratch/$target.replay" 2>&1; then
        tail -n 40 "$scratch/$target.replay"
        failed+=("$target(replay)")
        continue
    fi
    echo "== $target: fuzzing for ${seconds}s"
    if ! unshare --net "$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="artifacts/$target-" \
        "$scratch/$target" "$corpus" >"$scratch/$target.log" 2>&1; then
        grep -v '^#' "$scratch/$target.log" | tail -n 40
        failed+=("$target")
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done' "$scratch/$target.log" |
        sed "s/^/   /"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]} (reproducers in tests/fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: all targets clean"
