#!/usr/bin/env bash
# The packages the GPU check (benchmarks/gpu_check.sh) needs on a CUDA machine that has PyTorch,
# torchvision, numpy, pandas, pyyaml and Pillow but not avdf's other packages (as the lent H200 is:
# ../shared/gpu/README.md). Unpacked for that machine's Python (3.12 unless GPU_PYTHON says
# otherwise) into .gpu-deps/ (git-ignored), to travel with the working tree (device: carry
# [".gpu-deps"]; 64 MiB at most). Versions are the lock's, but imageio-ffmpeg: 0.6.0 (ffmpeg 7.0.2)
# instead of the lock's 0.8.1, whose 68 MB wheel would not travel; it stays a wheel (29.5 MB, 77 MB
# unpacked), which gpu_check.sh unpacks there.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu-deps
python -m pip install --quiet --no-deps --only-binary=:all: --implementation cp \
  --python-version "${GPU_PYTHON:-3.12}" --platform manylinux2014_x86_64 --target .gpu-deps \
  ffmpeg-python==0.2.0 future==1.0.0 facenet-pytorch==2.5.3 \
  jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 \
  attrs==26.1.0 pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1
python -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
  --dest .gpu-deps/wheels imageio-ffmpeg==0.6.0
du -sh .gpu-deps
