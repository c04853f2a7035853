#!/usr/bin/env bash
# GPU checks in one short script: the gpu-marked tests, then the GPU benchmarks, each printing its
# ratio against the peer on the same device. Exits 0 with a message when no CUDA device is present.
#
#   bash benchmarks/gpu_suite.sh            # full sizes (an H100: about 10 minutes)
#   SMALL=1 bash benchmarks/gpu_suite.sh    # reduced sizes (a few minutes)
#   PYTHON=.venv/bin/python bash benchmarks/gpu_suite.sh
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_suite: no CUDA device (or no torch with CUDA) here; nothing to run. Skipped."
    exit 0
fi
"$PY" -c "import torch; print('gpu_suite on', torch.cuda.get_device_name(), torch.__version__)"
if [ "${SMALL:-0}" = "1" ]; then
    RIDGE="--samples 4000 --features 1024 --targets 10000"; MAP="--stimuli 1500 --units 512 --voxels 300"
    SL="--grid 24"; FT="--loop-units 20"; RDM="--stimuli 1000 --units 256 --n-perm 1000"
else
    RIDGE="--samples 8000 --features 3072 --targets 50000"; MAP="--stimuli 5000 --units 768 --voxels 2000"
    SL=""; FT=""; RDM=""
fi
status=0
run() {  # label, command...
    echo; echo "=== $1"; shift
    "$@" || { echo "!!! failed: $*"; status=1; }
}
run "gpu-marked tests" "$PY" -m pytest -q -p no:cacheprovider -m gpu tests
run "ridge vs himalaya torch_cuda, float64 eigh (accuracy vs float64 reference)" \
    "$PY" benchmarks/bench_ridge.py $RIDGE --backend torch_cuda --eigh-dtype float64
run "ridge vs himalaya torch_cuda, float32 eigh, TF32 off" \
    "$PY" benchmarks/bench_ridge.py $RIDGE --backend torch_cuda --eigh-dtype float32
run "ridge vs himalaya torch_cuda, float32 eigh, TF32 on" \
    "$PY" benchmarks/bench_ridge.py $RIDGE --backend torch_cuda --eigh-dtype float32 --tf32
run "batched RDMs (bench_rsa times torch_cuda itself when a GPU is present)" "$PY" benchmarks/bench_rsa.py $RDM
run "searchlight" "$PY" benchmarks/bench_searchlight.py $SL --backend torch_cuda
run "frequency-tagging null" "$PY" benchmarks/bench_frequency_tagging.py $FT --backend torch_cuda
run "full ridge map vs himalaya per layer" "$PY" benchmarks/bench_map.py $MAP --backend torch_cuda --no-loop
echo; [ $status = 0 ] && echo "gpu_suite: all steps ran." || echo "gpu_suite: some steps failed (see above)."
exit $status
