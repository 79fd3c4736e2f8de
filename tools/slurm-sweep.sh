#!/usr/bin/env bash
#SBATCH --job-name=qadapt-sweep
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
#SBATCH --output=qadapt-sweep-%j.out
#
# slurm-sweep.sh: a qadapt sweep on a Slurm cluster, its points spread over
# the job's MPI ranks (one per task; rank 0 hands them out as ranks become
# free). Submit from the repository, with qadapt built with MPI (qadapt info
# says "MPI ... built in"):
#
#   sbatch tools/slurm-sweep.sh CONFIG [qadapt sweep options ...]
#   sbatch --nodes=4 tools/slurm-sweep.sh configs/sweep-fmnist-severity.ini --out /shared/runs/sev
#
# Each task runs --jobs points at once (default 1), each point with
# --cpus-per-task compute threads. The sweep folder (--out, or [experiment]
# out_dir/name) must be on a file system every node sees: a point's run file
# is written by the node that runs it, index.csv by rank 0. Submitting the
# same command again continues the sweep (complete points are skipped).
# QADAPT names the binary (default build/qadapt); MPIRUN the launcher
# (default mpirun, which takes the tasks from Slurm's allocation; with a
# Slurm built with PMIx, MPIRUN="srun --mpi=pmix" works as well).
set -euo pipefail

usage() {
    awk 'NR > 1 && /^#SBATCH/ { next } NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"
}
case "${1:-}" in
    "") usage >&2; exit 2 ;;
    -h | --help) usage; exit 0 ;;
esac
cd "${SLURM_SUBMIT_DIR:-.}"
config=$1
shift
read -r -a launcher <<< "${MPIRUN:-mpirun}"
exec "${launcher[@]}" "${QADAPT:-build/qadapt}" sweep "$config" \
    --set experiment.threads="${SLURM_CPUS_PER_TASK:-1}" "$@"
