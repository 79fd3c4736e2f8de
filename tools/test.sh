#!/usr/bin/env bash
# test.sh: build if needed and run the whole test suite (meson test).
#
#   bash tools/test.sh                 in build/
#   bash tools/test.sh --sanitize      in build-asan/ with AddressSanitizer and UBSan
#   bash tools/test.sh --builddir DIR  in DIR (created with --sanitize's options
#                                      when --sanitize is given too)
#
# The last line printed is exactly "N passed, N failed": individual Check
# test cases over all test programs (from their TAP output), a program that
# crashed or timed out counting as failed (with any planned cases it did
# not report). Exit status: 0 when nothing failed, 1 otherwise.
#
# Tests that need an installed dataset (Fashion-MNIST) fail when it is
# missing: QA_REQUIRE_DATA=1 is exported unless already set (CI installs the
# datasets; QA_REQUIRE_DATA=0 lets them skip on a machine without them).
set -uo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

sanitize=0
builddir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) sanitize=1 ;;
        --builddir)
            if [ $# -lt 2 ]; then echo "test.sh: --builddir needs a directory" >&2; exit 2; fi
            builddir="$2"
            shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "test.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

cd "$(dirname "$0")/.." || exit 1
export QA_REQUIRE_DATA="${QA_REQUIRE_DATA:-1}"

setup_args=()
multiplier=1
if [ "$sanitize" -eq 1 ]; then
    builddir="${builddir:-build-asan}"
    setup_args=("-Db_sanitize=address,undefined" -Dbuildtype=debugoptimized)
    multiplier=4
    # Check's own per-case timeouts (tcase_set_timeout) scale as meson's do:
    # a smoke run of test_env_run passed 120 s under ASan on a loaded machine.
    export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-$multiplier}"
    # UBSan only reports by default: make every finding fail its test.
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
fi
builddir="${builddir:-build}"

fail_build() {
    echo "test.sh: $1" >&2
    echo "0 passed, 1 failed"
    exit 1
}

if [ ! -f "$builddir/build.ninja" ]; then
    meson setup "$builddir" "${setup_args[@]}" || fail_build "meson setup $builddir failed"
fi
ninja -C "$builddir" || fail_build "the build failed"

meson test -C "$builddir" --no-rebuild --print-errorlogs --timeout-multiplier "$multiplier"
meson_rc=$?

summary=$(python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, re, sys

passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    ok = len(re.findall(r"^ok \d+(?! +# *SKIP)", out, re.M | re.I))
    not_ok = len(re.findall(r"^not ok \d+", out, re.M))
    skipped = len(re.findall(r"^ok \d+ +# *SKIP", out, re.M | re.I))
    plan = re.search(r"^1\.\.(\d+)", out, re.M)
    good = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
    if ok + not_ok + skipped == 0:  # not a TAP program: it counts as one case
        passed += good
        failed += not good
        continue
    unreported = int(plan.group(1)) - (ok + not_ok + skipped) if plan else 0
    bad = not_ok + max(unreported, 0)
    if not good and bad == 0:  # crashed, timed out or died after its last case
        bad = 1
    passed += ok
    failed += bad
print(f"{passed} passed, {failed} failed")
PY
) || fail_build "cannot read $builddir/meson-logs/testlog.json"

echo "$summary"
case "$summary" in
    *" 0 failed")
        [ "$meson_rc" -eq 0 ] && exit 0 ;;
esac
exit 1
