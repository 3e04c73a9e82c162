#!/usr/bin/env bash
# Every GPU figure of benchmarks/README.md in one run, for a short lease of a GPU machine:
# generator inference, StyleGAN2 training, inversion (both perceptual losses), `make` with the gan
# engine (256-px generator) and `make --style painting-gan` (1024-px config-f blend, 300 steps).
#
#   bash benchmarks/gpu_all.sh [LOG]        # on the GPU machine (~5 min on one H200)
#   GPU_QUICK=1 bash benchmarks/gpu_all.sh  # tiny sizes on the CPU: proves the script first
#
# Each benchmark runs under its own time limit and a failure does not stop the others; the
# output goes to stdout and to LOG when given. That machine needs only PyTorch, NumPy, OpenCV,
# scikit-image, SciPy, Pillow, imageio, PyYAML and safetensors; without dlib's model files the
# make benchmarks replay the sample portrait's recorded landmarks (recorded_landmarks.py).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 EMOGET_NO_PROGRESS=1
py=${PYTHON:-python3}
log=${1:-/dev/null}

if [ "${GPU_QUICK:-0}" = 1 ]; then
  dev=cpu; gen=(--size 64 --batch 1 2 --iters 2 --warmup 1); big=(--size 64 --batch 1 --iters 2 --warmup 1)
  train=(--size 64 --batch 2 --steps 2 --warmup 1); invert=(--sizes 64 --steps 2)
  make=(--frames 4 --invert-steps 2 --size 64); painting=(--gen-size 64 --steps 2 --frames 4 --runs 1)
else
  dev=cuda; gen=(--size 256 --batch 1 64); big=(--size 1024 --batch 1 16)
  train=(--size 256 --batch 32 --steps 32); invert=(--sizes 256 1024 --steps 20)
  make=(--invert-steps 300); painting=()
fi

bench() {  # bench SECONDS SCRIPT ARGS...: one benchmark under a time limit
  local limit=$1; shift
  echo "### $(date -u +%H:%M:%S) $*"
  local t0=$SECONDS
  timeout "$limit" "$py" "$@"
  echo "### exit $? after $((SECONDS - t0)) s"
}

{
  echo "### emoget GPU benchmarks, $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%F)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$py" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
  # the headline figures first: a lease's time may run out before the end
  bench 60 benchmarks/bench_generator.py --device $dev "${gen[@]}"
  bench 150 benchmarks/bench_painting_gan.py --device $dev "${painting[@]}"
  bench 120 benchmarks/bench_train_stylegan.py --device $dev "${train[@]}"
  bench 90 benchmarks/bench_invert.py --device $dev "${invert[@]}"
  bench 90 benchmarks/bench_make.py --styles none --gan --device $dev "${make[@]}"
  bench 90 benchmarks/bench_train_stylegan.py --device $dev "${train[@]}" --mixed-precision
  bench 45 benchmarks/bench_generator.py --device $dev "${big[@]}"
  bench 45 benchmarks/bench_generator.py --device $dev "${big[@]}" --amp bf16
  bench 120 benchmarks/bench_painting_gan.py --device $dev "${painting[@]}" --perceptual lpips --runs 2
} 2>&1 | tee "$log"
