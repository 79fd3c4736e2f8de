#!/usr/bin/env bash
# bench_quant.sh: QAT step cost against fp32 and against the PyTorch peer,
# in one invocation on the same machine state.
#
#   bench/bench_quant.sh [BUILD_DIR] [ROUNDS]
#
# Each round runs bench_quant (fp32, hard W4A4, soft tied/untied over
# 2,3,4,8; interleaved repetitions) and then the peer's small W4A4 QAT for 2
# epochs (/usr/bin/python3 ../shared/peer/torch_train.py --qat 4, its 2nd,
# steady-state epoch), so load from other processes hits both alike. Prints
# the medians over rounds and the ratio of qadapt's hard W4A4 images/s to
# PyTorch's (target >= 1.5), and the load average before and after. Each
# round also times the peer's W4A4 step alone (torch_step.py) for CPU ms per
# image over all threads, printed against bench_quant's hard mode: the cost
# in cores, which the neighbours' load disturbs less than the wall clock.
# Both sides leave the network input unquantized (bench_quant's default
# --input none); qadapt's first and last layers stay at 8 bits where the
# peer's linear layer is float.
set -euo pipefail
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-3}
peer=$here/../../shared/peer/torch_train.py
bench=$build/bench/bench_quant
[ -x "$bench" ] || { echo "bench_quant.sh: no $bench (build first)" >&2; exit 2; }
[ -f "$peer" ] || { echo "bench_quant.sh: no peer script at $peer" >&2; exit 2; }

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mktemp -d)
for r in $(seq "$rounds"); do
    "$bench" --steps 30 --reps 5 --threads 2 > "$out/q$r.txt"
    grep RESULT "$out/q$r.txt"
    /usr/bin/python3 "$peer" --model small --epochs 2 --threads 2 --qat 4 > "$out/t$r.txt"
    sed -n 2p "$out/t$r.txt" | awk '{print "torch epoch 2:", $0}'
    /usr/bin/python3 "$here/torch_step.py" "$peer" --model small --qat 4 --threads 2 --steps 30 \
        --reps 5 > "$out/s$r.txt"
    grep RESULT "$out/s$r.txt"
done
for m in fp32 hard soft-tied soft-untied; do
    v=$(cat "$out"/q*.txt | grep "RESULT mode=$m " | sed 's/.*img_per_s=\([0-9.]*\).*/\1/' | median)
    r=$(cat "$out"/q*.txt | grep "RESULT mode=$m " | sed 's/.*ratio_fp32=\([0-9.]*\).*/\1/' | median)
    printf '%-12s %9.1f img/s  step time / fp32 %.3f\n' "$m" "$v" "$r"
    [ "$m" = hard ] && hard=$v
done
torch=$(cat "$out"/t*.txt | sed -n '/^epoch 2 /s/.*train_img_per_s \([0-9.]*\).*/\1/p' | median)
printf 'torch W4A4  %9.1f img/s (2nd epoch, median of %d)\n' "$torch" "$rounds"
awk -v a="$hard" -v b="$torch" 'BEGIN {printf "qadapt hard W4A4 / torch W4A4 = %.2f (target >= 1.5)\n", a / b}'
qcpu=$(cat "$out"/q*.txt | grep "RESULT mode=hard " | sed 's/.*cpu_ms_per_img=\([0-9.]*\).*/\1/' | median)
tcpu=$(cat "$out"/s*.txt | grep RESULT | sed 's/.*cpu_ms_per_img=\([0-9.]*\).*/\1/' | median)
awk -v a="$qcpu" -v b="$tcpu" 'BEGIN {printf "CPU ms per image: qadapt hard W4A4 %.3f, torch W4A4 step %.3f, torch / qadapt = %.2f\n", a, b, b / a}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$out"
