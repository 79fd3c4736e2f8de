# ranks_common.sh: what the benchmarks run under mpirun (sweep_ranks.sh,
# train_ranks.sh) share, sourced after their --help. Sets build (their
# BUILD_DIR argument, default build), qadapt, rounds (ROUNDS, default 3),
# root (the source tree) and asroot (mpirun's --allow-run-as-root when run
# as root); ends the benchmark when qadapt is missing or has no MPI built
# in; defines median: of the numbers on stdin, one a line.
bench=$(basename "$0" .sh)
build=${1:-build}
qadapt="$build/qadapt"
rounds=${ROUNDS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$qadapt" ] || { echo "$bench: $qadapt not found" >&2; exit 1; }
"$qadapt" info | grep -q '^MPI .*built in' || { echo "$bench: $qadapt has no MPI built in" >&2; exit 1; }
asroot=""
[ "$(id -u)" -eq 0 ] && asroot=--allow-run-as-root

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
