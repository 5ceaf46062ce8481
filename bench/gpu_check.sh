#!/usr/bin/env bash
# One command that checks dchain on a machine with one NVIDIA GPU, CUDA and CuPy installed:
#   bash bench/gpu_check.sh [OUT_DIR]
# It installs nothing from the network. Wheels it needs that the machine lacks (pytest-mpi,
# or mpi4py + mpich for a working mpirun) may be carried in .whl/ beside the repository root;
# they are installed offline into a private folder. Steps, each timed, all in well under
# 8 minutes on one H100:
#   1. examples/mnist.py on the GPU for one epoch;
#   2. the same example on 2 ranks sharing the one GPU over the 'mpi' communicator;
#   3. a GPU benchmark of mlp-large and cnn against PyTorch on the same GPU (if installed);
#   4. the gpu-marked tests (the parametrized tests' cupy cases), within
#      $DCHAIN_GPU_TEST_SECONDS (default 360).
# A short table of the results is printed last. Without a GPU it says so and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp/dchain-gpu-check}}"
mkdir -p "$out"
python="${DCHAIN_PYTHON:-python3}"

if ! "$python" -c 'import cupy, sys; sys.exit(0 if cupy.cuda.runtime.getDeviceCount() > 0 else 1)' \
        2>/dev/null; then
    echo "gpu_check: no CUDA GPU usable through CuPy here; nothing to check."
    exit 0
fi

if ls .whl/*.whl >/dev/null 2>&1; then
    # Installed under a private prefix (not --target: the mpich wheel puts libmpi and mpirun
    # in the prefix's lib/ and bin/), seen beside the machine's own packages (CuPy, PyTorch).
    prefix=/tmp/dchain-prefix
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --prefix "$prefix" .whl/*.whl
    site=$("$python" -c 'import sys, sysconfig; print(sysconfig.get_path("purelib",
        vars={"base": sys.argv[1], "platbase": sys.argv[1]}))' "$prefix")
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$prefix/bin:$PATH"
    export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 DCHAIN_OFFLINE=1
export DCHAIN_COLLECTIVE_TIMEOUT=300

declare -a names results seconds
step() {  # step NAME COMMAND...: run, log, record pass/fail and time
    local name=$1; shift
    local start=$SECONDS
    echo "== $name: $*"
    if "$@" >"$out/$name.log" 2>&1; then results+=("ok"); else results+=("FAILED"); fi
    names+=("$name"); seconds+=($((SECONDS - start)))
    tail -n 15 "$out/$name.log"
}

"$python" -c 'import cupy; p = cupy.cuda.runtime.getDeviceProperties(0); \
print("GPU:", p["name"].decode(), "| CuPy", cupy.__version__, "| CUDA runtime", \
cupy.cuda.runtime.runtimeGetVersion())' | tee "$out/device.txt"

step mnist-gpu "$python" examples/mnist.py --device @cupy:0 --epoch 1 --out /tmp/dchain-gpu-check-mnist
mpirun_bin=$(command -v mpirun || true)
if [ -n "$mpirun_bin" ] && "$python" -c 'import mpi4py.MPI' 2>/dev/null; then
    step mnist-2ranks "$mpirun_bin" -n 2 "$python" examples/mnist.py --device gpu \
        --allow-shared-gpu --communicator mpi --epoch 1 --out /tmp/dchain-gpu-check-mnist-2ranks
else
    names+=("mnist-2ranks"); results+=("SKIPPED (no mpirun/mpi4py; carry mpich+mpi4py wheels)")
    seconds+=(0)
fi
if [ -n "$mpirun_bin" ] && "$python" -c 'import mpi4py.MPI' 2>/dev/null; then
    # One GPU cannot hold two NCCL ranks; one rank still runs every NCCL call of the code.
    step nccl-1rank "$mpirun_bin" -n 1 "$python" -c '
import cupy, numpy
from dchain import distributed
comm = distributed.create_communicator("nccl")
x = cupy.arange(6, dtype=cupy.float32)
for dtype in (cupy.float16, cupy.float32, cupy.float64, cupy.int32):
    assert (comm.allreduce(x.astype(dtype)) == x.astype(dtype)).all()
assert (comm.bcast(x) == x).all() and comm.allreduce(x, "mean").dtype == cupy.float32
assert (comm.allreduce(numpy.ones(3)) == 1).all()
print("nccl communicator ok:", comm)'
fi
step gpu-bench "$python" bench/gpu_bench.py --json "$out/gpu_bench.json"
# Last, as the longest (CuPy compiles each kernel on first use), within its own time limit.
step gpu-tests timeout "${DCHAIN_GPU_TEST_SECONDS:-360}" "$python" -m pytest -q \
    -p no:cacheprovider --tb=line -m gpu tests

echo
echo "== dchain GPU check ($(cat "$out/device.txt"))"
status=0
for i in "${!names[@]}"; do
    printf '%-14s %-10s %5ss\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
    [ "${results[$i]}" = "FAILED" ] && status=1
done
grep -h "final validation accuracy" "$out"/mnist-*.log 2>/dev/null | sed 's/^/  /'
grep -E "^(row|mlp-large|cnn) " "$out/gpu-bench.log" 2>/dev/null | sed 's/^/  /'
tail -n 1 "$out/gpu-tests.log" 2>/dev/null | sed 's/^/  tests: /'
exit $status
