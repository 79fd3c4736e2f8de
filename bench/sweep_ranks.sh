#!/bin/sh
# sweep_ranks.sh [BUILD_DIR]: a sweep of 8 short points spread over 2 MPI
# ranks (mpirun -n 2 qadapt sweep, one point at a time on each) against one
# process running 2 at once (qadapt sweep --jobs 2), in one invocation.
#
# The points: configs/smoke.ini with train.lr x train.batch (4 x 2),
# experiment.threads = 1, EPOCHS (default 1) epochs on LIMIT (default 1000)
# training images, tested on 500. Each of ROUNDS (default 3) rounds runs
# both ways into fresh folders, alternating which goes first, under
# /usr/bin/time; prints the median wall seconds and CPU seconds (user + sys,
# children included) of each way, the ratio ranks / jobs, and the load
# average before and after. mpirun gets --oversubscribe, and
# --allow-run-as-root as root. Needs qadapt built with MPI.
set -eu
case ${1:-} in -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

. "$(dirname "$0")/ranks_common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/sweep.ini" <<INI
include = $root/configs/smoke.ini

[sweep]
train.lr = 0.02, 0.05, 0.1, 0.2
train.batch = 32, 64
INI
sets="--set experiment.threads=1 --set train.epochs=${EPOCHS:-1} --set data.limit=${LIMIT:-1000} --set data.test_limit=500"
echo "sweep_ranks: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# one way, one round: "wall cpu" appended to $tmp/<way>
run_way() {
    way=$1 r=$2
    case $way in
        ranks) set -- mpirun -n 2 --oversubscribe $asroot "$qadapt" sweep "$tmp/sweep.ini" --jobs 1 ;;
        jobs) set -- "$qadapt" sweep "$tmp/sweep.ini" --jobs 2 ;;
    esac
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" --out "$tmp/$way$r" $sets > /dev/null 2> "$tmp/log"
    [ "$(grep -c ',complete,' "$tmp/$way$r/index.csv")" -eq 8 ] || { echo "sweep_ranks: $way round $r: not every point complete" >&2; cat "$tmp/log" >&2; exit 1; }
    awk '{print $1, $2 + $3}' "$tmp/time" >> "$tmp/$way"
}

for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then run_way ranks "$r"; run_way jobs "$r"; else run_way jobs "$r"; run_way ranks "$r"; fi
done
wr=$(cut -d' ' -f1 "$tmp/ranks" | median); wj=$(cut -d' ' -f1 "$tmp/jobs" | median)
cr=$(cut -d' ' -f2 "$tmp/ranks" | median); cj=$(cut -d' ' -f2 "$tmp/jobs" | median)
printf '%-34s %10s %10s\n' "8 points, median of $rounds" "wall s" "CPU s"
printf '%-34s %10.1f %10.1f\n' "mpirun -n 2 qadapt sweep --jobs 1" "$wr" "$cr"
printf '%-34s %10.1f %10.1f\n' "qadapt sweep --jobs 2" "$wj" "$cj"
printf '%-34s %10.3f %10.3f\n' "ratio ranks / jobs" "$(echo "$wr $wj" | awk '{print $1 / $2}')" "$(echo "$cr $cj" | awk '{print $1 / $2}')"
echo "sweep_ranks: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
