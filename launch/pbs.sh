#!/usr/bin/env bash
# Run a dchain script on every MPI rank of a PBS Pro or Torque job.
#
#   PBS Pro:  qsub -l select=2:ncpus=8:mpiprocs=8 \
#                  -v DCHAIN_SCRIPT=examples/mnist.py,DCHAIN_ARGS='--epoch 5' launch/pbs.sh
#             qsub -l select=2:ncpus=8:mpiprocs=8 -- "$PWD/launch/pbs.sh" examples/mnist.py --epoch 5
#   Torque:   qsub -l nodes=2:ppn=8 -F 'examples/mnist.py --epoch 5' launch/pbs.sh
#
# Ranks: one per line of $PBS_NODEFILE (PBS Pro writes a line per mpiproc, Torque a line per
# ppn), on the hosts it names. The job runs in the folder you submitted from ($PBS_O_WORKDIR)
# with the Python you submitted with: $DCHAIN_PYTHON, else `python` on the PATH you submitted
# with ($PBS_O_PATH), else python3. DCHAIN_ARGS is split on spaces; arguments that contain
# spaces or commas need the `--` (PBS Pro) or -F (Torque) form. `python -m dchain.launch`
# starts the ranks with the MPI it finds (MPICH or Open MPI) and prints the mpirun command.
# Threads: OMP_NUM_THREADS is ncpus / mpiprocs per node (1 without ncpus) unless you set it.
#PBS -N dchain
#PBS -j oe
set -euo pipefail

cd "${PBS_O_WORKDIR:-.}"
# PBS starts jobs with a login environment: put the submit-time PATH (your venv) first.
export PATH="${PBS_O_PATH:+$PBS_O_PATH:}$PATH"

if [ $# -eq 0 ] && [ -n "${DCHAIN_SCRIPT:-}" ]; then
    read -r -a words <<<"${DCHAIN_ARGS:-}"
    set -- "$DCHAIN_SCRIPT" ${words[@]+"${words[@]}"}
fi
if [ $# -eq 0 ]; then
    echo 'usage: qsub [options] -v DCHAIN_SCRIPT=SCRIPT[,DCHAIN_ARGS=ARGS] launch/pbs.sh' >&2
    echo '   or: qsub [options] -- /path/to/launch/pbs.sh SCRIPT [ARGS...]' >&2
    exit 2
fi
if [ -z "${PBS_NODEFILE:-}" ] || [ ! -r "$PBS_NODEFILE" ]; then
    echo "pbs.sh: PBS_NODEFILE is unset or unreadable ('${PBS_NODEFILE:-}'): submit with qsub" >&2
    exit 2
fi

python=${DCHAIN_PYTHON:-$(command -v python || command -v python3 || true)}
if [ -z "$python" ] || [ ! -x "$python" ]; then
    echo "pbs.sh: no Python: set DCHAIN_PYTHON or submit with python on the PATH" >&2
    exit 2
fi

hosts=$(grep -v '^[[:space:]]*$' "$PBS_NODEFILE")
ranks=$(wc -l <<<"$hosts")
nodes=$(sort -u <<<"$hosts" | wc -l)
per_node=$(grep -cxF "$(head -n 1 <<<"$hosts")" <<<"$hosts")

# PBS Pro sets OMP_NUM_THREADS to the chunk's ncpus, one thread per CPU for EACH rank: taken
# as unset then, so that the ranks of a node share its CPUs.
if [ -z "${OMP_NUM_THREADS:-}" ] || { [ "${OMP_NUM_THREADS}" = "${NCPUS:-}" ] && [ "$per_node" -gt 1 ]; }; then
    threads=$(( ${NCPUS:-$per_node} / per_node ))
    export OMP_NUM_THREADS=$(( threads > 0 ? threads : 1 ))
fi

echo "pbs.sh: job ${PBS_JOBID:-?}: $ranks rank(s) on $nodes node(s), OMP_NUM_THREADS=$OMP_NUM_THREADS"
exec "$python" -m dchain.launch --hostfile "$PBS_NODEFILE" -n "$ranks" -- "$@"
