#!/bin/sh
# train_ranks.sh [BUILD_DIR]: data-parallel training over 2 MPI ranks of 1
# thread each (mpirun -n 2 qadapt run) against one process of 2 threads
# (experiment.threads = 2), for the `small` and resnet20 networks, in one
# invocation. Both ways compute the same bits (test_train_mpi).
#
# Each run: configs/smoke.ini, one epoch on LIMIT (default 1024) training
# images (resnet20: LIMIT_RESNET, default 256), batch 64, tested on 64.
# ROUNDS (default 3) rounds, alternating which way goes first; prints per
# model the median training images/s of the epoch (qadapt's epoch line),
# the median CPU seconds (user + sys, /usr/bin/time), the ratio ranks /
# threads, and for the ranks the median communication share: seconds
# inside the exchanges over the epoch's seconds (qadapt's "data-parallel"
# line; the one test batch's few exchanges included). Load average before
# and after. mpirun gets --oversubscribe, and --allow-run-as-root as root.
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

. "$(dirname "$0")/ranks_common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "train_ranks: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# one way, one round, one model: "img/s cpu_s epoch_s comm_s" appended to $tmp/<model>.<way>
run_way() {
    model=$1 way=$2 limit=$3
    case $way in
        ranks) set -- mpirun -n 2 --oversubscribe $asroot "$qadapt" run --set experiment.threads=1 ;;
        threads) set -- "$qadapt" run --set experiment.threads=2 ;;
    esac
    /usr/bin/time -f "%U %S" -o "$tmp/time" "$@" "$root/configs/smoke.ini" --out "$tmp/out" \
        --set model.arch="$model" --set train.epochs=1 --set train.batch=64 \
        --set data.limit="$limit" --set data.test_limit=64 > /dev/null 2> "$tmp/log" ||
        { echo "train_ranks: $model $way failed" >&2; cat "$tmp/log" >&2; exit 1; }
    line=$(grep '^epoch 1/1' "$tmp/log")
    ips=$(echo "$line" | sed 's/.* \([0-9.]*\) img\/s.*/\1/')
    secs=$(echo "$line" | sed 's/.*img\/s *\([0-9.]*\)s$/\1/')
    comm=$(sed -n 's/^data-parallel.* \([0-9.]*\) s in them.*/\1/p' "$tmp/log")
    echo "$ips $(awk '{print $1 + $2}' "$tmp/time") $secs ${comm:-0}" >> "$tmp/$model.$way"
}

col() { cut -d' ' -f"$2" "$1" | median; }

for model in small resnet20; do
    limit=${LIMIT:-1024}
    [ "$model" = resnet20 ] && limit=${LIMIT_RESNET:-256}
    for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then run_way "$model" ranks "$limit"; run_way "$model" threads "$limit"
        else run_way "$model" threads "$limit"; run_way "$model" ranks "$limit"; fi
    done
done
printf '%-10s %-22s %10s %10s %12s\n' model way "img/s" "CPU s" "comm share"
for model in small resnet20; do
    ir=$(col "$tmp/$model.ranks" 1); it=$(col "$tmp/$model.threads" 1)
    cr=$(col "$tmp/$model.ranks" 2); ct=$(col "$tmp/$model.threads" 2)
    share=$(awk '{print $4 / $3}' "$tmp/$model.ranks" | median)
    printf '%-10s %-22s %10.0f %10.1f %11.1f%%\n' "$model" "2 ranks x 1 thread" "$ir" "$cr" "$(echo "$share" | awk '{print 100 * $1}')"
    printf '%-10s %-22s %10.0f %10.1f %12s\n' "$model" "1 process x 2 threads" "$it" "$ct" "-"
    printf '%-10s %-22s %10.3f %10.3f\n' "$model" "ratio ranks / threads" "$(echo "$ir $it" | awk '{print $1 / $2}')" "$(echo "$cr $ct" | awk '{print $1 / $2}')"
done
echo "train_ranks: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
