#!/bin/sh
# train_vs_torch.sh [BUILD_DIR]: training throughput of qadapt against the
# PyTorch peer (Debian's python3-torch), in one invocation.
#
# Cases (CASES, default "small resnet20 small-w4a4"): fp32 training of small
# and resnet20 (bench_train), and W4A4 QAT of small (bench_quant's hard
# mode: method fixed's step, input left as it comes like the peer's QAT).
# The reference is the peer's own model and recipe timed step by step like
# the C benchmarks (torch_step.py imports the peer script: the same
# gather, forward, loss, backward and SGD step; --qat 4 for W4A4).
# Every round runs each case under every OpenBLAS setting (CORETYPES,
# default: OPENBLAS_CORETYPE as found, Haswell when unset, and then unset
# together with OPENBLAS_L2_SIZE, which machines that set the one set
# beside it: OpenBLAS's own CPU guess) and thread count (THREADS, default "2 1"),
# qadapt then PyTorch under the same environment, so that load from other
# processes hits both alike; ROUNDS (default 3) rounds interleave it all.
# Printed: each run as it ends, then per case, setting and thread count the
# medians over rounds of images/s (wall) and CPU ms per image (the process's
# CPU time over all threads: the cost in cores, which a loaded machine
# disturbs less than the wall clock; PyTorch's spinning OpenMP threads still
# inflate it under load, and its 2-thread wall time collapses when the
# cores are oversubscribed, so judge 2 threads by the 1-thread rows and the
# load too), the ratios qadapt / PyTorch of both, both peak RSS, the GEMM
# qadapt ran and OpenBLAS's core, and the load average before and after.
# Environment: ROUNDS, THREADS, CORETYPES ("unset" means unset), CASES,
# GEMM (bench's --gemm, default auto), PEER (the peer script), STEPS and
# RSTEPS (steps per repetition for small and resnet20; 3 repetitions).
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
step=$here/torch_step.py
peer=${PEER:-$here/../../shared/peer/torch_train.py}
rounds=${ROUNDS:-3}
threads=${THREADS:-"2 1"}
cases=${CASES:-"small resnet20 small-w4a4"}
gemm=${GEMM:-auto}
steps=${STEPS:-20}
rsteps=${RSTEPS:-5}
coretypes=${CORETYPES:-"${OPENBLAS_CORETYPE:-Haswell} unset"}
for b in bench_train bench_quant; do
    [ -x "$build/bench/$b" ] || { echo "train_vs_torch: $build/bench/$b not found (build it with ninja -C $build)" >&2; exit 1; }
done
[ -f "$peer" ] || { echo "train_vs_torch: peer script $peer not found (set PEER)" >&2; exit 1; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" | tail -n 1; }

# one_case CASE THREADS: qadapt's RESULT line, then PyTorch's
one_case() {
    case $1 in
        small) "$build/bench/bench_train" --model small --threads "$2" --steps "$steps" --reps 3 --gemm "$gemm" | grep RESULT
            /usr/bin/python3 "$step" "$peer" --model small --threads "$2" --steps "$steps" --reps 3 | grep RESULT ;;
        resnet20) "$build/bench/bench_train" --model resnet20 --threads "$2" --steps "$rsteps" --reps 3 --gemm "$gemm" | grep RESULT
            /usr/bin/python3 "$step" "$peer" --model resnet20 --threads "$2" --steps "$rsteps" --reps 3 | grep RESULT ;;
        small-w4a4) "$build/bench/bench_quant" --model small --modes hard --threads "$2" --steps "$steps" --reps 3 --gemm "$gemm" | grep "RESULT mode=hard"
            /usr/bin/python3 "$step" "$peer" --model small --qat 4 --threads "$2" --steps "$steps" --reps 3 | grep RESULT ;;
        *) echo "train_vs_torch: unknown case $1 (small, resnet20, small-w4a4)" >&2; exit 1 ;;
    esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "train_vs_torch: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenBLAS settings: $coretypes (OPENBLAS_L2_SIZE ${OPENBLAS_L2_SIZE:-unset} unless unset); threads: $threads; cases: $cases; $rounds rounds"
r=1
while [ "$r" -le "$rounds" ]; do
    for ct in $coretypes; do
        for t in $threads; do
            for c in $cases; do
                k="$c.$ct.$t"
                if [ "$ct" = unset ]; then
                    (unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; one_case "$c" "$t") > "$tmp/out"
                else
                    (OPENBLAS_CORETYPE=$ct; export OPENBLAS_CORETYPE; one_case "$c" "$t") > "$tmp/out"
                fi
                q=$(sed -n 1p "$tmp/out")
                p=$(sed -n 2p "$tmp/out")
                echo "$q" | field img_per_s >> "$tmp/$k.q"
                echo "$q" | field cpu_ms_per_img >> "$tmp/$k.qc"
                echo "$q" | field peak_rss_mb >> "$tmp/$k.qr"
                echo "$q" | field openblas_core > "$tmp/$k.core"
                echo "$q" | field gemm > "$tmp/$k.gemm"
                echo "$p" | field img_per_s >> "$tmp/$k.t"
                echo "$p" | field cpu_ms_per_img >> "$tmp/$k.tc"
                echo "$p" | field peak_rss_mb >> "$tmp/$k.tr"
                echo "  round $r $c OPENBLAS_CORETYPE=$ct $t threads: qadapt $(tail -n 1 "$tmp/$k.q") img/s" \
                    "$(tail -n 1 "$tmp/$k.qc") CPU ms/img, PyTorch $(tail -n 1 "$tmp/$k.t") img/s" \
                    "$(tail -n 1 "$tmp/$k.tc") CPU ms/img; load $(cut -d' ' -f1 /proc/loadavg)"
            done
        done
    done
    r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%-11s %-9s %3s %-8s %-9s %9s %9s %6s %8s %8s %6s %6s %6s\n' case coretype thr gemm core \
    "q img/s" "t img/s" ratio "q CPU" "t CPU" "CPU r" "q MB" "t MB"
for c in $cases; do
    for ct in $coretypes; do
        for t in $threads; do
            k="$c.$ct.$t"
            q=$(median < "$tmp/$k.q")
            tt=$(median < "$tmp/$k.t")
            qc=$(median < "$tmp/$k.qc")
            tc=$(median < "$tmp/$k.tc")
            printf '%-11s %-9s %3s %-8s %-9s %9.1f %9.1f %6.2f %8.3f %8.3f %6.2f %6.0f %6.0f\n' "$c" "$ct" "$t" \
                "$(cat "$tmp/$k.gemm")" "$(cat "$tmp/$k.core")" "$q" "$tt" "$(echo "$q $tt" | awk '{print $1 / $2}')" \
                "$qc" "$tc" "$(echo "$tc $qc" | awk '{print $1 / $2}')" "$(median < "$tmp/$k.qr")" "$(median < "$tmp/$k.tr")"
        done
    done
done
echo "(medians over $rounds rounds, batch 128; ratio = qadapt / PyTorch images/s; CPU: ms of CPU time"
echo " per image over all threads, CPU r = PyTorch / qadapt, > 1 means qadapt is cheaper; MB: peak RSS)"
