#!/usr/bin/env bash
# Long fuzz run: every target for N seconds (default 60), one after another,
# one libFuzzer job each.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable
# toolchain, RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz passes
# (-Zsanitizer=address builds on stable 1.95 this way). Where an ASan build
# fails, FUZZ_SANITIZER=none runs without a sanitizer (still catches panics,
# aborts, timeouts and the malloc limit).
# Seeds come from protocol/tests/fuzz-corpus/<target>/ (node/tests/frame-corpus
# for `frame`); new coverage goes to fuzz/corpus/<target>/, crashers
# (crash-, leak-, timeout-, oom-) to fuzz/artifacts/<target>/, the whole
# libFuzzer output to fuzz/logs/<target>.log. Minimise a crasher with
# `cargo fuzz tmin <target> <file>` and copy it into the seed directory so
# `cargo test` keeps it (protocol/tests/fuzz_regressions.rs,
# node/tests/frame_fuzz_regressions.rs). None of corpus/, artifacts/, logs/
# is committed.
# Exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
sanitizer="${FUZZ_SANITIZER:-address}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -s "$sanitizer"
mkdir -p logs
failed=()
for t in "${targets[@]}"; do
    case "$t" in
        frame) seeds=../node/tests/frame-corpus ;;
        *) seeds=../protocol/tests/fuzz-corpus/$t ;;
    esac
    mkdir -p "corpus/$t" "$seeds"
    echo "== $t ($secs s, sanitizer $sanitizer)"
    # -timeout: one input running 10 s is a bug (libFuzzer's default is 20 min).
    rc=0
    cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "$seeds" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=512 >"logs/$t.log" 2>&1 || rc=$?
    grep -E "^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)|SUMMARY|ERROR|(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+" \
        "logs/$t.log" || true
    echo "   corpus/$t: $(find "corpus/$t" -type f | wc -l) files, exit $rc"
    [ "$rc" -eq 0 ] || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "found something in: ${failed[*]} (see fuzz/logs/ and fuzz/artifacts/)" >&2
    exit 1
fi
