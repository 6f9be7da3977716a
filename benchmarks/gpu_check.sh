#!/usr/bin/env bash
# One GPU check (issue 30, item 7): items 1, 4 and 6 on a CUDA machine, in one run, aiming at 8
# minutes or less, its numbers and logs written to OUT (default results/gpu_check/).
#   1. every test with the `gpu` marker: every method trains, scores and predicts on CUDA at the
#      paper profile (tests/test_placement.py), torchrun --nproc_per_node 1 on NCCL trains, saves
#      and resumes (tests/test_distributed.py);
#   2. benchmarks/train_throughput.py --scale paper: every method's own step and end to end through
#      the loader, GPU utilisation, peak memory; then MACB-DF and MCL with their JPEG crops decoded
#      by the loader's workers and on the GPU (train.crop_decode), side by side;
#   3. benchmarks/preprocess.py on 720p clips, every core a worker: face tracks with an MTCNN in
#      every shard's process, then with one MTCNN shared by the tracking workers;
#   4. benchmarks/jpeg_decode.py: a batch of face crops decoded on the CPU and on the GPU.
# On a machine with avdf's environment, run it as it is; on one with PyTorch only (the lent H200),
# first run benchmarks/gpu_deps.sh here and carry .gpu-deps with the tree. Each part's seconds and
# the total against 480 s are in OUT/summary.txt; each part stops at a limit (240, 300, 90, 150, 90 s)
# and the whole check at DEADLINE seconds (default 570, inside one 600-s call of a lent machine): a
# part that would run past it gets what is left, and one with nothing left is named as skipped.
# DEVICE=cpu rehearses the check where no GPU is, before device time is spent: the same parts and
# scripts on the CPU, made small (the gpu tests with AVDF_GPU_TESTS_ON=cpu, two methods' throughput
# on one batch, the loader alone for the crop decoding, two 720p clips). Run with a PyTorch-only
# Python first on PATH, it proves that what the node lacks is carried (docs/gpu.md, "Rehearsing the
# check"). It proves the code and the packages, not CUDA; its figures are CPU figures.
# Usage: bash benchmarks/gpu_check.sh [OUT]   (environment: DEADLINE=seconds, DEVICE=cuda|cpu)
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-results/gpu_check}")
mkdir -p "$out"
export PYTHONPATH="$PWD/src:$PWD/benchmarks:$PWD/tests${PYTHONPATH:+:$PYTHONPATH}"
export AVDF_BENCH_DIR="$out" PYTHONDONTWRITEBYTECODE=1
[ -d .gpu-deps/faces ] && export AVDF_BENCH_FACES="$PWD/.gpu-deps/faces"  # rendered by gpu_deps.sh
[ -f .gpu-deps/face_clip.mp4 ] && export AVDF_GPU_CLIP="$PWD/.gpu-deps/face_clip.mp4"
if [ -d .gpu-deps/wheels ]; then  # gpu_deps.sh's packages, unpacked here
  unpacked=$(mktemp -d)
  for wheel in .gpu-deps/wheels/*.whl; do python -m zipfile -e "$wheel" "$unpacked"; done
  chmod -R u+x "$unpacked"/imageio_ffmpeg/binaries 2>/dev/null
  export PYTHONPATH="$PYTHONPATH:$unpacked"
fi
workers=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
deadline=${DEADLINE:-570}
device=${DEVICE:-cuda}
clips720=(.gpu-deps/clips720/*.mp4)
sizes=(--clips 128 --steps 20) methods=() decoding=()
if [ "$device" = cpu ]; then  # the rehearsal's sizes: one batch, the fastest methods, two clips
  export AVDF_GPU_TESTS_ON=cpu
  sizes=(--clips 32 --steps 1) methods=(--methods ecapa_tdnn visual_only) decoding=(--loader-only)
  clips720=("${clips720[@]:0:2}")
fi
status=0
: > "$out/summary.txt"

part() {  # part NAME SECONDS COMMAND...: run for at most SECONDS (a hang cannot spend the machine's
  # time), log to OUT/NAME.log, time it, remember a failure
  local name=$1 limit=$2 start=$SECONDS
  shift 2
  local left=$((deadline - SECONDS))
  if [ "$left" -le 5 ]; then
    echo "$name: skipped, the check's deadline of $deadline s is reached" | tee -a "$out/summary.txt"
    status=1
    return
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local said="exit $rc"
  [ $rc -eq 124 ] && said="stopped at its limit of $limit s"
  echo "$name: $said, $((SECONDS - start)) s" | tee -a "$out/summary.txt"
  tail -n 25 "$out/$name.log"
  [ $rc -eq 0 ] || status=1
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
  python -c 'import torch, platform; print("torch", torch.__version__, "cuda", torch.version.cuda, "python", platform.python_version())'
  echo "cores $(nproc)"; } > "$out/machine.txt" 2>&1
cat "$out/machine.txt"
[ "$device" = cpu ] || python -c 'import torch, sys
sys.exit(0 if torch.cuda.is_available() else "no CUDA device: nothing to check (DEVICE=cpu rehearses it)")' || exit 2

part gpu_tests 240 python -m pytest -q -m gpu -p no:cacheprovider --junitxml "$out/gpu_tests.xml" \
  tests/test_placement.py tests/test_distributed.py tests/test_windows.py
part train_throughput 300 python benchmarks/train_throughput.py --device "$device" --scale paper \
  --workers "$workers" --threads 2 "${sizes[@]}" "${methods[@]}"
part crop_decode 90 python benchmarks/train_throughput.py --device "$device" --scale paper \
  --methods macbdf mcl --crop-decode workers device --workers "$workers" --threads 2 "${sizes[@]}" "${decoding[@]}"
part preprocess 150 bash -c 'for detector in each shared; do
  python benchmarks/preprocess.py --profile paper --shape 720p --chain-only --workers "$(nproc)" \
    --detector $detector --clips 0 --real "$@" || exit 1; done' preprocess "${clips720[@]}"
part jpeg_decode 90 python benchmarks/jpeg_decode.py
echo "total: $SECONDS s (target 480 s on a GPU node; device $device)" | tee -a "$out/summary.txt"
exit $status
