#!/bin/sh
# infer_vs_torch.sh [BUILD_DIR] [RUNS_DIR]: inference speed of qadapt's
# integer engine against qadapt's float evaluation and PyTorch 1.13's int8
# (quantized engine onednn, fused conv-bn-relu, post-training static
# quantization, torch.ao.quantization.convert) and float inference, for
# small and resnet20 at W8A8 and W4A4, in one invocation.
#
# RUNS_DIR/<model>-w<b>a<b>/run.h5 are the runs measured (fixed LSQ); a
# missing one is trained first, briefly (configs/fmnist-<model>-w<b>a<b>-
# lsq.ini for one epoch on 2000 images: speed does not depend on accuracy).
# Each of ROUNDS rounds runs, per (model, width), bench_infer (the engine and
# the float evaluation interleaved, medians of its repetitions) and then
# torch_infer.py (int8 and float interleaved); the table gives medians over
# rounds: images/s at batch 128 and latency at batch 1 (one image a call),
# the ratios int / PyTorch int8 and int / qadapt float, and the model file's
# size. PyTorch has int8 kernels only: at W4A4 its observers use 4-bit ranges
# and it runs the same int8 kernels. Environment: ROUNDS (default 3),
# THREADS (2: both sides; a run trained with fewer threads keeps its
# count), PEER (shared/peer/torch_train.py),
# MODELS ("small resnet20"), BITS ("8 4"). The load average before and
# after is printed: on a shared machine compare the ratios.
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

build=${1:-build}
runs=${2:-runs/bench-infer}
here=$(dirname "$0")
bench="$build/bench/bench_infer"
qadapt="$build/qadapt"
peer=${PEER:-$here/../../shared/peer/torch_train.py}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
models=${MODELS:-"small resnet20"}
bits=${BITS:-"8 4"}
[ -x "$bench" ] || { echo "infer_vs_torch: $bench not found (build it with ninja -C $build)" >&2; exit 1; }
[ -f "$peer" ] || { echo "infer_vs_torch: peer script $peer not found (set PEER)" >&2; exit 1; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -n 1; }

for m in $models; do
    for b in $bits; do
        run="$runs/$m-w${b}a$b/run.h5"
        [ -f "$run" ] && continue
        echo "infer_vs_torch: training $run (1 epoch, 2000 images)"
        "$qadapt" run "$here/../configs/fmnist-$m-w${b}a$b-lsq.ini" --out "$runs" \
            --set experiment.name="$m-w${b}a$b" --set train.epochs=1 --set data.limit=2000 \
            --set data.test_limit=1000 --set experiment.threads="$threads" > /dev/null 2>&1
    done
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "infer_vs_torch: $(nproc) cores, $threads threads, load average before: $load_before"
r=1
while [ "$r" -le "$rounds" ]; do
    for m in $models; do
        for b in $bits; do
            k="$m-$b"
            "$bench" --run "$runs/$m-w${b}a$b/run.h5" --reps 3 --threads "$threads" > "$tmp/q.out"
            grep "engine=int" "$tmp/q.out" | field img_per_s >> "$tmp/$k.qi"
            grep "engine=int" "$tmp/q.out" | field latency_ms >> "$tmp/$k.qil"
            grep "engine=int" "$tmp/q.out" | field model_bytes > "$tmp/$k.bytes"
            grep "engine=float" "$tmp/q.out" | field img_per_s >> "$tmp/$k.qf"
            grep "engine=float" "$tmp/q.out" | field latency_ms >> "$tmp/$k.qfl"
            grep "engine=int" "$tmp/q.out" | field cpu_ms_per_img >> "$tmp/$k.qic"
            /usr/bin/python3 "$here/torch_infer.py" "$peer" --model "$m" --bits "$b" \
                --threads "$threads" --reps 3 > "$tmp/t.out"
            grep "torch_int8" "$tmp/t.out" | field img_per_s >> "$tmp/$k.ti"
            grep "torch_int8" "$tmp/t.out" | field latency_ms >> "$tmp/$k.til"
            grep "torch_float" "$tmp/t.out" | field img_per_s >> "$tmp/$k.tf"
            grep "torch_float" "$tmp/t.out" | field latency_ms >> "$tmp/$k.tfl"
            grep "torch_int8" "$tmp/t.out" | field cpu_ms_per_img >> "$tmp/$k.tic"
            echo "  round $r $m W${b}A$b: int $(tail -n 1 "$tmp/$k.qi") img/s, torch int8 $(tail -n 1 "$tmp/$k.ti") img/s"
        done
    done
    r=$((r + 1))
done

echo
echo "medians over $rounds rounds; images/s at batch 128, latency ms at batch 1"
printf '%-9s %-5s %10s %8s %10s %8s %10s %8s %10s %8s %8s %8s %8s %9s\n' model width \
    int_img/s int_ms qflt_img/s qflt_ms t8_img/s t8_ms tflt_img/s tflt_ms int/t8 t8/int int/qf bytes
for m in $models; do
    for b in $bits; do
        k="$m-$b"
        qi=$(median < "$tmp/$k.qi"); qil=$(median < "$tmp/$k.qil")
        qf=$(median < "$tmp/$k.qf"); qfl=$(median < "$tmp/$k.qfl")
        ti=$(median < "$tmp/$k.ti"); til=$(median < "$tmp/$k.til")
        tf=$(median < "$tmp/$k.tf"); tfl=$(median < "$tmp/$k.tfl")
        awk -v m="$m" -v b="W${b}A$b" -v qi="$qi" -v qil="$qil" -v qf="$qf" -v qfl="$qfl" \
            -v ti="$ti" -v til="$til" -v tf="$tf" -v tfl="$tfl" -v by="$(cat "$tmp/$k.bytes")" \
            'BEGIN {printf "%-9s %-5s %10.0f %8.3f %10.0f %8.3f %10.0f %8.3f %10.0f %8.3f %7.2fx %7.2fx %7.2fx %9d\n",
                    m, b, qi, qil, qf, qfl, ti, til, tf, tfl, qi / ti, til / qil, qi / qf, by}'
    done
done
echo "(int/t8: images/s against PyTorch int8 at batch 128; t8/int: PyTorch int8's batch-1"
echo " latency over qadapt's; int/qf: against qadapt's own float evaluation)"
echo
echo "CPU time per image at batch 128, all threads (ms): qadapt int, PyTorch int8, ratio"
for m in $models; do
    for b in $bits; do
        k="$m-$b"
        awk -v m="$m" -v b="W${b}A$b" -v q="$(median < "$tmp/$k.qic")" -v t="$(median < "$tmp/$k.tic")" \
            'BEGIN {printf "%-9s %-5s %9.4f %9.4f %7.2fx\n", m, b, q, t, t / q}'
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
