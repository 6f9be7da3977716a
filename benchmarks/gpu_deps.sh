#!/usr/bin/env bash
# The packages the GPU check (benchmarks/gpu_check.sh) needs on a CUDA machine that has PyTorch,
# torchvision, numpy, pandas, pyyaml, Pillow, scipy and scikit-learn but not avdf's other packages
# (as the lent H200 is: ../shared/gpu/README.md), as wheels for that machine's Python (3.12 unless
# GPU_PYTHON says otherwise), which gpu_check.sh unpacks there; and what that machine cannot render
# (the synthetic faces come from scikit-image's and matplotlib's sample photos): the benchmarks'
# talking faces at the paper's scale, a 1-s face clip for the predict test, and twenty 8-s 720p
# clips for the preprocessing benchmark (about 4 minutes to render). All in .gpu-deps/
# (git-ignored, about 55 MB), to travel with the working tree (device: carry [".gpu-deps"]; 64 MiB
# at most). Versions are the lock's, but imageio-ffmpeg: 0.6.0 (ffmpeg 7.0.2, a 29.5-MB wheel)
# instead of the lock's 0.8.1, whose 68 MB would not travel.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu-deps
python -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
  --python-version "${GPU_PYTHON:-3.12}" --platform manylinux2014_x86_64 --dest .gpu-deps/wheels \
  ffmpeg-python==0.2.0 future==1.0.0 facenet-pytorch==2.5.3 imageio-ffmpeg==0.6.0 \
  jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 \
  attrs==26.1.0 pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1 pygments==2.21.0 packaging==25.0 \
  requests==2.34.2 urllib3==2.8.0 idna==3.20 certifi==2026.10.18 charset-normalizer==3.5.2 tqdm==4.70.1
AVDF_BENCH_FACES=.gpu-deps/faces python benchmarks/train_throughput.py --scale paper --save-faces
python - <<'PYEOF'
import numpy as np, yaml
from avdf.media.ffmpeg import encode_clip
from avdf.synthetic import generator as synthetic
cfg = dict(yaml.safe_load(open("params.yaml"))["synth"], duration_s=1.0)
people = synthetic.identities(0, "dfdc", 3)
frames, audio = synthetic.render_clip(cfg, "dfdc", people[0], people[1], "A", np.random.default_rng(0))
encode_clip(frames, audio, cfg["sample_rate"], cfg["fps"], ".gpu-deps/face_clip.mp4")
PYEOF
PYTHONPATH=benchmarks python -c 'import pathlib, preprocess as p
p.render(pathlib.Path(".gpu-deps/clips720"), 20, 8.0, p.SHAPES["720p"])'
du -sh .gpu-deps
