#!/bin/sh
# train_vs_torch.sh [BUILD_DIR]: training throughput of qadapt's nn/ against
# the PyTorch peer (Debian's python3-torch) in one invocation.
#
# For each model (small, resnet20) and each of ROUNDS rounds, runs
#   BUILD_DIR/bench/bench_train --model M --threads T
# (median of its repetitions) and then the peer for 2 epochs, whose second
# (steady-state) epoch is the reference; rounds interleave the two so that
# a change in machine load hits both. Prints a table of medians over rounds
# with the ratio qadapt / PyTorch, both peak RSS, and the load average
# before and after. Each round also times the peer's step alone
# (torch_step.py: the peer's model and recipe imported, like bench_train) for
# CPU milliseconds per image over all threads, next to bench_train's: the
# cost in cores, which a loaded machine disturbs less than the wall clock
# (though PyTorch's spinning OpenMP threads inflate it under load; with
# THREADS=1 neither side spins). Environment: ROUNDS (default 2), THREADS
# (2), PEER (the peer script), MODELS ("small resnet20"), RESNET_LIMIT
# (training images the peer uses for resnet20, default 12800: 100 steps per
# epoch).
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

build=${1:-build}
bench="$build/bench/bench_train"
step=$(dirname "$0")/torch_step.py
peer=${PEER:-$(dirname "$0")/../../shared/peer/torch_train.py}
rounds=${ROUNDS:-2}
threads=${THREADS:-2}
models=${MODELS:-"small resnet20"}
resnet_limit=${RESNET_LIMIT:-12800}
[ -x "$bench" ] || { echo "train_vs_torch: $bench not found (build it with ninja -C $build)" >&2; exit 1; }
[ -f "$peer" ] || { echo "train_vs_torch: peer script $peer not found (set PEER)" >&2; exit 1; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -n 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "train_vs_torch: $(nproc) cores, load average before: $load_before"
for m in $models; do
    case $m in
        small) qargs="--steps 50 --reps 5"; targs=""; sargs="--steps 50 --reps 5" ;;
        *) qargs="--steps 10 --reps 5"; targs="--limit $resnet_limit"; sargs="--steps 10 --reps 5" ;;
    esac
    r=1
    while [ "$r" -le "$rounds" ]; do
        # shellcheck disable=SC2086
        "$bench" --model "$m" --threads "$threads" $qargs > "$tmp/q.out"
        grep RESULT "$tmp/q.out" | field img_per_s >> "$tmp/$m.q"
        grep RESULT "$tmp/q.out" | field peak_rss_mb >> "$tmp/$m.qrss"
        grep RESULT "$tmp/q.out" | field cpu_ms_per_img >> "$tmp/$m.qcpu"
        # shellcheck disable=SC2086
        /usr/bin/python3 "$peer" --model "$m" --epochs 2 --threads "$threads" $targs > "$tmp/t.out"
        sed -n 's/^epoch 2 .*train_img_per_s \([0-9.]*\).*/\1/p' "$tmp/t.out" >> "$tmp/$m.t"
        grep RESULT "$tmp/t.out" | field peak_rss_mb >> "$tmp/$m.trss"
        # shellcheck disable=SC2086
        /usr/bin/python3 "$step" "$peer" --model "$m" --threads "$threads" $sargs > "$tmp/s.out"
        grep RESULT "$tmp/s.out" | field cpu_ms_per_img >> "$tmp/$m.tcpu"
        echo "  round $r $m: qadapt $(tail -n 1 "$tmp/$m.q") img/s, PyTorch epoch 2 $(tail -n 1 "$tmp/$m.t") img/s;" \
            "CPU ms/img qadapt $(tail -n 1 "$tmp/$m.qcpu"), PyTorch step $(tail -n 1 "$tmp/$m.tcpu")"
        r=$((r + 1))
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%-10s %14s %14s %7s %14s %14s %11s %11s %9s\n' model "qadapt img/s" "PyTorch img/s" ratio \
    "qadapt RSS MB" "PyTorch RSS MB" "qadapt CPU" "PyTorch CPU" "CPU ratio"
for m in $models; do
    q=$(median < "$tmp/$m.q")
    t=$(median < "$tmp/$m.t")
    qc=$(median < "$tmp/$m.qcpu")
    tc=$(median < "$tmp/$m.tcpu")
    printf '%-10s %14.1f %14.1f %7.2f %14.0f %14.0f %11.3f %11.3f %9.2f\n' "$m" "$q" "$t" \
        "$(echo "$q $t" | awk '{print $1 / $2}')" "$(median < "$tmp/$m.qrss")" "$(median < "$tmp/$m.trss")" \
        "$qc" "$tc" "$(echo "$tc $qc" | awk '{print $1 / $2}')"
done
echo "(CPU: ms of CPU time per training image over all threads; CPU ratio = PyTorch / qadapt, > 1 means qadapt is cheaper)"
echo "(medians over $rounds rounds; $threads threads, batch 128; PyTorch: steady-state second epoch)"
