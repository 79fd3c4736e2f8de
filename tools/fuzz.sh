#!/usr/bin/env bash
# fuzz.sh: build the readers' fuzz targets (tests/fuzz/) with clang's
# libFuzzer, AddressSanitizer and UBSan in build-fuzz/, and fuzz them one
# after the other.
#
#   bash tools/fuzz.sh [SECONDS_PER_TARGET]    default 60
#   FUZZ_TARGETS="png idx" bash tools/fuzz.sh  a subset (default: all of them)
#   FUZZ_NICE=0 bash tools/fuzz.sh             full priority (default nice 10)
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>/)
# and its working corpus build-fuzz/corpus/<target>/, which keeps what
# earlier runs found; a finding (crash, leak, timeout of 10 s, more than
# 2 GB) is written to build-fuzz/findings/<target>/ and stops that target.
# A finding becomes a regression input: copy it to tests/fuzz/regress/<target>/
# under a name that says what it found, and fix the reader; the normal test
# suite replays every file there. One line per target:
#   fuzz png: 1234567 execs in 600 s (2057/s), corpus 412 files 96 KB, cov 1530 edges, 0 crashes
# Exit status: 0 when no target found anything, 1 otherwise.
# clang and libclang-rt-14-dev are installed with tools/setup.sh --fuzz-deps
# when missing.
set -uo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
esac
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || [ $# -gt 1 ]; then
    echo "fuzz.sh: expected one argument, the seconds per target (got '$*')" >&2
    usage >&2
    exit 2
fi

cd "$(dirname "$0")/.." || exit 1
all_targets="png jpeg idx cifar folder config ckpt runfile"
targets=${FUZZ_TARGETS:-$all_targets}
build=build-fuzz

if ! command -v clang >/dev/null 2>&1 ||
    ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'ok installed'; then
    bash tools/setup.sh --fuzz-deps || { echo "fuzz.sh: cannot install clang" >&2; exit 1; }
fi
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null ||
        { echo "fuzz.sh: meson setup $build failed" >&2; exit 1; }
fi
ninja -C "$build" >/dev/null || { echo "fuzz.sh: the build failed" >&2; exit 1; }

# The targets that read files write them to a scratch folder: tmpfs when
# there is one (10x the executions of a disk on the IDX and CIFAR targets).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi
# A leak, an error UBSan reports, or 10 s on one input are findings too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# Inputs larger than the seeds let mutations grow past them; CIFAR records
# are 3073-3074 bytes.
max_len() {
    case "$1" in cifar) echo 10000 ;; folder) echo 16384 ;; *) echo 4096 ;; esac
}

found=0
for t in $targets; do
    exe="$build/tests/fuzz/fuzz_$t"
    if [ ! -x "$exe" ]; then
        echo "fuzz.sh: no target '$t' (have: $all_targets)" >&2
        exit 2
    fi
    corpus="$build/corpus/$t" findings="$build/findings/$t"
    mkdir -p "$corpus" "$findings"
    log="$build/fuzz-$t.log"
    before=$(find "$findings" -type f | wc -l)
    start=$(date +%s)
    nice -n "${FUZZ_NICE:-10}" "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$findings/" \
        "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1
    elapsed=$(( $(date +%s) - start ))
    crashes=$(( $(find "$findings" -type f | wc -l) - before ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    files=$(find "$corpus" -type f | wc -l)
    kb=$(du -sk "$corpus" | cut -f1)
    printf 'fuzz %s: %s execs in %d s (%d/s), corpus %d files %d KB, cov %s edges, %d crashes\n' \
        "$t" "${execs:-0}" "$elapsed" $(( ${execs:-0} / (elapsed > 0 ? elapsed : 1) )) "$files" \
        "$kb" "${cov:-0}" "$crashes"
    if [ "$crashes" -gt 0 ]; then
        found=1
        echo "  findings in $findings/, the report in $log" >&2
    fi
done
exit "$found"
