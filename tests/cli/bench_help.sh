#!/usr/bin/env bash
# bench_help.sh BENCH...: every benchmark program and script answers --help
# with its options (exit 0, a "usage:" line or its header comment) and
# refuses an unknown option with a non-zero exit, one TAP case each.
# The arguments are the benchmark executables (meson passes their paths);
# the scripts are found next to this file's bench/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
scripts=("$here/../../bench/train_vs_torch.sh" "$here/../../bench/conv_vs_torch.sh"
         "$here/../../bench/bench_quant.sh")
echo "1..$(($# * 2 + ${#scripts[@]}))"
n=0
for b in "$@"; do
    name=$(basename "$b")
    n=$((n + 1))
    out=$("$b" --help 2>&1); rc=$?
    if [ "$rc" -eq 0 ] && grep -q "^usage: $name" <<< "$out"; then
        echo "ok $n - $name --help"
    else
        echo "not ok $n - $name --help: exit $rc"; sed 's/^/# /' <<< "$out" | head -5
    fi
    n=$((n + 1))
    out=$("$b" --no-such-option 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && grep -q "no-such-option" <<< "$out"; then
        echo "ok $n - $name refuses an unknown option"
    else
        echo "not ok $n - $name --no-such-option: exit $rc"; sed 's/^/# /' <<< "$out" | head -5
    fi
done
for s in "${scripts[@]}"; do
    name=$(basename "$s")
    n=$((n + 1))
    out=$(bash "$s" --help 2>&1); rc=$?
    if [ "$rc" -eq 0 ] && grep -q "^$name" <<< "$out"; then
        echo "ok $n - $name --help"
    else
        echo "not ok $n - $name --help: exit $rc"; sed 's/^/# /' <<< "$out" | head -5
    fi
done
