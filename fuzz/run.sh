#!/usr/bin/env bash
# Long fuzz run: every target for N seconds (default 60), one after another.
#   fuzz/run.sh [SECONDS]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain,
# RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz passes (sanitizer).
# Seeds come from protocol/tests/fuzz-corpus/<target>/; new crashers land in
# fuzz/artifacts/<target>/: copy each into protocol/tests/fuzz-corpus/<target>/
# (or node/tests/frame-corpus/ for `frame`) so `cargo test` keeps it.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
for t in $(cargo fuzz list); do
    case "$t" in
        frame) seeds=../node/tests/frame-corpus ;;
        *) seeds=../protocol/tests/fuzz-corpus/$t ;;
    esac
    mkdir -p "corpus/$t" "$seeds"
    echo "== $t ($secs s)"
    cargo fuzz run "$t" "corpus/$t" "$seeds" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 2>&1 |
        grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs)|SUMMARY|crash-|ERROR" || true
done
